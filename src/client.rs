//! The async POP3 client: pumps bytes between a [`Transport`] and the sans-I/O [`Engine`].
//!
//! The client owns a read buffer; message data is handed to callers as slices of it (see
//! [`MessageStream`]) or moved into one `Vec` per message, never copied twice. Timeouts come
//! from the runtime's [`Timer`]: every wait for the server is bounded twice, by
//! [`ClientConfig::reply_timeout`] (silence) and by [`ClientConfig::command_deadline`] (a reply
//! that trickles in without end). A fatal error closes the connection: a session that fell out
//! of step cannot be trusted again.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use crate::auth::{self, AuthMethod, Credentials, Offer};
use crate::engine::{
    self, CommandId, Engine, Event, Greeting, Language, ListEntry, Listing, Reply, Stat, Stats, UidEntry,
};
use crate::error::{Detail, Error, ErrorKind, ListingEntries, ListingProblem, Result};
use crate::proto::{Capabilities, Command, MsgNum, StatusText};
use crate::transport::{with_timeout, Timer, TlsInfo, Transport};

/// Client settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Engine settings: limits and pipelining.
    pub engine: engine::Config,
    /// The longest the server may stay silent while a reply is expected (and the longest a
    /// write may take): an idle timeout. `None`: no limit.
    pub reply_timeout: Option<Duration>,
    /// The longest one reply may take from the moment the client waits for it to its last
    /// octet, however steadily the server keeps sending: a server that sends a byte now and
    /// then would otherwise keep an idle timeout alive forever. For a streamed message it also
    /// counts the time the caller takes between chunks. `None`: no limit. The default, 10
    /// minutes, lets a 256 MiB message (the default size limit) arrive at 450 KB/s; raise it
    /// for larger messages on slower links.
    pub command_deadline: Option<Duration>,
    /// Size of the read buffer, which bounds the memory a streamed message uses.
    pub read_buffer: usize,
    /// Where random bytes come from (SCRAM's client nonce): `None`, the operating system's
    /// generator ([`auth::OsRandom`]); a seed, a reproducible stream ([`auth::SeededRandom`]),
    /// for tests and replays.
    pub random_seed: Option<[u8; 32]>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            engine: engine::Config::default(),
            reply_timeout: Some(Duration::from_secs(60)),
            command_deadline: Some(Duration::from_secs(600)),
            read_buffer: 64 * 1024,
            random_seed: None,
        }
    }
}

/// How long closing a connection may take before it is abandoned.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The deadline of the reply the client waits for (see [`ClientConfig::command_deadline`]).
struct Deadline {
    /// The command whose reply it bounds (`None`: the greeting).
    awaited: Option<CommandId>,
    expires: Pin<Box<dyn Future<Output = ()>>>,
}

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginOptions {
    /// The method, or [`AuthMethod::Auto`] for the strongest one offered.
    pub method: AuthMethod,
    /// Allow methods that send the password itself (USER/PASS, PLAIN, LOGIN) over a connection
    /// without TLS. Off by default: anyone on the path could read the password.
    pub allow_cleartext: bool,
}

/// A connected POP3 session over transport `T`.
pub struct Client<T: Transport> {
    engine: Engine,
    /// Random bytes for SASL mechanisms (see [`ClientConfig::random_seed`]).
    random: Box<dyn auth::RandomSource>,
    transport: T,
    timer: Rc<dyn Timer>,
    config: ClientConfig,
    buf: Vec<u8>,
    /// Unconsumed input is `buf[start..end]`.
    start: usize,
    end: usize,
    greeting: Greeting,
    /// The server answered `-ERR` to `CAPA`: it is a plain RFC 1939 server.
    capa_unsupported: bool,
    /// The post-login `CAPA`, sent with the first transaction commands and not waited for.
    pending_capa: Option<CommandId>,
    /// A `QUIT` queued ahead of [`Client::quit`] (see [`Client::queue_quit`]).
    queued_quit: Option<CommandId>,
    deadline: Option<Deadline>,
    /// Commands queued with [`Client::queue`] whose results someone will ask for.
    wanted: HashSet<CommandId>,
    /// Results of wanted commands that completed while the client waited for another one.
    finished: HashMap<CommandId, Result<Reply>>,
}

