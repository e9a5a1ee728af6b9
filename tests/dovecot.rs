//! The native client against a real Dovecot POP3 server (started on free loopback ports).

mod support;

use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TcpTransport};
use pop3_wasm::proto::{MsgNum, ResponseCode};
use pop3_wasm::{Detail, ErrorKind};
use support::stack::{mail_dir, Stack};

fn n(v: u32) -> MsgNum {
    MsgNum::new(v).unwrap()
}

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

/// A small mailbox: message i has a subject, a few lines, and dot-leading lines to unstuff.
fn sample(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {i} <sender{i}@example.org>\nTo: alice@example.org\nSubject: Message number {i}\n\
         Message-ID: <{i}@example.org>\n\nLine one of message {i}.\n.a line that starts with a dot\n..two dots\n.\n\
         line five\nline six\nthe end\n"
    )
    .into_bytes()
}

/// What RETR returns for a message stored with LF line endings.
fn on_the_wire(stored: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(stored).replace('\n', "\r\n").into_bytes()
}

fn start(messages: usize) -> (Stack, Vec<Vec<u8>>) {
    let mail: Vec<Vec<u8>> = (1..=messages).map(sample).collect();
    let dir = mail_dir(&mail);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    (stack, mail)
}

async fn login_with(stack: &Stack, method: AuthMethod) -> Client<TcpTransport> {
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let credentials = Credentials::new("alice", stack.password("alice"));
    let options = LoginOptions { method: method.clone(), allow_cleartext: true };
    let used = client.login(&credentials, &options).await.unwrap_or_else(|e| panic!("{method}: {e}"));
    if method != AuthMethod::Auto {
        assert_eq!(used, method);
    }
    client
}

#[tokio::test]
async fn every_auth_mechanism_logs_in() {
    let (stack, mail) = start(3);
    for method in [
        AuthMethod::UserPass,
        AuthMethod::Apop,
        AuthMethod::Sasl("PLAIN".into()),
        AuthMethod::Sasl("LOGIN".into()),
        AuthMethod::Sasl("CRAM-MD5".into()),
        AuthMethod::Sasl("SCRAM-SHA-1".into()),
        AuthMethod::Sasl("SCRAM-SHA-256".into()),
    ] {
        let mut client = login_with(&stack, method.clone()).await;
        let stat = client.stat().await.unwrap();
        assert_eq!(stat.count as usize, mail.len(), "{method}");
        client.quit().await.unwrap();
    }
}

