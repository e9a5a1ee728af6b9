//! Fault injection: a delete-after-save sync against a real Dovecot is cut at every step,
//! through a proxy that drops the link (during each RETR, before and after each DELE, before
//! and after QUIT, and at byte offsets across the whole session), and the sink is killed in
//! the middle of writing each message. After every fault, and after a clean run that follows,
//! no message may be lost (each is on the server or in the Maildir) and none may be in the
//! Maildir twice.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use pop3_wasm::auth::Credentials;
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native;
use pop3_wasm::sync::MaildirSink;
use pop3_wasm::sync::{self, Retention, Saved, SyncOptions, SyncSink, SyncState};
use pop3_wasm::Error;
use support::fault_proxy::{self, Cut};
use support::stack::{mail_dir, Stack};

const ACCOUNT: &str = "alice@127.0.0.1";
const MESSAGES: usize = 4;

fn message(i: usize) -> Vec<u8> {
    let mut m = format!("From: f{i}@example.org\nSubject: fault test {i}\nMessage-ID: <fault-{i}@example.org>\n\n");
    for line in 0..40 {
        m.push_str(&format!(
            "{}message {i} line {line}: some text to make the message span reads\n",
            if line % 9 == 0 { "." } else { "" }
        ));
    }
    m.into_bytes()
}

/// Message bodies with LF line endings, whatever they were stored or retrieved with.
fn normalise(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n").into_bytes()
}

fn read_all(dir: &Path) -> Vec<Vec<u8>> {
    ["new", "cur"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).map(|r| r.flatten().collect::<Vec<_>>()).unwrap_or_default())
        .map(|e| normalise(&std::fs::read(e.path()).unwrap()))
        .collect()
}

fn counts(items: Vec<Vec<u8>>) -> BTreeMap<Vec<u8>, usize> {
    let mut map = BTreeMap::new();
    for item in items {
        *map.entry(item).or_insert(0) += 1;
    }
    map
}

/// No message lost, none saved twice: the union of server and Maildir is the original set,
/// and the Maildir has no duplicates.
fn check_invariants(what: &str, originals: &[Vec<u8>], stack: &Stack, maildir: &Path) {
    let saved = counts(read_all(maildir));
    assert!(saved.values().all(|&n| n == 1), "{what}: a message is in the Maildir twice");
    let on_server = counts(read_all(&stack.maildir("alice")));
    for original in originals {
        let original = normalise(original);
        assert!(saved.contains_key(&original) || on_server.contains_key(&original), "{what}: a message was lost");
    }
    assert_eq!(saved.len(), saved.keys().filter(|m| originals.iter().any(|o| normalise(o) == **m)).count());
}

fn config(pipelining: bool) -> ClientConfig {
    let mut config = ClientConfig { reply_timeout: Some(Duration::from_secs(10)), ..ClientConfig::default() };
    config.engine.pipelining = pipelining;
    config
}

async fn sync_through(
    port: u16,
    password: &str,
    maildir: &Path,
    pipelining: bool,
    sink_fault: Option<usize>,
) -> Result<sync::SyncReport, Error> {
    let mut client = native::connect("127.0.0.1", port, config(pipelining)).await?;
    client.login(&Credentials::new("alice", password), &LoginOptions::default()).await?;
    let mut sink = CrashingSink { inner: MaildirSink::open(maildir)?, crash_at: sink_fault, begun: 0 };
    let mut state = sink.inner.load_state(ACCOUNT)?;
    let options = SyncOptions { retention: Retention::DeleteAfterSave, now: 1, max_messages: None, record_every: 0 };
    sync::sync(&mut client, &mut state, &options, &mut sink).await
}

/// A Maildir sink that "crashes" in the middle of writing its n-th message: half of it is left
/// in tmp/, and the write fails, as if the process had been killed (nothing cleans up).
struct CrashingSink {
    inner: MaildirSink,
    crash_at: Option<usize>,
    begun: usize,
}

impl SyncSink for CrashingSink {
    async fn begin(&mut self, uid: &str, size: Option<u64>) -> pop3_wasm::Result<bool> {
        self.begun += 1;
        self.inner.begin(uid, size).await
    }

    async fn write(&mut self, chunk: &[u8]) -> pop3_wasm::Result<()> {
        if self.crash_at == Some(self.begun) {
            self.inner.write(&chunk[..chunk.len() / 2]).await?;
            return Err(Error::new(pop3_wasm::ErrorKind::Usage, "the sink was killed mid-write"));
        }
        self.inner.write(chunk).await
    }

    async fn commit(&mut self) -> pop3_wasm::Result<()> {
        self.inner.commit().await
    }

    async fn abort(&mut self) {
        // A killed process cleans nothing up: the partial file stays in tmp/.
        if self.crash_at != Some(self.begun) {
            self.inner.abort().await;
        }
    }

    async fn flush(&mut self) -> pop3_wasm::Result<()> {
        self.inner.flush().await
    }

    async fn record(&mut self, state: &SyncState, saved: &[(String, Saved)]) -> pop3_wasm::Result<()> {
        self.inner.record(state, saved).await
    }

