//! A byte stream over a WebSocket to a WebSocket-to-TCP proxy speaking websockify's protocol:
//! binary frames carrying raw TCP bytes, with frame boundaries that mean nothing.
//!
//! Failures of the proxy become typed errors: a proxy that cannot be reached, one that cannot
//! reach the mail server (websockify opens the WebSocket, then closes it with 1011), and a
//! connection lost in the middle of a reply.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use pop3_wasm::transport::{with_timeout, Transport};
use pop3_wasm::{Error, Result};

use super::timer::JsTimer;

#[derive(Default)]
struct State {
    open: bool,
    /// An `error` event before the socket opened (Node 20's WebSocket fires only this, no
    /// `close`, when the proxy refuses the connection).
    failed: bool,
    /// Received frames, and how far the first one has been read.
    frames: VecDeque<Uint8Array>,
    offset: u32,
    /// Octets received and not read yet, and the most allowed: a browser WebSocket cannot be
    /// paused, so a server that floods faster than the client reads would otherwise grow
    /// memory without bound.
    buffered: u64,
    max_buffered: u64,
    /// `buffered` passed `max_buffered`: the socket was closed.
    overflowed: bool,
    closed: Option<(u16, String)>,
    waker: Option<Waker>,
}

impl State {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// A connected WebSocket.
pub struct WebSocketTransport {
    socket: WebSocket,
    url: String,
    state: Rc<RefCell<State>>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut()>,
}

impl WebSocketTransport {
    /// Opens a WebSocket to `url`, offering `protocols` (websockify accepts none, or `binary`),
    /// and waits until it is open. At most `max_buffered` octets may wait to be read; more
    /// closes the connection with a [`pop3_wasm::ErrorKind::Limit`] error.
    pub async fn connect(
        url: &str,
        protocols: &[String],
        timeout: Option<Duration>,
        max_buffered: u64,
    ) -> Result<WebSocketTransport> {
        let socket = if protocols.is_empty() {
            WebSocket::new(url)
        } else {
            let list = js_sys::Array::new();
            for p in protocols {
                list.push(&JsValue::from_str(p));
            }
            WebSocket::new_with_str_sequence(url, &list)
        }
        .map_err(|e| Error::usage(format!("invalid WebSocket URL {url:?}: {}", super::describe_js(&e))))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let state = Rc::new(RefCell::new(State { max_buffered, ..State::default() }));

        let s = state.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            let mut st = s.borrow_mut();
            st.open = true;
            st.wake();
        });
        let s = state.clone();
        let ws = socket.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let mut st = s.borrow_mut();
            if st.overflowed {
                return;
            }
            let frame = if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                Uint8Array::new(buffer)
            } else if let Some(text) = data.as_string() {
                // websockify's old base64 mode; never negotiated by us, but do not lose bytes.
                Uint8Array::from(text.as_bytes())
            } else {
                return;
            };
            st.buffered += u64::from(frame.length());
            if st.buffered > st.max_buffered {
                st.overflowed = true;
                st.frames.clear();
                let _ = ws.close_with_code(1000);
            } else {
                st.frames.push_back(frame);
            }
            st.wake();
        });
        let s = state.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let mut st = s.borrow_mut();
            st.closed = Some((event.code(), event.reason()));
            st.wake();
        });
        let s = state.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            let mut st = s.borrow_mut();
            if !st.open {
                st.failed = true;
            }
            st.wake();
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let transport = WebSocketTransport {
            socket,
            url: url.to_owned(),
            state,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        };
        let opened = poll_fn(|cx| {
            let mut st = transport.state.borrow_mut();
            if st.open {
                return Poll::Ready(Ok(()));
            }
            if let Some((code, reason)) = &st.closed {
                return Poll::Ready(Err(Error::transport(format!(
                    "cannot reach the WebSocket proxy at {url} (close code {code}{})",
                    if reason.is_empty() { String::new() } else { format!(": {reason}") }
                ))));
            }
            if st.failed {
                return Poll::Ready(Err(Error::transport(format!("cannot reach the WebSocket proxy at {url}"))));
            }
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        });
        match with_timeout(&JsTimer, timeout, opened).await {
            Some(Ok(())) => Ok(transport),
            Some(Err(e)) => Err(e),
            None => {
                let _ = transport.socket.close();
                Err(Error::timeout(format!("the WebSocket proxy at {url} did not answer in time")))
            }
        }
    }

    fn overflow_error(&self) -> Error {
        Error::limit(format!(
            "the server sent more than {} octets the client had not read yet; the connection was closed",
            self.state.borrow().max_buffered
        ))
    }

    fn closed_error(&self, code: u16, reason: &str) -> Option<Error> {
        let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
        match code {
            // Normal closure: websockify says "Target closed" when the mail server hung up.
            // The end of the stream; the engine decides whether a reply was cut short.
            1000 | 1005 => None,
            1011 => Some(Error::transport(format!(
                "the proxy at {} could not reach the mail server or lost it (close code 1011{reason})",
                self.url
            ))),
            1006 => {
                Some(Error::closed(format!("the connection to the proxy at {} was lost (close code 1006)", self.url)))
            }
            _ => Some(Error::transport(format!(
                "the proxy at {} closed the connection (close code {code}{reason})",
                self.url
            ))),
        }
    }
}

impl Transport for WebSocketTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let result = poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if st.overflowed {
                drop(st);
                return Poll::Ready(Err(self.overflow_error()));
            }
            if let Some(frame) = st.frames.front().cloned() {
                let offset = st.offset;
                let available = frame.length() - offset;
                let n = available.min(buf.len() as u32);
                frame.subarray(offset, offset + n).copy_to(&mut buf[..n as usize]);
                if n == available {
                    st.frames.pop_front();
                    st.offset = 0;
                } else {
                    st.offset += n;
                }
                st.buffered -= u64::from(n);
                return Poll::Ready(Ok(n as usize));
            }
            if let Some((code, reason)) = st.closed.clone() {
                drop(st);
                return Poll::Ready(match self.closed_error(code, &reason) {
                    Some(e) => Err(e),
                    None => Ok(0),
                });
            }
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if result.is_err() {
            let _ = self.socket.close_with_code(1000);
        }
        result
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.state.borrow().overflowed {
            return Err(self.overflow_error());
        }
        if let Some((code, reason)) = self.state.borrow().closed.clone() {
            return Err(self
                .closed_error(code, &reason)
                .unwrap_or_else(|| Error::closed(format!("the proxy at {} closed the connection", self.url))));
        }
        self.socket.send_with_u8_array(data).map_err(|e| {
            Error::transport(format!("cannot send to the proxy at {}: {}", self.url, super::describe_js(&e)))
        })
    }

    async fn close(&mut self) -> Result<()> {
        let _ = self.socket.close_with_code(1000);
        Ok(())
    }
}

impl Drop for WebSocketTransport {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}
