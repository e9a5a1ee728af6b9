//! A connection cut during the TLS handshake (implicit TLS and STLS) is network trouble, as it
//! is after the handshake: a transient `Closed`/`Transport` error, so that `watch` retries.
//! Certificate and alert failures stay permanent `Tls` errors.
//!
//! The server is a real Dovecot with a test CA; a small proxy in front of it cuts the
//! connection (FIN or RST) at chosen points of the handshake. A scripted server sends a TLS
//! alert, which real servers send only for configurations the stack cannot make.
#![cfg(feature = "tls")]

mod support;

use std::time::Duration;

use pop3_wasm::client::ClientConfig;
use pop3_wasm::native;
use pop3_wasm::tls::TlsOptions;
use pop3_wasm::transport::TlsMode;
use pop3_wasm::{Error, ErrorKind};
use support::fake::{self, send, AwaitClose, Expect, Send as SendBytes, Silence};
use support::stack::{mail_dir, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

fn tls_stack(variant: &str) -> (Stack, tempfile::TempDir) {
    let mail = mail_dir(&[b"Subject: cut\n\nbody\n".to_vec()]);
    let stack = Stack::start(&["--tls", "--cert-variant", variant, "--mail", mail.path().to_str().unwrap()]);
    (stack, mail)
}

/// Our CA only, so nothing depends on Mozilla's roots.
fn private_options(stack: &Stack, name: &str) -> TlsOptions {
    let ca = std::fs::read_to_string(stack.info["ca_cert"].as_str().unwrap()).unwrap();
    TlsOptions { extra_roots_pem: vec![ca], only_extra_roots: true, ..TlsOptions::new(name) }
}

/// How the proxy ends the client's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// An orderly close (FIN): the client reads the end of the stream.
    Fin,
    /// An abort (RST): the client's next read or write fails with "connection reset".
    Rst,
}

/// A proxy to `target` for one connection. It relays both ways until the client sends a TLS
/// record (a read starting with 0x16, a handshake record: the ClientHello), lets `server_bytes`
/// more octets from the server through (0: none of its answer), then cuts the client's
/// connection with `how`. Returns the port.
async fn cutting_proxy(target: u16, server_bytes: usize, how: How) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
        relay_and_cut(client, server, server_bytes, how).await;
    });
    port
}

async fn relay_and_cut(mut client: TcpStream, mut server: TcpStream, server_bytes: usize, how: How) {
    let mut tls_started = false;
    let mut budget = server_bytes;
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                tls_started |= from_client[0] == 0x16;
                if server.write_all(&from_client[..n]).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut from_server) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                let pass = if tls_started { n.min(budget) } else { n };
                if client.write_all(&from_server[..pass]).await.is_err() {
                    return;
                }
                if tls_started {
                    budget -= pass;
                    if budget == 0 {
                        break;
                    }
                }
            }
        }
    }
    drop(server);
    match how {
        How::Fin => {
            // Half-close, then read what the client still sends until it closes: closing with
            // unread data would send an RST instead.
            let _ = client.shutdown().await;
            let mut sink = [0u8; 4096];
            while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(30), client.read(&mut sink)).await {
                if n == 0 {
                    break;
                }
            }
        }
        How::Rst => {
            client.set_zero_linger().unwrap();
            drop(client);
        }
    }
}

/// The cut points: before any of the server's answer, inside its ServerHello record, and
/// inside its encrypted flight (TLS 1.3: certificate).
const CUTS: [usize; 3] = [0, 40, 300];

fn assert_transient(err: &Error, what: &str) {
    assert!(
        matches!(err.kind(), ErrorKind::Closed | ErrorKind::Transport),
        "{what}: expected a closed or transport error, got {err:?}"
    );
    assert!(err.is_transient(), "{what}: {err:?} must be transient");
}

async fn cut_during_handshake(stack: &Stack, mode: TlsMode, port: u16) {
    for how in [How::Fin, How::Rst] {
        for bytes in CUTS {
            let what = format!("{mode:?}, {how:?} after {bytes} octets of the server's handshake");
            let proxy = cutting_proxy(port, bytes, how).await;
            let started = std::time::Instant::now();
            let result =
                native::connect_tls("127.0.0.1", proxy, mode, &private_options(stack, "localhost"), config()).await;
            let err = result.err().unwrap_or_else(|| panic!("{what}: connected"));
            assert_transient(&err, &what);
            assert!(started.elapsed() < Duration::from_secs(10), "{what}: took {:?}", started.elapsed());
        }
    }
}

#[tokio::test]
async fn a_cut_during_the_implicit_tls_handshake_is_transient() {
    let (stack, _mail) = tls_stack("good");
    cut_during_handshake(&stack, TlsMode::Implicit, stack.port("pop3s_port")).await;
    // The proxy itself is harmless: uncut, the same path connects.
    let mut client = native::connect_tls(
        "127.0.0.1",
        stack.port("pop3s_port"),
        TlsMode::Implicit,
        &private_options(&stack, "localhost"),
        config(),
    )
    .await
    .unwrap();
    client.quit().await.unwrap();
}

#[tokio::test]
async fn a_cut_during_the_stls_handshake_is_transient() {
    let (stack, _mail) = tls_stack("good");
    cut_during_handshake(&stack, TlsMode::StartTls, stack.pop3_port()).await;
}

#[tokio::test]
async fn certificate_failures_stay_permanent() {
    for (variant, name, needle) in [
        ("unknownca", "localhost", "not issued by a trusted"),
        ("wronghost", "localhost", "not valid for the name"),
        ("expired", "localhost", "has expired"),
    ] {
        let (stack, _mail) = tls_stack(variant);
        for (mode, port) in [(TlsMode::Implicit, stack.port("pop3s_port")), (TlsMode::StartTls, stack.pop3_port())] {
            let err = native::connect_tls("127.0.0.1", port, mode, &private_options(&stack, name), config())
                .await
                .err()
                .unwrap_or_else(|| panic!("{variant} {mode:?}: connected"));
            assert_eq!(err.kind(), ErrorKind::Tls, "{variant} {mode:?}: {err:?}");
            assert!(!err.is_transient(), "{variant} {mode:?}: {err:?} must not be transient");
            assert!(err.to_string().contains(needle), "{variant} {mode:?}: expected {needle:?} in {err}");
        }
    }
}

#[tokio::test]
async fn an_alert_then_a_close_stays_permanent() {
    // The server answers the ClientHello with a fatal protocol_version alert (no TLS version in
    // common) and closes: the alert decides, not the close that follows it.
    let alert = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];
    let script = vec![
        send("+OK ready\r\n"),
        Expect("STLS"),
        send("+OK Begin TLS\r\n"),
        Silence(Duration::from_millis(300)),
        SendBytes(alert),
        AwaitClose(Duration::from_secs(10)),
    ];
    let (port, _server) = fake::serve(script).await;
    let err = native::connect_tls("127.0.0.1", port, TlsMode::StartTls, &TlsOptions::new("localhost"), config())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("protocol_version"), "{err}");
}
