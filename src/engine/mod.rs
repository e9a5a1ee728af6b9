//! The sans-I/O POP3 session: bytes in, events and bytes out.
//!
//! The [`Engine`] never touches a socket, a clock or an async runtime. Its owner (the async
//! [`crate::client::Client`], a test, or any other driver):
//! 1. queues commands with [`Engine::send`] or [`Engine::authenticate`], getting a
//!    [`CommandId`] back;
//! 2. writes whatever [`Engine::poll_transmit`] hands out;
//! 3. feeds received bytes to [`Engine::handle_input`], which returns one [`Event`] at a time
//!    (the greeting, pieces of a message, or a finished command with its [`Reply`]);
//! 4. reports the end of the stream or a timeout with [`Engine::handle_eof`] and
//!    [`Engine::handle_timeout`].
//!
//! The engine decides what goes on the wire and when: replies are matched to commands in a
//! FIFO that also decides how each reply is framed; commands are pipelined (up to
//! [`Config::max_in_flight`]) only when the server advertised `PIPELINING`, and never across
//! authentication, `STLS` or `QUIT`. A fatal error is sticky: every later call returns it.

use std::collections::VecDeque;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::auth::Mechanism;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    announced_size, describe_line, parse_language, parse_list_entry, parse_stat, parse_uid_entry, BlockKind,
    Capabilities, Command, Decoder, Frame, Limits, MsgNum, ReplyShape, StatusLine, StatusText,
};
use crate::secret::{Redactor, Secret};

pub use crate::proto::{Language, ListEntry, Stat, UidEntry};

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bounds on what the server may send.
    pub limits: Limits,
    /// The most commands in flight at once when pipelining. Commands are tiny, so this bounds
    /// the number of replies the server may be writing ahead, not the bytes we write.
    pub max_in_flight: usize,
    /// Pipeline when the server advertises `PIPELINING`. Off: always one command at a time.
    pub pipelining: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { limits: Limits::default(), max_in_flight: 256, pipelining: true }
    }
}

/// Identifies a queued command; the matching [`Event::Done`] carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(u64);

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The RFC 1939 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the server's greeting.
    Greeting,
    /// Greeted; not logged in yet.
    Authorization,
    /// Logged in; the mailbox is open.
    Transaction,
    /// `QUIT` was sent from the transaction state; the server is applying deletions.
    Update,
    /// The session is over.
    Closed,
}

/// The server's greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The greeting text (and response code, rarely).
    pub status: StatusText,
    /// The `<...>` timestamp that enables APOP, when present.
    pub apop_timestamp: Option<String>,
}

/// The lines of a multi-line listing, and lines that could not be parsed (kept for reporting,
/// never silently dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    /// The parsed entries, in server order.
    pub entries: Vec<T>,
    /// Lines that did not parse, verbatim (lossy UTF-8).
    pub malformed: Vec<String>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Listing { entries: Vec::new(), malformed: Vec::new() }
    }
}

/// The successful outcome of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A plain `+OK` (USER, PASS, APOP, AUTH, DELE, RSET, NOOP, STLS, UTF8, QUIT).
    Ok(StatusText),
    /// `STAT`.
    Stat(Stat),
    /// `LIST`.
    List(Listing<ListEntry>),
    /// `LIST n`.
    ListOne(ListEntry),
    /// `UIDL`.
    Uidl(Listing<UidEntry>),
    /// `UIDL n`.
    UidlOne(UidEntry),
    /// `LANG` without a tag: the languages the server offers (RFC 6856).
    Languages(Vec<Language>),
    /// `CAPA`.
    Capabilities(Capabilities),
    /// The end of a `RETR` or `TOP` message, whose data came as [`Event::MessageData`].
    MessageEnd,
}

/// Something the engine has to tell its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The server greeted us.
    Greeting(Greeting),
    /// A `RETR` or `TOP` was accepted; its message data follows.
    MessageStart {
        /// The command.
        id: CommandId,
        /// The `+OK` line (often `+OK 1234 octets`, a hint at best).
        status: StatusText,
        /// The size a `RETR` reply announced (`+OK 1234 octets`); `None` for `TOP` and when
        /// the server said nothing. A hint: servers get it wrong.
        announced_size: Option<u64>,
    },
    /// A piece of the message being received, unstuffed, borrowed from the input.
    MessageData {
        /// The command.
        id: CommandId,
        /// The bytes.
        data: &'a [u8],
    },
    /// A command finished: with its reply, or with the server's `-ERR` as an error of kind
    /// [`ErrorKind::Server`] (or [`ErrorKind::Auth`] for login commands).
    Done {
        /// The command.
        id: CommandId,
        /// Its outcome.
        result: Result<Reply>,
    },
}

