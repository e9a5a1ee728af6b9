//! The JavaScript face of the client: the only module that touches wasm-bindgen.
//!
//! It is deliberately thin, one file per concern:
//! - [`session`]: the `Session` class and its calls, each taking one options object;
//! - `options`: reading those objects, and their TypeScript types;
//! - `error`: errors as JavaScript `Error` objects, and callbacks' own errors passed through;
//! - `interop`: conversions between Rust values and plain JavaScript objects;
//! - `transport`: the WebSocket and JavaScript-stream transports, with TLS inside the module;
//! - `abort`: `AbortSignal`s;
//! - `sync`: the sync state held in Rust, streaming sinks, and the shared watch policy and
//!   Maildir naming;
//! - `mime`: `parseMessage` and `attachmentContent`.
//!
//! Features choose what a build holds (the npm package ships three): `client` (everything but
//! `mime`), `tls` (the client with TLS inside) and `mime` (the parser alone). `buildInfo` is in
//! every build.
//!
//! The friendlier API, TypeScript types and runtime adapters live in the npm package
//! (`pkg/src`), on top of this. The protocol, TLS, MIME and sync logic is the `pop3-wasm` core
//! crate's; this crate only translates, so it holds no rule of its own.
//!
//! It is built for `wasm32-unknown-unknown` only; on other targets it is empty.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

// What the client and the parser share; in a parser-only build some of it goes unused.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
mod error;
#[cfg_attr(not(feature = "client"), allow(dead_code))]
mod interop;

#[cfg(feature = "client")]
mod abort;
#[cfg(feature = "client")]
mod js_stream;
#[cfg(feature = "mime")]
mod mime;
#[cfg(feature = "client")]
mod options;
#[cfg(feature = "client")]
mod queue;
#[cfg(feature = "client")]
pub mod session;
#[cfg(feature = "client")]
mod sync;
#[cfg(feature = "client")]
mod timer;
#[cfg(feature = "client")]
mod transport;
#[cfg(feature = "client")]
mod websocket;

use wasm_bindgen::prelude::*;

pub use error::to_js_error;
#[cfg(feature = "client")]
pub use js_stream::{JsByteStream, JsStreamTransport};
#[cfg(feature = "mime")]
pub use mime::{attachment_content, parse_message, TextDecoderFallback};
#[cfg(feature = "client")]
pub use session::Session;
#[cfg(feature = "client")]
pub use sync::{SyncStateJs, WatchPolicy};
#[cfg(feature = "client")]
pub use timer::JsTimer;
#[cfg(feature = "client")]
pub use transport::{AnyTransport, BaseTransport};
#[cfg(feature = "client")]
pub use websocket::WebSocketTransport;

#[cfg(feature = "client")]
pub(crate) use error::describe_js;
pub(crate) use interop::object;
#[cfg(feature = "mime")]
pub(crate) use interop::opt_str;

/// What this build contains: `client` and `mime` (which halves of the API it has), `tls`,
/// `fullEncoding` when the legacy CJK character sets are compiled in
/// (the `full-encoding` feature), `hostCharsets` when they are left to the host's TextDecoder.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    object(&[
        ("version", env!("CARGO_PKG_VERSION").into()),
        ("client", cfg!(feature = "client").into()),
        ("mime", cfg!(feature = "mime").into()),
        ("fullEncoding", cfg!(feature = "full-encoding").into()),
        ("hostCharsets", (!cfg!(feature = "full-encoding")).into()),
        ("htmlText", cfg!(feature = "html-text").into()),
        ("tls", cfg!(feature = "tls").into()),
    ])
}
