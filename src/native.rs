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
    stream: TcpStream,
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
        Ok(TcpTransport { stream, peer })
    }

    /// The `host:port` this transport is connected to.
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

impl Transport for TcpTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.stream.read(buf).await.map_err(|e| io_error(&format!("reading from {}", self.peer), &e))
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.stream.write_all(data).await.map_err(|e| io_error(&format!("writing to {}", self.peer), &e))
    }

    async fn close(&mut self) -> Result<()> {
        self.stream.shutdown().await.map_err(|e| io_error(&format!("closing {}", self.peer), &e))
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
