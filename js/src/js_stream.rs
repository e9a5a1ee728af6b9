//! A byte stream supplied by JavaScript: any object with `read()`, `write(bytes)` and
//! `close()` (and optionally `startTls()` and a `tlsInfo` property). The Node, Deno and
//! Cloudflare adapters in the npm package are such objects.
//!
//! A read that is abandoned (a call aborted or timed out) keeps its promise, and the next read
//! takes its result, so no bytes are lost when a call is cancelled. What a read resolves to is
//! copied before the next read is asked for, so a transport may hand out views of one reused
//! buffer.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use pop3_wasm::transport::{TlsInfo, Transport};
use pop3_wasm::{Error, ErrorKind, Result};

#[wasm_bindgen]
extern "C" {
    /// The JavaScript side of [`JsStreamTransport`].
    #[wasm_bindgen(typescript_type = "ByteStream")]
    pub type JsByteStream;

    #[wasm_bindgen(method, catch)]
    fn read(this: &JsByteStream) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn write(this: &JsByteStream, data: &Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &JsByteStream) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = startTls)]
    fn start_tls(this: &JsByteStream) -> Result<JsValue, JsValue>;
}

/// A [`Transport`] over a JavaScript byte-stream object.
pub struct JsStreamTransport {
    stream: JsByteStream,
    pending_read: Option<JsFuture>,
    /// Bytes of the last chunk that did not fit into the caller's buffer.
    leftover: Option<(Uint8Array, u32)>,
}

impl JsStreamTransport {
    /// Wraps `stream`.
    pub fn new(stream: JsByteStream) -> Self {
        JsStreamTransport { stream, pending_read: None, leftover: None }
    }
}

/// Converts an exception from a JavaScript transport into an [`Error`], by its cause, never by
/// its message. Adapters set `pop3Kind` (one of [`ErrorKind`]'s names) to say what kind of
/// failure it was; a `Pop3Error`'s `code` says the same. Without either, a system error's
/// `code` (Node: `ECONNRESET`, ...) or `name` (Deno: `ConnectionReset`, ...) tells a closed or
/// reset connection and a timeout from other network trouble. Only an adapter's word makes an
/// error a TLS error: a cut during the TLS handshake is `Closed`, as anywhere else.
pub fn transport_error(context: &str, value: &JsValue) -> Error {
    let text = |name: &str| Reflect::get(value, &name.into()).ok().and_then(|v| v.as_string());
    let kind = text("pop3Kind")
        .and_then(|k| kind_named(&k))
        .or_else(|| text("code").and_then(|c| kind_named(&c).or_else(|| kind_of_cause(&c))))
        .or_else(|| text("name").and_then(|n| kind_of_cause(&n)))
        .unwrap_or(ErrorKind::Transport);
    Error::new(kind, format!("{context}: {}", super::describe_js(value)))
}

/// The kind with this [`ErrorKind::as_str`] name.
fn kind_named(name: &str) -> Option<ErrorKind> {
    use ErrorKind as K;
    [K::Server, K::Auth, K::Protocol, K::Limit, K::Timeout, K::Closed, K::Transport, K::Tls, K::Usage]
        .into_iter()
        .find(|k| k.as_str() == name)
}

/// The kind of a system error, by Node's errno code or Deno's error class name.
fn kind_of_cause(cause: &str) -> Option<ErrorKind> {
    match cause {
        "ECONNRESET"
        | "EPIPE"
        | "ECONNABORTED"
        | "ENOTCONN"
        | "ERR_STREAM_DESTROYED"
        | "ConnectionReset"
        | "BrokenPipe"
        | "ConnectionAborted"
        | "NotConnected"
        | "UnexpectedEof" => Some(ErrorKind::Closed),
        "ETIMEDOUT" | "TimedOut" => Some(ErrorKind::Timeout),
        _ => None,
    }
}

async fn settle(value: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::resolve(&value)).await
}

impl Transport for JsStreamTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (chunk, offset) = match self.leftover.take() {
            Some(left) => left,
            None => {
                if self.pending_read.is_none() {
                    let promise = self.stream.read().map_err(|e| transport_error("read failed", &e))?;
                    self.pending_read = Some(JsFuture::from(Promise::resolve(&promise)));
                }
                let result = self.pending_read.as_mut().expect("set above").await;
                self.pending_read = None;
                let value = result.map_err(|e| transport_error("read failed", &e))?;
                if value.is_null() || value.is_undefined() {
                    return Ok(0);
                }
                let chunk = if let Some(array) = value.dyn_ref::<Uint8Array>() {
                    array.clone()
                } else if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
                    Uint8Array::new(buffer)
                } else {
                    return Err(Error::usage("a transport's read() must resolve to a Uint8Array or null"));
                };
                (chunk, 0)
            }
        };
        let available = chunk.length() - offset;
        if available == 0 {
            // An empty chunk is not the end of the stream; ask again.
            return Box::pin(self.read(buf)).await;
        }
        let n = available.min(buf.len() as u32);
        chunk.subarray(offset, offset + n).copy_to(&mut buf[..n as usize]);
        if n < available {
            // A copy: the transport may reuse the chunk's memory for its next read.
            self.leftover = Some((chunk.slice(offset + n, chunk.length()), 0));
        }
        Ok(n as usize)
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        let array = Uint8Array::from(data);
        let result = self.stream.write(&array).map_err(|e| transport_error("write failed", &e))?;
        // The copy in `array` may hold a password: overwrite it once written.
        let outcome = settle(result).await.map_err(|e| transport_error("write failed", &e));
        array.fill(0, 0, array.length());
        outcome.map(drop)
    }

    async fn close(&mut self) -> Result<()> {
        let result = self.stream.close().map_err(|e| transport_error("close failed", &e))?;
        settle(result).await.map(drop).map_err(|e| transport_error("close failed", &e))
    }

    async fn start_tls(&mut self) -> Result<()> {
        if self.leftover.is_some() || self.pending_read.is_some() {
            return Err(Error::tls("bytes arrived before the TLS handshake (STARTTLS injection)"));
        }
        let has = Reflect::get(&self.stream, &"startTls".into()).map(|f| f.is_function()).unwrap_or(false);
        if !has {
            return Err(Error::usage("this transport has no startTls(), so STLS is not available"));
        }
        let result = self.stream.start_tls().map_err(|e| transport_error("TLS upgrade failed", &e))?;
        settle(result).await.map(drop).map_err(|e| transport_error("TLS upgrade failed", &e))
    }

    fn tls_info(&self) -> Option<TlsInfo> {
        let info = Reflect::get(&self.stream, &"tlsInfo".into()).ok().filter(JsValue::is_object)?;
        if info.is_null() || info.is_undefined() {
            return None;
        }
        let field = |name: &str| Reflect::get(&info, &name.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        Some(TlsInfo { version: field("version"), cipher: field("cipher"), terminated_by: "host" })
    }
}

impl Drop for JsStreamTransport {
    fn drop(&mut self) {
        // A client dropped without close() (an aborted call, a failed sync) must not leave the
        // socket, and the server's lock on the mailbox, open until the server times out.
        // Closing twice is harmless for the adapters; the promise is not awaited.
        let _ = self.stream.close();
    }
}
