//! Mailbox synchronisation that never loses or duplicates mail.
//!
//! A [`SyncState`] records the unique id (UIDL) of every message already saved. [`sync`]
//! downloads exactly the messages whose ids are not recorded and streams each into a
//! [`SyncSink`] (`begin`, `write`… , `commit`); once the sink says the message is durable, the
//! run records it (a delta: [`SyncSink::record`]), and only then, depending on the
//! [`Retention`], marks it for deletion. The order is always: saved, then recorded, then
//! `DELE`, then `QUIT`.
//!
//! What can go wrong, and why nothing is lost or saved twice:
//! - the connection drops, or the sink fails, before a message is recorded: the message is
//!   still on the server and unknown to the state, so the next run downloads it again. Sinks
//!   are idempotent per id (the Maildir sinks are): a save whose record was lost is found by
//!   [`SyncSink::begin`] and not written twice;
//! - the connection drops after `DELE` but before `QUIT` completes: POP3 deletes nothing
//!   without a successful `QUIT`, so the messages stay; they are recorded, so the next run does
//!   not download them again, and deletes them then;
//! - `QUIT` was sent but its reply was lost ([`crate::Detail::DeletionsUncertain`]): the
//!   messages are gone or not; the next run forgets those that are gone and deletes the rest.
//!
//! The fewest round trips: `LIST` and `UIDL` go in one flight (with the `CAPA` a login left
//! pending), then every `RETR` (with the `DELE`s of messages recorded in earlier runs), then
//! the `DELE`s of this run's messages, all at once, once the last of them is recorded; `QUIT`
//! rides along with the `RETR`s when the run deletes nothing. (A `DELE` written while replies
//! are still arriving could meet a connection cut in the middle of one, and some runtimes,
//! workerd among them, then leave both directions hanging.) Records are written in batches,
//! each made durable before the messages it covers are marked for deletion: a batch ends when
//! it holds [`RECORD_BATCH`] messages, when the next reply is not received yet (the run would
//! wait for the network anyway), and at the end. A crash re-fetches at most one batch, which
//! the idempotent sink does not store twice.
//!
//! Servers without `UIDL`, and messages whose `UIDL` line is missing, malformed or not a valid
//! unique id, get an id made from a digest of their headers (`TOP n 0`), with a warning: less
//! robust (two messages with identical headers share it), but no message is skipped. Duplicate
//! ids from the server are made unique by their order (`id#2`).

mod json;
pub mod maildir;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod maildir_sink;
mod retry;
mod state;

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::engine::{CommandId, Listing, Reply};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Command, Expire, MsgNum};
use crate::transport::Transport;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use maildir_sink::MaildirSink;

pub use retry::{watch, LoginDelay, RetryPolicy, WatchEvent, WatchOptions};
pub use state::{is_valid_id, is_valid_uidl, Saved, SyncState, MAX_UID, STATE_FORMAT, STATE_VERSION};

/// The most messages recorded at once: a crash re-fetches at most this many.
pub const RECORD_BATCH: usize = 64;
/// A batch is also recorded once its messages hold this many octets.
pub const RECORD_BATCH_BYTES: u64 = 16 * 1024 * 1024;

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

impl Retention {
    /// Parses the names the JavaScript API and the command line use: `keep`, `delete`, or
    /// `older-than:DAYS` (a whole number of days).
    pub fn parse(text: &str) -> Result<Retention> {
        let text = text.trim();
        match text {
            "keep" => return Ok(Retention::Keep),
            "delete" => return Ok(Retention::DeleteAfterSave),
            _ => {}
        }
        if let Some(days) = text.strip_prefix("older-than:") {
            return days
                .parse()
                .map(|days| Retention::DeleteOlderThan { days })
                .map_err(|_| Error::usage(format!("the number of days must be a whole number, not {days:?}")));
        }
        Err(Error::usage(format!("retention must be keep, delete or older-than:DAYS, not {text:?}")))
    }

    /// Whether a message saved at `saved_at` is to be deleted at `now` (seconds since the epoch).
    pub fn deletes(&self, saved_at: u64, now: u64) -> bool {
        match *self {
            Retention::Keep => false,
            Retention::DeleteAfterSave => true,
            Retention::DeleteOlderThan { days } => saved_at.saturating_add(u64::from(days) * 86_400) <= now,
        }
    }
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
    /// Record after at most this many messages (0: [`RECORD_BATCH`]). A crash makes the next
    /// run hand over again what was saved but not recorded: 1 suits a sink that is not
    /// idempotent (a webhook), a batch one that is (a Maildir).
    pub record_every: usize,
}

