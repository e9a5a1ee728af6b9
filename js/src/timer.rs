//! A [`Timer`] on the host's `setTimeout`, which browsers, Node, Deno and workerd all have.
//! A sleep that is dropped clears its timeout, so a finished call never keeps Node alive.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasm_bindgen::prelude::*;

use pop3_wasm::transport::Timer;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Timeouts through `setTimeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsTimer;

impl Timer for JsTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(Sleep::new(duration))
    }
}

#[derive(Default)]
struct Shared {
    fired: bool,
    waker: Option<Waker>,
}

/// One pending `setTimeout`.
pub struct Sleep {
    shared: Rc<RefCell<Shared>>,
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Sleep {
    /// Starts a timeout of `duration`.
    pub fn new(duration: Duration) -> Sleep {
        let shared = Rc::new(RefCell::new(Shared::default()));
        let fired = shared.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            let mut state = fired.borrow_mut();
            state.fired = true;
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        });
        let handle = set_timeout(callback.as_ref().unchecked_ref(), duration.as_secs_f64() * 1000.0);
        Sleep { shared, handle, _callback: callback }
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.borrow_mut();
        if state.fired {
            Poll::Ready(())
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.shared.borrow().fired {
            clear_timeout(&self.handle);
        }
    }
}
