//! The async client against a scripted server, for misbehaviour real servers do not show.

mod support;

use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TcpTransport};
use pop3_wasm::proto::{Limits, MsgNum};
use pop3_wasm::ErrorKind;
use support::fake::{self, send, Close, Expect, Send, SendBytewise, Silence};

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

#[tokio::test]
async fn early_close_in_the_middle_of_a_message_is_an_error_not_a_short_message() {
    let mut script = fake::login_steps();
    script.extend([Expect("RETR 1"), send("+OK 5000 octets\r\nSubject: cut\r\n\r\nthe first half of"), Close]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    let err = client.retr(n(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(err.to_string().contains("RETR 1"), "{err}");
    // The session is over, and says so again.
    assert_eq!(client.noop().await.unwrap_err().kind(), ErrorKind::Closed);
    server.await.unwrap();
}

#[tokio::test]
async fn early_close_while_streaming() {
    let mut script = fake::login_steps();
    script.extend([Expect("RETR 1"), send("+OK\r\nline 1\r\nline 2\r\n"), Close]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    let mut stream = client.retr_stream(n(1)).await.unwrap();
    let mut got = Vec::new();
    let err = loop {
        match stream.next_chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(chunk),
            Ok(None) => panic!("a cut message must not end normally"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"line 1\r\nline 2\r\n");
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn silence_is_a_timeout() {
    let mut script = fake::login_steps();
    script.extend([Expect("NOOP"), Silence(Duration::from_secs(5))]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(300)).await;
    let started = std::time::Instant::now();
    let err = client.noop().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("NOOP"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout fired late: {:?}", started.elapsed());
}

#[tokio::test]
async fn silent_greeting_is_a_timeout() {
    let (port, _server) = fake::serve(vec![Silence(Duration::from_secs(5))]).await;
    let err = native::connect("127.0.0.1", port, config(300)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("greeting"), "{err}");
}

#[tokio::test]
async fn overlong_line_is_a_limit_error() {
    let mut script = fake::login_steps();
    let mut long = b"+OK ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 100_000));
    long.extend_from_slice(b"\r\n");
    script.extend([Expect("NOOP"), Send(long)]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    let err = client.noop().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
}

#[tokio::test]
async fn oversized_message_ends_the_session_and_closes_the_connection() {
    let mut script = fake::login_steps();
    let mut big = b"+OK\r\n".to_vec();
    big.extend(std::iter::repeat_n(b"0123456789abcdef\r\n".as_slice(), 1000).flatten());
    big.extend_from_slice(b".\r\n");
    script.extend([Expect("RETR 1"), Send(big), fake::AwaitClose(Duration::from_secs(3))]);
    let (port, server) = fake::serve(script).await;
    let mut cfg = config(5000);
    cfg.engine.limits = Limits { max_message: 1024, ..Limits::default() };
    let mut client = logged_in(port, cfg).await;
    assert_eq!(client.retr(n(1)).await.unwrap_err().kind(), ErrorKind::Limit);
    assert_eq!(client.retr(n(2)).await.unwrap_err().kind(), ErrorKind::Limit, "the session is over");
    assert_eq!(server.await.unwrap().last().map(String::as_str), Some("<closed>"));
}

#[tokio::test]
async fn wrong_list_sizes_do_not_truncate() {
    // Exchange and qmail report sizes that do not match what RETR sends.
    let mut script = fake::login_steps();
    let body: String = (0..200).map(|i| format!("line {i} of a longer message than announced\r\n")).collect();
    script.extend([
        Expect("LIST"),
        send("+OK\r\n1 10\r\n.\r\n"),
        Expect("RETR 1"),
        Send(format!("+OK 10 octets\r\n{body}.\r\n").into_bytes()),
    ]);
    let (port, _server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    assert_eq!(client.list().await.unwrap()[0].size, 10);
    assert_eq!(client.retr(n(1)).await.unwrap(), body.as_bytes());
}

#[tokio::test]
async fn terminator_glued_to_a_last_line_without_newline_old_exchange() {
    // A message that lacks a final CRLF, sent as "...last line.\r\n". The client settles it with
    // a NOOP: a "+OK" right after the glued terminator means the message ended there.
    let body = "Subject: glued\r\n\r\nno newline at the end.";
    let mut script = fake::login_steps();
    script.extend([
        Expect("RETR 1"),
        Send(format!("+OK {} octets\r\n{body}.\r\n", body.len()).into_bytes()),
        Expect("NOOP"),
        send("+OK\r\n"),
        Expect("DELE 1"),
        send("+OK deleted\r\n"),
        Expect("QUIT"),
        send("+OK bye\r\n"),
    ]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    let started = std::time::Instant::now();
    assert_eq!(client.retr(n(1)).await.unwrap(), body.as_bytes());
    assert!(started.elapsed() < Duration::from_secs(2), "settled by waiting for the timeout");
    client.dele(n(1)).await.unwrap();
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn replies_written_one_byte_at_a_time() {
    let script = vec![
        SendBytewise(b"+OK ready <1.2@fake>\r\n".to_vec()),
        Expect("CAPA"),
        SendBytewise(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n".to_vec()),
        Expect("USER alice"),
        SendBytewise(b"+OK\r\n".to_vec()),
        Expect("PASS wonderland"),
        SendBytewise(b"+OK\r\n".to_vec()),
        Expect("CAPA"),
        SendBytewise(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n".to_vec()),
        Expect("UIDL"),
        SendBytewise(b"+OK\r\n1 abc\r\n2 def\r\n.\r\n".to_vec()),
        Expect("RETR 2"),
        SendBytewise(b"+OK\r\nSubject: x\r\n\r\n..dotted\r\n.\r\n".to_vec()),
        Expect("QUIT"),
        SendBytewise(b"+OK bye\r\n".to_vec()),
    ];
    let (port, server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(5000)).await.unwrap();
    assert_eq!(client.greeting().apop_timestamp.as_deref(), Some("<1.2@fake>"));
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "wonderland"), &options).await.unwrap();
    let uids: Vec<String> = client.uidl().await.unwrap().into_iter().map(|e| e.uid).collect();
    assert_eq!(uids, ["abc", "def"]);
    assert_eq!(client.retr(n(2)).await.unwrap(), b"Subject: x\r\n\r\n.dotted\r\n");
    client.quit().await.unwrap();
    assert_eq!(server.await.unwrap().len(), 7);
}

#[tokio::test]
async fn server_without_capa_gets_one_command_at_a_time() {
    // Without CAPA there is no PIPELINING: each RETR must wait for the previous reply, which
    // shows in the round-trip count (a pipelining client would need one for both).
    let mut script = fake::login_steps();
    script.extend([Expect("RETR 1"), send("+OK\r\none\r\n.\r\n"), Expect("RETR 2"), send("+OK\r\ntwo\r\n.\r\n")]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port, config(5000)).await;
    assert!(client.capabilities().is_none());
    let mut got = Vec::new();
    client
        .retr_many(&[n(1), n(2)], |m, body| {
            got.push((m.get(), body.unwrap()));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(got, vec![(1, b"one\r\n".to_vec()), (2, b"two\r\n".to_vec())]);
    assert_eq!(client.stats().round_trips, 2 + 3, "capa, user, pass, then one per RETR");
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn wrong_password_then_server_hangs_up() {
    // AOL-style: the server closes the connection after a failed login.
    let mut script = fake::login_steps_answering_pass("-ERR [AUTH] invalid credentials\r\n");
    script.push(Close);
    let (port, _server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(5000)).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    let err = client.login(&Credentials::new("alice", "not-the-password"), &options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

#[tokio::test]
async fn stls_injection_is_refused() {
    let script = vec![
        send("+OK ready\r\n"),
        Expect("STLS"),
        send("+OK Begin TLS negotiation\r\n+OK injected reply\r\n"),
        Silence(Duration::from_secs(2)),
    ];
    let (port, _server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(5000)).await.unwrap();
    let err = client.stls().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls);
    assert!(err.to_string().contains("injection"), "{err}");
}

#[tokio::test]
async fn cleartext_password_is_not_sent_without_tls() {
    // The server offers only USER/PASS. Without consent, nothing secret reaches the wire.
    let script =
        vec![send("+OK ready\r\n"), Expect("CAPA"), send("+OK\r\nUSER\r\n.\r\n"), Expect("QUIT"), send("+OK\r\n")];
    let (port, server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config(5000)).await.unwrap();
    let err = client.login(&Credentials::new("alice", "pw"), &LoginOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    client.quit().await.unwrap();
    assert_eq!(server.await.unwrap(), vec!["CAPA", "QUIT"]);
}

#[tokio::test]
async fn sink_failure_stops_a_pipelined_fetch_and_keeps_the_session_in_step() {
    let mut script = vec![
        send("+OK ready\r\n"),
        Expect("CAPA"),
        send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"),
        Expect("USER"),
        send("+OK\r\n"),
        Expect("PASS"),
        send("+OK\r\n"),
        Expect("CAPA"),
        send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"),
    ];
    // The client sends a window of RETRs at once; answer each as it is read.
    for i in 1..=3 {
        script.push(Expect("RETR"));
        script.push(Send(format!("+OK\r\nmessage {i}\r\n.\r\n").into_bytes()));
    }
    script.extend([Expect("NOOP"), send("+OK still in step\r\n")]);
    let (port, _server) = fake::serve(script).await;
    let mut cfg = config(5000);
    cfg.engine.max_in_flight = 3;
    let mut client = logged_in(port, cfg).await;
    let msgs: Vec<MsgNum> = (1..=10).map(n).collect();
    let mut delivered = 0;
    let err = client
        .retr_many(&msgs, |_, _| {
            delivered += 1;
            Err(pop3_wasm::Error::new(ErrorKind::Usage, "disk full"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "disk full");
    assert_eq!(delivered, 1, "the sink is not called again after it failed");
    client.noop().await.unwrap();
}
