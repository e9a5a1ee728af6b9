//! Native transport and timer on tokio, for Rust programs and the integration tests.
//!
//! Only compiled for non-wasm targets. The client itself needs none of this: it runs on any
//! [`Transport`] and [`Timer`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Client, ClientConfig};
use crate::error::{Error, Result};
use crate::transport::{Timer, Transport};

/// A timer on tokio's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A plain TCP connection.
#[derive(Debug)]
pub struct TcpTransport {
    /// `None` once closed: closing releases the socket, so a server that keeps sending (after
    /// a fatal error, say) meets a closed connection, not a full receive buffer.
    stream: Option<TcpStream>,
    peer: String,
}

impl TcpTransport {
    /// Connects to `host:port`, giving up after `timeout`.
    pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpTransport> {
        let peer = format!("{host}:{port}");
        let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(io_error(&format!("cannot connect to {peer}"), &e)),
            Err(_) => return Err(Error::timeout(format!("connecting to {peer} took longer than {timeout:?}"))),
        };
        // Commands are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        Ok(TcpTransport { stream: Some(stream), peer })
    }

    /// The `host:port` this transport is connected to.
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

impl TcpTransport {
    fn open(&mut self) -> Result<&mut TcpStream> {
        self.stream.as_mut().ok_or_else(|| Error::closed(format!("the connection to {} is closed", self.peer)))
    }
}

impl Transport for TcpTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let peer = &self.peer;
        let stream =
            self.stream.as_mut().ok_or_else(|| Error::closed(format!("the connection to {peer} is closed")))?;
        stream.read(buf).await.map_err(|e| io_error(&format!("reading from {peer}"), &e))
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        let result = self.open()?.write_all(data).await;
        result.map_err(|e| io_error(&format!("writing to {}", self.peer), &e))
    }

    async fn close(&mut self) -> Result<()> {
        let Some(mut stream) = self.stream.take() else { return Ok(()) };
        // Shut down (FIN) and drop: the socket is released whatever the server does next.
        stream.shutdown().await.map_err(|e| io_error(&format!("closing {}", self.peer), &e))
    }
}

fn io_error(context: &str, e: &io::Error) -> Error {
    use io::ErrorKind as K;
    let what = match e.kind() {
        K::ConnectionRefused => "connection refused".to_owned(),
        K::ConnectionReset => "connection reset by the server".to_owned(),
        K::ConnectionAborted => "connection aborted".to_owned(),
        K::BrokenPipe => "the server closed the connection".to_owned(),
        K::TimedOut => "timed out".to_owned(),
        _ => e.to_string(),
    };
    match e.kind() {
        K::BrokenPipe | K::ConnectionReset | K::UnexpectedEof => Error::closed(format!("{context}: {what}")),
        K::TimedOut => Error::timeout(format!("{context}: {what}")),
        _ => Error::transport(format!("{context}: {what}")),
    }
}

/// Connects with TLS inside the library (rustls): `mode` says when TLS starts, `options` how
/// the server is validated. With [`TlsMode::StartTls`] the session is upgraded after the
/// greeting and fails, never falls back to plain text, if the server cannot.
#[cfg(feature = "tls")]
pub async fn connect_tls(
    host: &str,
    port: u16,
    mode: crate::transport::TlsMode,
    options: &crate::tls::TlsOptions,
    config: ClientConfig,
) -> Result<Client<crate::tls::TlsStream<TcpTransport>>> {
    use crate::transport::TlsMode;
    let connect_timeout = config.reply_timeout.unwrap_or(Duration::from_secs(60));
    let tcp = TcpTransport::connect(host, port, connect_timeout).await?;
    let mut stream = crate::tls::TlsStream::new(tcp, options)?;
    if mode == TlsMode::Implicit {
        match tokio::time::timeout(connect_timeout, stream.handshake()).await {
            Ok(result) => result?,
            Err(_) => return Err(Error::timeout(format!("the TLS handshake with {host}:{port} took too long"))),
        }
    }
    let mut client = Client::connect(stream, Rc::new(TokioTimer), config).await?;
    if mode == TlsMode::StartTls {
        client.stls().await?;
    }
    Ok(client)
}

