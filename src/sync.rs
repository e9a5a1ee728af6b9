//! Mailbox synchronisation that never loses or duplicates mail.
//!
//! A [`SyncState`] records the unique id (UIDL) of every message already saved. [`sync`]
//! downloads exactly the messages whose ids are not recorded, hands each to a [`SyncSink`]
//! and waits until the sink says it is durably stored, records it and has the sink persist
//! the state, and only then, depending on the [`Retention`], marks messages for deletion.
//! The order is always: saved, then recorded, then `DELE`, then `QUIT`.
//!
//! What can go wrong, and why nothing is lost or saved twice:
//! - the connection drops, or the sink fails, before a message is recorded: the message is
//!   still on the server and unknown to the state, so the next run downloads it again. Sinks
//!   should be idempotent per id (the Maildir sinks are) in case a save completed but its
//!   record did not;
//! - the connection drops after `DELE` but before `QUIT` completes: POP3 deletes nothing
//!   without a successful `QUIT`, so the messages stay; they are recorded, so the next run does
//!   not download them again, and deletes them then;
//! - `QUIT` succeeded but its reply was lost: the messages are gone; their ids are pruned from
//!   the state on the next run.
//!
//! Servers without `UIDL`, and messages whose `UIDL` line is missing or malformed, get an id
//! made from a digest of their headers (`TOP n 0`), with a warning: less robust (two messages
//! with identical headers share it), but no message is skipped. Duplicate ids from the server
//! are made unique by their order (`id#2`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::engine::Listing;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Expire, MsgNum};
use crate::transport::Transport;

/// The `format` field of every state.
pub const STATE_FORMAT: &str = "pop3-wasm-sync";
/// The state version this code writes and reads.
pub const STATE_VERSION: u32 = 1;

/// What is known about a saved message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    /// When it was saved, in seconds since the Unix epoch.
    pub saved_at: u64,
    /// Its size in octets.
    pub size: u64,
}

/// The persistent record of a mailbox's saved messages: small, versioned, JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// Always [`STATE_VERSION`] when written by this code.
    pub version: u32,
    /// The account the state belongs to (`user@host`), checked so that one mailbox's state is
    /// never used for another.
    pub account: String,
    /// Saved messages by unique id.
    pub messages: BTreeMap<String, Saved>,
}

impl SyncState {
    /// An empty state for `account` (for example `alice@mail.example.org`).
    pub fn new(account: impl Into<String>) -> SyncState {
        SyncState {
            format: STATE_FORMAT.to_owned(),
            version: STATE_VERSION,
            account: account.into(),
            messages: BTreeMap::new(),
        }
    }

    /// Reads a state from JSON. A corrupt state, one from another program, or one written by
    /// a newer or unknown version is an error of kind [`ErrorKind::Usage`] saying so: it is
    /// never treated as empty, which would download everything again.
    pub fn from_json(json: &str) -> Result<SyncState> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::usage(format!("the sync state is corrupt (not JSON: {e}); fix or remove it")))?;
        SyncState::check_header(
            value.get("format").and_then(|f| f.as_str()),
            value.get("version").map(|v| v.as_u64()),
        )?;
        serde_json::from_value(value)
            .map_err(|e| Error::usage(format!("the sync state is corrupt ({e}); fix or remove it")))
    }

    /// Checks a stored state's `format` and `version` fields (`version` is `Some(None)` when
    /// present but not a whole number). Shared by every way of loading a state.
    pub fn check_header(format: Option<&str>, version: Option<Option<u64>>) -> Result<()> {
        if format != Some(STATE_FORMAT) {
            return Err(Error::usage(format!(
                "this is not a pop3-wasm sync state (format {}); refusing to use it",
                format.map_or("missing".to_owned(), |f| format!("{f:?}"))
            )));
        }
        match version {
            Some(Some(v)) if v == u64::from(STATE_VERSION) => Ok(()),
            Some(Some(v)) if v > u64::from(STATE_VERSION) => Err(Error::usage(format!(
                "the sync state was written by a newer version (state version {v}, this one reads {STATE_VERSION}); \
                 upgrade pop3-wasm"
            ))),
            Some(Some(v)) => Err(Error::usage(format!(
                "the sync state has version {v}, which this version ({STATE_VERSION}) cannot read"
            ))),
            Some(None) | None => Err(Error::usage("the sync state has no version; refusing to use it")),
        }
    }

    /// The state as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the state serialises")
    }

    /// Checks the state belongs to `account`.
    pub fn check_account(&self, account: &str) -> Result<()> {
        if self.account == account {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "the sync state belongs to {:?}, not {account:?}; use a separate state per mailbox",
                self.account
            )))
        }
    }
}

