//! Sync for JavaScript: the state lives in Rust (a `SyncState` object JavaScript holds), the
//! caller's sink receives each message as a stream, and persisting costs O(change): each batch
//! of records goes to `sink.record` as a delta (with the journal text to append), and the whole
//! state only once, at the end. The watch policy (retries, `LOGIN-DELAY`), the retention names
//! and the Maildir naming rule are exported from the Rust that implements them, so no face
//! writes them again.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::error::{to_js_error, Thrown};
use super::interop::{object, strings, u8array};
use super::options::Options;
use super::session::{acquire, run, session_op, Session};
use pop3_wasm::sync::{self, maildir, LoginDelay, Progress, Retention, RetryPolicy, Saved, SyncOptions, WatchOptions};
use pop3_wasm::{Error, Result};

/// A mailbox's sync state (see the Rust `sync` module), held in Rust.
#[wasm_bindgen(js_name = SyncState)]
pub struct SyncStateJs {
    inner: Rc<RefCell<sync::SyncState>>,
}

fn usage(e: Error) -> JsValue {
    to_js_error(&e)
}

#[wasm_bindgen(js_class = SyncState)]
impl SyncStateJs {
    /// A new, empty state for `account` (such as `alice@mail.example.org`).
    #[wasm_bindgen(constructor)]
    pub fn new(account: &str) -> Result<SyncStateJs, JsValue> {
        if account.is_empty() {
            return Err(usage(Error::usage("account must be a non-empty string")));
        }
        Ok(SyncStateJs { inner: Rc::new(RefCell::new(sync::SyncState::new(account))) })
    }

    /// Reads a state from its JSON text, strictly (see the Rust `SyncState::from_json`), and
    /// checks it belongs to `account` when given.
    pub fn parse(text: &str, account: Option<String>) -> Result<SyncStateJs, JsValue> {
        let state = sync::SyncState::from_json(text).map_err(usage)?;
        if let Some(account) = account {
            state.check_account(&account).map_err(usage)?;
        }
        Ok(SyncStateJs { inner: Rc::new(RefCell::new(state)) })
    }

    /// The state from a state file's text and its journal's (either may be absent), for
    /// `account`: a new one when there is neither.
    pub fn load(state: Option<String>, journal: Option<String>, account: &str) -> Result<SyncStateJs, JsValue> {
        let state = sync::SyncState::load(state.as_deref(), journal.as_deref(), account).map_err(usage)?;
        Ok(SyncStateJs { inner: Rc::new(RefCell::new(state)) })
    }

    /// The account the state belongs to.
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> String {
        self.inner.borrow().account.clone()
    }

    /// Always `pop3-wasm-sync`.
    #[wasm_bindgen(getter)]
    pub fn format(&self) -> String {
        self.inner.borrow().format.clone()
    }

    /// The format version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u32 {
        self.inner.borrow().version
    }

    /// How many messages are recorded.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.borrow().messages.len()
    }

    /// Whether `uid` is recorded as saved.
    pub fn has(&self, uid: &str) -> bool {
        self.inner.borrow().messages.contains_key(uid)
    }

    /// The recorded messages as an object `{ [uid]: { savedAt, size } }` (built on request).
    #[wasm_bindgen(getter)]
    pub fn messages(&self) -> JsValue {
        let messages = Object::new();
        for (uid, saved) in &self.inner.borrow().messages {
            let entry = object(&[("savedAt", (saved.saved_at as f64).into()), ("size", (saved.size as f64).into())]);
            let _ = Reflect::set(&messages, &uid.as_str().into(), &entry);
        }
        messages.into()
    }

    /// The state as a plain object (what `JSON.stringify` writes).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json_value(&self) -> JsValue {
        let state = self.inner.borrow();
        object(&[
            ("format", state.format.as_str().into()),
            ("version", state.version.into()),
            ("account", state.account.as_str().into()),
            ("messages", self.messages()),
        ])
    }

    /// The state's JSON text, as the Rust `MaildirSink` writes it.
    #[wasm_bindgen(js_name = toString)]
    pub fn to_json_text(&self) -> String {
        self.inner.borrow().to_json()
    }
}

