//! TLS inside the library (rustls) against a real Dovecot with a test CA: implicit TLS, STLS,
//! and every way validation must fail. A scripted server covers STARTTLS injection.
#![cfg(feature = "tls")]

mod support;

use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native;
use pop3_wasm::proto::MsgNum;
use pop3_wasm::tls::TlsOptions;
use pop3_wasm::transport::TlsMode;
use pop3_wasm::{CertificateDetail, CertificateProblem, Detail, Error, ErrorKind};
use support::fake::{self, send, Expect, Silence};
use support::stack::{mail_dir, Stack};

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

fn tls_stack(variant: &str) -> (Stack, tempfile::TempDir) {
    let mail = mail_dir(&[b"Subject: over TLS\n\nsecret body line\n".to_vec()]);
    let stack = Stack::start(&["--tls", "--cert-variant", variant, "--mail", mail.path().to_str().unwrap()]);
    (stack, mail)
}

fn ca_pem(stack: &Stack) -> String {
    std::fs::read_to_string(stack.info["ca_cert"].as_str().unwrap()).unwrap()
}

fn options(stack: &Stack, name: &str) -> TlsOptions {
    TlsOptions { extra_roots_pem: vec![ca_pem(stack)], ..TlsOptions::new(name) }
}

/// Only our CA; so a failure cannot be blamed on Mozilla's roots.
fn private_options(stack: &Stack, name: &str) -> TlsOptions {
    TlsOptions { only_extra_roots: true, ..options(stack, name) }
}

#[tokio::test]
async fn implicit_tls_logs_in_and_reads_mail() {
    let (stack, _mail) = tls_stack("good");
    let port = stack.port("pop3s_port");
    let mut client = native::connect_tls("127.0.0.1", port, TlsMode::Implicit, &options(&stack, "localhost"), config())
        .await
        .unwrap();
    let info = client.tls_info().expect("encrypted");
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.terminated_by, "wasm");
    assert!(!info.cipher.is_empty());
    // PLAIN is fine without consent: the connection is encrypted.
    let plain = LoginOptions { method: AuthMethod::Sasl("PLAIN".into()), allow_cleartext: false };
    client.login(&Credentials::new("alice", stack.password("alice")), &plain).await.unwrap();
    let body = client.retr(MsgNum::new(1).unwrap()).await.unwrap();
    assert!(String::from_utf8(body).unwrap().contains("secret body line"));
    client.quit().await.unwrap();
}

#[tokio::test]
async fn ip_address_as_server_name() {
    let (stack, _mail) = tls_stack("good");
    let port = stack.port("pop3s_port");
    let mut client = native::connect_tls("127.0.0.1", port, TlsMode::Implicit, &options(&stack, "127.0.0.1"), config())
        .await
        .unwrap();
    assert!(client.tls_info().is_some());
    client.quit().await.unwrap();
}

#[tokio::test]
async fn stls_upgrades_and_reads_capabilities_again() {
    let (stack, _mail) = tls_stack("good");
    let mut client =
        native::connect_tls("127.0.0.1", stack.pop3_port(), TlsMode::StartTls, &options(&stack, "localhost"), config())
            .await
            .unwrap();
    assert!(client.tls_info().is_some());
    let caps = client.capabilities().expect("CAPA asked again after the upgrade");
    assert!(!caps.stls, "Dovecot no longer offers STLS once TLS is on");
    let auto =
        client.login(&Credentials::new("alice", stack.password("alice")), &LoginOptions::default()).await.unwrap();
    // Over TLS the automatic choice is PLAIN: one round trip, the password protected by TLS.
    assert_eq!(auto, AuthMethod::Sasl("PLAIN".into()));
    assert_eq!(client.stat().await.unwrap().count, 1);
    client.quit().await.unwrap();
}

async fn expect_tls_failure(stack: &Stack, port: u16, mode: TlsMode, options: TlsOptions, needle: &str) -> Error {
    let err = native::connect_tls("127.0.0.1", port, mode, &options, config()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains(needle), "expected {needle:?} in: {err}");
    let _ = stack;
    err
}

