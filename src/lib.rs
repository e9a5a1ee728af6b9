//! A POP3 client whose protocol engine does no I/O, so the same code runs in browsers, edge
//! workers, Node, Deno and native Rust.
//!
//! Layers, from the wire up:
//! - [`proto`]: commands with validated arguments, status lines, capabilities, and the
//!   incremental reply decoder;
//! - [`auth`]: SASL mechanisms, APOP, and the policy that picks one;
//! - [`engine`]: the sans-I/O session state machine (bytes in, events and bytes out);
//! - [`transport`]: the byte-stream trait the async client talks through, and its
//!   implementations;
//! - [`client`]: the async client that pumps bytes between a transport and the engine;
//! - `tls` (feature `tls`, on by default): rustls over any transport, for implicit TLS and STLS;
//! - [`mime`]: retrieved messages decoded through mail-parser (headers, bodies, attachments);
//! - [`sync`]: download what is new (by UIDL), save it durably, then delete as configured;
//! - `native` (not on wasm): a tokio TCP transport and timer, and the Maildir sink (which WASI
//!   has too);
//! - `wasm` (on wasm32-unknown-unknown only): the JavaScript API, the WebSocket and
//!   JavaScript-stream transports.

pub mod auth;
pub mod client;
pub mod engine;
mod error;
#[cfg(feature = "mime")]
pub mod mime;
#[cfg(all(feature = "tokio", not(target_arch = "wasm32")))]
pub mod native;
pub mod proto;
mod secret;
pub mod sync;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;

pub use error::{Detail, Error, ErrorKind, ListingEntries, ListingProblem, Result};
pub use secret::{Redactor, Secret};