/// Counters for benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Commands sent.
    pub commands: u64,
    /// The network round trips the session cost: times the client sent something while it was
    /// not waiting for any reply (the server was idle until it arrived), plus SASL steps.
    pub round_trips: u64,
    /// Octets received.
    pub bytes_in: u64,
    /// Octets sent.
    pub bytes_out: u64,
}

/// The reply a command expects, with what the engine needs to interpret it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Capa,
    Stls,
    Utf8,
    /// `LANG` without a tag: a listing of languages.
    Languages,
    User,
    Login,
    Stat,
    List,
    /// `LIST n`: the reply must be about message n.
    ListOne(MsgNum),
    Uidl,
    /// `UIDL n`: the reply must be about message n.
    UidlOne(MsgNum),
    Dele,
    Rset,
    /// `RETR`: a message, whose size the `+OK` may announce.
    Retr,
    /// `TOP`: headers and some lines.
    Top,
    Quit,
    Other,
    /// A `NOOP` the engine sent itself to settle a possible glued terminator; its reply is
    /// consumed here and reported to nobody.
    Probe,
}

impl Kind {
    fn of(command: &Command) -> Kind {
        match command {
            Command::Capa => Kind::Capa,
            Command::Stls => Kind::Stls,
            Command::Utf8 => Kind::Utf8,
            Command::Lang(None) => Kind::Languages,
            Command::User(_) => Kind::User,
            Command::Pass(_) | Command::Apop { .. } | Command::Auth { .. } => Kind::Login,
            Command::Stat => Kind::Stat,
            Command::List(None) => Kind::List,
            Command::List(Some(n)) => Kind::ListOne(*n),
            Command::Uidl(None) => Kind::Uidl,
            Command::Uidl(Some(n)) => Kind::UidlOne(*n),
            Command::Retr(_) => Kind::Retr,
            Command::Top(..) => Kind::Top,
            Command::Dele(_) => Kind::Dele,
            Command::Rset => Kind::Rset,
            Command::Quit => Kind::Quit,
            _ => Kind::Other,
        }
    }
}

/// Commands after which nothing may be pipelined: the server may change processes or start
/// TLS when it answers them, and drop input that arrived early (Courier).
fn is_barrier(command: &Command) -> bool {
    matches!(
        command,
        Command::User(_)
            | Command::Pass(_)
            | Command::Apop { .. }
            | Command::Auth { .. }
            | Command::Stls
            | Command::Utf8
            | Command::Quit
    )
}

/// Whether `command` is valid in `state` (RFC 1939 section 3; RFC 6856 for `UTF8` and `LANG`).
fn allowed_in(state: State, command: &Command) -> bool {
    let before_login = matches!(
        command,
        Command::Capa
            | Command::Stls
            | Command::Utf8
            | Command::Lang(_)
            | Command::User(_)
            | Command::Pass(_)
            | Command::Apop { .. }
            | Command::Auth { .. }
            | Command::Quit
    );
    match state {
        State::Greeting | State::Authorization => before_login,
        State::Transaction => !matches!(
            command,
            Command::Stls
                | Command::Utf8
                | Command::User(_)
                | Command::Pass(_)
                | Command::Apop { .. }
                | Command::Auth { .. }
        ),
        State::Update | State::Closed => false,
    }
}

struct Sasl {
    mechanism: Box<dyn Mechanism>,
    /// An initial response too long for the command line, sent as the first continuation.
    deferred_initial: Option<Zeroizing<Vec<u8>>>,
    /// Set when the client cancelled the exchange with `*`; reported instead of the `-ERR`.
    failure: Option<Error>,
}

/// A list reply being collected.
enum Collecting {
    Capabilities(Capabilities),
    List(Listing<ListEntry>),
    Uidl(Listing<UidEntry>),
    Languages(Vec<Language>),
}

struct Queued {
    id: CommandId,
    command: Command,
    sasl: Option<Sasl>,
}

struct InFlight {
    id: CommandId,
    /// The command as a log would show it (secrets masked), for error messages.
    label: String,
    /// Its keyword, noted on the errors about it ([`Error::command`]).
    keyword: &'static str,
    kind: Kind,
    shape: ReplyShape,
    barrier: bool,
    sasl: Option<Sasl>,
    collecting: Option<Collecting>,
}