    async fn save_state(&mut self, state: &SyncState) -> pop3_wasm::Result<()> {
        self.inner.save_state(state).await
    }
}

/// Runs one fault, then a clean run, checking the invariants after each. Returns whether the
/// fault made the first run fail (a cut past the end of the session does not).
async fn exercise(label: &str, cut: Option<Cut>, pipelining: bool, sink_fault: Option<usize>) -> bool {
    let originals: Vec<Vec<u8>> = (1..=MESSAGES).map(message).collect();
    let dir = mail_dir(&originals);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let password = stack.password("alice");
    let maildir = tempfile::tempdir().unwrap();
    let port = match cut {
        Some(cut) => fault_proxy::start(stack.pop3_port(), cut).await,
        None => stack.pop3_port(),
    };
    let faulty = sync_through(port, &password, maildir.path(), pipelining, sink_fault).await;
    // Give Dovecot a moment to finish a QUIT it received.
    tokio::time::sleep(Duration::from_millis(100)).await;
    check_invariants(&format!("{label}, after the fault ({faulty:?})"), &originals, &stack, maildir.path());

    sync_through(stack.pop3_port(), &password, maildir.path(), pipelining, None)
        .await
        .unwrap_or_else(|e| panic!("{label}: the clean run after the fault failed: {e}"));
    check_invariants(&format!("{label}, after the clean run"), &originals, &stack, maildir.path());
    assert_eq!(stack.stored_messages("alice"), 0, "{label}: delete-after-save empties the server");
    let saved = counts(read_all(maildir.path()));
    assert_eq!(saved.len(), MESSAGES, "{label}: every message is in the Maildir");
    faulty.is_err()
}

#[tokio::test]
async fn cuts_at_every_command_and_sink_crashes() {
    let mut tried = 0;
    // One command in flight, so each cut lands exactly where named.
    for k in 1..=MESSAGES {
        for (label, cut, sink) in [
            (format!("during RETR {k}"), Some(Cut::DuringReply("RETR", k, 120)), None),
            (format!("before DELE {k}"), Some(Cut::BeforeCommand("DELE", k)), None),
            (format!("after DELE {k}"), Some(Cut::AfterCommand("DELE", k)), None),
            (format!("sink killed writing message {k}"), None, Some(k)),
        ] {
            assert!(exercise(&label, cut, false, sink).await, "{label}: the fault did not happen");
            tried += 1;
        }
    }
    for (label, cut) in [
        ("before the first RETR", Cut::BeforeCommand("RETR", 1)),
        ("before QUIT", Cut::BeforeCommand("QUIT", 1)),
        ("after QUIT, before its reply", Cut::AfterCommand("QUIT", 1)),
    ] {
        assert!(exercise(label, Some(cut), false, None).await, "{label}: the fault did not happen");
        tried += 1;
    }
    println!("fault injection: {tried} command and sink cut points");
}

#[tokio::test]
async fn cuts_at_byte_offsets_across_a_pipelined_session() {
    // Cut every 500 bytes from the server until a cut falls past the end of the session
    // (about 11 KB here), so the sweep covers the whole session whatever its exact size.
    let mut tried = 0;
    let mut offset = 100;
    while exercise(&format!("after {offset} bytes (pipelined)"), Some(Cut::ServerBytes(offset)), true, None).await {
        offset += 500;
        tried += 1;
    }
    println!("fault injection: {tried} byte-offset cut points inside the session (it ended before byte {offset})");
    assert!(tried >= 15, "the sweep must cover the session ({tried} cut points)");
}

#[tokio::test]
async fn a_quit_whose_reply_never_comes_is_reported_as_uncertain_and_the_next_run_settles_it() {
    let originals: Vec<Vec<u8>> = (1..=MESSAGES).map(message).collect();
    let dir = mail_dir(&originals);
    let stack = Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let password = stack.password("alice");
    let maildir = tempfile::tempdir().unwrap();
    // The connection is cut after QUIT reached the server and before its +OK came back.
    let port = fault_proxy::start(stack.pop3_port(), Cut::AfterCommand("QUIT", 1)).await;
    let err = sync_through(port, &password, maildir.path(), false, None).await.unwrap_err();
    assert!(err.deletions_uncertain(), "{err}");
    assert_eq!(err.detail(), Some(&pop3_wasm::Detail::DeletionsUncertain { marked: MESSAGES as u32 }));
    assert_eq!(err.command(), Some("QUIT"));
    assert!(err.to_string().contains("the next run finds out"), "the advice: {err}");
    // Whatever the server did with the deletions, every message is saved exactly once...
    tokio::time::sleep(Duration::from_millis(100)).await;
    check_invariants("after the uncertain QUIT", &originals, &stack, maildir.path());
    // ...and the next run finds out: nothing new to fetch, nothing left on the server.
    let report = sync_through(stack.pop3_port(), &password, maildir.path(), false, None).await.unwrap();
    assert_eq!(report.saved, 0, "nothing fetched twice");
    assert_eq!(stack.stored_messages("alice"), 0);
    assert_eq!(counts(read_all(maildir.path())).len(), MESSAGES);
}