/// A sink whose methods are JavaScript functions on the caller's `sink` object (any may return
/// a promise: the sync waits for it, so the caller decides when data is durable).
struct JsSink<'a> {
    sink: JsValue,
    begin: Function,
    write: Function,
    commit: Function,
    abort: Option<Function>,
    flush: Option<Function>,
    record: Option<Function>,
    save_state: Function,
    progress: Option<Function>,
    thrown: &'a Thrown,
    /// The caller's `SyncState`, kept current for the callbacks to read.
    shared: Rc<RefCell<sync::SyncState>>,
    /// Small pieces gathered into larger chunks: fewer JavaScript calls.
    pending: Vec<u8>,
    /// The JavaScript buffer every chunk is handed over in (a view of it): one allocation for
    /// the whole run instead of one per chunk. The sink must copy what it keeps.
    out: Option<Uint8Array>,
}

/// The largest piece handed to `sink.write` at once.
const CHUNK: usize = 64 * 1024;

impl JsSink<'_> {
    fn method(sink: &JsValue, name: &str, required: bool) -> Result<Option<Function>> {
        let value = Reflect::get(sink, &name.into()).unwrap_or(JsValue::UNDEFINED);
        match value.dyn_into::<Function>() {
            Ok(f) => Ok(Some(f)),
            Err(v) if v.is_undefined() && !required => Ok(None),
            Err(_) => Err(Error::usage(format!("sink.{name} must be a function"))),
        }
    }

    async fn call(&self, f: &Function, args: &[JsValue]) -> Result<JsValue> {
        self.thrown.call_on(&self.sink, f, args).await
    }

    /// A progress callback that threw stops the run at its next message step.
    fn check_progress(&self) -> Result<()> {
        if self.thrown.is_set() {
            return Err(Error::usage("the progress callback threw"));
        }
        Ok(())
    }

    /// `data` in the reused JavaScript buffer, as a view of its first `data.len()` octets.
    fn view(&mut self, data: &[u8]) -> JsValue {
        if data.len() > CHUNK {
            return u8array(data);
        }
        let out = self.out.get_or_insert_with(|| Uint8Array::new_with_length(CHUNK as u32));
        let view = out.subarray(0, data.len() as u32);
        view.copy_from(data);
        view.into()
    }

    async fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let chunk = self.view(&pending);
            self.pending = pending;
            self.pending.clear();
            self.call(&self.write.clone(), &[chunk]).await?;
        }
        Ok(())
    }
}

impl sync::SyncSink for JsSink<'_> {
    async fn begin(&mut self, uid: &str, size: Option<u64>) -> Result<bool> {
        self.check_progress()?;
        let info =
            object(&[("uid", uid.into()), ("size", size.map(|s| JsValue::from(s as f64)).unwrap_or(JsValue::NULL))]);
        let answer = self.call(&self.begin.clone(), &[info]).await?;
        Ok(answer.as_bool() != Some(false))
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.check_progress()?;
        if self.pending.len() + chunk.len() > CHUNK {
            self.write_pending().await?;
        }
        if chunk.len() >= CHUNK {
            let view = self.view(chunk);
            return self.call(&self.write.clone(), &[view]).await.map(drop);
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        self.write_pending().await?;
        self.call(&self.commit.clone(), &[]).await.map(drop)
    }

    async fn abort(&mut self) {
        self.pending.clear();
        if let Some(f) = self.abort.clone() {
            let _ = self.thrown.call_on(&self.sink, &f, &[]).await;
        }
    }

    async fn flush(&mut self) -> Result<()> {
        match self.flush.clone() {
            Some(f) => self.call(&f, &[]).await.map(drop),
            None => Ok(()),
        }
    }

    async fn record(&mut self, state: &sync::SyncState, saved: &[(String, Saved)]) -> Result<()> {
        {
            let mut shared = self.shared.borrow_mut();
            for (uid, s) in saved {
                shared.messages.insert(uid.clone(), *s);
            }
        }
        let Some(record) = self.record.clone() else { return self.save_state(state).await };
        let entries: Array = saved
            .iter()
            .map(|(uid, s)| {
                object(&[
                    ("uid", uid.as_str().into()),
                    ("savedAt", (s.saved_at as f64).into()),
                    ("size", (s.size as f64).into()),
                ])
            })
            .collect();
        let journal: String = saved.iter().map(|(uid, s)| sync::SyncState::journal_line(uid, s)).collect();
        let batch = object(&[("entries", entries.into()), ("journal", journal.into())]);
        self.call(&record, &[batch]).await.map(drop)
    }

    async fn save_state(&mut self, state: &sync::SyncState) -> Result<()> {
        *self.shared.borrow_mut() = state.clone();
        self.call(&self.save_state.clone(), &[]).await.map(drop)
    }

    fn progress(&mut self, p: Progress) {
        if let Some(f) = &self.progress {
            let report = object(&[
                ("messagesDone", (p.messages_done as f64).into()),
                ("messagesTotal", (p.messages_total as f64).into()),
                ("bytesDone", (p.bytes_done as f64).into()),
                ("bytesTotal", (p.bytes_total as f64).into()),
            ]);
            self.thrown.call_now(f, &[report]);
        }
    }
}

