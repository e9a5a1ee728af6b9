//! The sans-I/O engine driven by blocking `std::net::TcpStream`: no async runtime, no client
//! type, nothing but the [`Engine`] and a socket. It logs in (SCRAM-SHA-256 when offered,
//! else APOP or CRAM-MD5, else USER/PASS when `--allow-cleartext` is given), lists the mailbox
//! and retrieves every message with pipelined `RETR`s, printing one line per message. Nothing
//! is deleted.
//!
//! ```text
//! POP3_PASSWORD=secret cargo run --example engine_std -- 127.0.0.1 110 alice
//! ```
//!
//! The whole driver is [`Session`]: write what [`Engine::poll_transmit`] hands out, read into a
//! buffer, feed it to [`Engine::handle_input`] until it has no more events, and bound every
//! read by the socket's timeout (then [`Engine::handle_timeout`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pop3_wasm::auth::{self, AuthMethod, Credentials, OsRandom};
use pop3_wasm::engine::{CommandId, Config, Engine, Event, Reply};
use pop3_wasm::proto::{Command, MsgNum};
use pop3_wasm::{Error, Result};

/// One message as retrieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its number in this session.
    pub msg: MsgNum,
    /// Its unique id (UIDL).
    pub uid: String,
    /// The message, unstuffed, with CRLF line ends.
    pub bytes: Vec<u8>,
}

/// A blocking POP3 session: an [`Engine`] and a socket.
pub struct Session {
    engine: Engine,
    socket: TcpStream,
    /// Received bytes not yet used by the engine (an incomplete line).
    input: Vec<u8>,
}

impl Session {
    /// Connects and waits for the greeting. Every read waits at most `timeout`.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<Session> {
        let socket = TcpStream::connect((host, port)).map_err(|e| {
            Error::from_io(pop3_wasm::ErrorKind::Transport, &format!("cannot connect to {host}:{port}"), e)
        })?;
        socket
            .set_read_timeout(Some(timeout))
            .map_err(|e| Error::from_io(pop3_wasm::ErrorKind::Transport, "socket", e))?;
        let _ = socket.set_nodelay(true);
        let mut session = Session { engine: Engine::new(Config::default()), socket, input: Vec::new() };
        session.run_until(|event| matches!(event, Event::Greeting(_)), |_| {})?;
        Ok(session)
    }

    /// Logs in with the strongest method the server offers (see [`auth::choose`]).
    pub fn login(&mut self, credentials: &Credentials, allow_cleartext: bool) -> Result<AuthMethod> {
        self.engine.protect_secret(&credentials.secret);
        self.call(Command::Capa)?;
        let offer = auth::Offer {
            capabilities: self.engine.capabilities(),
            apop_timestamp: self.engine.greeting().and_then(|g| g.apop_timestamp.as_deref()),
            encrypted: false,
        };
        let method = auth::choose(&AuthMethod::Auto, offer, allow_cleartext)?;
        let login = match &method {
            AuthMethod::UserPass => {
                self.call(Command::user(&credentials.user)?)?;
                self.engine.send(Command::pass(&credentials.secret)?)?
            }
            AuthMethod::Apop => {
                let timestamp = offer.apop_timestamp.expect("choose checked the timestamp").to_owned();
                let digest = auth::apop_digest(&timestamp, &credentials.secret);
                self.engine.send(Command::apop(&credentials.user, digest)?)?
            }
            AuthMethod::Sasl(name) => self.engine.authenticate(auth::mechanism(name, credentials, &mut OsRandom)?)?,
            AuthMethod::Auto => unreachable!("choose resolves Auto"),
        };
        self.wait(login)?;
        Ok(method)
    }

    /// Lists the mailbox by UIDL and retrieves every message, pipelined when the server
    /// offers PIPELINING (the engine decides how many commands are in flight).
    pub fn fetch_all(&mut self, mut each: impl FnMut(&Fetched)) -> Result<usize> {
        // Capabilities may change after login (RFC 2449): PIPELINING is read from these.
        self.call(Command::Capa)?;
        let uids = match self.call(Command::Uidl(None))? {
            Reply::Uidl(listing) => listing.entries,
            _ => return Err(Error::protocol("the reply to UIDL is not a listing")),
        };
        let mut pending = std::collections::VecDeque::new();
        for entry in &uids {
            pending.push_back((self.engine.send(Command::Retr(entry.msg))?, entry.msg, entry.uid.clone()));
        }
        let mut current: Vec<u8> = Vec::new();
        let mut done = 0;
        while let Some((id, msg, uid)) = pending.pop_front() {
            let mut failure = None;
            self.run_until(
                |event| matches!(event, Event::Done { id: got, .. } if *got == id),
                |event| match event {
                    Event::MessageData { id: got, data } if *got == id => current.extend_from_slice(data),
                    Event::Done { id: got, result: Err(e) } if *got == id => failure = Some(e.clone()),
                    _ => {}
                },
            )?;
            if let Some(e) = failure {
                return Err(e);
            }
            each(&Fetched { msg, uid, bytes: std::mem::take(&mut current) });
            done += 1;
        }
        Ok(done)
    }

    /// Sends QUIT and waits for its answer.
    pub fn quit(mut self) -> Result<()> {
        self.call(Command::Quit).map(drop)
    }

    /// Sends `command` and waits for its reply.
    fn call(&mut self, command: Command) -> Result<Reply> {
        let id = self.engine.send(command)?;
        self.wait(id)
    }

    /// Waits for command `id` and returns its reply (message data is not expected).
    fn wait(&mut self, id: CommandId) -> Result<Reply> {
        let mut outcome = None;
        self.run_until(
            |event| matches!(event, Event::Done { id: got, .. } if *got == id),
            |event| {
                if let Event::Done { id: got, result } = event {
                    if *got == id {
                        outcome = Some(result.clone());
                    }
                }
            },
        )?;
        outcome.expect("run_until stops at the reply")
    }

    /// The I/O loop: writes what the engine has queued, reads, and hands every event to
    /// `seen` until `stop` says so.
    fn run_until(&mut self, stop: impl Fn(&Event<'_>) -> bool, mut seen: impl FnMut(&Event<'_>)) -> Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // Events from what was already received, before reading more.
            let mut used = 0;
            let mut stopped = false;
            loop {
                let (n, event) = self.engine.handle_input(&self.input[used..])?;
                used += n;
                let Some(event) = event else { break };
                seen(&event);
                if stop(&event) {
                    stopped = true;
                    break;
                }
            }
            self.input.drain(..used);
            if stopped {
                return Ok(());
            }
            // Queued commands, and what the engine queued in reaction (SASL steps, a NOOP
            // probe), go out before the read that waits for their answers.
            while let Some(bytes) = self.engine.poll_transmit() {
                if let Err(e) = self.socket.write_all(&bytes) {
                    return Err(self.io_failed("cannot send", e));
                }
            }
            match self.socket.read(&mut buf) {
                Ok(0) => {
                    self.engine.handle_eof()?;
                    return Err(Error::closed("the server closed the connection"));
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(self.engine.handle_timeout());
                }
                Err(e) => return Err(self.io_failed("cannot read", e)),
            }
        }
    }

    fn io_failed(&mut self, context: &str, e: std::io::Error) -> Error {
        self.engine.handle_transport_error(Error::from_io(pop3_wasm::ErrorKind::Transport, context, e))
    }
}

