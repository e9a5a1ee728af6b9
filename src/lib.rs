//! A POP3 client whose protocol engine does no I/O, so the same code runs in browsers, edge
//! workers, Node, Deno, WASI components and native Rust.
//!
//! It covers RFC 1939 (POP3), 2449 (CAPA, response codes, pipelining), 2595 (STLS), 5034 (SASL),
//! 3206 (`SYS` and `AUTH` codes) and 6856 (UTF8, LANG). Every error says what went wrong as an
//! [`ErrorKind`] and, where a program must tell cases apart, a [`Detail`]; none ever contains a
//! password or token, even when a server echoes one. Every read is bounded in size, and the
//! async client bounds it in time too.
//!
//! # Three ways to use it
//!
//! **1. The async client** ([`client::Client`]) over a [`transport::Transport`]: on tokio TCP
//! with [`native::connect`] (feature `tokio`), with TLS inside the library
//! (`native::connect_tls`, feature `tls`), or over your own byte stream:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn example() -> pop3_wasm::Result<()> {
//! use pop3_wasm::auth::Credentials;
//! use pop3_wasm::client::{ClientConfig, LoginOptions};
//!
//! let mut client = pop3_wasm::native::connect("127.0.0.1", 110, ClientConfig::default()).await?;
//! // SCRAM-SHA-256 when offered; a password is never sent in cleartext unless allowed.
//! client.login(&Credentials::new("alice", "secret"), &LoginOptions::default()).await?;
//! for entry in client.uidl().await? {
//!     let message = client.retr(entry.msg).await?;
//!     println!("{} {} octets", entry.uid, message.len());
//! }
//! client.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! **2. The engine with your own I/O** ([`engine::Engine`]): no socket, clock or runtime
//! inside. You write what [`Engine::poll_transmit`](engine::Engine::poll_transmit) hands out and
//! feed what you read to [`Engine::handle_input`](engine::Engine::handle_input), which returns
//! one [`engine::Event`] at a time. `examples/engine_std.rs` is a whole client on blocking
//! `std::net::TcpStream`; here is a session fed from memory:
//!
//! ```
//! use pop3_wasm::engine::{Config, Engine, Event, Reply};
//! use pop3_wasm::proto::Command;
//!
//! let mut engine = Engine::new(Config::default());
//! let (used, event) = engine.handle_input(b"+OK POP3 ready\r\n")?;
//! assert_eq!(used, 16);
//! assert!(matches!(event, Some(Event::Greeting(_))));
//!
//! // Commands are checked against the session state before anything is sent.
//! let refused = engine.send(Command::Stat).unwrap_err();
//! assert_eq!(refused.kind(), pop3_wasm::ErrorKind::Usage);
//! # Ok::<(), pop3_wasm::Error>(())
//! ```
//!
//! ```
//! # use pop3_wasm::engine::{Config, Engine, Event, Reply};
//! # use pop3_wasm::proto::{Command, Stat};
//! # use pop3_wasm::Secret;
//! # let mut engine = Engine::new(Config::default());
//! # engine.handle_input(b"+OK ready\r\n")?;
//! engine.send(Command::user("alice")?)?;
//! engine.send(Command::pass(&Secret::from("secret"))?)?;
//! // Without PIPELINING, one command at a time goes on the wire.
//! assert_eq!(&engine.poll_transmit().unwrap()[..], b"USER alice\r\n");
//!
//! // Feeds the server's bytes; returns each command's outcome, writing as replies arrive.
//! fn feed(engine: &mut Engine, mut input: &[u8]) -> pop3_wasm::Result<Vec<Reply>> {
//!     let mut replies = Vec::new();
//!     loop {
//!         let (used, event) = engine.handle_input(input)?;
//!         input = &input[used..];
//!         match event {
//!             Some(Event::Done { result, .. }) => replies.push(result?),
//!             Some(_) => {}
//!             None => return Ok(replies),
//!         }
//!         let _ = engine.poll_transmit(); // PASS goes out once USER is answered
//!     }
//! }
//! feed(&mut engine, b"+OK\r\n+OK logged in\r\n")?;
//! engine.send(Command::Stat)?;
//! assert_eq!(&engine.poll_transmit().unwrap()[..], b"STAT\r\n");
//! let replies = feed(&mut engine, b"+OK 2 320\r\n")?;
//! assert_eq!(replies.last(), Some(&Reply::Stat(Stat { count: 2, size: 320 })));
//! # Ok::<(), pop3_wasm::Error>(())
//! ```
//!
//! **3. Sync** ([`sync::sync`]): download what is new by UIDL into a [`sync::SyncSink`] (a
//! Maildir with [`sync::MaildirSink`], or your own), durably, then delete as a
//! [`sync::Retention`] says. The state records what was saved; a crash at any point loses no
//! message and deletes none that was not saved.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn example(mut client: pop3_wasm::client::Client<pop3_wasm::native::TcpTransport>) -> pop3_wasm::Result<()> {
//! use pop3_wasm::sync::{self, MaildirSink, Retention, SyncOptions};
//!
//! let mut sink = MaildirSink::open("/home/alice/Maildir")?;
//! let mut state = sink.load_state("alice@mail.example.org")?;
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
//! let options = SyncOptions { retention: Retention::DeleteOlderThan { days: 7 }, now, ..SyncOptions::default() };
//! let report = sync::sync(&mut client, &mut state, &options, &mut sink).await?;
//! println!("{} new, {} deleted", report.saved, report.deleted);
//! # Ok(())
//! # }
//! ```
//!
//! # Layers
//!
//! Dependencies run one way, from the wire up:
//! - [`proto`]: commands with validated arguments, status lines and reply grammar,
//!   capabilities, and the incremental reply decoder;
//! - [`auth`]: SASL mechanisms, APOP and the policy that picks one (uses `proto`'s types);
//! - [`engine`]: the sans-I/O session (uses `proto` and `auth`): bytes in, events and bytes
//!   out, pipelining policy;
//! - [`transport`]: the byte-stream trait the async client talks through, and timeouts;
//! - [`client`]: the async client that pumps bytes between a transport and the engine;
//! - `tls` (feature `tls`): rustls over any transport, for implicit TLS and STLS;
//! - [`sync`]: download what is new, save it durably, delete as configured (on the client);
//! - `native` (feature `tokio`, not on wasm): tokio TCP, the timer, `connect` and `connect_tls`;
//! - `mime` (feature `mime`): retrieved messages decoded through mail-parser, with an
//!   injectable [`mime::CharsetFallback`](crate::mime) for charsets it lacks.
//!
//! The JavaScript face (the npm package) is a separate crate, `pop3-wasm-js`, in `js/`; the WASI
//! component is `component/`.
//!
//! # Features
//!
//! `tokio`, `mime`, `tls` and `html-text` are on by default. `full-encoding` adds mail-parser's
//! legacy multi-byte charsets; `serde` derives `Serialize` for the decoded message types. With
//! no features the crate is the engine, the async client and sync, with no runtime.

#![deny(missing_docs)]

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

pub use error::{
    CertificateDetail, CertificateProblem, Detail, Error, ErrorKind, ListingEntries, ListingProblem, Result,
};
pub use secret::{Redactor, Secret};
