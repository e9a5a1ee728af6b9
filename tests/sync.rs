//! Mailbox sync against a real Dovecot (and a scripted server for what Dovecot never does):
//! incremental downloads, retention, digest ids, and the watch loop.

mod support;

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TcpTransport, TokioTimer};
use pop3_wasm::sync::MaildirSink;
use pop3_wasm::sync::{self, Retention, RetryPolicy, SyncOptions, SyncSink, WatchEvent, WatchOptions};
use pop3_wasm::ErrorKind;
use support::fake::{self, send, Expect};
use support::stack::{mail_dir, Stack};

const ACCOUNT: &str = "alice@127.0.0.1";

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(20)), ..ClientConfig::default() }
}

async fn logged_in(port: u16, password: &str) -> pop3_wasm::Result<Client<TcpTransport>> {
    let mut client = native::connect("127.0.0.1", port, config()).await?;
    client.login(&Credentials::new("alice", password), &LoginOptions::default()).await?;
    Ok(client)
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: s{i}@example.org\nSubject: sync test {i}\nMessage-ID: <sync-{i}@example.org>\n\nbody {i}\n.dot line\n"
    )
    .into_bytes()
}

fn crlf(stored: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(stored).replace('\n', "\r\n").into_bytes()
}

/// The messages delivered into the Maildir, sorted.
fn maildir_contents(root: &Path) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = ["new", "cur"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()))
        .collect();
    all.sort();
    all
}

async fn run_sync(stack: &Stack, sink: &mut MaildirSink, retention: Retention, now: u64) -> sync::SyncReport {
    let mut state = sink.load_state(ACCOUNT).unwrap();
    let mut client = logged_in(stack.pop3_port(), &stack.password("alice")).await.unwrap();
    let options = SyncOptions { retention, now, max_messages: None, record_every: 0 };
    sync::sync(&mut client, &mut state, &options, sink).await.unwrap()
}