/// What the example prints: one line per message, then a summary.
pub fn run(host: &str, port: u16, user: &str, password: &str, allow_cleartext: bool) -> Result<Vec<Fetched>> {
    let mut session = Session::connect(host, port, Duration::from_secs(30))?;
    let method = session.login(&Credentials::new(user, password), allow_cleartext)?;
    eprintln!("logged in with {method}");
    let mut all = Vec::new();
    session.fetch_all(|m| {
        let subject = subject(&m.bytes).unwrap_or_default();
        println!("{:>5} {:>9} {} {}", m.msg, m.bytes.len(), m.uid, subject);
        all.push(m.clone());
    })?;
    session.quit()?;
    eprintln!("{} messages", all.len());
    Ok(all)
}

/// The first `Subject:` header line's text (unfolded lines only; enough for a listing).
fn subject(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let headers = text.split("\r\n\r\n").next()?;
    headers.lines().find_map(|l| l.strip_prefix("Subject:")).map(|s| s.trim().to_owned())
}

#[allow(dead_code)] // a test includes this file and calls `run`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let allow_cleartext = args.iter().any(|a| a == "--allow-cleartext");
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [host, port, user] = args.as_slice() else {
        eprintln!("usage: POP3_PASSWORD=... engine_std HOST PORT USER [--allow-cleartext]");
        std::process::exit(2);
    };
    let Ok(port) = port.parse() else {
        eprintln!("engine_std: {port:?} is not a port number");
        std::process::exit(2);
    };
    let password = std::env::var("POP3_PASSWORD").unwrap_or_else(|_| {
        eprintln!("engine_std: set POP3_PASSWORD");
        std::process::exit(2);
    });
    if let Err(e) = run(host, port, user, &password, allow_cleartext) {
        eprintln!("engine_std: {e}");
        std::process::exit(1);
    }
}