/// What to do with messages on the server once they are saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Leave everything on the server.
    #[default]
    Keep,
    /// Delete each message once it is saved and recorded.
    DeleteAfterSave,
    /// Delete messages saved at least this many days ago.
    DeleteOlderThan {
        /// Days.
        days: u32,
    },
}

/// Settings for one [`sync`] run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// What to delete.
    pub retention: Retention,
    /// The current time in seconds since the Unix epoch (the engine has no clock).
    pub now: u64,
    /// Download at most this many new messages this run (the rest next time).
    pub max_messages: Option<usize>,
}

/// How far a sync has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// New messages saved so far.
    pub messages_done: usize,
    /// New messages to save this run.
    pub messages_total: usize,
    /// Octets saved so far.
    pub bytes_done: u64,
    /// Octets to save this run (from `LIST`, a hint).
    pub bytes_total: u64,
}

/// What a [`sync`] run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// Messages on the server.
    pub on_server: usize,
    /// Messages saved in this run.
    pub saved: usize,
    /// Octets saved in this run.
    pub bytes: u64,
    /// Messages already saved earlier, left alone.
    pub already_saved: usize,
    /// Messages deleted from the server (marked, and `QUIT` succeeded).
    pub deleted: usize,
    /// Ids of the messages saved in this run, in order.
    pub saved_uids: Vec<String>,
    /// Things the caller should know: ids made from digests, server expiry policies.
    pub warnings: Vec<String>,
}

/// Where synchronised messages go. Both methods must only return once the data is durable.
#[allow(async_fn_in_trait)] // Deliberate: no `Send` bound, so sinks work in wasm.
pub trait SyncSink {
    /// Stores a message. Should be idempotent per `uid`: saving the same id twice must not
    /// produce two copies (a crash between saving and recording causes a second save).
    async fn save(&mut self, uid: &str, message: &[u8]) -> Result<()>;

    /// Persists the state (called after every recorded message and before deletions).
    async fn save_state(&mut self, state: &SyncState) -> Result<()>;

    /// Reports progress; the default ignores it.
    fn progress(&mut self, _progress: Progress) {}
}

/// An id made from a message's headers, for messages without a usable `UIDL`.
pub fn header_digest(header: &[u8]) -> String {
    // The headers that identify a message and do not change in a mailbox; Received lines
    // and Status-like headers some servers rewrite are left out.
    const FIELDS: &[&str] = &["message-id", "date", "from", "to", "cc", "subject"];
    let text = String::from_utf8_lossy(header);
    let head = text.split("\r\n\r\n").next().unwrap_or("").split("\n\n").next().unwrap_or("");
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.lines() {
        match unfolded.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line.trim_end()),
            _ => unfolded.push(line.trim_end().to_owned()),
        }
    }
    let mut hasher = Sha256::new();
    for field in FIELDS {
        for line in &unfolded {
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case(field) {
                    hasher.update(field.as_bytes());
                    hasher.update(b":");
                    hasher.update(value.trim().as_bytes());
                    hasher.update(b"\n");
                }
            }
        }
    }
    let digest = hasher.finalize();
    format!("digest:{}", crate::auth::hex(&digest[..16]))
}