impl<T: Transport> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl<T: Transport> Client<T> {
    /// Starts a session on a connected `transport`: waits for the server's greeting.
    pub async fn connect(transport: T, timer: Rc<dyn Timer>, config: ClientConfig) -> Result<Client<T>> {
        let buffer = config.read_buffer.max(config.engine.limits.max_line + 4096);
        let random: Box<dyn auth::RandomSource> = match config.random_seed {
            Some(seed) => Box::new(auth::SeededRandom::new(seed)),
            None => Box::new(auth::OsRandom),
        };
        let mut client = Client {
            engine: Engine::new(config.engine),
            random,
            transport,
            timer,
            config,
            buf: vec![0; buffer],
            start: 0,
            end: 0,
            greeting: Greeting { status: StatusText::default(), apop_timestamp: None },
            capa_unsupported: false,
            pending_capa: None,
            queued_quit: None,
            deadline: None,
            wanted: HashSet::new(),
            finished: HashMap::new(),
        };
        let mut greeting = None;
        let result = client
            .drive(None, |event| {
                if let Event::Greeting(g) = event {
                    greeting = Some(g);
                    return Ok(true);
                }
                Ok(false)
            })
            .await;
        if let Err(e) = result {
            client.close_quietly().await;
            return Err(e);
        }
        client.greeting = greeting.expect("drive stops at the greeting");
        Ok(client)
    }

    // ----- getters -----

    /// The server's greeting.
    pub fn greeting(&self) -> &Greeting {
        &self.greeting
    }

