//! Abort signals: a call whose `AbortSignal` fires rejects at once.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use super::error::js_error;
use pop3_wasm::ErrorKind;

#[derive(Default)]
struct AbortState {
    fired: bool,
    waker: Option<Waker>,
}

/// Resolves when an `AbortSignal` fires; removes its listener when dropped.
pub(crate) struct AbortWatch {
    signal: JsValue,
    state: Rc<RefCell<AbortState>>,
    listener: Option<Closure<dyn FnMut()>>,
}

impl AbortWatch {
    pub(crate) fn new(signal: &JsValue) -> AbortWatch {
        let state = Rc::new(RefCell::new(AbortState::default()));
        let mut watch = AbortWatch { signal: signal.clone(), state: state.clone(), listener: None };
        if signal.is_undefined() || signal.is_null() {
            return watch;
        }
        if Reflect::get(signal, &"aborted".into()).ok().and_then(|a| a.as_bool()) == Some(true) {
            state.borrow_mut().fired = true;
            return watch;
        }
        let listener = Closure::<dyn FnMut()>::new(move || {
            let mut st = state.borrow_mut();
            st.fired = true;
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        });
        if let Ok(add) = Reflect::get(signal, &"addEventListener".into()).and_then(|f| f.dyn_into::<Function>()) {
            let _ = add.call2(signal, &"abort".into(), listener.as_ref());
        }
        watch.listener = Some(listener);
        watch
    }

    pub(crate) fn fired(&self) -> bool {
        self.state.borrow().fired
    }

    /// The error an aborted call rejects with: `code` `timeout` when the signal's reason is a
    /// `TimeoutError` (as from `AbortSignal.timeout()`), `aborted` otherwise.
    pub(crate) fn error(&self) -> JsValue {
        let reason = Reflect::get(&self.signal, &"reason".into()).unwrap_or(JsValue::UNDEFINED);
        let name = Reflect::get(&reason, &"name".into()).ok().and_then(|n| n.as_string());
        if name.as_deref() == Some("TimeoutError") {
            js_error(ErrorKind::Timeout, "the call took longer than its time limit and was cancelled")
        } else {
            let err = js_error(ErrorKind::Usage, "the call was aborted");
            let _ = Reflect::set(&err, &"code".into(), &"aborted".into());
            let _ = Reflect::set(&err, &"name".into(), &"AbortError".into());
            err
        }
    }

    pub(crate) async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if st.fired {
                Poll::Ready(())
            } else {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            if let Ok(remove) =
                Reflect::get(&self.signal, &"removeEventListener".into()).and_then(|f| f.dyn_into::<Function>())
            {
                let _ = remove.call2(&self.signal, &"abort".into(), listener.as_ref());
            }
        }
    }
}