/// Makes ids unique: a repeated id gets `#2`, `#3`, ... in listing order.
fn dedupe(ids: Vec<(MsgNum, String)>) -> Vec<(MsgNum, String)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    ids.into_iter()
        .map(|(msg, id)| {
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                (msg, id)
            } else {
                (msg, format!("{id}#{n}"))
            }
        })
        .collect()
}

/// Works out a unique id for every message on the server.
async fn identify<T: Transport>(
    client: &mut Client<T>,
    sizes: &BTreeMap<MsgNum, u64>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<(MsgNum, String)>, bool)> {
    let listing = match client.uidl_lenient().await {
        Ok(listing) => listing,
        Err(e) if e.kind() == ErrorKind::Server => {
            warnings.push("the server has no UIDL: messages are identified by a digest of their headers".to_owned());
            Listing::default()
        }
        Err(e) => return Err(e),
    };
    let complete = listing.malformed.is_empty() && listing.entries.len() == sizes.len();
    if !listing.malformed.is_empty() {
        warnings.push(format!(
            "the server sent {} malformed UIDL line(s); those messages are identified by a header digest",
            listing.malformed.len()
        ));
    }
    let mut ids: BTreeMap<MsgNum, String> =
        listing.entries.into_iter().filter(|e| sizes.contains_key(&e.msg)).map(|e| (e.msg, e.uid)).collect();
    let missing: Vec<MsgNum> = sizes.keys().copied().filter(|m| !ids.contains_key(m)).collect();
    if !missing.is_empty() {
        let mut digests: Vec<(MsgNum, Result<Vec<u8>>)> = Vec::new();
        client
            .top_many(&missing, 0, |msg, header| {
                digests.push((msg, header));
                Ok(())
            })
            .await?;
        for (msg, header) in digests {
            // TOP is optional: without it, the whole message gives the headers.
            let header = match header {
                Ok(h) => h,
                Err(e) if e.kind() == ErrorKind::Server => client.retr(msg).await?,
                Err(e) => return Err(e),
            };
            ids.insert(msg, header_digest(&header));
        }
    }
    let before = ids.len();
    let ids = dedupe(ids.into_iter().collect());
    let distinct: HashSet<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
    if distinct.len() != before || ids.iter().any(|(_, id)| id.contains('#') && !id.starts_with("digest:")) {
        warnings
            .push("the server reported the same unique id for several messages; they were told apart by order".into());
    }
    Ok((ids, complete))
}

/// Synchronises the mailbox of a logged-in `client` into `sink`, updating `state`, then ends
/// the session with `QUIT` (which is when the server deletes). See the module documentation
/// for the guarantees.
pub async fn sync<T: Transport>(
    mut client: Client<T>,
    state: &mut SyncState,
    options: &SyncOptions,
    sink: &mut impl SyncSink,
) -> Result<SyncReport> {
    let result = sync_session(&mut client, state, options, sink).await;
    match result {
        Ok((mut report, marked)) => {
            client.quit().await.map_err(|e| {
                if e.deletions_uncertain() {
                    // Everything marked was recorded first: the next run finds each message
                    // either gone (and forgets it) or still there (and deletes it again).
                    let message = format!("{}; the next run finds out and finishes the job", e.message());
                    e.with_message(message)
                } else {
                    let message = format!(
                        "{}; the messages marked for deletion stay on the server until the next run",
                        e.message()
                    );
                    e.with_message(message)
                }
            })?;
            report.deleted = marked;
            Ok(report)
        }
        Err(e) => {
            // Close without QUIT: nothing marked is deleted.
            let _ = client.close().await;
            Err(e)
        }
    }
}