    /// The capabilities last learned with `CAPA` (see [`Client::capa`]), if still valid.
    ///
    /// After a login on a server that offered `PIPELINING`, the `CAPA` that asks again goes
    /// out with the next command instead of costing a round trip of its own: the capabilities
    /// are `None` until that command completes (or [`Client::capa`] is called).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.engine.capabilities()
    }

    /// The session state.
    pub fn state(&self) -> engine::State {
        self.engine.state()
    }

    /// The TLS session protecting the connection, if any.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.transport.tls_info()
    }

    /// Counters: commands, round trips, bytes.
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }

    /// Whether received bytes wait to be decoded: when not, the next reply means waiting for
    /// the network.
    pub fn has_buffered_input(&self) -> bool {
        self.start < self.end
    }

    /// The largest `LOGIN-DELAY` (seconds) the server announced in this session, before or
    /// after login: the least time until the next login.
    pub fn login_delay_seen(&self) -> Option<u32> {
        self.engine.login_delay_seen()
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The transport, for inspection.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Drops commands an abandoned call queued but did not send, and forgets the results it
    /// was waiting for. Replies already on their way are still read (and discarded) by the
    /// next call.
    pub fn cancel_queued(&mut self) {
        self.engine.cancel_queued();
        self.wanted.clear();
        self.finished.clear();
    }

    /// Whether `STLS` was accepted but the TLS handshake has not completed.
    pub fn is_awaiting_tls(&self) -> bool {
        self.engine.is_awaiting_tls()
    }

    // ----- commands -----

    /// Asks the server for its capabilities. `None` when the server does not support `CAPA`
    /// (plain RFC 1939); every command still works then, one at a time.
    pub async fn capa(&mut self) -> Result<Option<Capabilities>> {
        if self.capa_unsupported {
            return Ok(None);
        }
        let id = match self.pending_capa.take() {
            Some(id) => id,
            None => self.queue(Command::Capa)?,
        };
        match self.result_of(id).await {
            Ok(Reply::Capabilities(caps)) => Ok(Some(caps)),
            Ok(other) => Err(unexpected(&other)),
            Err(e) if e.kind() == ErrorKind::Server => {
                self.capa_unsupported = true;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Upgrades the connection to TLS with `STLS` (RFC 2595), then asks for the capabilities
    /// again, since they may differ over TLS.
    pub async fn stls(&mut self) -> Result<()> {
        if self.transport.tls_info().is_some() {
            return Err(Error::usage("the connection is already encrypted"));
        }
        self.simple(Command::Stls).await.map_err(|e| match e.kind() {
            ErrorKind::Server => Error::from_server(
                ErrorKind::Tls,
                "the server refused STLS",
                e.response_code().cloned(),
                e.server_text().unwrap_or_default(),
            ),
            _ => e,
        })?;
        // Anything already received after the +OK came before the handshake: a STARTTLS
        // injection attempt. The engine refuses it; check here too, before touching TLS.
        if self.start != self.end {
            let e = self
                .engine
                .handle_input(&self.buf[self.start..self.end])
                .err()
                .unwrap_or_else(|| Error::tls("the server sent data after accepting STLS (STARTTLS injection)"));
            self.close_quietly().await;
            return Err(e);
        }
        // The handshake is bounded like a reply: a server that accepts STLS and then stalls
        // must not hang the client.
        let limit = match (self.config.reply_timeout, self.config.command_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let handshake = with_timeout(&*self.timer, limit, self.transport.start_tls()).await;
        let failure = match handshake {
            Some(Ok(())) => None,
            Some(Err(e)) => Some(self.engine.handle_transport_error(e)),
            None => {
                Some(self.engine.handle_transport_error(Error::timeout("the TLS handshake after STLS took too long")))
            }
        };
        if let Some(e) = failure {
            self.close_quietly().await;
            return Err(e);
        }
        self.engine.tls_started();
        self.capa_unsupported = false;
        self.capa().await?;
        Ok(())
    }

    /// Switches the session to UTF-8 (RFC 6856), before login.
    pub async fn utf8(&mut self) -> Result<()> {
        self.simple(Command::Utf8).await.map(drop)
    }

    /// `LANG` (RFC 6856): the languages the server offers for its texts.
    pub async fn languages(&mut self) -> Result<Vec<Language>> {
        match self.simple(Command::lang(None)?).await? {
            Reply::Languages(list) => Ok(list),
            other => Err(unexpected(&other)),
        }
    }

    /// `LANG tag` (RFC 6856): the server's texts in that language from now on (`*` asks for
    /// the server's choice from the client's preferences, which POP3 leaves to the server).
    /// Returns the server's `+OK` text, which names the language chosen.
    pub async fn set_language(&mut self, tag: &str) -> Result<String> {
        match self.simple(Command::lang(Some(tag))?).await? {
            Reply::Ok(status) => Ok(status.text),
            other => Err(unexpected(&other)),
        }
    }

    /// Logs in, choosing the method as [`LoginOptions`] says. Asks for the capabilities before
    /// (to choose) and after (they may change once logged in; see [`Client::capabilities`]).
    /// Returns the method used.
    pub async fn login(&mut self, credentials: &Credentials, options: &LoginOptions) -> Result<AuthMethod> {
        if self.engine.state() == engine::State::Transaction {
            return Err(Error::usage("already logged in"));
        }
        // Whatever the method, the secret never appears in a server text from now on.
        self.engine.protect_secret(&credentials.secret);
        if self.engine.capabilities().is_none() {
            self.capa().await?;
        }
        let offer = Offer {
            capabilities: self.engine.capabilities(),
            apop_timestamp: self.greeting.apop_timestamp.as_deref(),
            encrypted: self.transport.tls_info().is_some(),
        };
        let method = auth::choose_for(&options.method, credentials.kind, offer, options.allow_cleartext)?;
        let login = match &method {
            AuthMethod::UserPass => {
                self.simple(Command::user(&credentials.user)?).await?;
                self.queue(Command::pass(&credentials.secret)?)?
            }
            AuthMethod::Apop => {
                let timestamp = self.greeting.apop_timestamp.as_deref().expect("choose checked the timestamp");
                let digest = auth::apop_digest(timestamp, &credentials.secret);
                self.queue(Command::apop(&credentials.user, digest)?)?
            }
            AuthMethod::Sasl(name) => {
                let id = self.engine.authenticate(auth::mechanism(name, credentials, self.random.as_mut())?)?;
                self.wanted.insert(id);
                id
            }
            AuthMethod::Auto => unreachable!("choose resolves Auto"),
        };
        // Queued behind the login (the engine never pipelines across it), so it goes out as
        // soon as the login is answered.
        let capa = if self.capa_unsupported { None } else { Some(self.queue(Command::Capa)?) };
        if let Err(e) = self.result_of(login).await {
            // Still held behind the refused login: never sent.
            self.abandon(capa);
            return Err(e.with_login_delay(self.engine.login_delay_seen()));
        }
        self.pending_capa = capa;
        // With pipelining it shares a flight with the first transaction commands; without,
        // waiting for it now costs nothing more.
        if capa.is_some() && !self.engine.is_pipelining() {
            self.capa().await?;
        }
        Ok(method)
    }

    /// `STAT`: the number of messages and their total size.
    pub async fn stat(&mut self) -> Result<Stat> {
        match self.simple(Command::Stat).await? {
            Reply::Stat(stat) => Ok(stat),
            other => Err(unexpected(&other)),
        }
    }

    /// `LIST`: every message with its size (a hint). A listing with a line that cannot be
    /// read, or with a message numbered above the count `STAT` reported in this session, is a
    /// [`ErrorKind::Protocol`] error whose [`Detail::Listing`] holds what could be read (the
    /// session stays usable); [`Client::list_lenient`] returns such a listing as it is.
    pub async fn list(&mut self) -> Result<Vec<ListEntry>> {
        let listing = self.list_lenient().await?;
        let beyond = self.beyond_stat_count(listing.entries.iter().map(|e| e.msg));
        strict_listing("LIST", listing, beyond, ListingEntries::List)
    }

    /// `LIST`, with malformed lines kept apart in [`Listing::malformed`] instead of failing.
    pub async fn list_lenient(&mut self) -> Result<Listing<ListEntry>> {
        match self.simple(Command::List(None)).await? {
            Reply::List(listing) => Ok(listing),
            other => Err(unexpected(&other)),
        }
    }

    /// `LIST n`.
    pub async fn list_one(&mut self, msg: MsgNum) -> Result<ListEntry> {
        match self.simple(Command::List(Some(msg))).await? {
            Reply::ListOne(entry) => Ok(entry),
            other => Err(unexpected(&other)),
        }
    }

    /// `UIDL`: every message with its unique id, checked like [`Client::list`].
    pub async fn uidl(&mut self) -> Result<Vec<UidEntry>> {
        let listing = self.uidl_lenient().await?;
        let beyond = self.beyond_stat_count(listing.entries.iter().map(|e| e.msg));
        strict_listing("UIDL", listing, beyond, ListingEntries::Uidl)
    }

    /// `UIDL`, with malformed lines kept apart in [`Listing::malformed`] instead of failing.
    pub async fn uidl_lenient(&mut self) -> Result<Listing<UidEntry>> {
        match self.simple(Command::Uidl(None)).await? {
            Reply::Uidl(listing) => Ok(listing),
            other => Err(unexpected(&other)),
        }
    }

    fn beyond_stat_count(&self, msgs: impl Iterator<Item = MsgNum>) -> Vec<MsgNum> {
        match self.engine.stat_count() {
            Some(count) => msgs.filter(|m| m.get() > count).collect(),
            None => Vec::new(),
        }
    }

    /// `UIDL n`.
    pub async fn uidl_one(&mut self, msg: MsgNum) -> Result<UidEntry> {
        match self.simple(Command::Uidl(Some(msg))).await? {
            Reply::UidlOne(entry) => Ok(entry),
            other => Err(unexpected(&other)),
        }
    }

    /// `DELE n`: marks a message for deletion when the session ends with `QUIT`.
    pub async fn dele(&mut self, msg: MsgNum) -> Result<()> {
        self.simple(Command::Dele(msg)).await.map(drop)
    }

    /// `RSET`: unmarks every message marked for deletion.
    pub async fn rset(&mut self) -> Result<()> {
        self.simple(Command::Rset).await.map(drop)
    }

    /// `NOOP`: keeps the connection alive.
    pub async fn noop(&mut self) -> Result<()> {
        self.simple(Command::Noop).await.map(drop)
    }

    /// `RETR n`: the whole message, unstuffed, in one buffer.
    pub async fn retr(&mut self, msg: MsgNum) -> Result<Vec<u8>> {
        self.fetch(Command::Retr(msg)).await
    }

    /// `TOP n lines`: the headers and the first `lines` lines of the body.
    pub async fn top(&mut self, msg: MsgNum, lines: u32) -> Result<Vec<u8>> {
        self.fetch(Command::Top(msg, lines)).await
    }

    /// `RETR n` as a stream of chunks borrowed from the read buffer: memory stays bounded by
    /// the buffer size whatever the message size.
    pub async fn retr_stream(&mut self, msg: MsgNum) -> Result<MessageStream<'_, T>> {
        self.stream(Command::Retr(msg)).await
    }

    /// `TOP n lines` as a stream of chunks.
    pub async fn top_stream(&mut self, msg: MsgNum, lines: u32) -> Result<MessageStream<'_, T>> {
        self.stream(Command::Top(msg, lines)).await
    }

    /// Retrieves several messages, pipelined when the server allows it, calling `on_message`
    /// for each in order as it completes. A message the server refuses, or one over the size
    /// limit, is passed as an `Err` and the others continue. If `on_message` fails, commands
    /// not yet sent are dropped, the replies already on their way are read and discarded, and
    /// its error is returned.
    pub async fn retr_many<F>(&mut self, msgs: &[MsgNum], mut on_message: F) -> Result<()>
    where
        F: FnMut(MsgNum, Result<Vec<u8>>) -> Result<()>,
    {
        self.fetch_many(msgs.iter().map(|&m| (m, Command::Retr(m))).collect(), &mut on_message).await
    }

    /// Like [`Client::retr_many`] with `TOP n lines` (headers for a message list).
    pub async fn top_many<F>(&mut self, msgs: &[MsgNum], lines: u32, mut on_message: F) -> Result<()>
    where
        F: FnMut(MsgNum, Result<Vec<u8>>) -> Result<()>,
    {
        self.fetch_many(msgs.iter().map(|&m| (m, Command::Top(m, lines))).collect(), &mut on_message).await
    }

    /// Marks several messages for deletion, pipelined. Returns one result per message.
    pub async fn dele_many(&mut self, msgs: &[MsgNum]) -> Result<Vec<Result<()>>> {
        let queued = self.queue_all(msgs.iter().map(|&m| (m, Command::Dele(m))))?;
        let mut results = Vec::with_capacity(queued.len());
        for &(id, _) in &queued {
            let result = self.result_of(id).await;
            if let Some(fatal) = self.engine.fatal_error() {
                return Err(fatal.clone());
            }
            results.push(result.map(drop));
        }
        Ok(results)
    }

    /// Ends the session with `QUIT`: the server deletes the messages marked for deletion, then
    /// the connection is closed. The session is over; its counters and state stay readable.
    ///
    /// A `-ERR` reply ([`ErrorKind::Server`]) means the marked messages were not deleted. When
    /// messages were marked and the reply never came (the connection closed or timed out), the
    /// error carries [`Detail::DeletionsUncertain`]: they may or may not be gone.
    pub async fn quit(&mut self) -> Result<()> {
        let marked = self.engine.marked_for_deletion();
        let id = match self.queued_quit.take() {
            Some(id) => Ok(id),
            None => self.queue(Command::Quit),
        };
        let result = match id {
            Ok(id) => self.result_of(id).await.map(drop),
            Err(e) => Err(e),
        };
        self.close_quietly().await;
        result.map_err(|e| {
            if marked > 0 && e.kind() != ErrorKind::Server && e.kind() != ErrorKind::Usage {
                let message = format!(
                    "{}; the {marked} message(s) marked for deletion may or may not have been deleted \
                     (QUIT was sent but its reply never came)",
                    e.message()
                );
                e.with_message(message).with_detail(Detail::DeletionsUncertain { marked })
            } else {
                e
            }
        })
    }

    /// Closes the connection without `QUIT`: nothing marked for deletion is deleted. The
    /// session is over; its counters and state stay readable.
    pub async fn close(&mut self) -> Result<()> {
        self.deadline = None;
        if self.engine.state() != engine::State::Closed {
            let _ = self.engine.handle_transport_error(Error::closed("the session was closed"));
        }
        match with_timeout(&*self.timer, Some(CLOSE_TIMEOUT), self.transport.close()).await {
            Some(result) => result,
            None => Err(Error::timeout("closing the connection took too long")),
        }
    }

    /// Closes the connection after a fatal error, ignoring how that goes.
    async fn close_quietly(&mut self) {
        self.deadline = None;
        let _ = with_timeout(&*self.timer, Some(CLOSE_TIMEOUT), self.transport.close()).await;
    }

    // ----- pipelining your own commands -----

    /// Queues `command` to be sent as soon as the pipelining rules allow, and returns its id.
    /// Queue several commands before waiting to pipeline them; collect each outcome with
    /// [`Client::result_of`] (or [`Client::message_of`] for `RETR` and `TOP`), in any order:
    /// results that arrive while the client waits for another command are kept.
    pub fn queue(&mut self, command: Command) -> Result<CommandId> {
        let id = self.engine.send(command)?;
        self.wanted.insert(id);
        Ok(id)
    }

    /// Waits for the outcome of a command queued with [`Client::queue`].
    pub async fn result_of(&mut self, id: CommandId) -> Result<Reply> {
        if let Some(result) = self.finished.remove(&id) {
            return result;
        }
        if !self.wanted.remove(&id) {
            return Err(Error::usage("no result is pending for that command"));
        }
        let mut outcome = None;
        let driven = self
            .drive(Some(id), |event| {
                if let Event::Done { id: got, result } = event {
                    if got == id {
                        outcome = Some(result);
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await;
        driven?;
        outcome.expect("drive stops at the target")
    }

    /// Waits for the start of the message of a `RETR` or `TOP` queued with [`Client::queue`],
    /// and returns it as a stream of chunks. A refusal (`-ERR`) is an error.
    pub async fn message_of(&mut self, id: CommandId) -> Result<MessageStream<'_, T>> {
        if let Some(result) = self.finished.remove(&id) {
            return Err(result.err().unwrap_or_else(|| Error::usage("that command does not return a message")));
        }
        if !self.wanted.remove(&id) {
            return Err(Error::usage("no message is pending for that command"));
        }
        let mut started = None;
        let mut failure = None;
        self.drive(Some(id), |event| {
            match event {
                Event::MessageStart { id: got, announced_size, .. } if got == id => {
                    started = Some(announced_size);
                    return Ok(true);
                }
                Event::Done { id: got, result } if got == id => {
                    failure =
                        Some(result.err().unwrap_or_else(|| Error::usage("that command does not return a message")));
                    return Ok(true);
                }
                _ => {}
            }
            Ok(false)
        })
        .await?;
        if let Some(e) = failure {
            return Err(e);
        }
        let announced = started.expect("drive stops at the start");
        Ok(MessageStream { octets_hint: announced, client: self, id, finished: false, received: 0 })
    }

    /// Sends `QUIT` as soon as the pipelining rules allow, with the commands in flight when
    /// nothing is (or may become) marked for deletion: it then changes nothing, and saves the
    /// session's last round trip. Call [`Client::quit`] afterwards to end the session; no other
    /// command may follow.
    pub fn queue_quit(&mut self) -> Result<()> {
        if self.queued_quit.is_none() {
            self.queued_quit = Some(self.queue(Command::Quit)?);
        }
        Ok(())
    }

    /// Gives up on the result of a command queued with [`Client::queue`]: its reply is read and
    /// dropped when it comes.
    pub fn forget_result(&mut self, id: CommandId) {
        self.forget(id);
    }

    /// Gives up on a queued command's result: its reply is read and dropped when it comes.
    fn forget(&mut self, id: CommandId) {
        self.wanted.remove(&id);
        self.finished.remove(&id);
    }

    /// Drops every command queued but not sent and forgets the results of `ids`: after a
    /// failure half-way through a batch.
    fn abandon(&mut self, ids: impl IntoIterator<Item = CommandId>) {
        for id in self.engine.cancel_queued().into_iter().chain(ids) {
            self.forget(id);
        }
    }

    // ----- built on those -----

    async fn simple(&mut self, command: Command) -> Result<Reply> {
        let id = self.queue(command)?;
        self.result_of(id).await
    }

    async fn fetch(&mut self, command: Command) -> Result<Vec<u8>> {
        let id = self.queue(command)?;
        self.collect(id).await
    }

    /// The whole message of the queued command `id`, in one buffer.
    async fn collect(&mut self, id: CommandId) -> Result<Vec<u8>> {
        let mut stream = self.message_of(id).await?;
        let mut message = Vec::with_capacity(stream.octets_hint().unwrap_or(0).min(PREALLOCATE_MAX) as usize);
        while let Some(chunk) = stream.next_chunk().await? {
            message.extend_from_slice(chunk);
        }
        Ok(message)
    }

    /// Retrieves several messages, pipelined, handing each to `save` in order and waiting for
    /// it before handing over the next (an async sink: a file written and synced, a database
    /// commit). Replies keep arriving meanwhile, bounded by the pipelining window. A message
    /// the server refuses is passed as an `Err`. If `save` fails, commands not yet sent are
    /// dropped and its error is returned; replies already on their way are skipped by the next
    /// command.
    pub async fn retr_each<F>(&mut self, msgs: &[MsgNum], mut save: F) -> Result<()>
    where
        F: AsyncFnMut(MsgNum, Result<Vec<u8>>) -> Result<()>,
    {
        let queued = self.queue_all(msgs.iter().map(|&m| (m, Command::Retr(m))))?;
        for (i, &(id, msg)) in queued.iter().enumerate() {
            let body = self.collect(id).await;
            if let Some(fatal) = self.engine.fatal_error() {
                return Err(fatal.clone());
            }
            if let Err(e) = save(msg, body).await {
                self.abandon(queued[i + 1..].iter().map(|&(id, _)| id));
                return Err(e);
            }
        }
        Ok(())
    }

    async fn fetch_many(
        &mut self,
        commands: Vec<(MsgNum, Command)>,
        on_message: &mut dyn FnMut(MsgNum, Result<Vec<u8>>) -> Result<()>,
    ) -> Result<()> {
        let queued = self.queue_all(commands)?;
        for (i, &(id, msg)) in queued.iter().enumerate() {
            let body = self.collect(id).await;
            if let Some(fatal) = self.engine.fatal_error() {
                return Err(fatal.clone());
            }
            if let Err(e) = on_message(msg, body) {
                self.abandon(queued[i + 1..].iter().map(|&(id, _)| id));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Queues every command, or none if one cannot be queued.
    fn queue_all(&mut self, commands: impl IntoIterator<Item = (MsgNum, Command)>) -> Result<Vec<(CommandId, MsgNum)>> {
        let mut queued = Vec::new();
        for (msg, command) in commands {
            match self.queue(command) {
                Ok(id) => queued.push((id, msg)),
                Err(e) => {
                    self.abandon(queued.iter().map(|&(id, _)| id));
                    return Err(e);
                }
            }
        }
        Ok(queued)
    }

    async fn stream(&mut self, command: Command) -> Result<MessageStream<'_, T>> {
        let id = self.queue(command)?;
        self.message_of(id).await
    }

    /// Writes what the engine wants sent.
    async fn flush(&mut self) -> Result<()> {
        while let Some(bytes) = self.engine.poll_transmit() {
            let written = with_timeout(&*self.timer, self.config.reply_timeout, self.transport.write(&bytes)).await;
            match written {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    let e = self.engine.handle_transport_error(e);
                    self.close_quietly().await;
                    return Err(e);
                }
                None => {
                    let limit = self.config.reply_timeout.unwrap_or_default().as_millis();
                    let e = self.engine.handle_transport_error(Error::timeout(format!(
                        "the connection stopped accepting data (a write took longer than {limit} ms)"
                    )));
                    self.close_quietly().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Stops the deadline when no reply is awaited any more: a pending timer would keep a
    /// JavaScript runtime alive (and hold memory) for nothing.
    fn disarm_idle_deadline(&mut self) {
        if !self.engine.expects_reply() {
            self.deadline = None;
        }
    }

    /// Starts the deadline of the reply now awaited, if it is not running yet.
    fn arm_deadline(&mut self) {
        let Some(limit) = self.config.command_deadline else { return };
        let awaited = self.engine.awaited_command();
        if self.deadline.as_ref().is_some_and(|d| d.awaited == awaited) {
            return;
        }
        self.deadline = Some(Deadline { awaited, expires: self.timer.sleep(limit) });
    }

    /// Reads more bytes into the buffer, bounded by the reply timeout.
    async fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Cannot happen with a buffer larger than the line limit; guard anyway.
            let e = self.engine.handle_transport_error(Error::limit("the read buffer is full"));
            self.close_quietly().await;
            return Err(e);
        }
        self.arm_deadline();
        let Client { transport, timer, config, buf, end, deadline, .. } = self;
        let read = with_timeout(&**timer, config.reply_timeout, transport.read(&mut buf[*end..]));
        let outcome = match deadline {
            Some(deadline) => {
                let read = std::pin::pin!(read);
                match futures::future::select(read, deadline.expires.as_mut()).await {
                    futures::future::Either::Left((read, _)) => Some(read),
                    futures::future::Either::Right(((), _)) => None,
                }
            }
            None => Some(read.await),
        };
        let error = match outcome {
            Some(Some(Ok(0))) => match self.engine.handle_eof() {
                Ok(()) => return Err(Error::closed("the server closed the connection")),
                Err(e) => e,
            },
            Some(Some(Ok(n))) => {
                self.end += n;
                return Ok(());
            }
            Some(Some(Err(e))) => self.engine.handle_transport_error(e),
            Some(None) => self.engine.handle_timeout(),
            None => self.engine.handle_deadline(self.config.command_deadline.unwrap_or_default()),
        };
        self.close_quietly().await;
        Err(error)
    }

    /// Sends what is queued and feeds input to the engine, passing each event to `handle`,
    /// until `handle` returns `true`. `target` is the command the caller waits for: results of
    /// other commands someone queued with [`Client::queue`] are kept for [`Client::result_of`];
    /// events of commands nobody waits for any more are dropped.
    async fn drive<F>(&mut self, target: Option<CommandId>, mut handle: F) -> Result<()>
    where
        F: FnMut(Event<'_>) -> Result<bool>,
    {
        // Commands go out when the call starts, before every wait for input, and every so
        // many events: not after each reply, which with a sliding window would mean a write
        // per command. The server meanwhile works through the window it already has.
        const EVENTS_PER_FLUSH: u32 = 64;
        let mut events = 0u32;
        loop {
            if events.is_multiple_of(EVENTS_PER_FLUSH) {
                self.flush().await?;
            }
            events = events.wrapping_add(1);
            let (used, event) = match self.engine.handle_input(&self.buf[self.start..self.end]) {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.close_quietly().await;
                    return Err(e);
                }
            };
            self.start += used;
            match event {
                Some(Event::Done { id, result }) if Some(id) != target => {
                    if self.wanted.remove(&id) {
                        self.finished.insert(id, result);
                    }
                }
                Some(event) => {
                    if handle(event)? {
                        self.disarm_idle_deadline();
                        return Ok(());
                    }
                }
                None => {
                    if !self.engine.expects_reply() && self.engine.pending() == 0 {
                        return Err(Error::protocol("internal: waiting for a reply that was never requested"));
                    }
                    // What the engine queued while decoding (a NOOP that settles a glued
                    // terminator, commands topping up the window) goes out before the wait.
                    self.flush().await?;
                    self.fill().await?;
                }
            }
        }
    }
}

/// Pre-allocation from the server's size hint is capped: hints are not to be trusted.
const PREALLOCATE_MAX: u64 = 16 * 1024 * 1024;

/// The entries of `listing`, or a protocol error carrying them when some lines could not be
/// read or name messages above `STAT`'s count.
fn strict_listing<T>(
    command: &str,
    listing: Listing<T>,
    beyond_count: Vec<MsgNum>,
    wrap: fn(Vec<T>) -> ListingEntries,
) -> Result<Vec<T>> {
    if listing.malformed.is_empty() && beyond_count.is_empty() {
        return Ok(listing.entries);
    }
    let mut why = Vec::new();
    if !listing.malformed.is_empty() {
        let first = crate::proto::describe_line(listing.malformed[0].as_bytes());
        why.push(format!("{} line(s) that cannot be read, the first \"{first}\"", listing.malformed.len()));
    }
    if let Some(first) = beyond_count.first() {
        why.push(format!(
            "{} entr(ies) for messages above the count STAT reported (the first for message {first})",
            beyond_count.len()
        ));
    }
    let problem = ListingProblem { entries: wrap(listing.entries), malformed: listing.malformed, beyond_count };
    Err(Error::protocol(format!("the server's {command} listing has {}", why.join(" and ")))
        .with_detail(Detail::Listing(Box::new(problem))))
}

fn unexpected(_reply: &Reply) -> Error {
    // No `{:?}` of the reply: it would add every reply type's Debug code to the wasm module.
    Error::protocol("internal: a reply of an unexpected kind")
}

/// A message being received, chunk by chunk. Drop it early to abandon the message: the rest
/// is read and discarded before the next command's reply.
pub struct MessageStream<'c, T: Transport> {
    client: &'c mut Client<T>,
    id: CommandId,
    finished: bool,
    received: u64,
    octets_hint: Option<u64>,
}

impl<T: Transport> MessageStream<'_, T> {
    /// The size the server announced in its `+OK` line, if any. A hint: servers get it wrong.
    pub fn octets_hint(&self) -> Option<u64> {
        self.octets_hint
    }

    /// Octets received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the message, or `None` at its end. An error (connection closed,
    /// timeout, size limit) means the message is incomplete.
    pub async fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        if self.finished {
            return Ok(None);
        }
        let id = self.id;
        let base = self.client.buf.as_ptr() as usize;
        let mut got: Option<Result<Option<(usize, usize)>>> = None;
        self.client
            .drive(Some(id), |event| {
                match event {
                    // Chunks are slices of the read buffer; remember where, hand out below.
                    Event::MessageData { id: d, data } if d == id => {
                        got = Some(Ok(Some((data.as_ptr() as usize - base, data.len()))));
                    }
                    Event::Done { id: d, result } if d == id => got = Some(result.map(|_| None)),
                    _ => return Ok(false),
                }
                Ok(true)
            })
            .await?;
        match got.expect("drive stops at an event of this message") {
            Ok(Some((offset, len))) => {
                self.received += len as u64;
                Ok(Some(&self.client.buf[offset..offset + len]))
            }
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }
}