/// How far a sync has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// New messages saved so far.
    pub messages_done: usize,
    /// New messages to save this run.
    pub messages_total: usize,
    /// Octets saved so far (the message being received included).
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
    /// New messages not downloaded in this run (over `max_messages`, over the size limit, or
    /// refused by the server): the next run tries them again.
    pub remaining: usize,
    /// Messages deleted from the server (marked, and `QUIT` succeeded).
    pub deleted: usize,
    /// Ids of the messages saved in this run, in order.
    pub saved_uids: Vec<String>,
    /// Things the caller should know: ids made from digests, server expiry policies, messages
    /// over the size limit.
    pub warnings: Vec<String>,
    /// The largest `LOGIN-DELAY` (seconds) the server announced in the session, before or
    /// after login: the least time until the next login.
    pub login_delay: Option<u32>,
}

/// Where synchronised messages go, one at a time: `begin`, `write`… , then `commit` (or
/// `abort`). Every method that persists must return only once its data is durable.
#[allow(async_fn_in_trait)] // Deliberate: no `Send` bound, so sinks work in wasm.
pub trait SyncSink {
    /// Starts a message. Returns `false` when the sink already holds `uid` (a save whose record
    /// was lost): nothing is written then, and the message counts as saved. `size` is the
    /// server's hint.
    async fn begin(&mut self, uid: &str, size: Option<u64>) -> Result<bool>;

    /// Appends a piece of the message begun last.
    async fn write(&mut self, chunk: &[u8]) -> Result<()>;

    /// Finishes the message: it must be durable when this returns, or at the latest when
    /// [`SyncSink::flush`] does.
    async fn commit(&mut self) -> Result<()>;

    /// Abandons the message begun last (its download failed): nothing of it may remain.
    async fn abort(&mut self) {}

    /// Makes every committed message durable, for sinks whose `commit` defers part of it (one
    /// directory sync for many files). Called before the messages are recorded.
    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    /// Persists that `saved` were saved (already entered in `state`): a journal append, say.
    /// The default writes the whole state, which costs O(state) per batch.
    async fn record(&mut self, state: &SyncState, saved: &[(String, Saved)]) -> Result<()> {
        let _ = saved;
        self.save_state(state).await
    }

