//! Replies checked as strictly as the best clients check them (issue 20): `LIST n` / `UIDL n`
//! answering about another message, listings with lines that cannot be read or entries above
//! `STAT`'s count, and the `UTF8` and `LANG` replies of RFC 6856, against scripted servers
//! and against Dovecot (which offers neither `UTF8` nor `LANG`).

mod support;

use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TcpTransport};
use pop3_wasm::proto::{Language, ListEntry, MsgNum, UidEntry};
use pop3_wasm::{Detail, ErrorKind, ListingEntries, ListingProblem};
use support::fake::{self, send, Expect};
use support::stack::Stack;

fn n(v: u32) -> MsgNum {
    MsgNum::new(v).unwrap()
}

fn size(msg: u32, size: u64) -> ListEntry {
    ListEntry { msg: n(msg), size }
}

fn uid(msg: u32, uid: &str) -> UidEntry {
    UidEntry { msg: n(msg), uid: uid.to_owned() }
}

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(10)), ..ClientConfig::default() }
}

async fn logged_in(port: u16) -> Client<TcpTransport> {
    let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "wonderland"), &options).await.unwrap();
    client
}

/// The listing problem an error carries.
fn listing_problem(err: &pop3_wasm::Error) -> &ListingProblem {
    match err.detail() {
        Some(Detail::Listing(problem)) => problem,
        other => panic!("expected a listing detail, got {other:?} ({err})"),
    }
}

