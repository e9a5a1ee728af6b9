//! The byte streams a JavaScript session runs over: a browser WebSocket to a websockify-style
//! proxy, or any JavaScript stream object (the Node, Deno and Cloudflare adapters), optionally
//! wrapped in TLS running inside the module.

use std::time::Duration;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::js_stream::JsStreamTransport;
use super::options::Options;
#[cfg(feature = "tls")]
use super::timer::JsTimer;
use super::websocket::WebSocketTransport;
use pop3_wasm::client::ClientConfig;
use pop3_wasm::transport::{TlsInfo, Transport};
use pop3_wasm::{Error, Result};

/// The byte streams the JavaScript client can run over.
pub enum BaseTransport {
    /// A WebSocket to a websockify-style proxy.
    WebSocket(WebSocketTransport),
    /// A byte stream object supplied by JavaScript (Node, Deno, Cloudflare adapters).
    Js(JsStreamTransport),
}

impl Transport for BaseTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            BaseTransport::WebSocket(t) => t.read(buf).await,
            BaseTransport::Js(t) => t.read(buf).await,
        }
    }
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.write(data).await,
            BaseTransport::Js(t) => t.write(data).await,
        }
    }
    async fn close(&mut self) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.close().await,
            BaseTransport::Js(t) => t.close().await,
        }
    }
    async fn start_tls(&mut self) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.start_tls().await,
            BaseTransport::Js(t) => t.start_tls().await,
        }
    }
    fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            BaseTransport::WebSocket(t) => t.tls_info(),
            BaseTransport::Js(t) => t.tls_info(),
        }
    }
}

/// A base stream as it is, or wrapped in TLS running inside the wasm module.
pub enum AnyTransport {
    /// No TLS of ours: plain, or TLS done by the host runtime inside a JavaScript stream.
    Plain(BaseTransport),
    /// rustls inside the module: the proxy (or host) sees only ciphertext.
    #[cfg(feature = "tls")]
    Tls(Box<pop3_wasm::tls::TlsStream<BaseTransport>>),
}

impl Transport for AnyTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            AnyTransport::Plain(t) => t.read(buf).await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.read(buf).await,
        }
    }
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.write(data).await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.write(data).await,
        }
    }
    async fn close(&mut self) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.close().await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.close().await,
        }
    }
    async fn start_tls(&mut self) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.start_tls().await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.start_tls().await,
        }
    }
    fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            AnyTransport::Plain(t) => t.tls_info(),
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.tls_info(),
        }
    }
}

// ----- conversions -----

/// Opens the byte stream `options` describe (`url` or `stream`), with TLS as they say.
pub(crate) async fn open(options: &Options<'_>, config: &ClientConfig) -> Result<AnyTransport> {
    let connect_timeout = options
        .number("connectTimeoutMs")?
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or(Some(Duration::from_secs(30)));
    let url = options.string("url")?;
    let stream = options.value("stream");
    let base = match (url, stream.is_object()) {
        (Some(url), false) => {
            let protocols: Vec<String> = Some(options.value("protocols"))
                .filter(Array::is_array)
                .map(|p| Array::from(&p).iter().filter_map(|v| v.as_string()).collect())
                .unwrap_or_default();
            // What may wait unread: the largest message (a slow reader of a streamed one) and
            // then some (the rest of a pipeline). Lists are read as they arrive.
            let max_buffered = config.engine.limits.max_message.saturating_add(16 * 1024 * 1024);
            BaseTransport::WebSocket(
                WebSocketTransport::connect(&url, &protocols, connect_timeout, max_buffered).await?,
            )
        }
        (None, true) => BaseTransport::Js(JsStreamTransport::new(stream.unchecked_into())),
        (Some(_), true) => return Err(Error::usage("give either url or stream, not both")),
        (None, false) => return Err(Error::usage("connect() needs a url (WebSocket proxy) or a stream")),
    };
    wrap_tls(base, options, connect_timeout).await
}

/// Applies `options.tls` (`none`, `implicit`, `starttls`) with `options.tlsProvider`:
/// `wasm` (rustls inside this module; the default for WebSockets) or `host` (the JavaScript
/// stream does TLS itself, through its `startTls()`; the default for streams).
async fn wrap_tls(base: BaseTransport, options: &Options<'_>, timeout: Option<Duration>) -> Result<AnyTransport> {
    let mode = pop3_wasm::transport::TlsMode::parse(&options.string("tls")?.unwrap_or_default())?;
    let default_provider = if matches!(base, BaseTransport::WebSocket(_)) { "wasm" } else { "host" };
    let provider = options.string("tlsProvider")?.unwrap_or_else(|| default_provider.to_owned());
    match (mode, provider.as_str()) {
        (pop3_wasm::transport::TlsMode::None, _) | (_, "host") => Ok(AnyTransport::Plain(base)),
        (_, "wasm") => wasm_tls(base, options, mode, timeout).await,
        (_, other) => Err(Error::usage(format!("tlsProvider must be 'wasm' or 'host', not {other:?}"))),
    }
}

#[cfg(feature = "tls")]
async fn wasm_tls(
    base: BaseTransport,
    options: &Options<'_>,
    mode: pop3_wasm::transport::TlsMode,
    timeout: Option<Duration>,
) -> Result<AnyTransport> {
    use pop3_wasm::tls::{TlsOptions, TlsStream};
    let server_name = options.string("serverName")?.ok_or_else(|| {
        Error::usage("serverName is required for TLS: the name on the mail server's certificate (through a proxy, not the proxy's name)")
    })?;
    let ca = options.value("ca");
    let extra_roots_pem: Vec<String> = if ca.is_undefined() || ca.is_null() {
        Vec::new()
    } else if let Some(pem) = ca.as_string() {
        vec![pem]
    } else if Array::is_array(&ca) {
        Array::from(&ca)
            .iter()
            .map(|v| v.as_string().ok_or_else(|| Error::usage("ca must be PEM text")))
            .collect::<Result<_>>()?
    } else {
        return Err(Error::usage("ca must be PEM text or an array of PEM texts"));
    };
    let pin_sha256 = options.string("pin")?.map(|p| TlsOptions::parse_pin(&p)).transpose()?;
    let only_extra_roots = options.boolean("caOnly")?.unwrap_or(false);
    let tls_options = TlsOptions { server_name, extra_roots_pem, only_extra_roots, pin_sha256 };
    let mut stream = TlsStream::new(base, &tls_options)?;
    if mode == pop3_wasm::transport::TlsMode::Implicit {
        match pop3_wasm::transport::with_timeout(&JsTimer, timeout, stream.handshake()).await {
            Some(result) => result?,
            None => return Err(Error::timeout("the TLS handshake took too long")),
        }
    }
    Ok(AnyTransport::Tls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
async fn wasm_tls(
    _: BaseTransport,
    _: &Options<'_>,
    _: pop3_wasm::transport::TlsMode,
    _: Option<Duration>,
) -> Result<AnyTransport> {
    Err(Error::usage(
        "this build has no TLS inside the module; use the build with TLS (pop3-wasm/tls), or a transport whose host does TLS",
    ))
}
