//! The client in real headless Chromium, through a real websockify, to a real Dovecot.
//!
//! Run by `scripts/test-browser.sh`, which starts the servers and passes their addresses at
//! compile time (the test runs inside the browser, which has no environment):
//! `POP3_TEST_WS` (websockify → Dovecot), `POP3_TEST_WS_DOWN` (websockify → a closed port),
//! `POP3_TEST_WS_CUT` (websockify → a scripted server that closes mid-message),
//! `POP3_TEST_PASSWORD`, and `POP3_TEST_MESSAGES` (the message count).
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;
use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::proto::MsgNum;
use pop3_wasm::wasm::{JsTimer, WebSocketTransport};
use pop3_wasm::ErrorKind;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn env(value: Option<&'static str>, name: &str) -> &'static str {
    value.unwrap_or_else(|| panic!("{name} is not set: run the browser tests through scripts/test-browser.sh"))
}

fn ws_url() -> &'static str {
    env(option_env!("POP3_TEST_WS"), "POP3_TEST_WS")
}

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

async fn connect(url: &str) -> pop3_wasm::Result<Client<WebSocketTransport>> {
    let transport = WebSocketTransport::connect(url, &[], Some(Duration::from_secs(10))).await?;
    Client::connect(transport, Rc::new(JsTimer), config()).await
}

fn n(v: u32) -> MsgNum {
    MsgNum::new(v).unwrap()
}

#[wasm_bindgen_test]
async fn login_list_and_download_through_websockify() {
    let mut client = connect(ws_url()).await.unwrap();
    assert!(client.greeting().apop_timestamp.is_some(), "Dovecot's greeting arrived through the proxy");
    let password = env(option_env!("POP3_TEST_PASSWORD"), "POP3_TEST_PASSWORD");
    let used = client.login(&Credentials::new("alice", password), &LoginOptions::default()).await.unwrap();
    assert_eq!(used, AuthMethod::Sasl("SCRAM-SHA-256".into()), "the strongest mechanism Dovecot offers");
    let expected: u32 = env(option_env!("POP3_TEST_MESSAGES"), "POP3_TEST_MESSAGES").parse().unwrap();
    let stat = client.stat().await.unwrap();
    assert_eq!(stat.count, expected);
    let list = client.list().await.unwrap();
    let uids = client.uidl().await.unwrap();
    assert_eq!(list.entries.len(), expected as usize);
    assert_eq!(uids.entries.len(), expected as usize);

    // Every message, pipelined. LIST sizes are hints: Dovecot adds the CRLF a message without a
    // final newline lacks, so a message may be two octets longer than listed.
    let msgs: Vec<MsgNum> = list.entries.iter().map(|e| e.msg).collect();
    let mut total = 0u64;
    let mut count = 0;
    client
        .retr_many(&msgs, |msg, body| {
            let body = body?;
            let listed = list.entries.iter().find(|e| e.msg == msg).unwrap().size;
            let got = body.len() as u64;
            assert!(got == listed || got == listed + 2, "message {msg}: {got} octets, {listed} listed");
            assert!(body.ends_with(b"\r\n"));
            total += body.len() as u64;
            count += 1;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(count, expected);
    assert!(total >= stat.size && total <= stat.size + 2 * count as u64, "{total} octets, {} in STAT", stat.size);
    assert!(client.stats().round_trips < 12, "pipelined: {:?}", client.stats());

    // TOP and a streamed RETR of the largest message.
    let top = client.top(n(1), 0).await.unwrap();
    assert!(top.windows(4).any(|w| w == b"\r\n\r\n"));
    let largest = list.entries.iter().max_by_key(|e| e.size).unwrap();
    let mut stream = client.retr_stream(largest.msg).await.unwrap();
    let mut streamed = 0u64;
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        streamed += chunk.len() as u64;
    }
    assert_eq!(streamed, largest.size);
    client.quit().await.unwrap();
}

#[wasm_bindgen_test]
async fn wrong_password_is_an_auth_error() {
    let mut client = connect(ws_url()).await.unwrap();
    let err = client.login(&Credentials::new("alice", "not-it"), &LoginOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(!err.to_string().contains("not-it"));
}

#[wasm_bindgen_test]
async fn proxy_whose_target_is_down() {
    // websockify accepts the WebSocket, fails to reach its target, and closes with 1011.
    let url = env(option_env!("POP3_TEST_WS_DOWN"), "POP3_TEST_WS_DOWN");
    let err = connect(url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("1011"), "{err}");
}

#[wasm_bindgen_test]
async fn unreachable_proxy() {
    // Port 9 on loopback: nothing listens there.
    let err = connect("ws://127.0.0.1:9/").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("cannot reach the WebSocket proxy"), "{err}");
}

#[wasm_bindgen_test]
async fn server_that_closes_mid_message() {
    let url = env(option_env!("POP3_TEST_WS_CUT"), "POP3_TEST_WS_CUT");
    let mut client = connect(url).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "x"), &options).await.unwrap();
    let err = client.retr(n(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(err.to_string().contains("RETR 1"), "{err}");
}

#[wasm_bindgen_test]
async fn invalid_url_is_a_usage_error() {
    // Relative URLs resolve against the page, so use a scheme WebSocket refuses outright.
    let err = connect("ftp://example.com/").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
}
