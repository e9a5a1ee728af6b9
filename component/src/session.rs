//! The `pop3:client/session` interface: a thin layer over the core's `Client`, like the
//! JavaScript face in `src/wasm/`. Each call runs the client's async method to completion on
//! the blocking runtime; `retr` and `sync` return coroutines that keep the call paused between
//! the caller's steps.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, ClientConfig, LoginOptions};
use pop3_wasm::proto::MsgNum;
use pop3_wasm::sync::{self, Progress, Retention, Saved, SyncOptions, SyncState};
use pop3_wasm::tls::{TlsOptions, TlsStream};
use pop3_wasm::transport::{with_timeout, TlsMode as CoreTlsMode};
use pop3_wasm::{Error as CoreError, ErrorKind, Result};

use crate::bindings::exports::pop3::client::session as wit;
use crate::bindings::exports::pop3::client::types::{Error as WitError, ErrorInfo};
use crate::runtime::{block_on, stalled, Channel, Clock, ClockTimer, Coroutine, Resumed};
use crate::transport::{Connection, WasiTcp};

/// The default limit on connecting (TCP and an implicit TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most bytes handed over in one `list<u8>`: fewer calls across the component boundary.
const CHUNK: usize = 64 * 1024;

/// A core error as the WIT `error` variant.
pub fn to_wit(error: &CoreError) -> WitError {
    let info = ErrorInfo {
        message: error.to_string(),
        response_code: error.response_code().map(|c| c.as_str().to_owned()),
        server_text: error.server_text().map(str::to_owned),
        transient: error.is_transient(),
        login_delay: error.login_delay(),
        deletions_uncertain: error.deletions_uncertain(),
    };
    match error.kind() {
        ErrorKind::Server => WitError::Server(info),
        ErrorKind::Auth => WitError::Auth(info),
        ErrorKind::Protocol => WitError::Protocol(info),
        ErrorKind::Limit => WitError::Limit(info),
        ErrorKind::Timeout => WitError::Timeout(info),
        ErrorKind::Closed => WitError::Closed(info),
        ErrorKind::Transport => WitError::Transport(info),
        ErrorKind::Tls => WitError::Tls(info),
        ErrorKind::Usage => WitError::Usage(info),
        // `ErrorKind` may grow; a class the contract does not name yet reads as a broken session.
        _ => WitError::Protocol(info),
    }
}

/// The kind of a WIT error (for the command line's exit codes).
pub fn kind_of(error: &WitError) -> ErrorKind {
    match error {
        WitError::Server(_) => ErrorKind::Server,
        WitError::Auth(_) => ErrorKind::Auth,
        WitError::Protocol(_) => ErrorKind::Protocol,
        WitError::Limit(_) => ErrorKind::Limit,
        WitError::Timeout(_) => ErrorKind::Timeout,
        WitError::Closed(_) => ErrorKind::Closed,
        WitError::Transport(_) => ErrorKind::Transport,
        WitError::Tls(_) => ErrorKind::Tls,
        WitError::Usage(_) => ErrorKind::Usage,
    }
}

/// The details of a WIT error.
pub fn info_of(error: &WitError) -> &ErrorInfo {
    match error {
        WitError::Server(i)
        | WitError::Auth(i)
        | WitError::Protocol(i)
        | WitError::Limit(i)
        | WitError::Timeout(i)
        | WitError::Closed(i)
        | WitError::Transport(i)
        | WitError::Tls(i)
        | WitError::Usage(i) => i,
    }
}

fn usage(message: impl Into<String>) -> WitError {
    to_wit(&CoreError::new(ErrorKind::Usage, message))
}

fn msg_num(msg: u32) -> std::result::Result<MsgNum, WitError> {
    MsgNum::new(msg).map_err(|e| to_wit(&e))
}

/// A time limit in milliseconds: `None` keeps `default`, 0 is no limit.
fn limit(ms: Option<u32>, default: Option<Duration>) -> Option<Duration> {
    match ms {
        None => default,
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms.into())),
    }
}