#[tokio::test]
async fn incremental_sync_then_delete_after_save() {
    let mail: Vec<Vec<u8>> = (1..=5).map(message).collect();
    let dir = mail_dir(&mail);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();

    let first = run_sync(&stack, &mut sink, Retention::Keep, 1_000).await;
    assert_eq!((first.on_server, first.saved, first.already_saved, first.deleted), (5, 5, 0, 0));
    let second = run_sync(&stack, &mut sink, Retention::Keep, 2_000).await;
    assert_eq!((second.saved, second.already_saved), (0, 5), "the second sync downloads nothing");

    // New mail delivered between runs is the only thing downloaded.
    let new: Vec<Vec<u8>> = (6..=7).map(message).collect();
    let new_dir = mail_dir(&new);
    let files: Vec<std::path::PathBuf> =
        std::fs::read_dir(new_dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let mut files: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    files.sort();
    stack.deliver("alice", &files);
    let third = run_sync(&stack, &mut sink, Retention::Keep, 3_000).await;
    assert_eq!((third.saved, third.already_saved), (2, 5));
    assert_eq!(stack.stored_messages("alice"), 7, "nothing deleted while keeping");

    // Delete after save: the server is emptied, the Maildir has every message byte for byte.
    let fourth = run_sync(&stack, &mut sink, Retention::DeleteAfterSave, 4_000).await;
    assert_eq!((fourth.saved, fourth.deleted), (0, 7));
    assert_eq!(stack.stored_messages("alice"), 0);
    let mut expected: Vec<Vec<u8>> = mail.iter().chain(&new).map(|m| crlf(m)).collect();
    expected.sort();
    assert_eq!(maildir_contents(maildir.path()), expected);
    assert_eq!(std::fs::read_dir(maildir.path().join("tmp")).unwrap().count(), 0);
    // The state forgets messages that are gone.
    let fifth = run_sync(&stack, &mut sink, Retention::DeleteAfterSave, 5_000).await;
    assert_eq!((fifth.on_server, fifth.saved, fifth.deleted), (0, 0, 0));
    assert!(sink.load_state(ACCOUNT).unwrap().messages.is_empty());
}

#[tokio::test]
async fn delete_only_what_was_saved_long_enough_ago() {
    let dir = mail_dir(&[message(1), message(2)]);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let day = 86_400;
    run_sync(&stack, &mut sink, Retention::Keep, 10 * day).await;
    let early = run_sync(&stack, &mut sink, Retention::DeleteOlderThan { days: 7 }, 16 * day).await;
    assert_eq!(early.deleted, 0, "six days later, nothing is old enough");
    let late = run_sync(&stack, &mut sink, Retention::DeleteOlderThan { days: 7 }, 17 * day).await;
    assert_eq!(late.deleted, 2);
    assert_eq!(stack.stored_messages("alice"), 0);
}

#[tokio::test]
async fn another_accounts_state_is_refused() {
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    sink.save_state(&sync::SyncState::new("bob@elsewhere")).await.unwrap();
    let err = sink.load_state(ACCOUNT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    std::fs::write(maildir.path().join(pop3_wasm::sync::maildir::STATE_FILE), "{ truncated").unwrap();
    assert!(sink.load_state(ACCOUNT).unwrap_err().to_string().contains("corrupt"));
}

/// A scripted server without UIDL (or with a broken one), answered one command at a time.
fn scripted(uidl: &str, tops: &[&str], retrs: &[&str]) -> Vec<fake::Step> {
    let mut script = fake::login_steps();
    script.extend([Expect("LIST"), send("+OK\r\n1 40\r\n2 40\r\n3 40\r\n.\r\n"), Expect("UIDL"), send(uidl)]);
    for top in tops {
        script.extend([Expect("TOP"), send(top)]);
    }
    for retr in retrs {
        script.extend([Expect("RETR"), send(retr)]);
    }
    script.extend([Expect("QUIT"), send("+OK bye\r\n")]);
    script
}

async fn sync_scripted(script: Vec<fake::Step>) -> (sync::SyncReport, sync::SyncState) {
    let (port, server) = fake::serve(script).await;
    let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
    let cleartext = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
    client.login(&Credentials::new("alice", "x"), &cleartext).await.unwrap();
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let mut state = sync::SyncState::new(ACCOUNT);
    let options = SyncOptions { retention: Retention::Keep, now: 1, max_messages: None, record_every: 0 };
    let report = sync::sync(&mut client, &mut state, &options, &mut sink).await.unwrap();
    server.await.unwrap();
    assert_eq!(maildir_contents(maildir.path()).len(), 3, "no message is lost");
    (report, state)
}

#[tokio::test]
async fn server_without_uidl_gets_header_digests() {
    let head = |i: u32| format!("+OK\r\nMessage-ID: <{i}@x>\r\nSubject: {i}\r\n\r\n.\r\n");
    let body = |i: u32| format!("+OK\r\nMessage-ID: <{i}@x>\r\nSubject: {i}\r\n\r\nbody\r\n.\r\n");
    let script =
        scripted("-ERR UIDL not supported\r\n", &[&head(1), &head(2), &head(3)], &[&body(1), &body(2), &body(3)]);
    let (report, state) = sync_scripted(script).await;
    assert_eq!(report.saved, 3);
    assert!(report.warnings.iter().any(|w| w.contains("no UIDL")), "{:?}", report.warnings);
    assert!(state.messages.keys().all(|id| id.starts_with("digest:")));
    assert_eq!(state.messages.len(), 3);
}

#[tokio::test]
async fn duplicated_and_malformed_uidl_lines_lose_nothing() {
    // Message 2 repeats message 1's id; message 3's line is malformed.
    let uidl = "+OK\r\n1 same-id\r\n2 same-id\r\n3\r\n.\r\n";
    let head = "+OK\r\nMessage-ID: <3@x>\r\n\r\n.\r\n";
    let body = |i: u32| format!("+OK\r\nMessage-ID: <{i}@x>\r\n\r\nbody\r\n.\r\n");
    let (report, state) = sync_scripted(scripted(uidl, &[head], &[&body(1), &body(2), &body(3)])).await;
    assert_eq!(report.saved, 3);
    let ids: Vec<&str> = state.messages.keys().map(String::as_str).collect();
    assert!(ids.contains(&"same-id") && ids.contains(&"same-id#2"), "{ids:?}");
    assert!(ids.iter().any(|id| id.starts_with("digest:")), "{ids:?}");
    assert!(report.warnings.len() >= 2, "{:?}", report.warnings);
}

#[tokio::test]
async fn watch_picks_up_mail_delivered_while_it_runs() {
    let dir = mail_dir(&[message(1)]);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let port = stack.pop3_port();
    let password = stack.password("alice");
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let mut state = sink.load_state(ACCOUNT).unwrap();
    let late = mail_dir(&[message(2)]);
    let late_file = late.path().join("00001.eml");
    let options = WatchOptions { interval: Duration::from_millis(200), ..WatchOptions::default() };
    let mut rounds = Vec::new();
    let now = Cell::new(0);
    sync::watch(
        async || logged_in(port, &password).await,
        || {
            now.set(now.get() + 1);
            now.get()
        },
        &TokioTimer,
        &mut state,
        &options,
        &mut sink,
        |event| {
            let WatchEvent::Synced(report) = event else { panic!("unexpected retry: {event:?}") };
            rounds.push(report.saved);
            if rounds.len() == 2 {
                stack.deliver("alice", &[late_file.as_path()]);
            }
            // Stop once the late message has been picked up.
            !(rounds.len() > 2 && report.saved == 1)
        },
    )
    .await
    .unwrap();
    assert_eq!(rounds.first(), Some(&1));
    assert_eq!(rounds.iter().sum::<usize>(), 2, "{rounds:?}");
    assert_eq!(maildir_contents(maildir.path()).len(), 2);
}

#[tokio::test]
async fn watch_backs_off_on_in_use_and_stops_on_a_wrong_password() {
    // The mailbox is locked by another session for the first login.
    let script = fake::login_steps_answering_pass("-ERR [IN-USE] mailbox locked by another session\r\n");
    let (locked, _s1) = fake::serve(script).await;
    let script = fake::login_steps_answering_pass("-ERR [AUTH] wrong password\r\n");
    let (wrong, _s2) = fake::serve(script).await;
    let ports = [locked, wrong];
    let attempts = Rc::new(Cell::new(0usize));
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let mut state = sync::SyncState::new(ACCOUNT);
    let options = WatchOptions {
        interval: Duration::from_millis(100),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(150),
            max_delay: Duration::from_secs(1),
        },
        ..WatchOptions::default()
    };
    let mut retries = Vec::new();
    let started = std::time::Instant::now();
    let err = sync::watch(
        async || {
            let port = ports[attempts.get()];
            attempts.set(attempts.get() + 1);
            let mut client = native::connect("127.0.0.1", port, config()).await?;
            let cleartext = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
            client.login(&Credentials::new("alice", "x"), &cleartext).await?;
            Ok(client)
        },
        || 0,
        &TokioTimer,
        &mut state,
        &options,
        &mut sink,
        |event| {
            if let WatchEvent::Retrying { error, attempt, delay } = event {
                retries.push((error.response_code().cloned(), attempt, delay));
            }
            true
        },
    )
    .await
    .unwrap_err();
    // [IN-USE] was retried after a back-off; [AUTH] ended the watch at once.
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0].0, Some(pop3_wasm::proto::ResponseCode::InUse));
    assert!(started.elapsed() >= Duration::from_millis(150), "it waited before retrying");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(attempts.get(), 2);
}
