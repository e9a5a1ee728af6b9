//! OAuth 2.0 bearer tokens (XOAUTH2, OAUTHBEARER) against a real Dovecot whose `oauth2`
//! passdb checks tokens with a local token-introspection endpoint (started by mailstack.py).

mod support;

use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native;
use pop3_wasm::proto::ResponseCode;
use pop3_wasm::ErrorKind;
use support::stack::{mail_dir, Stack};

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

fn oauth_stack() -> (Stack, tempfile::TempDir) {
    let mail = mail_dir(&[b"Subject: token mail\n\nhello\n".to_vec()]);
    let stack = Stack::start(&["--oauth2", "--mail", mail.path().to_str().unwrap()]);
    (stack, mail)
}

fn token(stack: &Stack, which: &str) -> String {
    stack.info["oauth2"][which]["alice"].as_str().unwrap().to_owned()
}

/// Loopback is not encrypted: tokens are allowed over it only with explicit consent.
fn consent(method: &str) -> LoginOptions {
    LoginOptions { method: AuthMethod::parse(method).unwrap(), allow_cleartext: true }
}

#[tokio::test]
async fn both_bearer_mechanisms_log_in() {
    let (stack, _mail) = oauth_stack();
    for (method, which) in
        [("XOAUTH2", "tokens"), ("OAUTHBEARER", "tokens"), ("XOAUTH2", "long_tokens"), ("OAUTHBEARER", "long_tokens")]
    {
        let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
        let credentials = Credentials::access_token("alice", token(&stack, which));
        let used =
            client.login(&credentials, &consent(method)).await.unwrap_or_else(|e| panic!("{method} {which}: {e}"));
        assert_eq!(used, AuthMethod::Sasl(method.into()));
        assert_eq!(client.stat().await.unwrap().count, 1);
        client.quit().await.unwrap();
    }
    // A real-world-sized token (about 1200 characters) does not fit a 255-octet command line:
    // the two-step form carries it.
    assert!(token(&stack, "long_tokens").len() > 1000);
}

#[tokio::test]
async fn automatic_choice_with_a_token_is_oauthbearer() {
    let (stack, _mail) = oauth_stack();
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let credentials = Credentials::access_token("alice", token(&stack, "tokens"));
    let used = client.login(&credentials, &consent("auto")).await.unwrap();
    assert_eq!(used, AuthMethod::Sasl("OAUTHBEARER".into()));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn a_revoked_token_is_an_auth_error_with_the_servers_reason() {
    let (stack, _mail) = oauth_stack();
    let revoked = stack.info["oauth2"]["revoked_token"].as_str().unwrap().to_owned();
    for method in ["XOAUTH2", "OAUTHBEARER"] {
        let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
        let err =
            client.login(&Credentials::access_token("alice", revoked.clone()), &consent(method)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{method}: {err}");
        assert_eq!(err.response_code(), Some(&ResponseCode::Auth));
        assert!(err.to_string().contains("rejected the access token"), "{method}: {err}");
        assert!(!err.to_string().contains(&revoked), "the token never appears in errors");
        // The session stays usable after a failed login.
        client.capa().await.unwrap();
        client.quit().await.unwrap();
    }
}

#[tokio::test]
async fn a_token_is_not_sent_unencrypted_without_consent() {
    let (stack, _mail) = oauth_stack();
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let credentials = Credentials::access_token("alice", token(&stack, "tokens"));
    let err = client.login(&credentials, &LoginOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    client.quit().await.unwrap();
}