/// The sans-I/O session. See the module documentation.
pub struct Engine {
    config: Config,
    state: State,
    decoder: Decoder,
    queued: VecDeque<Queued>,
    in_flight: VecDeque<InFlight>,
    outbox: Zeroizing<Vec<u8>>,
    next_id: u64,
    greeting: Option<Greeting>,
    capabilities: Option<Capabilities>,
    /// Capabilities were learned before a login or TLS upgrade and may no longer hold.
    capabilities_stale: bool,
    /// `STLS` was accepted: no byte may arrive until the TLS handshake is done.
    awaiting_tls: bool,
    utf8: bool,
    fatal: Option<Error>,
    stats: Stats,
    /// Every form of the credentials sent in this session, removed from server texts.
    redactor: Redactor,
    /// Messages marked with `DELE` since login or the last `RSET`.
    marked: u32,
    /// The message count from the last `STAT`, to check listings against.
    stat_count: Option<u32>,
    /// Replies completed while commands waited for room in a full window (see `reply_completed`).
    window_turn: usize,
    /// The largest `LOGIN-DELAY` any `CAPA` of the session announced.
    login_delay_seen: Option<u32>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state)
            .field("queued", &self.queued.len())
            .field("in_flight", &self.in_flight.len())
            .field("fatal", &self.fatal)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A new session, waiting for the server's greeting.
    pub fn new(config: Config) -> Self {
        Engine {
            decoder: Decoder::new(config.limits),
            config,
            state: State::Greeting,
            queued: VecDeque::new(),
            in_flight: VecDeque::new(),
            outbox: Zeroizing::new(Vec::new()),
            next_id: 0,
            greeting: None,
            capabilities: None,
            capabilities_stale: false,
            awaiting_tls: false,
            utf8: false,
            fatal: None,
            stats: Stats::default(),
            redactor: Redactor::default(),
            marked: 0,
            stat_count: None,
            window_turn: 0,
            login_delay_seen: None,
        }
    }

    // ----- getters -----

    /// The session state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The greeting, once received.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// The capabilities from the last `CAPA`, unless a login or TLS upgrade made them stale.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        if self.capabilities_stale {
            None
        } else {
            self.capabilities.as_ref()
        }
    }

    /// Whether commands are being pipelined now.
    ///
    /// Capabilities made stale by a login still count: a server that offered `PIPELINING`
    /// before login pipelines after it too, so the post-login `CAPA` can share a flight with
    /// the first transaction commands. After `STLS` nothing counts until `CAPA` is answered.
    pub fn is_pipelining(&self) -> bool {
        self.config.pipelining && self.capabilities.as_ref().is_some_and(|c| c.pipelining)
    }

    /// Whether `UTF8` was accepted (RFC 6856).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// Whether the engine waits for the driver to finish a TLS handshake ([`Engine::tls_started`]).
    pub fn is_awaiting_tls(&self) -> bool {
        self.awaiting_tls
    }

    /// Commands queued or in flight.
    pub fn pending(&self) -> usize {
        self.queued.len() + self.in_flight.len()
    }

    /// Whether a reply is expected from the server.
    pub fn expects_reply(&self) -> bool {
        self.state == State::Greeting || !self.in_flight.is_empty()
    }

    /// The fatal error that ended the session, if any.
    pub fn fatal_error(&self) -> Option<&Error> {
        self.fatal.as_ref()
    }

    /// Counters: commands, round trips, bytes.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How many messages the server accepted `DELE` for since login or the last `RSET`: what
    /// a `QUIT` would delete.
    pub fn marked_for_deletion(&self) -> u32 {
        self.marked
    }

    /// The message count the last `STAT` of this session reported, if any.
    pub fn stat_count(&self) -> Option<u32> {
        self.stat_count
    }

    /// The largest `LOGIN-DELAY` (seconds) any `CAPA` of this session announced, before or
    /// after login (RFC 2449 allows both; they may differ).
    pub fn login_delay_seen(&self) -> Option<u32> {
        self.login_delay_seen
    }

    /// The command whose reply the engine waits for now (the oldest in flight), if any.
    pub fn awaited_command(&self) -> Option<CommandId> {
        self.in_flight.front().map(|f| f.id)
    }

    /// Removes `secret` (and its base64 form) from every server text from now on. The engine
    /// already protects every credential it puts on the wire; drivers call this for a secret
    /// that never goes on the wire as it is (the password behind an APOP or SCRAM login).
    pub fn protect_secret(&mut self, secret: &Secret) {
        self.redactor.protect_with_base64(secret.expose().as_bytes());
    }

    /// `text` with every protected credential removed: what server texts pass through before
    /// they reach an error or a reply.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.redactor.redact_str(text)
    }

    // ----- commands -----

    /// Queues `command`. Fails at once, before anything is sent, if the command is not valid
    /// in the current state.
    pub fn send(&mut self, command: Command) -> Result<CommandId> {
        self.check_usable()?;
        if matches!(command, Command::Auth { .. }) {
            return Err(Error::usage(
                "use Engine::authenticate for AUTH, so the engine can answer the server's challenges",
            ));
        }
        self.check_state_for(&command)?;
        // The line length is checked here too, where the command enters the wire's queue:
        // the typed arguments make CR, LF and NUL impossible, not an overlong line.
        let command = command.checked()?;
        match &command {
            Command::Pass(secret) => self.redactor.protect_with_base64(secret.expose().as_bytes()),
            Command::Apop { digest, .. } => self.redactor.protect(digest.as_str().as_bytes()),
            _ => {}
        }
        Ok(self.enqueue(command, None))
    }

    /// Queues `AUTH` with `mechanism`, whose challenges the engine answers itself.
    pub fn authenticate(&mut self, mut mechanism: Box<dyn Mechanism>) -> Result<CommandId> {
        self.check_usable()?;
        let name = mechanism.name().to_owned();
        if let Some(secret) = mechanism.secret() {
            self.redactor.protect_with_base64(secret.expose().as_bytes());
        }
        let initial = mechanism.initial_response()?;
        if let Some(raw) = &initial {
            self.redactor.protect_with_base64(raw);
        }
        let (command, deferred_initial) = match initial {
            None => (Command::auth(&name, None)?, None),
            Some(raw) => {
                let encoded = crate::secret::Secret::new(BASE64.encode(raw.as_slice()));
                match Command::auth(&name, Some(encoded)) {
                    Ok(command) => (command, None),
                    // Too long for one command line (RFC 5034 section 4): send the initial
                    // response as the answer to the server's first, empty challenge.
                    Err(e) if e.kind() == ErrorKind::Usage => (Command::auth(&name, None)?, Some(raw)),
                    Err(e) => return Err(e),
                }
            }
        };
        self.check_state_for(&command)?;
        Ok(self.enqueue(command, Some(Sasl { mechanism, deferred_initial, failure: None })))
    }

    fn enqueue(&mut self, command: Command, sasl: Option<Sasl>) -> CommandId {
        let id = self.new_command_id();
        self.queued.push_back(Queued { id, command, sasl });
        id
    }

    fn check_usable(&self) -> Result<()> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        if self.state == State::Closed || self.state == State::Update {
            return Err(Error::usage("the session has ended"));
        }
        if self.queued.iter().any(|q| matches!(q.command, Command::Quit))
            || self.in_flight.iter().any(|f| f.kind == Kind::Quit)
        {
            return Err(Error::usage("QUIT was already sent; the session is ending"));
        }
        Ok(())
    }

    fn check_state_for(&self, command: &Command) -> Result<()> {
        if allowed_in(self.state, command) {
            return Ok(());
        }
        let why = if self.state == State::Transaction { "after login" } else { "before login" };
        Err(Error::usage(format!("{} is not allowed {why}", command.keyword())))
    }

    /// Drops the commands queued but not yet sent, returning their ids. Commands in flight
    /// are unaffected: their replies are on their way and will still be reported.
    pub fn cancel_queued(&mut self) -> Vec<CommandId> {
        self.queued.drain(..).map(|q| q.id).collect()
    }

    /// Bytes to write to the server now, if any. Writing them is the driver's job; the
    /// buffer is wiped when dropped, since it may hold a password.
    pub fn poll_transmit(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        if self.fatal.is_some() {
            return None;
        }
        if self.state != State::Greeting && !self.awaiting_tls {
            self.release_queued();
        }
        if self.outbox.is_empty() {
            return None;
        }
        self.stats.bytes_out += self.outbox.len() as u64;
        Some(std::mem::replace(&mut self.outbox, Zeroizing::new(Vec::new())))
    }

    /// Moves queued commands onto the wire, as far as the pipelining rules allow.
    ///
    /// The window slides: a command goes out as soon as a reply makes room, so the server
    /// always has the next commands in hand and never waits for the client.
    fn release_queued(&mut self) {
        let window = self.window();
        let was_waiting = !self.in_flight.is_empty();
        let mut sent_any = false;
        while let Some(next) = self.queued.front() {
            let busy = !self.in_flight.is_empty();
            let after_barrier = self.in_flight.back().is_some_and(|f| f.barrier);
            // QUIT ends a pipeline like any barrier, but it may join one when nothing is (or
            // may become) marked for deletion: then its outcome changes nothing.
            let quit_may_join = matches!(next.command, Command::Quit)
                && self.marked == 0
                && !self.in_flight.iter().any(|f| matches!(f.kind, Kind::Dele | Kind::Rset));
            let barrier = is_barrier(&next.command) && !quit_may_join;
            if busy && (barrier || after_barrier || self.in_flight.len() >= window) {
                break;
            }
            let Queued { id, command, sasl } = self.queued.pop_front().expect("front exists");
            let kind = Kind::of(&command);
            self.put_on_wire(id, &command, kind, sasl);
            sent_any = true;
        }
        if sent_any && !was_waiting {
            self.stats.round_trips += 1;
        }
    }

    fn window(&self) -> usize {
        if self.is_pipelining() {
            self.config.max_in_flight.max(1)
        } else {
            1
        }
    }

    /// Bookkeeping when a reply completes. While commands wait for room in a full window, the
    /// server may run dry before they arrive: counted as one round trip per window's worth of
    /// replies (a window smaller than the bandwidth-delay product shows here).
    fn reply_completed(&mut self) {
        // With the pipe drained, the next command goes into an empty pipe: counted as a round
        // trip when it is sent, not here.
        if self.queued.is_empty() || self.in_flight.is_empty() || self.in_flight.len() + 1 < self.window() {
            return;
        }
        self.window_turn += 1;
        if self.window_turn >= self.window() {
            self.window_turn = 0;
            self.stats.round_trips += 1;
        }
    }

    /// Tells the engine the TLS handshake after `STLS` succeeded: capabilities are forgotten
    /// (they must be asked again, RFC 2595 section 4) and commands flow again.
    pub fn tls_started(&mut self) {
        self.awaiting_tls = false;
        self.capabilities = None;
        self.capabilities_stale = false;
    }

    // ----- input -----

    /// Feeds bytes received from the server.
    ///
    /// Returns how many octets were used and the next event, if any. Call again with the
    /// unused rest (`&input[used..]`) until it returns `None`; when `None` comes back with
    /// octets unused, they are an incomplete line: keep them and pass them again in front of
    /// the next bytes received.
    pub fn handle_input<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Event<'a>>)> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        if self.awaiting_tls && !input.is_empty() {
            return Err(self.fail(Error::tls(
                "the server sent data after accepting STLS and before the TLS handshake \
                 (a STARTTLS injection attempt); the connection is not trustworthy",
            )));
        }
        let mut pos = 0;
        loop {
            let (used, frame) = match self.decoder.decode(&input[pos..]) {
                Ok(decoded) => decoded,
                Err(e) => {
                    let e = match self.in_flight.front() {
                        Some(front) if self.decoder.in_block() => {
                            let message = format!("{} (the reply to {})", e.message(), front.label);
                            e.with_message(message)
                        }
                        _ => e,
                    };
                    return Err(self.fail(e));
                }
            };
            pos += used;
            self.stats.bytes_in += used as u64;
            let Some(frame) = frame else {
                self.probe_glued_terminator();
                return Ok((pos, None));
            };
            let event = match frame {
                Frame::Line(line) => self.on_status_line(line)?,
                Frame::ListLine(line) => {
                    self.on_list_line(line);
                    None
                }
                Frame::Data(data) => {
                    let id = self.in_flight.front().expect("data belongs to a command").id;
                    Some(Event::MessageData { id, data })
                }
                Frame::End => Some(self.on_block_end()),
            };
            if event.is_some() {
                return Ok((pos, event));
            }
            if self.awaiting_tls && pos < input.len() {
                return Err(
                    self.fail(Error::tls("the server sent data right after accepting STLS (STARTTLS injection)"))
                );
            }
        }
    }

    /// When a possible glued terminator waits for what follows and nothing else is in flight,
    /// sends a `NOOP`: its `+OK` after the terminator settles that the message ended.
    fn probe_glued_terminator(&mut self) {
        if !self.decoder.glue_waiting() || self.in_flight.len() != 1 || self.state != State::Transaction {
            return;
        }
        let id = self.new_command_id();
        self.put_on_wire(id, &Command::Noop, Kind::Probe, None);
    }

    fn new_command_id(&mut self) -> CommandId {
        let id = CommandId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Writes `command` to the outbox and records it as in flight.
    fn put_on_wire(&mut self, id: CommandId, command: &Command, kind: Kind, sasl: Option<Sasl>) {
        command.encode_into(&mut self.outbox);
        self.stats.commands += 1;
        self.in_flight.push_back(InFlight {
            id,
            label: command.to_string(),
            keyword: command.keyword(),
            kind,
            shape: command.reply_shape(),
            barrier: is_barrier(command),
            sasl,
            collecting: None,
        });
    }

    /// Tells the engine the server closed the connection. Returns an error if a reply was
    /// still expected: a message cut short is never reported as complete.
    pub fn handle_eof(&mut self) -> Result<()> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let error = if self.state == State::Greeting {
            Some(Error::closed("the server closed the connection before greeting"))
        } else if let Some(front) = self.in_flight.front() {
            let what = if self.decoder.in_block() { "in the middle of the reply to" } else { "without answering" };
            Some(Error::closed(format!("the server closed the connection {what} {}", front.label)))
        } else if !self.decoder.is_idle() {
            Some(Error::closed("the server closed the connection in the middle of a line"))
        } else {
            None
        };
        self.state = State::Closed;
        match error {
            Some(e) => Err(self.fail(e)),
            None => Ok(()),
        }
    }

    /// Tells the engine the driver gave up waiting for the server (it stayed silent for too
    /// long). The session is over.
    pub fn handle_timeout(&mut self) -> Error {
        if let Some(e) = &self.fatal {
            return e.clone();
        }
        let error = match (self.state, self.in_flight.front()) {
            (State::Greeting, _) => Error::timeout("the server did not send its greeting in time"),
            (_, Some(front)) => Error::timeout(format!("the server did not answer {} in time", front.label)),
            _ => Error::timeout("the connection timed out"),
        };
        self.fail(error)
    }

    /// Tells the engine the reply it waits for took longer than the driver's deadline for one
    /// command (`limit`), although the server kept sending. The session is over.
    pub fn handle_deadline(&mut self, limit: std::time::Duration) -> Error {
        if let Some(e) = &self.fatal {
            return e.clone();
        }
        // Whole milliseconds: formatting a float would add kilobytes to the wasm module.
        let ms = limit.as_millis();
        let error = match (self.state, self.in_flight.front()) {
            (State::Greeting, _) => {
                Error::timeout(format!("the server did not complete its greeting within the {ms} ms deadline"))
            }
            (_, Some(front)) => Error::timeout(format!(
                "the server did not complete its reply to {} within the {ms} ms deadline for one command",
                front.label
            )),
            _ => Error::timeout("the connection timed out"),
        };
        self.fail(error)
    }

    /// Records a fatal error raised outside the engine (a transport failure), so later calls
    /// report it too.
    pub fn handle_transport_error(&mut self, error: Error) -> Error {
        self.fail(error)
    }

    fn fail(&mut self, error: Error) -> Error {
        // The command whose reply was awaited is the one that failed.
        let error = match self.in_flight.front() {
            Some(front) => error.with_command(front.keyword),
            None => error,
        };
        self.state = State::Closed;
        self.fatal = Some(error.clone());
        error
    }

    fn on_status_line<'a>(&mut self, line: &[u8]) -> Result<Option<Event<'a>>> {
        if self.state == State::Greeting {
            return self.on_greeting(line).map(Some);
        }
        // The line is parsed as it came (redacting first could break the grammar: a password
        // "p" would turn PIPELINING into ***I***ELINING); its texts are redacted before any of
        // them reaches a reply or an error. A SASL challenge goes to the mechanism as it is.
        let sasl = self.in_flight.front().is_some_and(|f| f.shape == ReplyShape::Sasl);
        let Some(front) = self.in_flight.front() else {
            let what = describe_line(&self.redactor.redact(line));
            return Err(self.fail(Error::protocol(format!("the server sent \"{what}\" when no reply was expected"))));
        };
        let status = match StatusLine::parse(line, sasl) {
            Ok(StatusLine::Ok(status)) => StatusLine::Ok(self.redact_status(status)),
            Ok(StatusLine::Err(status)) => StatusLine::Err(self.redact_status(status)),
            Ok(continuation) => continuation,
            Err(_) => {
                let what = describe_line(&self.redactor.redact(line));
                let label = front.label.clone();
                return Err(self.fail(Error::protocol(format!("unexpected reply to {label}: \"{what}\""))));
            }
        };
        let front = self.in_flight.front_mut().expect("checked above");
        match (front.shape, status) {
            (_, StatusLine::Continuation(data)) => {
                self.on_sasl_challenge(&data)?;
                Ok(None)
            }
            (ReplyShape::Lines, StatusLine::Ok(_)) => {
                front.collecting = Some(match front.kind {
                    Kind::Capa => Collecting::Capabilities(Capabilities::default()),
                    Kind::List => Collecting::List(Listing::default()),
                    Kind::Languages => Collecting::Languages(Vec::new()),
                    _ => Collecting::Uidl(Listing::default()),
                });
                self.decoder.expect_block(BlockKind::Lines);
                Ok(None)
            }
            (_, _) if front.kind == Kind::Probe => {
                self.in_flight.pop_front();
                Ok(None)
            }
            (ReplyShape::Message, StatusLine::Ok(status)) => {
                let announced = if front.kind == Kind::Retr { announced_size(&status.text) } else { None };
                match announced {
                    Some(size) => self.decoder.expect_message(size),
                    None => self.decoder.expect_block(BlockKind::Message),
                }
                Ok(Some(Event::MessageStart { id: front.id, status, announced_size: announced }))
            }
            (_, StatusLine::Ok(status)) => {
                let mut done = self.in_flight.pop_front().expect("front exists");
                self.reply_completed();
                let result = self.on_ok(&mut done, status);
                Ok(Some(Event::Done { id: done.id, result }))
            }
            (_, StatusLine::Err(status)) => {
                let done = self.in_flight.pop_front().expect("front exists");
                self.reply_completed();
                let error = self.on_err(done.kind, &done.label, done.sasl, status).with_command(done.keyword);
                Ok(Some(Event::Done { id: done.id, result: Err(error) }))
            }
        }
    }

    /// `status` with credentials removed from its text (and from an unknown response code).
    fn redact_status(&self, mut status: StatusText) -> StatusText {
        if self.redactor.is_empty() {
            return status;
        }
        status.text = self.redactor.redact_str(&status.text).into_owned();
        if let Some(crate::proto::ResponseCode::Other(code)) = &status.code {
            status.code = Some(crate::proto::ResponseCode::Other(self.redactor.redact_str(code).into_owned()));
        }
        status
    }

    fn on_greeting<'a>(&mut self, line: &[u8]) -> Result<Event<'a>> {
        // Commands (and their credentials) may be queued before the greeting arrives: its
        // texts are redacted too. The APOP timestamp is taken as sent: it feeds the digest.
        match StatusLine::parse(line, false) {
            Ok(StatusLine::Ok(status)) => {
                let apop_timestamp = apop_timestamp(&status.text);
                let greeting = Greeting { status: self.redact_status(status), apop_timestamp };
                self.greeting = Some(greeting.clone());
                self.state = State::Authorization;
                Ok(Event::Greeting(greeting))
            }
            Ok(StatusLine::Err(status)) => {
                let status = self.redact_status(status);
                let error = Error::from_server(
                    ErrorKind::Server,
                    "the server refused the connection",
                    status.code,
                    &status.text,
                );
                Err(self.fail(error))
            }
            _ => {
                let what = describe_line(&self.redactor.redact(line));
                Err(self.fail(Error::protocol(format!("expected a POP3 greeting, got \"{what}\""))))
            }
        }
    }

    fn on_ok(&mut self, done: &mut InFlight, status: StatusText) -> Result<Reply> {
        match done.kind {
            Kind::Login => {
                if let Some(sasl) = done.sasl.as_mut() {
                    // The server says yes, but a mechanism that authenticates the server (SCRAM)
                    // may not be satisfied: then the session cannot be trusted.
                    if let Err(e) = sasl.mechanism.finish() {
                        return Err(self.fail(e));
                    }
                }
                self.state = State::Transaction;
                self.capabilities_stale = true;
                Ok(Reply::Ok(status))
            }
            Kind::Stls => {
                self.awaiting_tls = true;
                self.capabilities_stale = true;
                Ok(Reply::Ok(status))
            }
            Kind::Utf8 => {
                self.utf8 = true;
                Ok(Reply::Ok(status))
            }
            Kind::Quit => {
                self.state = State::Closed;
                Ok(Reply::Ok(status))
            }
            Kind::Dele => {
                self.marked = self.marked.saturating_add(1);
                Ok(Reply::Ok(status))
            }
            Kind::Rset => {
                self.marked = 0;
                Ok(Reply::Ok(status))
            }
            Kind::Stat => {
                let stat = parse_stat(&status.text)
                    .ok_or_else(|| Error::protocol(format!("cannot read the STAT reply \"{}\"", status.text)))?;
                self.stat_count = Some(stat.count);
                Ok(Reply::Stat(stat))
            }
            Kind::ListOne(asked) => {
                let entry = parse_list_entry(&status.text).ok_or_else(|| unreadable(&done.label, &status))?;
                check_answers_for(asked, entry.msg, &done.label, &status)?;
                Ok(Reply::ListOne(entry))
            }
            Kind::UidlOne(asked) => {
                let entry = parse_uid_entry(&status.text).ok_or_else(|| unreadable(&done.label, &status))?;
                check_answers_for(asked, entry.msg, &done.label, &status)?;
                Ok(Reply::UidlOne(entry))
            }
            Kind::Capa
            | Kind::Languages
            | Kind::List
            | Kind::Uidl
            | Kind::Retr
            | Kind::Top
            | Kind::User
            | Kind::Other
            | Kind::Probe => Ok(Reply::Ok(status)),
        }
    }

    fn on_err(&mut self, kind: Kind, label: &str, sasl: Option<Sasl>, status: StatusText) -> Error {
        match kind {
            Kind::Login | Kind::User => {
                if let Some(sasl) = sasl {
                    // A mechanism's explanation may quote what the server sent (SCRAM's `e=`,
                    // an OAuth server's JSON): redacted like every server text.
                    if let Some(failure) = sasl.failure {
                        return failure.redacted(&self.redactor);
                    }
                    if let Some(detail) = sasl.mechanism.failure_detail() {
                        let detail = self.redactor.redact_str(&detail).into_owned();
                        return Error::from_server(ErrorKind::Auth, detail, status.code, &status.text);
                    }
                }
                let what =
                    if kind == Kind::User { "the server refused the user name" } else { "authentication failed" };
                Error::from_server(ErrorKind::Auth, what, status.code, &status.text)
            }
            Kind::Quit => {
                self.state = State::Closed;
                Error::from_server(
                    ErrorKind::Server,
                    "QUIT failed: the server may not have deleted the messages marked for deletion",
                    status.code,
                    &status.text,
                )
            }
            _ => {
                Error::from_server(ErrorKind::Server, format!("the server refused {label}"), status.code, &status.text)
            }
        }
    }

    fn on_sasl_challenge(&mut self, data: &[u8]) -> Result<()> {
        let front = self.in_flight.front_mut().expect("a SASL command is in flight");
        let Some(sasl) = front.sasl.as_mut() else {
            return Err(self.fail(Error::protocol("the server sent a SASL challenge to a command that is not AUTH")));
        };
        if sasl.failure.is_some() {
            return Err(self.fail(Error::protocol("the server kept challenging after the client cancelled AUTH")));
        }
        // Some servers send a text prompt such as "+ go ahead" instead of base64 (MailKit#268):
        // treat anything that is not base64 as an empty challenge.
        let challenge = BASE64.decode(data).unwrap_or_default();
        let response = match sasl.deferred_initial.take() {
            Some(initial) => Ok(initial),
            None => sasl.mechanism.respond(&challenge),
        };
        match response {
            Ok(response) => {
                self.redactor.protect_with_base64(&response);
                let encoded = Zeroizing::new(BASE64.encode(response.as_slice()));
                self.outbox.extend_from_slice(encoded.as_bytes());
                self.outbox.extend_from_slice(b"\r\n");
            }
            Err(e) => {
                // Cancel (RFC 5034 section 4); the server answers -ERR, which reports `e`.
                sasl.failure = Some(e);
                self.outbox.extend_from_slice(b"*\r\n");
            }
        }
        self.stats.round_trips += 1;
        Ok(())
    }

    fn on_list_line(&mut self, line: &[u8]) {
        let front = self.in_flight.front_mut().expect("a list command is in flight");
        let redactor = &self.redactor;
        match front.collecting.as_mut().expect("collecting a list") {
            // Parsed as sent; the free texts are redacted when the listing ends.
            Collecting::Capabilities(caps) => caps.add_line(line),
            Collecting::List(listing) => push_parsed(listing, line, parse_list_entry, redactor),
            Collecting::Uidl(listing) => push_parsed(listing, line, parse_uid_entry, redactor),
            Collecting::Languages(languages) => {
                if let Some(language) = parse_language(&redactor.redact_str(&String::from_utf8_lossy(line))) {
                    languages.push(language);
                }
            }
        }
    }

    fn on_block_end<'a>(&mut self) -> Event<'a> {
        let done = self.in_flight.pop_front().expect("a block belongs to a command");
        self.reply_completed();
        let result = match done.collecting {
            Some(Collecting::Capabilities(mut caps)) => {
                // IMPLEMENTATION and unknown lines are free text that reaches the caller.
                if !self.redactor.is_empty() {
                    caps.implementation = caps.implementation.map(|t| self.redactor.redact_str(&t).into_owned());
                    for line in &mut caps.other {
                        *line = self.redactor.redact_str(line).into_owned();
                    }
                }
                if let Some(delay) = caps.login_delay {
                    self.login_delay_seen = Some(self.login_delay_seen.map_or(delay.value, |d| d.max(delay.value)));
                }
                self.capabilities = Some(caps.clone());
                self.capabilities_stale = false;
                Ok(Reply::Capabilities(caps))
            }
            Some(Collecting::List(listing)) => Ok(Reply::List(listing)),
            Some(Collecting::Uidl(listing)) => Ok(Reply::Uidl(listing)),
            Some(Collecting::Languages(languages)) => Ok(Reply::Languages(languages)),
            None => Ok(Reply::MessageEnd),
        };
        Event::Done { id: done.id, result }
    }
}

