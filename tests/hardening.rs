//! Issue 13's defects, against a scripted server that does what real servers won't: echo the
//! password, stream a message without end, trickle a reply, lose the reply to QUIT, glue the
//! terminator to the last line on every retrieval path.

mod support;

use std::time::{Duration, Instant};

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TcpTransport};
use pop3_wasm::proto::{Limits, MsgNum};
use pop3_wasm::{Detail, ErrorKind};
use support::fake::{self, send, AwaitClose, Close, Endless, Expect, Send, Silence, Trickle};

fn n(v: u32) -> MsgNum {
    MsgNum::new(v).unwrap()
}

fn config(timeout_ms: u64) -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_millis(timeout_ms)), ..ClientConfig::default() }
}

async fn logged_in(port: u16, config: ClientConfig) -> Client<TcpTransport> {
    let mut client = native::connect("127.0.0.1", port, config).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "wonderland"), &options).await.unwrap();
    client
}

/// The octets a scripted server reported writing before the client stopped it.
fn wrote(received: &[String]) -> u64 {
    received
        .iter()
        .find_map(|l| l.strip_prefix("<wrote ")?.strip_suffix('>')?.parse().ok())
        .expect("the server recorded what it wrote")
}

// ----- an endless message -----

/// The retrieval paths a message can take through the native client.
#[derive(Debug, Clone, Copy)]
enum Path {
    Buffered,
    Streamed,
    Bulk,
    Top,
    EachAsync,
}

async fn retrieve(client: &mut Client<TcpTransport>, path: Path) -> pop3_wasm::Result<u64> {
    match path {
        Path::Buffered => client.retr(n(1)).await.map(|m| m.len() as u64),
        Path::Top => client.top(n(1), 10).await.map(|m| m.len() as u64),
        Path::Streamed => {
            let mut stream = client.retr_stream(n(1)).await?;
            let mut got = 0;
            while let Some(chunk) = stream.next_chunk().await? {
                got += chunk.len() as u64;
            }
            Ok(got)
        }
        Path::Bulk => {
            let mut got = 0;
            client
                .retr_many(&[n(1)], |_, body| {
                    got += body?.len() as u64;
                    Ok(())
                })
                .await?;
            Ok(got)
        }
        Path::EachAsync => {
            let mut got = 0;
            client
                .retr_each(&[n(1)], async |_, body| {
                    got += body?.len() as u64;
                    Ok(())
                })
                .await?;
            Ok(got)
        }
    }
}

#[tokio::test]
async fn an_endless_message_is_stopped_at_the_size_limit_on_every_path() {
    // "+OK 1000 octets", then lines without end, or one line with no line ending ever. Before
    // the fix the client read on (97 GiB in 66 s) and the idle timeout never fired.
    const LIMIT: u64 = 1024 * 1024;
    for path in [Path::Buffered, Path::Streamed, Path::Bulk, Path::Top, Path::EachAsync] {
        for unit in [b"an endless line of a message\r\n".as_slice(), b"x".as_slice()] {
            let command = if matches!(path, Path::Top) { "TOP 1 10" } else { "RETR 1" };
            let mut script = fake::login_steps();
            script.extend([Expect(command), send("+OK 1000 octets\r\n"), Endless(unit.to_vec())]);
            let (port, server) = fake::serve(script).await;
            let mut cfg = config(5000);
            cfg.engine.limits = Limits { max_message: LIMIT, ..Limits::default() };
            let mut client = logged_in(port, cfg).await;
            let started = Instant::now();
            let err = retrieve(&mut client, path).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Limit, "{path:?}: {err}");
            assert!(err.to_string().contains(command), "{path:?}: names the command: {err}");
            assert!(started.elapsed() < Duration::from_secs(5), "{path:?}: stopped late: {:?}", started.elapsed());
            // The client closed the connection: the server's writes failed soon after the limit
            // (what it wrote beyond is what the socket buffers held).
            let received =
                tokio::time::timeout(Duration::from_secs(15), server).await.expect("server stopped").unwrap();
            assert!(wrote(&received) < LIMIT + 16 * 1024 * 1024, "{path:?}: {received:?}");
            // The session is over.
            assert_eq!(client.noop().await.unwrap_err().kind(), ErrorKind::Limit, "{path:?}");
        }
    }
}

// ----- a deadline as well as an idle timeout -----

#[tokio::test]
async fn a_trickling_reply_hits_the_command_deadline() {
    // One octet every 50 ms keeps a 1 s idle timeout alive forever; the 600 ms deadline ends it.
    let mut script = fake::login_steps();
    script.extend([Expect("RETR 1"), send("+OK\r\n"), Trickle(b"slow data\r\n".to_vec(), Duration::from_millis(50))]);
    let (port, server) = fake::serve(script).await;
    let cfg = ClientConfig { command_deadline: Some(Duration::from_millis(600)), ..config(1000) };
    let mut client = logged_in(port, cfg).await;
    let started = Instant::now();
    let err = client.retr(n(1)).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("deadline") && err.to_string().contains("RETR 1"), "{err}");
    assert!(took >= Duration::from_millis(550) && took < Duration::from_secs(3), "{took:?}");
    let received = tokio::time::timeout(Duration::from_secs(5), server).await.expect("connection closed").unwrap();
    assert!(wrote(&received) >= 5, "the server did keep sending: {received:?}");
}

