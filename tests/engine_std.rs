//! The blocking, runtime-free example (`examples/engine_std.rs`) against a real Dovecot: the
//! proof that the engine needs no async runtime. The example's own code runs here.

mod support;

#[allow(dead_code)]
#[path = "../examples/engine_std.rs"]
mod example;

use support::stack::{mail_dir, Stack};

fn sample(i: usize) -> Vec<u8> {
    format!(
        "From: a{i}@example.org\nSubject: Blocking {i}\n\n{}\n.starts with a dot\n..two dots\nthe end\n",
        "x".repeat(i * 5000)
    )
    .into_bytes()
}

#[test]
fn the_std_example_logs_in_and_fetches_every_message_without_a_runtime() {
    let mail: Vec<Vec<u8>> = (1..=30).map(sample).collect();
    let dir = mail_dir(&mail);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let fetched = example::run("127.0.0.1", stack.pop3_port(), "alice", &stack.password("alice"), false).unwrap();
    assert_eq!(fetched.len(), mail.len());
    for (got, stored) in fetched.iter().zip(&mail) {
        let on_the_wire = String::from_utf8_lossy(stored).replace('\n', "\r\n");
        assert_eq!(got.bytes, on_the_wire.as_bytes(), "message {} byte for byte, unstuffed", got.msg);
        assert!(!got.uid.is_empty());
    }
    // Nothing was deleted.
    assert_eq!(stack.stored_messages("alice"), mail.len());
}

#[test]
fn the_std_example_refuses_cleartext_and_reports_a_wrong_password() {
    let dir = mail_dir(&[sample(1)]);
    // Only cleartext mechanisms: refused without --allow-cleartext, before anything is sent.
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap(), "--mechanisms", "plain login"]);
    let err = example::run("127.0.0.1", stack.pop3_port(), "alice", &stack.password("alice"), false).unwrap_err();
    assert_eq!(err.detail(), Some(&pop3_wasm::Detail::CleartextRefused), "{err}");
    let err = example::run("127.0.0.1", stack.pop3_port(), "alice", "wrong-password", true).unwrap_err();
    assert_eq!(err.kind(), pop3_wasm::ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("wrong-password"));
}