#[wasm_bindgen]
impl Session {
    /// Synchronises the mailbox into `options.sink` (see the Rust `sync` module): downloads
    /// what `state` does not record, streams each message to the sink (`begin`, `write`…,
    /// `commit`; each may return a promise, and must resolve only once durable), records each
    /// batch (`record({ entries, journal })` when given, else `saveState()`), applies
    /// `retention` (`keep`, `delete`, `older-than:DAYS`), writes the whole state once
    /// (`saveState()`) and ends the session with `QUIT`. Resolves to a report.
    pub fn sync(
        &self,
        state: &SyncStateJs,
        #[wasm_bindgen(unchecked_param_type = "SessionSyncOptions")] options: JsValue,
    ) -> Promise {
        let shared = state.inner.clone();
        let inner = self.inner.clone();
        session_op!(self, options, |lease, opts| {
            let retention = Retention::parse(&opts.string("retention")?.unwrap_or_else(|| "keep".to_owned()))?;
            let now_ms = opts.number("nowMs")?.unwrap_or_else(js_sys::Date::now);
            let options = SyncOptions {
                retention,
                now: (now_ms / 1000.0) as u64,
                max_messages: opts.whole("maxMessages")?.map(|m| m as usize),
                record_every: opts.whole("recordEvery")?.unwrap_or(0) as usize,
            };
            let sink = opts.value("sink");
            if !sink.is_object() {
                return Err(Error::usage("sink must be an object with begin, write and commit"));
            }
            let mut js_sink = JsSink {
                begin: JsSink::method(&sink, "begin", true)?.expect("required"),
                write: JsSink::method(&sink, "write", true)?.expect("required"),
                commit: JsSink::method(&sink, "commit", true)?.expect("required"),
                abort: JsSink::method(&sink, "abort", false)?,
                flush: JsSink::method(&sink, "flush", false)?,
                record: opts.function("record")?,
                save_state: opts.function("saveState")?.ok_or_else(|| Error::usage("saveState must be a function"))?,
                progress: opts.function("onProgress")?,
                sink,
                thrown: &inner.thrown,
                shared: shared.clone(),
                pending: Vec::new(),
                out: None,
            };
            // The run works on its own copy: the caller's callbacks may read the shared state
            // (kept current by record and save_state) while the run holds this one.
            let mut working = shared.borrow().clone();
            let report = sync::sync(lease.get(), &mut working, &options, &mut js_sink).await?;
            *shared.borrow_mut() = working;
            Ok(object(&[
                ("onServer", (report.on_server as f64).into()),
                ("saved", (report.saved as f64).into()),
                ("bytes", (report.bytes as f64).into()),
                ("alreadySaved", (report.already_saved as f64).into()),
                ("remaining", (report.remaining as f64).into()),
                ("deleted", (report.deleted as f64).into()),
                ("savedUids", strings(&report.saved_uids)),
                ("warnings", strings(&report.warnings)),
                ("loginDelay", report.login_delay.map(JsValue::from).unwrap_or(JsValue::NULL)),
            ]))
        })
    }
}

/// The watch policy of the Rust `sync::watch`, for the JavaScript `watch()` loop: how long to
/// wait after a run, and before each retry, never sooner than the largest `LOGIN-DELAY` the
/// server announced (noted from every session and error).
#[wasm_bindgen]
pub struct WatchPolicy {
    options: WatchOptions,
    login_delay: LoginDelay,
}