    /// Persists the whole state (at the end of a run, replacing the journal).
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

/// Works out a unique id for every message on the server, from `UIDL` (`uidl`: its reply) or,
/// where that fails, from a digest of the headers.
async fn identify<T: Transport>(
    client: &mut Client<T>,
    uidl: Result<Reply>,
    sizes: &BTreeMap<MsgNum, u64>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<(MsgNum, String)>, bool)> {
    let listing = match uidl {
        Ok(Reply::Uidl(listing)) => listing,
        Ok(_) => Listing::default(),
        Err(e) if e.kind() == ErrorKind::Server => {
            warnings.push("the server has no UIDL: messages are identified by a digest of their headers".to_owned());
            Listing::default()
        }
        Err(e) => return Err(e),
    };
    let invalid = listing.entries.iter().filter(|e| !is_valid_uidl(&e.uid)).count();
    let complete = listing.malformed.is_empty() && invalid == 0 && listing.entries.len() == sizes.len();
    if !listing.malformed.is_empty() || invalid > 0 {
        warnings.push(format!(
            "the server sent {} malformed UIDL line(s) and {invalid} id(s) that are not valid unique ids; \
             those messages are identified by a header digest",
            listing.malformed.len()
        ));
    }
    let mut ids: BTreeMap<MsgNum, String> = listing
        .entries
        .into_iter()
        .filter(|e| sizes.contains_key(&e.msg) && is_valid_uidl(&e.uid))
        .map(|e| (e.msg, e.uid))
        .collect();
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
    client: &mut Client<T>,
    state: &mut SyncState,
    options: &SyncOptions,
    sink: &mut impl SyncSink,
) -> Result<SyncReport> {
    let result = sync_session(client, state, options, sink).await;
    match result {
        Ok((mut report, marked)) => {
            report.login_delay = client.login_delay_seen();
            let login_delay = report.login_delay;
            client.quit().await.map_err(|e| {
                let advice = if e.deletions_uncertain() {
                    // Everything marked was recorded first: the next run finds each message
                    // either gone (and forgets it) or still there (and deletes it again).
                    "the next run finds out and finishes the job"
                } else {
                    "the messages marked for deletion stay on the server until the next run"
                };
                let message = format!("{}; {advice}", e.message());
                e.with_message(message).with_login_delay(login_delay)
            })?;
            report.deleted = marked;
            Ok(report)
        }
        Err(e) => {
            // Close without QUIT: nothing marked is deleted.
            let login_delay = client.login_delay_seen();
            let _ = client.close().await;
            Err(e.with_login_delay(login_delay))
        }
    }
}

/// The messages committed to the sink and not yet recorded.
#[derive(Default)]
struct Batch {
    saved: Vec<(String, Saved)>,
    msgs: Vec<MsgNum>,
    bytes: u64,
}

impl Batch {
    fn is_full(&self, options: &SyncOptions) -> bool {
        let limit = if options.record_every == 0 { RECORD_BATCH } else { options.record_every };
        self.saved.len() >= limit || self.bytes >= RECORD_BATCH_BYTES
    }
}

/// Makes a batch durable and records it. Returns the messages it recorded: only now may they
/// be marked for deletion.
async fn record_batch(state: &mut SyncState, sink: &mut impl SyncSink, batch: &mut Batch) -> Result<Vec<MsgNum>> {
    if batch.saved.is_empty() {
        return Ok(Vec::new());
    }
    sink.flush().await?;
    for (uid, saved) in &batch.saved {
        state.messages.insert(uid.clone(), *saved);
    }
    sink.record(state, &batch.saved).await?;
    Ok(std::mem::take(batch).msgs)
}

async fn sync_session<T: Transport>(
    client: &mut Client<T>,
    state: &mut SyncState,
    options: &SyncOptions,
    sink: &mut impl SyncSink,
) -> Result<(SyncReport, usize)> {
    let mut report = SyncReport::default();

    // One flight: LIST and UIDL (and the CAPA a login may have left pending).
    let list = client.queue(Command::List(None))?;
    let uidl = client.queue(Command::Uidl(None))?;
    let listing = match client.result_of(list).await {
        Ok(Reply::List(listing)) => listing,
        Ok(_) => Listing::default(),
        Err(e) => {
            client.forget_result(uidl);
            return Err(e);
        }
    };
    let uidl = client.result_of(uidl).await;
    if !listing.malformed.is_empty() {
        report.warnings.push(format!(
            "the server sent {} malformed LIST line(s), ignored: {}",
            listing.malformed.len(),
            listing.malformed.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
        ));
    }
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
    let sizes: BTreeMap<MsgNum, u64> = listing.entries.into_iter().map(|e| (e.msg, e.size)).collect();
    report.on_server = sizes.len();
    let (ids, complete) = identify(client, uidl, &sizes, &mut report.warnings).await?;

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

    // Recorded messages the retention deletes now, and whether new ones will be deleted.
    let mut deletions: Vec<(MsgNum, CommandId)> = Vec::new();
    let recorded_to_delete: Vec<MsgNum> = ids
        .iter()
        .filter(|(_, id)| state.messages.get(id).is_some_and(|s| options.retention.deletes(s.saved_at, options.now)))
        .map(|(m, _)| *m)
        .collect();
    let delete_new = options.retention.deletes(options.now, options.now);
    for &msg in &recorded_to_delete {
        deletions.push((msg, client.queue(Command::Dele(msg))?));
    }
    let mut progress = Progress {
        messages_total: new.len(),
        bytes_total: new.iter().map(|(m, _)| sizes.get(m).copied().unwrap_or(0)).sum(),
        ..Progress::default()
    };
    sink.progress(progress);

    // Every RETR at once; the engine's window paces them. With nothing to delete, QUIT goes
    // in the same flight: it changes nothing, and saves the last round trip.
    let mut retrievals = Vec::with_capacity(new.len());
    for (msg, uid) in &new {
        retrievals.push((*msg, uid.as_str(), client.queue(Command::Retr(*msg))?));
    }
    let deletes_anything = !deletions.is_empty() || (delete_new && !new.is_empty());
    if !deletes_anything {
        client.queue_quit()?;
    }

    let mut batch = Batch::default();
    let mut recorded: Vec<MsgNum> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let outcome: Result<()> = async {
        for &(msg, uid, id) in &retrievals {
            match save_one(client, sink, uid, id, sizes.get(&msg).copied(), &mut progress).await? {
                Some(size) => {
                    batch.saved.push((uid.to_owned(), Saved { saved_at: options.now, size }));
                    batch.msgs.push(msg);
                    batch.bytes += size;
                    report.saved += 1;
                    report.bytes += size;
                    report.saved_uids.push(uid.to_owned());
                    progress.messages_done += 1;
                    sink.progress(progress);
                }
                None => refused.push(format!("message {msg} ({uid}) was not downloaded: the server refused it")),
            }
            // Full, or the next reply means waiting for the network: record now.
            if batch.is_full(options) || !client.has_buffered_input() {
                recorded.extend(record_batch(state, sink, &mut batch).await?);
            }
        }
        recorded.extend(record_batch(state, sink, &mut batch).await?);
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        // What was committed is still worth recording (nothing is marked for deletion now):
        // the next run need not fetch it again.
        let _ = record_batch(state, sink, &mut batch).await;
        return Err(e);
    }
    // Every message of this run is recorded and durable: mark them, all in one flight.
    if delete_new {
        for msg in recorded {
            deletions.push((msg, client.queue(Command::Dele(msg))?));
        }
    }
    report.remaining = ids.len() - report.already_saved - report.saved;
    report.warnings.extend(refused);

    // The state, once per run (the journal is no longer needed): written even when nothing
    // changed, so a first run leaves the state that binds the store to this account.
    sink.save_state(state).await?;

    let mut marked = 0;
    for (msg, id) in deletions {
        match client.result_of(id).await {
            Ok(_) => marked += 1,
            Err(e) if e.kind() == ErrorKind::Server => {
                report.warnings.push(format!("message {msg} could not be marked for deletion: {e}"))
            }
            Err(e) => return Err(e),
        }
    }
    Ok((report, marked))
}

/// Streams the message of the queued `RETR` `id` into the sink. Returns its size, or `None`
/// when the server refused it (it stays on the server for a later run).
async fn save_one<T: Transport>(
    client: &mut Client<T>,
    sink: &mut impl SyncSink,
    uid: &str,
    id: CommandId,
    listed: Option<u64>,
    progress: &mut Progress,
) -> Result<Option<u64>> {
    let mut stream = match client.message_of(id).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::Server => return Ok(None),
        Err(e) => return Err(e),
    };
    let wanted = sink.begin(uid, stream.octets_hint().or(listed)).await?;
    let base = progress.bytes_done;
    let written: Result<()> = async {
        while let Some(chunk) = stream.next_chunk().await? {
            if wanted {
                sink.write(chunk).await?;
            }
            progress.bytes_done = base + stream.received();
        }
        Ok(())
    }
    .await;
    let size = stream.received();
    match written {
        Ok(()) if wanted => sink.commit().await?,
        Ok(()) => {}
        Err(e) => {
            if wanted {
                sink.abort().await;
            }
            return Err(e);
        }
    }
    Ok(Some(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_digests_ignore_volatile_headers_and_folding() {
        let a = b"Received: from a\r\nMessage-ID: <1@x>\r\nSubject: Hello\r\n world\r\n\r\nbody";
        let b = b"Received: from somewhere else\r\nX-Status: RO\r\nMessage-ID: <1@x>\r\nSubject: Hello world\r\n\r\n";
        assert_eq!(header_digest(a), header_digest(b));
        let c = b"Message-ID: <2@x>\r\nSubject: Hello world\r\n\r\n";
        assert_ne!(header_digest(a), header_digest(c));
        assert!(header_digest(a).starts_with("digest:"));
        assert!(is_valid_id(&header_digest(a)));
    }

    #[test]
    fn duplicate_ids_are_told_apart_by_order() {
        let n = |v| MsgNum::new(v).unwrap();
        let ids = dedupe(vec![(n(1), "a".into()), (n(2), "b".into()), (n(3), "a".into()), (n(4), "a".into())]);
        let names: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(names, ["a", "b", "a#2", "a#3"]);
        assert!(names.iter().all(|id| is_valid_id(id)));
    }

    #[test]
    fn retention_names_and_rule() {
        assert_eq!(Retention::parse("keep").unwrap(), Retention::Keep);
        assert_eq!(Retention::parse("delete").unwrap(), Retention::DeleteAfterSave);
        assert_eq!(Retention::parse("older-than:30").unwrap(), Retention::DeleteOlderThan { days: 30 });
        assert!(Retention::parse("older-than:-1").is_err());
        assert!(Retention::parse("sometimes").is_err());
        let day = 86_400;
        assert!(!Retention::Keep.deletes(0, 10 * day));
        assert!(Retention::DeleteAfterSave.deletes(5, 5));
        assert!(Retention::DeleteOlderThan { days: 2 }.deletes(0, 2 * day));
        assert!(!Retention::DeleteOlderThan { days: 2 }.deletes(1, 2 * day));
        assert!(Retention::DeleteOlderThan { days: 0 }.deletes(7, 7), "0 days: at once");
    }
}