#[tokio::test]
async fn automatic_choice_prefers_scram_and_refuses_cleartext() {
    let (stack, _) = start(1);
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let credentials = Credentials::new("alice", stack.password("alice"));
    let used = client.login(&credentials, &LoginOptions::default()).await.unwrap();
    assert_eq!(used, AuthMethod::Sasl("SCRAM-SHA-256".into()), "the strongest offered; no cleartext needed");
    client.quit().await.unwrap();

    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let options = LoginOptions { method: AuthMethod::Sasl("PLAIN".into()), allow_cleartext: false };
    let err = client.login(&credentials, &options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    client.quit().await.unwrap();
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_with_dovecots_code() {
    let (stack, _) = start(1);
    for method in
        [AuthMethod::UserPass, AuthMethod::Sasl("PLAIN".into()), AuthMethod::Sasl("CRAM-MD5".into()), AuthMethod::Apop]
    {
        let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
        let credentials = Credentials::new("alice", "definitely-wrong");
        let options = LoginOptions { method: method.clone(), allow_cleartext: true };
        let err = client.login(&credentials, &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{method}: {err}");
        assert_eq!(err.response_code(), Some(&ResponseCode::Auth), "{method}: {err}");
        assert!(!format!("{err} {err:?}").contains("definitely-wrong"));
        assert_eq!(err.detail(), None, "{method}: wrong credentials, not an unavailable mechanism");
        assert_eq!(err.command(), Some(if method == AuthMethod::UserPass { "PASS" } else { method_keyword(&method) }));
        client.quit().await.unwrap();
    }
}

fn method_keyword(method: &AuthMethod) -> &'static str {
    match method {
        AuthMethod::Apop => "APOP",
        _ => "AUTH",
    }
}

#[tokio::test]
async fn a_mechanism_the_server_does_not_offer_is_reported_as_unavailable() {
    // Dovecot with CRAM-MD5 switched off: asked for anyway, it refuses, and the error says the
    // mechanism is unavailable (with what is offered), not that the password is wrong.
    let dir = mail_dir(&[sample(1)]);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap(), "--mechanisms", "plain scram-sha-256"]);
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let credentials = Credentials::new("alice", stack.password("alice"));
    let options = LoginOptions { method: AuthMethod::Sasl("CRAM-MD5".into()), allow_cleartext: false };
    let err = client.login(&credentials, &options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert_eq!(err.command(), Some("AUTH"));
    let Some(Detail::MechanismUnavailable { mechanism, offered }) = err.detail() else {
        panic!("expected MechanismUnavailable on {err}: {:?}", err.detail())
    };
    assert_eq!(mechanism, "CRAM-MD5");
    assert_eq!(offered, &["PLAIN", "SCRAM-SHA-256"]);
    // Without TLS, PLAIN is refused before anything is sent, and says why.
    let options = LoginOptions { method: AuthMethod::Sasl("PLAIN".into()), allow_cleartext: false };
    let err = client.login(&credentials, &options).await.unwrap_err();
    assert_eq!(err.detail(), Some(&Detail::CleartextRefused));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn capabilities_before_and_after_login() {
    let (stack, _) = start(1);
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let before = client.capa().await.unwrap().expect("Dovecot supports CAPA");
    assert!(
        before.top && before.uidl && before.resp_codes && before.pipelining && before.auth_resp_code && before.user
    );
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
        assert!(before.has_sasl(mech), "{mech} in {:?}", before.sasl);
    }
    assert!(client.greeting().apop_timestamp.is_some(), "APOP is signalled in the greeting");
    let credentials = Credentials::new("alice", stack.password("alice"));
    client.login(&credentials, &LoginOptions::default()).await.unwrap();
    // Asked again after login, in one flight with the next command (PIPELINING was offered).
    assert!(client.capabilities().is_none(), "not answered yet");
    let trips = client.stats().round_trips;
    client.stat().await.unwrap();
    assert_eq!(client.stats().round_trips, trips + 1, "CAPA and STAT in one round trip");
    let after = client.capabilities().expect("asked again after login");
    assert!(after.pipelining && after.uidl && after.top);
    assert!(after.sasl.is_empty(), "Dovecot drops SASL after login: {:?}", after.sasl);
    client.quit().await.unwrap();
}

#[tokio::test]
async fn every_transaction_command() {
    let (stack, mail) = start(4);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    let stat = client.stat().await.unwrap();
    assert_eq!(stat.count, 4);
    let expected_sizes: Vec<u64> = mail.iter().map(|m| on_the_wire(m).len() as u64).collect();
    assert_eq!(stat.size, expected_sizes.iter().sum::<u64>());

    let list = client.list().await.unwrap();
    let sizes: Vec<u64> = list.iter().map(|e| e.size).collect();
    assert_eq!(sizes, expected_sizes);
    assert_eq!(client.list_one(n(2)).await.unwrap().size, expected_sizes[1]);

    let uidl = client.uidl().await.unwrap();
    assert_eq!(uidl.len(), 4);
    assert_eq!(client.uidl_one(n(3)).await.unwrap(), uidl[2]);

    for (i, stored) in mail.iter().enumerate() {
        let got = client.retr(n(i as u32 + 1)).await.unwrap();
        assert_eq!(got, on_the_wire(stored), "RETR {} returns the message byte for byte, unstuffed", i + 1);
    }

    // TOP n 2: the headers, the blank line, and exactly two body lines.
    let top = client.top(n(1), 2).await.unwrap();
    let text = String::from_utf8(top).unwrap();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(headers.contains("Subject: Message number 1"));
    assert_eq!(body, "Line one of message 1.\r\n.a line that starts with a dot\r\n");

    client.noop().await.unwrap();
    let err = client.retr(n(99)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.to_string().contains("RETR 99"), "{err}");
    client.noop().await.unwrap();
    client.quit().await.unwrap();
}

#[tokio::test]
async fn dele_and_quit_really_remove_and_rset_restores() {
    let (stack, _) = start(3);
    assert_eq!(stack.stored_messages("alice"), 3);

    // DELE then RSET: nothing is removed.
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    client.dele(n(1)).await.unwrap();
    assert_eq!(client.stat().await.unwrap().count, 2, "marked messages are hidden");
    assert_eq!(client.retr(n(1)).await.unwrap_err().kind(), ErrorKind::Server);
    client.rset().await.unwrap();
    assert_eq!(client.stat().await.unwrap().count, 3);
    client.quit().await.unwrap();
    assert_eq!(stack.stored_messages("alice"), 3);

    // DELE without QUIT (connection dropped): nothing is removed.
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    client.dele(n(1)).await.unwrap();
    client.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stack.stored_messages("alice"), 3);

    // DELE then QUIT: removed from the server's storage.
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    let results = client.dele_many(&[n(1), n(3)]).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    client.quit().await.unwrap();
    assert_eq!(stack.stored_messages("alice"), 1);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    assert_eq!(client.stat().await.unwrap().count, 1);
    assert!(String::from_utf8(client.retr(n(1)).await.unwrap()).unwrap().contains("Message number 2"));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn uidl_is_stable_across_sessions() {
    let (stack, _) = start(5);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    let first = client.uidl().await.unwrap();
    client.quit().await.unwrap();
    let mut client = login_with(&stack, AuthMethod::Sasl("CRAM-MD5".into())).await;
    let second = client.uidl().await.unwrap();
    client.quit().await.unwrap();
    assert_eq!(first, second);
    let mut uids: Vec<&str> = first.iter().map(|e| e.uid.as_str()).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 5, "ids are unique");
}

