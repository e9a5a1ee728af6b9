//! The async client on tokio (feature `tokio`, native targets): a TCP transport, a timer, and
//! `connect` functions. The client itself needs none of this: it runs on any
//! [`Transport`] and [`Timer`].

use std::{future::Future, pin::Pin, rc::Rc, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Client, ClientConfig};
use crate::error::{Error, ErrorKind, Result};
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
            Ok(Err(e)) => return Err(Error::from_io(ErrorKind::Transport, &format!("cannot connect to {peer}"), e)),
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
        stream.read(buf).await.map_err(|e| Error::from_io(ErrorKind::Transport, &format!("reading from {peer}"), e))
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        let result = self.open()?.write_all(data).await;
        result.map_err(|e| Error::from_io(ErrorKind::Transport, &format!("writing to {}", self.peer), e))
    }

    async fn close(&mut self) -> Result<()> {
        let Some(mut stream) = self.stream.take() else { return Ok(()) };
        // Shut down (FIN) and drop: the socket is released whatever the server does next.
        stream.shutdown().await.map_err(|e| Error::from_io(ErrorKind::Transport, &format!("closing {}", self.peer), e))
    }
}

/// Connects with TLS inside the library (rustls): `mode` says when TLS starts, `options` how
/// the server is validated. With [`TlsMode::StartTls`](crate::transport::TlsMode::StartTls) the session is upgraded after the
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