/// A connected session: the core client over a `wasi:sockets` connection.
pub struct Session {
    clock: Rc<Clock>,
    client: Rc<RefCell<Client<Connection>>>,
    /// Read once connected: answered even while a message or sync run holds the client.
    greeting: String,
    tls: Option<wit::TlsInfo>,
}

impl Session {
    /// Connects as `options` say (the `connect` of the interface).
    pub fn open(options: wit::ConnectOptions) -> std::result::Result<Session, WitError> {
        let clock = Clock::new();
        let client = block_on(&clock, connect(&options, &clock)).map_err(|e| to_wit(&e))?;
        let greeting = client.greeting().status.text.clone();
        let tls = client.tls_info().map(|info| wit::TlsInfo { version: info.version, cipher: info.cipher });
        Ok(Session { clock, client: Rc::new(RefCell::new(client)), greeting, tls })
    }

    /// Runs one call of the client, unless a message or sync run holds the session.
    fn call<T>(&self, f: impl AsyncFnOnce(&mut Client<Connection>) -> Result<T>) -> std::result::Result<T, WitError> {
        let mut client = self.client.try_borrow_mut().map_err(|_| busy())?;
        block_on(&self.clock, f(&mut client)).map_err(|e| to_wit(&e))
    }

    fn check_idle(&self) -> std::result::Result<(), WitError> {
        self.client.try_borrow_mut().map(drop).map_err(|_| busy())
    }

    /// `RETR msg` as a [`Message`].
    // The coroutine holds the client's borrow across its pauses on purpose: it is the lock
    // that makes the session's other calls fail with `usage` while the message is alive.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn retrieve(&self, msg: u32) -> std::result::Result<Message, WitError> {
        let msg = msg_num(msg)?;
        self.check_idle()?;
        let client = self.client.clone();
        let mut coroutine =
            Coroutine::new(self.clock.clone(), move |channel: Rc<Channel<MessageEvent, ()>>| async move {
                let mut client = client.borrow_mut();
                let mut stream = client.retr_stream(msg).await?;
                channel.hand_out(MessageEvent::Start(stream.octets_hint())).await;
                let mut pending = Vec::new();
                while let Some(chunk) = stream.next_chunk().await? {
                    // Small pieces are gathered, up to CHUNK bytes per hand-out.
                    if pending.len() + chunk.len() > CHUNK {
                        channel.hand_out(MessageEvent::Chunk(std::mem::take(&mut pending))).await;
                    }
                    pending.extend_from_slice(chunk);
                }
                if !pending.is_empty() {
                    channel.hand_out(MessageEvent::Chunk(pending)).await;
                }
                Ok(())
            });
        match coroutine.resume(None, || Err(stalled())) {
            Some(Resumed::Yielded(MessageEvent::Start(hint))) => {
                Ok(Message { coroutine: RefCell::new(coroutine), octets_hint: hint, received: 0.into() })
            }
            Some(Resumed::Finished(Err(e))) => Err(to_wit(&e)),
            _ => Err(to_wit(&stalled())),
        }
    }

    /// Starts a sync run (the `sync` of the interface).
    // The borrow held across pauses is the session's lock, as in `retrieve`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn start_sync(&self, options: wit::SyncOptions) -> std::result::Result<SyncRun, WitError> {
        self.check_idle()?;
        let state = SyncState::load(options.state.as_deref(), options.journal.as_deref(), &options.account)
            .map_err(|e| to_wit(&e))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let sync_options = SyncOptions {
            retention: match options.retention {
                wit::Retention::Keep => Retention::Keep,
                wit::Retention::Delete => Retention::DeleteAfterSave,
                wit::Retention::OlderThanDays(days) => Retention::DeleteOlderThan { days },
            },
            now,
            max_messages: options.max_messages.map(|n| n as usize),
            record_every: options.record_every.unwrap_or(0) as usize,
        };
        let client = self.client.clone();
        let coroutine = Coroutine::new(self.clock.clone(), move |channel: Rc<Channel<Step, Answer>>| async move {
            let mut client = client.borrow_mut();
            let mut state = state;
            let mut sink = StepSink { channel, pending: Vec::new(), failed: None };
            let outcome = sync::sync(&mut client, &mut state, &sync_options, &mut sink).await;
            // A failure the caller reported is the error, whatever the run made of it.
            let outcome = match sink.failed.take() {
                Some(reason) => Err(reason),
                None => outcome,
            };
            outcome.map(|report| report_to_wit(report, &state))
        });
        Ok(SyncRun { coroutine: RefCell::new(coroutine) })
    }
}