#[tokio::test]
async fn pipelined_fetch_of_many_messages() {
    let (stack, mail) = start(200);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    assert!(client.capa().await.unwrap().unwrap().pipelining);
    let msgs: Vec<MsgNum> = (1..=200).map(n).collect();
    let before = client.stats();
    let mut got = Vec::new();
    client
        .retr_many(&msgs, |msg, body| {
            got.push((msg, body.unwrap()));
            Ok(())
        })
        .await
        .unwrap();
    let trips = client.stats().round_trips - before.round_trips;
    assert_eq!(got.len(), 200);
    for (i, (msg, body)) in got.iter().enumerate() {
        assert_eq!(msg.get() as usize, i + 1, "in order");
        assert_eq!(body, &on_the_wire(&mail[i]));
    }
    // A sliding window keeps the pipe full: the client never waits idle between messages.
    assert!(trips <= 2, "200 messages cost {trips} round trips");
    client.quit().await.unwrap();
}

#[tokio::test]
async fn large_message_streams_with_bounded_memory() {
    let mut big = b"From: a@example.org\nSubject: big\n\n".to_vec();
    let mut i = 0u64;
    while big.len() < 6 * 1024 * 1024 {
        big.extend_from_slice(format!("{i:016x} some text to make a line of ordinary length........\n").as_bytes());
        if i.is_multiple_of(1000) {
            big.extend_from_slice(b".dot line\n");
        }
        i += 1;
    }
    let dir = mail_dir(&[big.clone()]);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    let buffer = client.config().read_buffer;
    let mut stream = client.retr_stream(n(1)).await.unwrap();
    let mut got = Vec::new();
    let mut largest = 0;
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        largest = largest.max(chunk.len());
        got.extend_from_slice(chunk);
    }
    assert!(largest <= buffer, "chunks are slices of the read buffer ({largest} > {buffer})");
    assert_eq!(got, on_the_wire(&big));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn abandoned_stream_leaves_the_session_usable() {
    let (stack, mail) = start(2);
    let mut client = login_with(&stack, AuthMethod::UserPass).await;
    {
        let mut stream = client.retr_stream(n(1)).await.unwrap();
        let _first = stream.next_chunk().await.unwrap();
    }
    assert_eq!(client.retr(n(2)).await.unwrap(), on_the_wire(&mail[1]));
    client.quit().await.unwrap();
}
