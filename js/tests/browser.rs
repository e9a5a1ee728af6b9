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
use pop3_wasm::ErrorKind;
use pop3_wasm_js::{JsTimer, WebSocketTransport};
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
    let transport = WebSocketTransport::connect(url, &[], Some(Duration::from_secs(10)), 1 << 30).await?;
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
    assert_eq!(list.len(), expected as usize);
    assert_eq!(uids.len(), expected as usize);

    // Every message, pipelined. LIST sizes are hints: Dovecot adds the CRLF a message without a
    // final newline lacks, so a message may be two octets longer than listed.
    let msgs: Vec<MsgNum> = list.iter().map(|e| e.msg).collect();
    let mut total = 0u64;
    let mut count = 0;
    client
        .retr_many(&msgs, |msg, body| {
            let body = body?;
            let listed = list.iter().find(|e| e.msg == msg).unwrap().size;
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
    let largest = list.iter().max_by_key(|e| e.size).unwrap();
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

/// Without the `full-encoding` feature, legacy charsets are decoded by Chromium's TextDecoder,
/// given to the parser as its charset fallback (as `parseMessage` does).
#[wasm_bindgen_test]
fn legacy_charsets_decode_through_the_browsers_text_decoder() {
    let raw = b"From: =?ISO-2022-JP?B?GyRCN29MPhsoQg==?= <jp@example.jp>\r\n\
        Subject: =?GB2312?Q?=C4=E3=BA=C3?=\r\n\
        Content-Type: text/plain; charset=Shift_JIS\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n\
        grGC8YLJgr+CzYFBkKKKRQ==\r\n";
    let parser = pop3_wasm::mime::Parser::new().with_charset_fallback(pop3_wasm_js::TextDecoderFallback);
    let parsed = parser.parse(raw).expect("parses");
    assert_eq!(parsed.subject.as_deref(), Some("你好"));
    assert_eq!(parsed.from[0].name.as_deref(), Some("件名"));
    assert_eq!(parsed.text.as_deref().map(str::trim), Some("こんにちは、世界"));
}

#[wasm_bindgen_test]
async fn invalid_url_is_a_usage_error() {
    // Relative URLs resolve against the page, so use a scheme WebSocket refuses outright.
    let err = connect("ftp://example.com/").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
}

// ----- TLS inside the wasm module, through websockify relaying plain TCP -----

#[cfg(feature = "tls")]
mod end_to_end_tls {
    use super::*;
    use pop3_wasm::tls::{TlsOptions, TlsStream};

    const CANARY: &str = "TOP-SECRET-CANARY-4711";

    fn tls_options() -> TlsOptions {
        let ca = env(option_env!("POP3_TEST_CA"), "POP3_TEST_CA");
        TlsOptions { extra_roots_pem: vec![ca.to_owned()], only_extra_roots: true, ..TlsOptions::new("localhost") }
    }

    async fn tls_client(url: &str, implicit: bool) -> Client<TlsStream<WebSocketTransport>> {
        let ws = WebSocketTransport::connect(url, &[], Some(Duration::from_secs(10)), 1 << 30).await.unwrap();
        let mut stream = TlsStream::new(ws, &tls_options()).unwrap();
        if implicit {
            stream.handshake().await.unwrap();
        }
        let mut client = Client::connect(stream, Rc::new(JsTimer), config()).await.unwrap();
        if !implicit {
            client.stls().await.unwrap();
        }
        client
    }

    /// Logs in with PLAIN (the password itself, inside TLS) and reads the canary message.
    async fn read_canary<T: pop3_wasm::transport::Transport>(client: &mut Client<T>) {
        let password = env(option_env!("POP3_TEST_PASSWORD"), "POP3_TEST_PASSWORD");
        let plain = LoginOptions { method: AuthMethod::Sasl("PLAIN".into()), allow_cleartext: false };
        client.login(&Credentials::new("alice", password), &plain).await.unwrap();
        let count = client.stat().await.unwrap().count;
        let last = client.retr(n(count)).await.unwrap();
        assert!(String::from_utf8_lossy(&last).contains(CANARY), "the canary message is the last one");
    }

    #[wasm_bindgen_test]
    async fn pop3s_through_a_plain_relay() {
        let url = env(option_env!("POP3_TEST_WS_REC_TLS"), "POP3_TEST_WS_REC_TLS");
        let mut client = tls_client(url, true).await;
        let info = client.tls_info().unwrap();
        assert_eq!((info.version.as_str(), info.terminated_by), ("TLSv1.3", "wasm"));
        read_canary(&mut client).await;
        // The largest message, decrypted in the page (regression: big reads overflowed
        // rustls's buffer of decrypted data).
        let list = client.list().await.unwrap();
        let largest = list.iter().max_by_key(|e| e.size).unwrap();
        let body = client.retr(largest.msg).await.unwrap();
        assert_eq!(body.len() as u64, largest.size);
        client.quit().await.unwrap();
    }

    #[wasm_bindgen_test]
    async fn stls_through_a_plain_relay() {
        let url = env(option_env!("POP3_TEST_WS_REC_STLS"), "POP3_TEST_WS_REC_STLS");
        let mut client = tls_client(url, false).await;
        assert!(client.tls_info().is_some());
        assert!(!client.capabilities().unwrap().stls, "capabilities were read again over TLS");
        read_canary(&mut client).await;
        client.quit().await.unwrap();
    }

    #[wasm_bindgen_test]
    async fn control_plain_session_is_visible_to_the_proxy() {
        // The same exchange without TLS, through its own recording proxy: proves the capture
        // would show the password and the mail if TLS did not hide them.
        let url = env(option_env!("POP3_TEST_WS_REC_PLAIN"), "POP3_TEST_WS_REC_PLAIN");
        let mut client = connect(url).await.unwrap();
        let password = env(option_env!("POP3_TEST_PASSWORD"), "POP3_TEST_PASSWORD");
        let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
        client.login(&Credentials::new("alice", password), &options).await.unwrap();
        let count = client.stat().await.unwrap().count;
        assert!(String::from_utf8_lossy(&client.retr(n(count)).await.unwrap()).contains(CANARY));
        client.quit().await.unwrap();
    }

    #[wasm_bindgen_test]
    async fn unknown_ca_in_the_browser() {
        let url = env(option_env!("POP3_TEST_WS_REC_TLS"), "POP3_TEST_WS_REC_TLS");
        let ws = WebSocketTransport::connect(url, &[], Some(Duration::from_secs(10)), 1 << 30).await.unwrap();
        // Mozilla's roots only: the test CA is unknown; the clock is JavaScript's Date.now().
        let mut stream = TlsStream::new(ws, &TlsOptions::new("localhost")).unwrap();
        let err = stream.handshake().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls);
        assert!(err.to_string().contains("not issued by a trusted"), "{err}");
    }
}