fn busy() -> WitError {
    usage("a message or a sync run of this session is still in progress: finish or drop it first")
}

/// Connects and reads the greeting; with `starttls`, upgrades the session.
async fn connect(options: &wit::ConnectOptions, clock: &Rc<Clock>) -> Result<Client<Connection>> {
    let mode = match options.tls {
        wit::TlsMode::None => CoreTlsMode::None,
        wit::TlsMode::Starttls => CoreTlsMode::StartTls,
        wit::TlsMode::Implicit => CoreTlsMode::Implicit,
    };
    let port = options.port.unwrap_or(if mode == CoreTlsMode::Implicit { 995 } else { 110 });
    let config = ClientConfig {
        reply_timeout: limit(options.reply_timeout_ms, ClientConfig::default().reply_timeout),
        command_deadline: limit(options.command_timeout_ms, ClientConfig::default().command_deadline),
        ..ClientConfig::default()
    };
    let connect_timeout = limit(options.connect_timeout_ms, Some(CONNECT_TIMEOUT)).unwrap_or(Duration::MAX);
    let timer = ClockTimer(clock.clone());
    // Check the TLS options before the network: a bad pin or CA is the caller's mistake.
    let tls = if mode == CoreTlsMode::None {
        None
    } else {
        let mut tls = TlsOptions::new(options.server_name.clone().unwrap_or_else(|| options.host.clone()));
        tls.extra_roots_pem = options.ca_pem.clone();
        tls.only_extra_roots = options.ca_only;
        tls.pin_sha256 = options.pin.as_deref().map(TlsOptions::parse_pin).transpose()?;
        Some(tls)
    };
    let tcp = WasiTcp::connect(&options.host, port, connect_timeout, clock.clone())?;
    let connection = match &tls {
        None => Connection::Plain(tcp),
        Some(tls) => {
            let mut stream = TlsStream::new(tcp, tls)?;
            if mode == CoreTlsMode::Implicit {
                let limit = Some(connect_timeout).filter(|d| *d != Duration::MAX);
                match with_timeout(&timer, limit, stream.handshake()).await {
                    Some(result) => result?,
                    None => {
                        return Err(CoreError::new(
                            ErrorKind::Timeout,
                            format!("the TLS handshake with {}:{port} took too long", options.host),
                        ))
                    }
                }
            }
            Connection::Tls(Box::new(stream))
        }
    };
    let mut client = Client::connect(connection, Rc::new(timer), config).await?;
    if mode == CoreTlsMode::StartTls {
        client.stls().await?;
    }
    Ok(client)
}

fn method_of(options: &wit::LoginOptions) -> AuthMethod {
    let name = match options.method {
        wit::AuthMethod::Auto => return AuthMethod::Auto,
        wit::AuthMethod::User => return AuthMethod::UserPass,
        wit::AuthMethod::Apop => return AuthMethod::Apop,
        wit::AuthMethod::Plain => "PLAIN",
        wit::AuthMethod::Login => "LOGIN",
        wit::AuthMethod::CramMd5 => "CRAM-MD5",
        wit::AuthMethod::ScramSha1 => "SCRAM-SHA-1",
        wit::AuthMethod::ScramSha256 => "SCRAM-SHA-256",
        wit::AuthMethod::Xoauth2 => "XOAUTH2",
        wit::AuthMethod::Oauthbearer => "OAUTHBEARER",
    };
    AuthMethod::Sasl(name.to_owned())
}

