//! The byte stream the async client talks through, and the timer it uses for timeouts.
//!
//! Both traits are deliberately small and have no `Send` bound: futures in a browser or an
//! edge worker are not `Send`, and the client must run there unchanged. Implementations live
//! next to their runtime: native TCP in [`crate::native`], and the JavaScript transports in the
//! wasm bindings.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{Error, Result};

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain text (passwords then only with a mechanism that does not reveal them, or consent).
    #[default]
    None,
    /// TLS from the first byte (POP3S, port 995).
    Implicit,
    /// Plain text until the greeting, then `STLS` (RFC 2595). Required: if the server does not
    /// offer or refuses STLS, connecting fails; it never falls back to plain text.
    StartTls,
}

impl TlsMode {
    /// Parses `none`, `implicit` (or `tls`, `pop3s`) and `starttls` (or `stls`).
    pub fn parse(name: &str) -> Result<TlsMode> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "plain" => Ok(TlsMode::None),
            "implicit" | "tls" | "pop3s" => Ok(TlsMode::Implicit),
            "starttls" | "stls" => Ok(TlsMode::StartTls),
            other => Err(Error::usage(format!("unknown TLS mode {other:?}; use none, implicit or starttls"))),
        }
    }
}

/// What protects a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The negotiated protocol version, such as `TLSv1.3`.
    pub version: String,
    /// The negotiated cipher suite, such as `TLS13_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// Who terminates TLS: `"wasm"` (rustls inside this library) or `"host"` (the runtime's TLS).
    pub terminated_by: &'static str,
}

/// A bidirectional byte stream to a POP3 server.
///
/// `read` returns `Ok(0)` at the end of the stream. Errors should be of kind
/// [`crate::ErrorKind::Transport`] (or `Closed`, `Tls`) with a message that says what failed.
#[allow(async_fn_in_trait)] // Deliberate: no `Send` bound, so the trait works in wasm.
pub trait Transport {
    /// Reads some bytes into `buf`, returning how many (0 at the end of the stream).
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize>;

    /// Writes all of `data`.
    async fn write(&mut self, data: &[u8]) -> Result<()>;

    /// Closes the stream. Errors here are reported but rarely matter.
    async fn close(&mut self) -> Result<()>;

    /// Upgrades the stream to TLS in place (after `STLS` was accepted). Transports that
    /// cannot do that keep this default, and `STLS` fails with a usage error.
    async fn start_tls(&mut self) -> Result<()> {
        Err(Error::usage("this transport cannot start TLS"))
    }

    /// The TLS session protecting the stream, if any. `None` means the stream is readable by
    /// anyone on the path, so passwords must not be sent in the clear over it.
    fn tls_info(&self) -> Option<TlsInfo> {
        None
    }
}

/// A source of delays, supplied by the runtime (tokio, `setTimeout`, ...).
pub trait Timer {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>>;
}

/// A timer that never fires: for drivers that bound waiting some other way.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTimer;

impl Timer for NoTimer {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(std::future::pending())
    }
}

/// Runs `future` for at most `duration` on `timer`; `None` when the time ran out.
pub async fn with_timeout<F: Future>(timer: &dyn Timer, duration: Option<Duration>, future: F) -> Option<F::Output> {
    let Some(duration) = duration else { return Some(future.await) };
    let future = std::pin::pin!(future);
    match futures::future::select(future, timer.sleep(duration)).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(((), _)) => None,
    }
}