#[tokio::test]
async fn list_one_and_uidl_one_about_another_message_are_protocol_errors_and_the_session_goes_on() {
    let mut script = fake::login_steps();
    script.extend([
        Expect("LIST 1"),
        send("+OK 99 1024\r\n"),
        Expect("UIDL 1"),
        send("+OK 99 uid-99\r\n"),
        Expect("LIST 2"),
        send("+OK 2 200\r\n"),
        Expect("UIDL 2"),
        send("+OK 2 uid-2\r\n"),
        Expect("NOOP"),
        send("+OK\r\n"),
        Expect("QUIT"),
        send("+OK bye\r\n"),
    ]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port).await;

    let err = client.list_one(n(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("LIST 1") && err.to_string().contains("99"), "{err}");
    let err = client.uidl_one(n(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("UIDL 1") && err.to_string().contains("99"), "{err}");

    // The replies were complete: the session is in step and usable.
    assert_eq!(client.list_one(n(2)).await.unwrap(), size(2, 200));
    assert_eq!(client.uidl_one(n(2)).await.unwrap(), uid(2, "uid-2"));
    client.noop().await.unwrap();
    client.quit().await.unwrap();
    let commands = server.await.unwrap();
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"), "{commands:?}");
}

#[tokio::test]
async fn list_with_malformed_lines_is_refused_with_what_could_be_read() {
    let listing = "+OK 4 messages\r\n1 100\r\n6\r\n7 ten-twenty-four\r\n9 300\r\n.\r\n";
    let mut script = fake::login_steps();
    script.extend([
        Expect("LIST"),
        send(listing),
        Expect("LIST"),
        send(listing),
        Expect("NOOP"),
        send("+OK\r\n"),
        Expect("QUIT"),
        send("+OK\r\n"),
    ]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port).await;

    let err = client.list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("LIST") && err.to_string().contains("2 line(s)"), "{err}");
    let problem = listing_problem(&err);
    assert_eq!(problem.entries, ListingEntries::List(vec![size(1, 100), size(9, 300)]));
    assert_eq!(problem.malformed, ["6", "7 ten-twenty-four"]);
    assert!(problem.beyond_count.is_empty());

    // The lenient form keeps both parts, for a caller who chooses to be lenient.
    let lenient = client.list_lenient().await.unwrap();
    assert_eq!(lenient.entries, [size(1, 100), size(9, 300)]);
    assert_eq!(lenient.malformed, ["6", "7 ten-twenty-four"]);
    client.noop().await.unwrap();
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn uidl_with_a_line_without_an_id_is_refused_with_what_could_be_read() {
    let listing = "+OK\r\n1 uid-1\r\n3\r\n4 uid-4\r\n.\r\n";
    let mut script = fake::login_steps();
    script.extend([Expect("UIDL"), send(listing), Expect("UIDL"), send(listing), Expect("QUIT"), send("+OK\r\n")]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port).await;

    let err = client.uidl().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("UIDL"), "{err}");
    let problem = listing_problem(&err);
    assert_eq!(problem.entries, ListingEntries::Uidl(vec![uid(1, "uid-1"), uid(4, "uid-4")]));
    assert_eq!(problem.malformed, ["3"]);
    assert!(problem.beyond_count.is_empty());

    let lenient = client.uidl_lenient().await.unwrap();
    assert_eq!(lenient.entries, [uid(1, "uid-1"), uid(4, "uid-4")]);
    assert_eq!(lenient.malformed, ["3"]);
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn listing_entries_above_the_count_stat_reported_are_refused() {
    let mut script = fake::login_steps();
    script.extend([
        Expect("STAT"),
        send("+OK 2 300\r\n"),
        Expect("LIST"),
        send("+OK\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n"),
        Expect("UIDL"),
        send("+OK\r\n1 uid-1\r\n2 uid-2\r\n5 uid-5\r\nbad\r\n.\r\n"),
        Expect("NOOP"),
        send("+OK\r\n"),
        Expect("QUIT"),
        send("+OK\r\n"),
    ]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port).await;
    assert_eq!(client.stat().await.unwrap().count, 2);

    let err = client.list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("above the count STAT reported"), "{err}");
    let problem = listing_problem(&err);
    assert_eq!(problem.entries, ListingEntries::List(vec![size(1, 100), size(2, 200), size(3, 300)]));
    assert!(problem.malformed.is_empty());
    assert_eq!(problem.beyond_count, [n(3)]);

    // Both checks at once.
    let err = client.uidl().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    let problem = listing_problem(&err);
    assert_eq!(problem.entries, ListingEntries::Uidl(vec![uid(1, "uid-1"), uid(2, "uid-2"), uid(5, "uid-5")]));
    assert_eq!(problem.malformed, ["bad"]);
    assert_eq!(problem.beyond_count, [n(5)]);

    client.noop().await.unwrap();
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn without_stat_in_the_session_a_listing_is_not_held_to_a_count() {
    let mut script = fake::login_steps();
    script.extend([Expect("LIST"), send("+OK\r\n1 100\r\n3 300\r\n.\r\n"), Expect("QUIT"), send("+OK\r\n")]);
    let (port, server) = fake::serve(script).await;
    let mut client = logged_in(port).await;
    assert_eq!(client.list().await.unwrap(), [size(1, 100), size(3, 300)]);
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn utf8_and_lang_replies_dovecot_does_not_give() {
    let script = vec![
        send("+OK fake server ready\r\n"),
        Expect("CAPA"),
        send("+OK\r\nUSER\r\nUTF8 USER\r\nLANG\r\n.\r\n"),
        Expect("UTF8"),
        send("+OK UTF8 enabled\r\n"),
        Expect("LANG"),
        send("+OK Language listing follows:\r\nen English\r\nfr Français\r\ni-default Default language\r\n.\r\n"),
        Expect("LANG de"),
        send("+OK de Sprache geändert\r\n"),
        Expect("LANG tlh"),
        send("-ERR [?] unsupported language\r\n"),
        Expect("USER alice"),
        send("+OK\r\n"),
        Expect("PASS "),
        send("+OK angemeldet\r\n"),
        Expect("CAPA"),
        send("+OK\r\nUSER\r\nLANG\r\n.\r\n"),
        Expect("LANG"),
        send("-ERR LANG nicht verfügbar\r\n"),
        Expect("STAT"),
        send("+OK 0 0\r\n"),
        Expect("QUIT"),
        send("+OK\r\n"),
    ];
    let (port, server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
    let caps = client.capa().await.unwrap().unwrap();
    assert_eq!(caps.utf8, Some(true), "UTF8 USER");
    assert!(caps.lang);

    client.utf8().await.unwrap();
    assert_eq!(
        client.languages().await.unwrap(),
        [
            Language { tag: "en".into(), description: "English".into() },
            Language { tag: "fr".into(), description: "Français".into() },
            Language { tag: "i-default".into(), description: "Default language".into() },
        ]
    );
    // The +OK text names the language chosen, in UTF-8.
    assert_eq!(client.set_language("de").await.unwrap(), "de Sprache geändert");
    let err = client.set_language("tlh").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert_eq!(err.server_text(), Some("unsupported language"));
    // A tag that would break the command line is refused before anything is sent.
    assert_eq!(client.set_language("de\r\nDELE 1").await.unwrap_err().kind(), ErrorKind::Usage);

    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "wonderland"), &options).await.unwrap();
    // UTF8 only before login (RFC 6856): refused without being sent.
    assert_eq!(client.utf8().await.unwrap_err().kind(), ErrorKind::Usage);
    // LANG is allowed after login too; a refusal is the server's and the session goes on.
    let err = client.languages().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert_eq!(err.server_text(), Some("LANG nicht verfügbar"));
    assert_eq!(client.stat().await.unwrap().count, 0);
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn dovecot_offers_neither_utf8_nor_lang_and_refuses_both() {
    // Dovecot 2.3 has no UTF8 or LANG: CAPA lists neither, and both are unknown commands.
    let stack = Stack::start(&[]);
    let mut client = native::connect("127.0.0.1", stack.pop3_port(), config()).await.unwrap();
    let caps = client.capa().await.unwrap().unwrap();
    assert_eq!(caps.utf8, None);
    assert!(!caps.lang);
    // Before login (Dovecot allows three unknown commands before it hangs up).
    let err = client.utf8().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(err.server_text().unwrap_or("").contains("Unknown command"), "{err}");
    let err = client.languages().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");

    let credentials = Credentials::new("alice", stack.password("alice"));
    let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&credentials, &options).await.unwrap();
    let err = client.set_language("en").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(err.server_text().unwrap_or("").contains("Unknown command"), "{err}");
    let err = client.languages().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    // The session goes on.
    assert_eq!(client.stat().await.unwrap().count, 0);
    client.quit().await.unwrap();
}