fn capabilities_to_wit(caps: pop3_wasm::proto::Capabilities) -> wit::Capabilities {
    use pop3_wasm::proto::Expire;
    wit::Capabilities {
        top: caps.top,
        user: caps.user,
        sasl: caps.sasl,
        resp_codes: caps.resp_codes,
        auth_resp_code: caps.auth_resp_code,
        login_delay: caps.login_delay.map(|d| d.value),
        pipelining: caps.pipelining,
        expire: caps.expire.map(|e| match e.value {
            Expire::Never => wit::Expire::Never,
            Expire::Days(days) => wit::Expire::Days(days),
        }),
        uidl: caps.uidl,
        implementation: caps.implementation,
        stls: caps.stls,
        utf8: caps.utf8.is_some(),
        lang: caps.lang,
        other: caps.other,
    }
}

impl wit::GuestSession for Session {
    fn connect(options: wit::ConnectOptions) -> std::result::Result<wit::Session, WitError> {
        Session::open(options).map(wit::Session::new)
    }

    fn greeting(&self) -> String {
        self.greeting.clone()
    }

    fn tls_info(&self) -> Option<wit::TlsInfo> {
        self.tls.clone()
    }

    fn capa(&self) -> std::result::Result<Option<wit::Capabilities>, WitError> {
        self.call(async |c| c.capa().await).map(|caps| caps.map(capabilities_to_wit))
    }

    fn login(&self, user: String, secret: String, options: wit::LoginOptions) -> std::result::Result<String, WitError> {
        let method = method_of(&options);
        let credentials = if options.token || method.takes_token() {
            Credentials::access_token(user, secret)
        } else {
            Credentials::new(user, secret)
        };
        let login = LoginOptions { method, allow_cleartext: options.allow_cleartext };
        self.call(async |c| c.login(&credentials, &login).await).map(|m| m.to_string())
    }

    fn stat(&self) -> std::result::Result<wit::Stat, WitError> {
        self.call(async |c| c.stat().await).map(|s| wit::Stat { count: s.count, size: s.size })
    }

    fn list(&self) -> std::result::Result<Vec<wit::ListEntry>, WitError> {
        let list = self.call(async |c| c.list().await)?;
        Ok(list.into_iter().map(|e| wit::ListEntry { msg: e.msg.get(), size: e.size }).collect())
    }

    fn uidl(&self) -> std::result::Result<Vec<wit::UidEntry>, WitError> {
        let list = self.call(async |c| c.uidl().await)?;
        Ok(list.into_iter().map(|e| wit::UidEntry { msg: e.msg.get(), uid: e.uid }).collect())
    }

    fn top(&self, msg: u32, lines: u32) -> std::result::Result<Vec<u8>, WitError> {
        let msg = msg_num(msg)?;
        self.call(async |c| c.top(msg, lines).await)
    }

    fn top_many(
        &self,
        msgs: Vec<u32>,
        lines: u32,
    ) -> std::result::Result<Vec<std::result::Result<Vec<u8>, WitError>>, WitError> {
        let msgs = msgs.into_iter().map(msg_num).collect::<std::result::Result<Vec<_>, _>>()?;
        let mut results = Vec::with_capacity(msgs.len());
        self.call(async |c| {
            c.top_many(&msgs, lines, |_, header| {
                results.push(header.map_err(|e| to_wit(&e)));
                Ok(())
            })
            .await
        })?;
        Ok(results)
    }

    fn retr(&self, msg: u32) -> std::result::Result<wit::Message, WitError> {
        self.retrieve(msg).map(wit::Message::new)
    }

    fn dele(&self, msg: u32) -> std::result::Result<(), WitError> {
        let msg = msg_num(msg)?;
        self.call(async |c| c.dele(msg).await)
    }

