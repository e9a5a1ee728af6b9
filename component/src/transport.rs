//! The `wasi:sockets` transport: a blocking `std::net::TcpStream` (which is `wasi:sockets` TCP
//! on wasm32-wasip2) behind the core's `Transport` trait, and the connection the sessions use:
//! plain, or the core's rustls `TlsStream` over it.
//!
//! The socket never waits past the earliest timer the client has armed (see
//! [`crate::runtime`]): each read and write first sets the socket's timeout to the time left,
//! and when it fires, yields so the client's `select` can see its timer is due.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::time::Duration;

use pop3_wasm::tls::TlsStream;
use pop3_wasm::transport::{TlsInfo, Transport};
use pop3_wasm::{Error, ErrorKind, Result};

use crate::runtime::{yield_now, Clock};

/// A TCP connection through `wasi:sockets`.
pub struct WasiTcp {
    /// `None` once closed.
    stream: Option<TcpStream>,
    peer: String,
    clock: Rc<Clock>,
}

impl WasiTcp {
    /// Resolves `host` and connects to the first address that answers, each attempt bounded
    /// by `timeout`.
    pub fn connect(host: &str, port: u16, timeout: Duration, clock: Rc<Clock>) -> Result<WasiTcp> {
        let peer = format!("{host}:{port}");
        let addresses = (host, port)
            .to_socket_addrs()
            .map_err(|e| Error::new(ErrorKind::Transport, format!("cannot resolve {host}: {e}")))?;
        let mut last = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(stream) => {
                    // Commands are small and latency matters more than packet count.
                    let _ = stream.set_nodelay(true);
                    return Ok(WasiTcp { stream: Some(stream), peer, clock });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if is_timeout(&e) => {
                Error::new(ErrorKind::Timeout, format!("connecting to {peer} took longer than {timeout:?}"))
            }
            Some(e) => Error::from_io(ErrorKind::Transport, &format!("cannot connect to {peer}"), e),
            None => Error::new(ErrorKind::Transport, format!("cannot connect to {peer}: the name has no address")),
        })
    }

    fn open(&mut self) -> Result<&mut TcpStream> {
        let peer = &self.peer;
        self.stream.as_mut().ok_or_else(|| Error::new(ErrorKind::Closed, format!("the connection to {peer} is closed")))
    }
}

/// What a socket whose timeout fired says: `WouldBlock` (EAGAIN) on WASI and Unix, `TimedOut`
/// elsewhere.
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl Transport for WasiTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let limit = self.clock.time_left();
            let stream = self.open()?;
            stream
                .set_read_timeout(limit)
                .map_err(|e| Error::from_io(ErrorKind::Transport, "setting a read timeout", e))?;
            match stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if is_timeout(&e) => yield_now().await,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(ErrorKind::Transport, &format!("reading from {}", self.peer), e)),
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        let mut written = 0;
        while written < data.len() {
            let limit = self.clock.time_left();
            let stream = self.open()?;
            stream
                .set_write_timeout(limit)
                .map_err(|e| Error::from_io(ErrorKind::Transport, "setting a write timeout", e))?;
            match stream.write(&data[written..]) {
                Ok(0) => {
                    return Err(Error::new(ErrorKind::Closed, format!("writing to {}: connection closed", self.peer)))
                }
                Ok(n) => written += n,
                Err(e) if is_timeout(&e) => yield_now().await,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(ErrorKind::Transport, &format!("writing to {}", self.peer), e)),
            }
        }
        Ok(())
    }

    async fn close(&mut self) -> Result<()> {
        let Some(stream) = self.stream.take() else { return Ok(()) };
        // Shut down (FIN) and drop: the socket is released whatever the server does next.
        match stream.shutdown(Shutdown::Both) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            Err(e) => Err(Error::from_io(ErrorKind::Transport, &format!("closing {}", self.peer), e)),
        }
    }
}

/// A session's connection: plain TCP, or the core's rustls over it.
pub enum Connection {
    /// No TLS.
    Plain(WasiTcp),
    /// TLS inside the component, from the first byte or after `STLS`.
    Tls(Box<TlsStream<WasiTcp>>),
}

impl Transport for Connection {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Connection::Plain(t) => t.read(buf).await,
            Connection::Tls(t) => t.read(buf).await,
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Connection::Plain(t) => t.write(data).await,
            Connection::Tls(t) => t.write(data).await,
        }
    }

    async fn close(&mut self) -> Result<()> {
        match self {
            Connection::Plain(t) => t.close().await,
            Connection::Tls(t) => t.close().await,
        }
    }

    async fn start_tls(&mut self) -> Result<()> {
        match self {
            Connection::Plain(t) => t.start_tls().await,
            Connection::Tls(t) => t.start_tls().await,
        }
    }

    fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            Connection::Plain(_) => None,
            Connection::Tls(t) => t.tls_info(),
        }
    }
}