#[wasm_bindgen]
impl WatchPolicy {
    /// `intervalMs` between runs; `retries`, `baseMs`, `maxMs` for the back-off.
    #[wasm_bindgen(constructor)]
    pub fn new(interval_ms: f64, retries: u32, base_ms: f64, max_ms: f64) -> WatchPolicy {
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        WatchPolicy {
            options: WatchOptions {
                interval: ms(interval_ms),
                retry: RetryPolicy { max_retries: retries, base_delay: ms(base_ms), max_delay: ms(max_ms) },
                ..WatchOptions::default()
            },
            login_delay: LoginDelay::default(),
        }
    }

    /// Notes a `LOGIN-DELAY` (seconds) a session announced, or that an error reported.
    #[wasm_bindgen(js_name = noteLoginDelay)]
    pub fn note_login_delay(&mut self, seconds: Option<u32>) {
        self.login_delay.note(seconds);
    }

    /// The largest `LOGIN-DELAY` noted, in seconds, or `undefined`.
    #[wasm_bindgen(getter, js_name = loginDelaySeconds)]
    pub fn login_delay_seconds(&self) -> Option<u32> {
        self.login_delay.seconds()
    }

    /// Milliseconds until the next run after a successful one.
    #[wasm_bindgen(js_name = intervalMs)]
    pub fn interval_ms(&self) -> f64 {
        self.options.next_interval(&self.login_delay).as_secs_f64() * 1000.0
    }

    /// Milliseconds until retry number `attempt` (1 for the first) after a failure that is
    /// `transient` or not, or `undefined` when it must not be retried.
    #[wasm_bindgen(js_name = retryDelayMs)]
    pub fn retry_delay_ms(&self, attempt: u32, transient: bool) -> Option<f64> {
        let error = if transient { Error::timeout("transient") } else { Error::usage("permanent") };
        self.options.retry.delay(attempt, &error, &self.login_delay).map(|d| d.as_secs_f64() * 1000.0)
    }
}

/// Checks a retention name (`keep`, `delete`, `older-than:DAYS`) as the sync reads it.
#[wasm_bindgen(js_name = checkRetention)]
pub fn check_retention(text: &str) -> Result<(), JsValue> {
    Retention::parse(text).map(drop).map_err(usage)
}

/// The Maildir naming rule shared with the Rust `MaildirSink` (see `sync::maildir`):
/// `{ stem(uid), fileName(uid, host), stemOf(name), stateFile, journalFile, staleTmpSeconds }`.
#[wasm_bindgen(js_name = maildirNames)]
pub fn maildir_names() -> JsValue {
    object(&[
        ("stateFile", maildir::STATE_FILE.into()),
        ("journalFile", maildir::JOURNAL_FILE.into()),
        ("staleTmpSeconds", (maildir::STALE_TMP_SECS as f64).into()),
    ])
}

/// The file-name stem of a message with unique id `uid`.
#[wasm_bindgen(js_name = maildirStem)]
pub fn maildir_stem(uid: &str) -> String {
    maildir::stem(uid)
}

/// The file name of a message with unique id `uid`, delivered on `host`.
#[wasm_bindgen(js_name = maildirFileName)]
pub fn maildir_file_name(uid: &str, host: &str) -> String {
    maildir::file_name(uid, host)
}

/// The stem a Maildir file name starts with, if it is one of ours.
#[wasm_bindgen(js_name = maildirStemOf)]
pub fn maildir_stem_of(name: &str) -> Option<String> {
    maildir::stem_of(name).map(str::to_owned)
}

/// The host part of delivered file names (`stem.host`) for a host name.
#[wasm_bindgen(js_name = maildirHostPart)]
pub fn maildir_host_part(host: &str) -> String {
    maildir::host_part(host)
}

/// Whether a file in `tmp/` that is `age_seconds` old is a leftover to remove.
#[wasm_bindgen(js_name = maildirIsStaleTmp)]
pub fn maildir_is_stale_tmp(age_seconds: f64) -> bool {
    maildir::is_stale_tmp(age_seconds.max(0.0) as u64)
}