    fn rset(&self) -> std::result::Result<(), WitError> {
        self.call(async |c| c.rset().await)
    }

    fn noop(&self) -> std::result::Result<(), WitError> {
        self.call(async |c| c.noop().await)
    }

    fn quit(&self) -> std::result::Result<(), WitError> {
        self.call(async |c| c.quit().await)
    }

    fn sync(&self, options: wit::SyncOptions) -> std::result::Result<wit::SyncRun, WitError> {
        self.start_sync(options).map(wit::SyncRun::new)
    }
}

/// What a message coroutine hands out.
enum MessageEvent {
    Start(Option<u64>),
    Chunk(Vec<u8>),
}

/// A message being received: a paused `retr_stream`.
pub struct Message {
    coroutine: RefCell<Coroutine<MessageEvent, (), Result<()>>>,
    octets_hint: Option<u64>,
    received: std::cell::Cell<u64>,
}

impl Message {
    /// The next piece, or `None` at the end.
    pub fn next_piece(&self) -> std::result::Result<Option<Vec<u8>>, WitError> {
        let mut coroutine = self.coroutine.try_borrow_mut().map_err(|_| usage("the message is being read"))?;
        match coroutine.resume(Some(()), || Err(stalled())) {
            Some(Resumed::Yielded(MessageEvent::Chunk(chunk))) => {
                self.received.set(self.received.get() + chunk.len() as u64);
                Ok(Some(chunk))
            }
            Some(Resumed::Yielded(MessageEvent::Start(_))) => Err(to_wit(&stalled())),
            Some(Resumed::Finished(Ok(()))) | None => Ok(None),
            Some(Resumed::Finished(Err(e))) => Err(to_wit(&e)),
        }
    }
}

impl wit::GuestMessage for Message {
    fn octets_hint(&self) -> Option<u64> {
        self.octets_hint
    }

    fn received(&self) -> u64 {
        self.received.get()
    }

    fn next_chunk(&self) -> std::result::Result<Option<Vec<u8>>, WitError> {
        self.next_piece()
    }
}

/// A step of a sync run, before it becomes the WIT `sync-step`.
pub enum Step {
    /// See the WIT `sync-step`.
    Begin(String, Option<u64>),
    /// See the WIT `sync-step`.
    Chunk(Vec<u8>),
    /// See the WIT `sync-step`.
    Commit,
    /// See the WIT `sync-step`.
    Abort,
    /// See the WIT `sync-step`.
    Flush,
    /// See the WIT `sync-step`.
    Record(Vec<(String, Saved)>),
    /// See the WIT `sync-step`.
    SaveState(String),
}

/// The caller's answer to a step: done (`Ok(true)`), `skip` (`Ok(false)`), or `fail`.
type Answer = std::result::Result<bool, String>;

/// The core's sync sink whose every call is a step handed to the caller of the run.
struct StepSink {
    channel: Rc<Channel<Step, Answer>>,
    /// Small pieces gathered into larger chunks.
    pending: Vec<u8>,
    /// What the caller reported with `fail`, first.
    failed: Option<CoreError>,
}

impl StepSink {
    /// Hands `step` to the caller. After a `fail`, the run goes on with the steps its cleanup
    /// needs (abort, record what was committed), each answered again.
    async fn step(&mut self, step: Step) -> Result<bool> {
        match self.channel.hand_out(step).await {
            Ok(answer) => Ok(answer),
            Err(reason) => {
                let error = CoreError::new(ErrorKind::Usage, format!("the destination failed: {reason}"));
                self.failed.get_or_insert_with(|| error.clone());
                Err(error)
            }
        }
    }

    async fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
            self.step(Step::Chunk(chunk)).await?;
        }
        Ok(())
    }
}

