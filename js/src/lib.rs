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
//! The friendlier API, TypeScript types and runtime adapters live in the npm package
//! (`pkg/src`), on top of this. The protocol, TLS, MIME and sync logic is the `pop3-wasm` core
//! crate's; this crate only translates, so it holds no rule of its own.
//!
//! It is built for `wasm32-unknown-unknown` only; on other targets it is empty.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

mod abort;
mod error;
mod interop;
mod js_stream;
mod mime;
mod options;
mod queue;
pub mod session;
mod sync;
mod timer;
mod transport;
mod websocket;

use wasm_bindgen::prelude::*;

pub use error::to_js_error;
pub use js_stream::{JsByteStream, JsStreamTransport};
pub use mime::{attachment_content, parse_message, TextDecoderFallback};
pub use session::Session;
pub use sync::{SyncStateJs, WatchPolicy};
pub use timer::JsTimer;
pub use transport::{AnyTransport, BaseTransport};
pub use websocket::WebSocketTransport;

pub(crate) use error::describe_js;
pub(crate) use interop::{object, opt_str};

/// What this build contains: `fullEncoding` when the legacy CJK character sets are compiled in
/// (the `full-encoding` feature), `hostCharsets` when they are left to the host's TextDecoder.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    object(&[
        ("version", env!("CARGO_PKG_VERSION").into()),
        ("fullEncoding", cfg!(feature = "full-encoding").into()),
        ("hostCharsets", (!cfg!(feature = "full-encoding")).into()),
        ("htmlText", cfg!(feature = "html-text").into()),
        ("tls", cfg!(feature = "tls").into()),
    ])
}