fn push_parsed<T>(listing: &mut Listing<T>, line: &[u8], parse: fn(&str) -> Option<T>, redactor: &Redactor) {
    let text = String::from_utf8_lossy(line);
    match parse(&text) {
        Some(entry) => listing.entries.push(entry),
        // Malformed lines end up in errors and warnings: redacted.
        None => listing.malformed.push(redactor.redact_str(&text).into_owned()),
    }
}

fn unreadable(label: &str, status: &StatusText) -> Error {
    Error::protocol(format!("cannot read the reply to {label}: \"{}\"", describe_line(status.text.as_bytes())))
}

/// `LIST n` and `UIDL n` must answer for message n: an answer about another message would be
/// taken for n's. The reply was complete, so the session stays in step and usable.
fn check_answers_for(asked: MsgNum, answered: MsgNum, label: &str, status: &StatusText) -> Result<()> {
    if asked == answered {
        return Ok(());
    }
    Err(Error::protocol(format!(
        "the server answered {label} about message {answered}: \"{}\"",
        describe_line(status.text.as_bytes())
    )))
}

/// The last `<...>` in the greeting, if it looks like an RFC 822 msg-id (it contains `@`).
fn apop_timestamp(text: &str) -> Option<String> {
    let start = text.rfind('<')?;
    let end = start + text[start..].find('>')?;
    let stamp = &text[start..=end];
    (stamp.contains('@') && !stamp[1..].contains('<')).then(|| stamp.to_owned())
}

#[cfg(test)]
mod tests;