#[tokio::test]
async fn a_trickling_greeting_hits_the_deadline() {
    let (port, _server) = fake::serve(vec![Trickle(b"+OK slow".to_vec(), Duration::from_millis(50))]).await;
    let cfg = ClientConfig { command_deadline: Some(Duration::from_millis(400)), ..config(1000) };
    let started = Instant::now();
    let err = native::connect("127.0.0.1", port, cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("greeting"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_deadline_is_per_reply_not_per_session() {
    // Several replies, each within the deadline, together longer than it: all succeed.
    let mut script = fake::login_steps();
    for _ in 0..4 {
        script.extend([Expect("NOOP"), Silence(Duration::from_millis(200)), send("+OK\r\n")]);
    }
    let (port, _server) = fake::serve(script).await;
    let cfg = ClientConfig { command_deadline: Some(Duration::from_millis(500)), ..config(1000) };
    let mut client = logged_in(port, cfg).await;
    for _ in 0..4 {
        client.noop().await.unwrap();
    }
}

#[tokio::test]
async fn a_stalled_stls_handshake_times_out() {
    // The server accepts STLS and then says nothing: the handshake must not wait forever.
    let script =
        vec![send("+OK ready\r\n"), Expect("STLS"), send("+OK go ahead\r\n"), Silence(Duration::from_secs(10))];
    let (port, _server) = fake::serve(script).await;
    let options = pop3_wasm::tls::TlsOptions::new("localhost");
    let started = Instant::now();
    let err = native::connect_tls("127.0.0.1", port, pop3_wasm::transport::TlsMode::StartTls, &options, config(400))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

// ----- QUIT whose outcome is unknown -----

#[tokio::test]
async fn quit_without_a_reply_leaves_deletions_uncertain() {
    for (ending, kind) in [(Close, ErrorKind::Closed), (Silence(Duration::from_secs(3)), ErrorKind::Timeout)] {
        let mut script = fake::login_steps();
        script.extend([Expect("DELE 1"), send("+OK marked\r\n"), Expect("DELE 2"), send("+OK marked\r\n")]);
        script.extend([Expect("QUIT"), ending]);
        let (port, _server) = fake::serve(script).await;
        let mut client = logged_in(port, config(500)).await;
        client.dele(n(1)).await.unwrap();
        client.dele(n(2)).await.unwrap();
        let err = client.quit().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.deletions_uncertain(), "{err}");
        assert_eq!(err.detail(), Some(&Detail::DeletionsUncertain { marked: 2 }));
        assert!(err.to_string().contains("may or may not have been deleted"), "{err}");
    }
}

#[tokio::test]
async fn quit_refused_is_not_uncertain_and_nothing_marked_is_not_either() {
    let mut script = fake::login_steps();
    script.extend([Expect("DELE 1"), send("+OK\r\n"), Expect("QUIT"), send("-ERR [SYS/TEMP] some deletes failed\r\n")]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(500)).await;
    client.dele(n(1)).await.unwrap();
    let err = client.quit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(!err.deletions_uncertain(), "an -ERR says they were not deleted: {err}");

    // RSET unmarks: a QUIT lost afterwards deletes nothing either way.
    let mut script = fake::login_steps();
    script.extend([Expect("DELE 1"), send("+OK\r\n"), Expect("RSET"), send("+OK\r\n"), Expect("QUIT"), Close]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(500)).await;
    client.dele(n(1)).await.unwrap();
    client.rset().await.unwrap();
    let err = client.quit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(!err.deletions_uncertain(), "{err}");
}

// ----- the glued terminator on every path -----

#[tokio::test]
async fn a_glued_terminator_is_settled_the_same_way_on_every_path() {
    // Old Exchange: "text.\r\n" ends a message without a final newline. Every path must send
    // the NOOP that settles it and return the message, not wait for a timeout.
    let body = "Subject: glued\r\n\r\nno newline at the end.";
    for path in [Path::Buffered, Path::Streamed, Path::Bulk, Path::EachAsync] {
        let mut script = fake::login_steps();
        script.extend([
            Expect("RETR 1"),
            Send(format!("+OK {} octets\r\n{body}.\r\n", body.len()).into_bytes()),
            Expect("NOOP"),
            send("+OK\r\n"),
            Expect("STAT"),
            send("+OK 1 40\r\n"),
        ]);
        let (port, server) = fake::serve(script).await;
        let mut client = logged_in(port, config(3000)).await;
        let started = Instant::now();
        let got = retrieve(&mut client, path).await.unwrap();
        assert_eq!(got, body.len() as u64, "{path:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{path:?}: settled by a timeout");
        assert_eq!(client.stat().await.unwrap().count, 1, "{path:?}: still in step");
        drop(client);
        server.await.unwrap();
    }
}

// ----- the password echoed by the server -----

#[tokio::test]
async fn an_echoed_password_never_reaches_an_error() {
    let secret = "s3cr3t-Pa$$(.*)";
    let script =
        fake::login_steps_answering_pass(&format!("-ERR [AUTH] invalid password '{secret}' for user alice\r\n"));
    let (port, _server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(2000)).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    let err = client.login(&Credentials::new("alice", secret), &options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    let shown = format!("{err} {err:?} {}", err.server_text().unwrap_or_default());
    assert!(!shown.contains(secret), "{shown}");
    assert_eq!(err.server_text(), Some("invalid password '***' for user alice"));
}

#[tokio::test]
async fn an_echoed_password_in_a_later_reply_is_redacted_too() {
    let secret = "hunter2-long";
    let mut script = fake::login_steps();
    script.extend([
        Expect("RETR 1"),
        send("-ERR no such message (by the way, your password is HUNTER2-LONG)\r\n"),
        Expect("NOOP"),
        send("garbage hunter2-long\r\n"),
        AwaitClose(Duration::from_secs(2)),
    ]);
    let (port, _server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(2000)).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", secret), &options).await.unwrap();
    let err = client.retr(n(1)).await.unwrap_err();
    assert!(!format!("{err}").to_lowercase().contains(secret), "{err}");
    let err = client.noop().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(!format!("{err}").contains(secret), "{err}");
}