impl sync::SyncSink for StepSink {
    async fn begin(&mut self, uid: &str, size: Option<u64>) -> Result<bool> {
        self.step(Step::Begin(uid.to_owned(), size)).await
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if self.pending.len() + chunk.len() > CHUNK {
            self.write_pending().await?;
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        let committed = match self.write_pending().await {
            Ok(()) => self.step(Step::Commit).await.map(drop),
            Err(e) => Err(e),
        };
        if committed.is_err() {
            // The core's sync does not abort a message whose commit failed (its own sinks
            // clean up in `commit`); the caller's destination is told to here.
            self.abort().await;
        }
        committed
    }

    async fn abort(&mut self) {
        self.pending.clear();
        // Asked even after a failure: whatever was written of the message must go.
        let _ = self.channel.hand_out(Step::Abort).await;
    }

    async fn flush(&mut self) -> Result<()> {
        self.step(Step::Flush).await.map(drop)
    }

    async fn record(&mut self, _state: &SyncState, saved: &[(String, Saved)]) -> Result<()> {
        self.step(Step::Record(saved.to_vec())).await.map(drop)
    }

    async fn save_state(&mut self, state: &SyncState) -> Result<()> {
        self.step(Step::SaveState(state.to_json())).await.map(drop)
    }

    fn progress(&mut self, _progress: Progress) {}
}

fn report_to_wit(report: sync::SyncReport, state: &SyncState) -> wit::SyncReport {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    wit::SyncReport {
        on_server: count(report.on_server),
        saved: count(report.saved),
        bytes: report.bytes,
        already_saved: count(report.already_saved),
        remaining: count(report.remaining),
        deleted: count(report.deleted),
        saved_uids: report.saved_uids,
        warnings: report.warnings,
        login_delay: report.login_delay,
        state: state.to_json(),
    }
}

fn step_to_wit(step: Step) -> wit::SyncStep {
    match step {
        Step::Begin(uid, size) => wit::SyncStep::Begin(wit::MessageStart { uid, size }),
        Step::Chunk(chunk) => wit::SyncStep::Chunk(chunk),
        Step::Commit => wit::SyncStep::Commit,
        Step::Abort => wit::SyncStep::Abort,
        Step::Flush => wit::SyncStep::Flush,
        Step::Record(saved) => {
            let journal = saved.iter().map(|(uid, s)| SyncState::journal_line(uid, s)).collect();
            let entries =
                saved.into_iter().map(|(uid, s)| wit::SavedEntry { uid, saved_at: s.saved_at, size: s.size }).collect();
            wit::SyncStep::RecordSaved(wit::SavedBatch { entries, journal })
        }
        Step::SaveState(json) => wit::SyncStep::SaveState(json),
    }
}

/// A sync run: the core's `sync` paused at each step of its sink.
pub struct SyncRun {
    coroutine: RefCell<Coroutine<Step, Answer, Result<wit::SyncReport>>>,
}

impl SyncRun {
    /// Answers the previous step (none at the start) and runs to the next.
    pub fn advance(&self, answer: Answer) -> std::result::Result<wit::SyncStep, WitError> {
        let mut coroutine = self.coroutine.try_borrow_mut().map_err(|_| usage("the sync run is busy"))?;
        match coroutine.resume(Some(answer), || Err(stalled())) {
            Some(Resumed::Yielded(step)) => Ok(step_to_wit(step)),
            Some(Resumed::Finished(Ok(report))) => Ok(wit::SyncStep::Done(report)),
            Some(Resumed::Finished(Err(e))) => Err(to_wit(&e)),
            None => Err(usage("the sync run is over")),
        }
    }
}

impl wit::GuestSyncRun for SyncRun {
    fn next(&self) -> std::result::Result<wit::SyncStep, WitError> {
        self.advance(Ok(true))
    }

    fn skip(&self) -> std::result::Result<wit::SyncStep, WitError> {
        self.advance(Ok(false))
    }

    fn fail(&self, reason: String) -> std::result::Result<wit::SyncStep, WitError> {
        self.advance(Err(reason))
    }
}