/// Connects over plain TCP and waits for the greeting, with `config`'s reply timeout also
/// bounding the TCP connect.
pub async fn connect(host: &str, port: u16, config: ClientConfig) -> Result<Client<TcpTransport>> {
    let connect_timeout = config.reply_timeout.unwrap_or(Duration::from_secs(60));
    let transport = TcpTransport::connect(host, port, connect_timeout).await?;
    Client::connect(transport, Rc::new(TokioTimer), config).await
}

/// A [`crate::sync::SyncSink`] that delivers into a Maildir and keeps the sync state in
/// `pop3-state.json` inside it.
///
/// Messages are written to `tmp/`, synced, and renamed into `new/` (the Maildir delivery
/// protocol: readers never see a partial file). File names are derived from the message's
/// unique id, so saving the same id again finds the earlier copy (in `new/` or `cur/`) and
/// writes nothing: the sink is idempotent, as sync needs. The state is written the same way,
/// through a temporary file and a rename.
#[derive(Debug)]
pub struct MaildirSink {
    root: std::path::PathBuf,
    host: String,
}

/// The name of the state file inside the Maildir.
pub const STATE_FILE: &str = "pop3-state.json";

impl MaildirSink {
    /// Opens (creating if needed) the Maildir at `root`.
    pub fn open(root: impl Into<std::path::PathBuf>) -> Result<MaildirSink> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| Error::usage(format!("cannot create the Maildir {}: {e}", root.display())))?;
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().replace(['/', ':'], "_"))
            .unwrap_or_else(|_| "localhost".to_owned());
        Ok(MaildirSink { root, host })
    }

    /// The Maildir's root directory.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Loads the sync state, or starts one for `account` if there is none yet. A state for
    /// another account, a corrupt one or one from an unknown version is an error.
    pub fn load_state(&self, account: &str) -> Result<crate::sync::SyncState> {
        match std::fs::read_to_string(self.root.join(STATE_FILE)) {
            Ok(json) => {
                let state = crate::sync::SyncState::from_json(&json)?;
                state.check_account(account)?;
                Ok(state)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(crate::sync::SyncState::new(account)),
            Err(e) => Err(Error::usage(format!("cannot read the sync state: {e}"))),
        }
    }

    /// The file-name stem for a unique id: stable, and safe in any file system.
    fn stem(uid: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(uid.as_bytes());
        format!("pop3-{}", crate::auth::hex(&digest[..12]))
    }

    /// Whether a message with this stem was already delivered (in `new/`, or read and moved to
    /// `cur/` with flags appended).
    fn delivered(&self, stem: &str) -> bool {
        ["new", "cur"].iter().any(|sub| {
            std::fs::read_dir(self.root.join(sub)).is_ok_and(|mut entries| {
                entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(stem)))
            })
        })
    }

    fn io(&self, what: &str, e: io::Error) -> Error {
        Error::usage(format!("cannot {what} in the Maildir {}: {e}", self.root.display()))
    }

    /// Writes `data` to `dir/name` through `tmp/` and a rename, syncing both.
    fn write_atomically(&self, name: &str, data: &[u8], dir: &std::path::Path) -> Result<()> {
        use std::io::Write;
        let tmp = self.root.join("tmp").join(format!("{name}.{}", std::process::id()));
        let mut file = std::fs::File::create(&tmp).map_err(|e| self.io("create a file", e))?;
        file.write_all(data).map_err(|e| self.io("write", e))?;
        file.sync_all().map_err(|e| self.io("sync a file", e))?;
        std::fs::rename(&tmp, dir.join(name)).map_err(|e| self.io("deliver a file", e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl crate::sync::SyncSink for MaildirSink {
    async fn save(&mut self, uid: &str, message: &[u8]) -> Result<()> {
        let stem = Self::stem(uid);
        if self.delivered(&stem) {
            return Ok(());
        }
        let name = format!("{stem}.{}", self.host);
        let new = self.root.join("new");
        self.write_atomically(&name, message, &new)
    }

    async fn save_state(&mut self, state: &crate::sync::SyncState) -> Result<()> {
        let root = self.root.clone();
        self.write_atomically(STATE_FILE, state.to_json().as_bytes(), &root)
    }
}