async fn sync_session<T: Transport>(
    client: &mut Client<T>,
    state: &mut SyncState,
    options: &SyncOptions,
    sink: &mut impl SyncSink,
) -> Result<(SyncReport, usize)> {
    let mut report = SyncReport::default();
    if let Some(expire) = client.capabilities().and_then(|c| c.expire) {
        match (expire.value, options.retention) {
            (Expire::Days(0), Retention::Keep | Retention::DeleteOlderThan { .. }) => report.warnings.push(
                "the server deletes retrieved messages at the end of every session (EXPIRE 0): they cannot be kept there"
                    .to_owned(),
            ),
            (Expire::Days(days), Retention::Keep) => report
                .warnings
                .push(format!("the server deletes retrieved messages after {days} days (EXPIRE {days})")),
            (Expire::Days(days), Retention::DeleteOlderThan { days: ours }) if days < ours => report.warnings.push(format!(
                "the server deletes retrieved messages after {days} days (EXPIRE), before the {ours} days asked for"
            )),
            _ => {}
        }
    }

    let listing = client.list_lenient().await?;
    if !listing.malformed.is_empty() {
        report.warnings.push(format!(
            "the server sent {} malformed LIST line(s), ignored: {}",
            listing.malformed.len(),
            listing.malformed.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
        ));
    }
    let sizes: BTreeMap<MsgNum, u64> = listing.entries.into_iter().map(|e| (e.msg, e.size)).collect();
    report.on_server = sizes.len();
    let (ids, complete) = identify(client, &sizes, &mut report.warnings).await?;

    // Forget messages that are no longer on the server (deleted here or elsewhere), but only
    // when the listing is complete: a message hidden by a malformed line is not gone.
    if complete {
        let present: HashSet<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
        state.messages.retain(|uid, _| present.contains(uid.as_str()));
    }

    let mut new: Vec<(MsgNum, String)> =
        ids.iter().filter(|(_, id)| !state.messages.contains_key(id)).cloned().collect();
    report.already_saved = ids.len() - new.len();
    // A message over the size limit would end the session half-way (its reply is not read
    // past the limit), and every later run with it: leave it on the server, and say so.
    let limit = client.config().engine.limits.max_message;
    new.retain(|(msg, uid)| match sizes.get(msg) {
        Some(&size) if size > limit => {
            report.warnings.push(format!(
                "message {msg} ({uid}) is {size} octets, over the size limit of {limit}; it stays on the server"
            ));
            false
        }
        _ => true,
    });
    if let Some(max) = options.max_messages {
        new.truncate(max);
    }
    let uid_of: HashMap<MsgNum, String> = new.iter().cloned().collect();
    let mut progress = Progress {
        messages_total: new.len(),
        bytes_total: new.iter().map(|(m, _)| sizes.get(m).copied().unwrap_or(0)).sum(),
        ..Progress::default()
    };
    sink.progress(progress);

    let msgs: Vec<MsgNum> = new.iter().map(|(m, _)| *m).collect();
    let mut refused: Vec<String> = Vec::new();
    let now = options.now;
    client
        .retr_each(&msgs, async |msg, body| {
            let uid = &uid_of[&msg];
            let body = match body {
                Ok(body) => body,
                Err(e) if e.kind() == ErrorKind::Server => {
                    // This one message cannot be had now; it stays on the server for later.
                    refused.push(format!("message {msg} ({uid}) was not downloaded: {e}"));
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            sink.save(uid, &body).await?;
            state.messages.insert(uid.clone(), Saved { saved_at: now, size: body.len() as u64 });
            sink.save_state(state).await?;
            report.saved += 1;
            report.bytes += body.len() as u64;
            report.saved_uids.push(uid.clone());
            progress.messages_done += 1;
            progress.bytes_done += body.len() as u64;
            sink.progress(progress);
            Ok(())
        })
        .await?;
    report.warnings.extend(refused);
    // The state is durable before anything is marked for deletion.
    sink.save_state(state).await?;

    let to_delete: Vec<MsgNum> = ids
        .iter()
        .filter(|(_, id)| match (options.retention, state.messages.get(id)) {
            (Retention::Keep, _) | (_, None) => false,
            (Retention::DeleteAfterSave, Some(_)) => true,
            (Retention::DeleteOlderThan { days }, Some(saved)) => {
                saved.saved_at.saturating_add(u64::from(days) * 86_400) <= options.now
            }
        })
        .map(|(m, _)| *m)
        .collect();
    let mut marked = 0;
    if !to_delete.is_empty() {
        for (msg, result) in to_delete.iter().zip(client.dele_many(&to_delete).await?) {
            match result {
                Ok(()) => marked += 1,
                Err(e) => report.warnings.push(format!("message {msg} could not be marked for deletion: {e}")),
            }
        }
    }
    Ok((report, marked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_and_refusals() {
        let mut state = SyncState::new("alice@example.org");
        state.messages.insert("abc".into(), Saved { saved_at: 1_700_000_000, size: 42 });
        let json = state.to_json();
        assert_eq!(SyncState::from_json(&json).unwrap(), state);
        assert!(json.contains("\"savedAt\": 1700000000"));

        for (bad, needle) in [
            ("{", "not JSON"),
            ("[]", "not a pop3-wasm sync state"),
            (r#"{"format":"other","version":1}"#, "not a pop3-wasm sync state"),
            (r#"{"format":"pop3-wasm-sync","version":2,"account":"a","messages":{}}"#, "newer version"),
            (r#"{"format":"pop3-wasm-sync","version":0,"account":"a","messages":{}}"#, "cannot read"),
            (r#"{"format":"pop3-wasm-sync","account":"a","messages":{}}"#, "no version"),
            (r#"{"format":"pop3-wasm-sync","version":1,"account":"a","messages":{"x":{"savedAt":"soon"}}}"#, "corrupt"),
        ] {
            let err = SyncState::from_json(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage);
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
        assert!(state.check_account("alice@example.org").is_ok());
        assert!(state.check_account("bob@example.org").is_err());
    }

    #[test]
    fn header_digests_ignore_volatile_headers_and_folding() {
        let a = b"Received: from a\r\nMessage-ID: <1@x>\r\nSubject: Hello\r\n world\r\n\r\nbody";
        let b = b"Received: from somewhere else\r\nX-Status: RO\r\nMessage-ID: <1@x>\r\nSubject: Hello world\r\n\r\n";
        assert_eq!(header_digest(a), header_digest(b));
        let c = b"Message-ID: <2@x>\r\nSubject: Hello world\r\n\r\n";
        assert_ne!(header_digest(a), header_digest(c));
        assert!(header_digest(a).starts_with("digest:"));
    }

    #[test]
    fn retry_delays() {
        use std::time::Duration;
        let policy =
            RetryPolicy { max_retries: 3, base_delay: Duration::from_secs(2), max_delay: Duration::from_secs(5) };
        let transient = Error::timeout("silence");
        assert_eq!(policy.delay(1, &transient, None), Some(Duration::from_secs(2)));
        assert_eq!(policy.delay(2, &transient, None), Some(Duration::from_secs(4)));
        assert_eq!(policy.delay(3, &transient, None), Some(Duration::from_secs(5)), "capped");
        assert_eq!(policy.delay(4, &transient, None), None, "retries used up");
        let in_use = Error::from_server(ErrorKind::Auth, "locked", Some(crate::proto::ResponseCode::InUse), "busy");
        assert_eq!(policy.delay(1, &in_use, Some(300)), Some(Duration::from_secs(300)), "LOGIN-DELAY is the floor");
        let wrong = Error::from_server(ErrorKind::Auth, "no", Some(crate::proto::ResponseCode::Auth), "bad password");
        assert_eq!(policy.delay(1, &wrong, None), None, "[AUTH] is permanent");
        let perm = Error::from_server(ErrorKind::Server, "no", Some(crate::proto::ResponseCode::SysPerm), "gone");
        assert_eq!(policy.delay(1, &perm, None), None);
        assert_eq!(policy.delay(1, &Error::tls("expired certificate"), None), None);
    }

    #[test]
    fn duplicate_ids_are_told_apart_by_order() {
        let n = |v| MsgNum::new(v).unwrap();
        let ids = dedupe(vec![(n(1), "a".into()), (n(2), "b".into()), (n(3), "a".into()), (n(4), "a".into())]);
        let names: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(names, ["a", "b", "a#2", "a#3"]);
    }
}

/// How failed runs are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first failure before giving up.
    pub max_retries: u32,
    /// The first delay; each retry doubles it.
    pub base_delay: std::time::Duration,
    /// The longest delay.
    pub max_delay: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: std::time::Duration::from_secs(2),
            max_delay: std::time::Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `attempt` (1 for the first retry) after `error`,
    /// or `None` when it must not be retried: the error is permanent (`[AUTH]`, `[SYS/PERM]`,
    /// certificate errors, bad arguments) or the retries are used up. `login_delay` (seconds,
    /// from the server's `LOGIN-DELAY`) is the least wait after `[LOGIN-DELAY]` or `[IN-USE]`.
    pub fn delay(&self, attempt: u32, error: &Error, login_delay: Option<u32>) -> Option<std::time::Duration> {
        if attempt == 0 || attempt > self.max_retries || !error.is_transient() {
            return None;
        }
        let exponential = self.base_delay.saturating_mul(1u32 << (attempt - 1).min(16)).min(self.max_delay);
        let floor = match error.response_code() {
            Some(crate::proto::ResponseCode::LoginDelay | crate::proto::ResponseCode::InUse) => {
                std::time::Duration::from_secs(u64::from(login_delay.unwrap_or(0)))
            }
            _ => std::time::Duration::ZERO,
        };
        Some(exponential.max(floor))
    }
}

/// Settings for [`watch`].
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// What each run does.
    pub sync: SyncOptions,
    /// Time between runs; raised to the server's `LOGIN-DELAY` when that is longer.
    pub interval: std::time::Duration,
    /// How failed runs are retried.
    pub retry: RetryPolicy,
}

/// What happened in one round of [`watch`].
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A run finished.
    Synced(&'a SyncReport),
    /// A run failed and will be retried after the delay.
    Retrying {
        /// The failure.
        error: &'a Error,
        /// Which retry comes next (1 for the first).
        attempt: u32,
        /// How long until it.
        delay: std::time::Duration,
    },
}

/// Watches a mailbox: POP3 has no push, so this connects every `options.interval`, runs
/// [`sync`], and reports each round to `on_event` (which returns `false` to stop). Transient
/// failures are retried with exponential back-off (honouring `[LOGIN-DELAY]` and `[IN-USE]`);
/// a permanent failure, or one that outlasts the retries, ends the watch with that error.
/// `connect` must return a logged-in client; `now` gives the time for each run. The watch
/// also stops, between waits, when `on_event` returns `false`.
pub async fn watch<T, C, N, F>(
    mut connect: C,
    mut now: N,
    timer: &dyn crate::transport::Timer,
    state: &mut SyncState,
    options: &WatchOptions,
    sink: &mut impl SyncSink,
    mut on_event: F,
) -> Result<()>
where
    T: Transport,
    C: AsyncFnMut() -> Result<Client<T>>,
    N: FnMut() -> u64,
    F: FnMut(WatchEvent<'_>) -> bool,
{
    let mut login_delay: Option<u32> = None;
    let mut attempt = 0;
    loop {
        let outcome = async {
            let client = connect().await?;
            if let Some(delay) = client.capabilities().and_then(|c| c.login_delay) {
                login_delay = Some(delay.value);
            }
            let run = SyncOptions { now: now(), ..options.sync.clone() };
            sync(client, state, &run, sink).await
        }
        .await;
        let wait = match outcome {
            Ok(report) => {
                attempt = 0;
                if !on_event(WatchEvent::Synced(&report)) {
                    return Ok(());
                }
                let floor = std::time::Duration::from_secs(u64::from(login_delay.unwrap_or(0)));
                options.interval.max(floor)
            }
            Err(error) => {
                attempt += 1;
                let Some(delay) = options.retry.delay(attempt, &error, login_delay) else { return Err(error) };
                if !on_event(WatchEvent::Retrying { error: &error, attempt, delay }) {
                    return Ok(());
                }
                delay
            }
        };
        timer.sleep(wait).await;
    }
}