/// The certificate detail of a TLS error, which a user interface explains without reading the
/// message.
fn certificate(err: &Error) -> &CertificateDetail {
    match err.detail() {
        Some(Detail::Certificate(detail)) => detail,
        other => panic!("expected a certificate detail on {err}, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_ca_is_refused() {
    let (stack, _mail) = tls_stack("good");
    // Mozilla's roots only: our test CA is unknown.
    let port = stack.port("pop3s_port");
    let err =
        expect_tls_failure(&stack, port, TlsMode::Implicit, TlsOptions::new("localhost"), "not issued by a trusted")
            .await;
    assert_eq!(certificate(&err).problem, CertificateProblem::UnknownIssuer);
    assert_eq!(certificate(&err).server_name, "localhost");
    let err = expect_tls_failure(
        &stack,
        stack.pop3_port(),
        TlsMode::StartTls,
        TlsOptions::new("localhost"),
        "not issued by a trusted",
    )
    .await;
    assert_eq!(certificate(&err).problem, CertificateProblem::UnknownIssuer);
    assert_eq!(err.command(), None, "a handshake failure is not about a command's reply");
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused() {
    let (stack, _mail) = tls_stack("unknownca");
    let port = stack.port("pop3s_port");
    let err = expect_tls_failure(
        &stack,
        port,
        TlsMode::Implicit,
        private_options(&stack, "localhost"),
        "not issued by a trusted",
    )
    .await;
    assert_eq!(certificate(&err).problem, CertificateProblem::UnknownIssuer);
}

#[tokio::test]
async fn wrong_host_name_is_refused() {
    let (stack, _mail) = tls_stack("wronghost");
    let port = stack.port("pop3s_port");
    let err = expect_tls_failure(
        &stack,
        port,
        TlsMode::Implicit,
        private_options(&stack, "localhost"),
        "not valid for the name",
    )
    .await;
    let expected = CertificateDetail {
        problem: CertificateProblem::NameMismatch,
        server_name: "localhost".into(),
        names: vec!["wrong.example".into()],
    };
    assert_eq!(certificate(&err), &expected);
    assert!(err.to_string().contains("it is valid for wrong.example"), "{err}");
    // And a good certificate asked for another name: both of its names are reported.
    let (good, _mail2) = tls_stack("good");
    let port = good.port("pop3s_port");
    let err = expect_tls_failure(
        &good,
        port,
        TlsMode::Implicit,
        private_options(&good, "mail.example.org"),
        "not valid for the name",
    )
    .await;
    assert_eq!(certificate(&err).names, ["localhost", "127.0.0.1"]);
    assert_eq!(certificate(&err).server_name, "mail.example.org");
}

#[tokio::test]
async fn expired_certificate_is_refused() {
    let (stack, _mail) = tls_stack("expired");
    let port = stack.port("pop3s_port");
    let err =
        expect_tls_failure(&stack, port, TlsMode::Implicit, private_options(&stack, "localhost"), "has expired").await;
    assert_eq!(certificate(&err).problem, CertificateProblem::Expired);
}

fn leaf_fingerprint(stack: &Stack, variant: &str) -> [u8; 32] {
    use rustls_pki_types::pem::PemObject;
    use sha2::Digest;
    let pem = std::fs::read(stack.info["certs"][variant]["cert"].as_str().unwrap()).unwrap();
    let der = rustls_pki_types::CertificateDer::pem_slice_iter(&pem).next().unwrap().unwrap();
    sha2::Sha256::digest(der.as_ref()).into()
}

#[tokio::test]
async fn pinned_certificate() {
    // A pin accepts the server's own certificate even with no CA trusted...
    let (stack, _mail) = tls_stack("unknownca");
    let port = stack.port("pop3s_port");
    let pinned = TlsOptions { pin_sha256: Some(leaf_fingerprint(&stack, "unknownca")), ..TlsOptions::new("localhost") };
    let mut client = native::connect_tls("127.0.0.1", port, TlsMode::Implicit, &pinned, config()).await.unwrap();
    client.quit().await.unwrap();
    // ...and refuses any other.
    let wrong = TlsOptions { pin_sha256: Some([7; 32]), ..TlsOptions::new("localhost") };
    let err = expect_tls_failure(&stack, port, TlsMode::Implicit, wrong, "does not match the pinned fingerprint").await;
    assert_eq!(certificate(&err).problem, CertificateProblem::PinMismatch);
}

#[tokio::test]
async fn stls_refused_is_an_error_not_a_fallback() {
    // Dovecot without TLS: STLS is not offered and refused if asked.
    let mail = mail_dir(&[b"Subject: x\n\nx\n".to_vec()]);
    let stack = Stack::start(&["--mail", mail.path().to_str().unwrap()]);
    let err =
        native::connect_tls("127.0.0.1", stack.pop3_port(), TlsMode::StartTls, &TlsOptions::new("localhost"), config())
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("refused STLS"), "{err}");
}

#[tokio::test]
async fn implicit_tls_to_a_plain_port() {
    let mail = mail_dir(&[b"Subject: x\n\nx\n".to_vec()]);
    let stack = Stack::start(&["--mail", mail.path().to_str().unwrap()]);
    let err =
        native::connect_tls("127.0.0.1", stack.pop3_port(), TlsMode::Implicit, &TlsOptions::new("localhost"), config())
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
}

#[tokio::test]
async fn stls_injection_is_refused_before_the_handshake() {
    // A man in the middle appends a reply to the server's +OK, hoping the client reads it
    // after the handshake as if it came over TLS (the "NO STARTTLS" attack).
    let script = vec![
        send("+OK ready\r\n"),
        Expect("STLS"),
        send("+OK Begin TLS\r\n+OK [injected] fake CAPA answer\r\n"),
        Silence(Duration::from_secs(2)),
    ];
    let (port, _server) = fake::serve(script).await;
    let err = native::connect_tls("127.0.0.1", port, TlsMode::StartTls, &TlsOptions::new("localhost"), config())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("injection"), "{err}");
}

#[tokio::test]
async fn large_messages_over_tls_are_complete() {
    // Regression: feeding rustls a whole read at once overflowed its bounded buffer of
    // decrypted data ("TLS read failed") on big messages.
    let mut big = b"Subject: big over TLS\n\n".to_vec();
    let mut i = 0u64;
    while big.len() < 6 * 1024 * 1024 {
        big.extend_from_slice(format!("{i:012} a line of a large message sent over TLS................\n").as_bytes());
        i += 1;
    }
    let mail = mail_dir(&[big.clone()]);
    let stack = Stack::start(&["--tls", "--mail", mail.path().to_str().unwrap()]);
    let expected = String::from_utf8(big).unwrap().replace('\n', "\r\n").into_bytes();
    for (mode, port) in [(TlsMode::Implicit, stack.port("pop3s_port")), (TlsMode::StartTls, stack.pop3_port())] {
        let mut client =
            native::connect_tls("127.0.0.1", port, mode, &options(&stack, "localhost"), config()).await.unwrap();
        let plain = LoginOptions { method: AuthMethod::Sasl("PLAIN".into()), allow_cleartext: false };
        client.login(&Credentials::new("alice", stack.password("alice")), &plain).await.unwrap();
        let body = client.retr(MsgNum::new(1).unwrap()).await.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(body == expected, "{mode:?}: the message differs ({} of {} octets)", body.len(), expected.len());
        client.quit().await.unwrap();
    }
}
