//! The command line (`wasi:cli/run`): `capa`, `list [--headers]`, `retr N` and
//! `fetch --maildir DIR`, with the options and exit codes of the npm package's `pop3` command.
//!
//! It is a client of the component's own `session` interface (the same Rust the export runs),
//! so everything it does goes through the code a host calls. `fetch` drives a `sync-run` and
//! carries out its steps with the core's `MaildirSink` (std::fs, in a directory the host
//! preopens), keeping the state file in the Maildir like the other tools do.

use std::io::Write;
use std::process::ExitCode;

use pop3_wasm::sync::MaildirSink;
use pop3_wasm::sync::{Saved, SyncSink, SyncState};
use pop3_wasm::ErrorKind;

use crate::bindings::exports::pop3::client::session as wit;
use crate::bindings::exports::pop3::client::session::GuestSession;
use crate::bindings::exports::pop3::client::types::Error as WitError;
use crate::runtime::{block_on, Clock};
use crate::session::{info_of, kind_of, Session};

const HELP: &str = "pop3 - a POP3 client (pop3-wasm, WebAssembly component)

Usage:
  pop3 [options] capa [--login]              what the server supports
  pop3 [options] list [--headers]            messages: number, size, UID (and Date, From, Subject)
  pop3 [options] retr N                      message N to stdout, as the server sent it
  pop3 [options] fetch --maildir DIR [--delete]
                                             new messages into a Maildir (state kept in it)

Connection:
  --host H                 server name or address (required)
  --port N                 default 110, or 995 with --tls implicit
  --tls MODE               none (default), implicit (POP3S) or starttls (STLS)
  --ca FILE                PEM CA certificate(s) to trust besides Mozilla's roots (repeatable)
  --ca-only                trust only the --ca certificates
  --pin PIN                accept exactly the certificate with this SHA-256 fingerprint
  --servername NAME        the name the certificate must carry (default: --host)
  --timeout SECS           longest silence while waiting for a reply (default 60)
  --connect-timeout SECS   longest wait for the connection (default 30)

Login:
  --user U                 user name (or env POP3_USER)
  --auth MECH              auto (default), user, apop, plain, login, cram-md5, scram-sha-1,
                           scram-sha-256, xoauth2, oauthbearer
  --allow-cleartext        allow sending the password itself without TLS
  --password-env VAR       read the password from env VAR (default POP3_PASSWORD)
  The password is never taken from the arguments. Under wasmtime, pass the variable on:
  --env POP3_PASSWORD.

Output:
  -q, --quiet              no summary on stderr
  -h, --help, -V, --version

Files (--ca, --maildir) are paths inside the directories the host preopens (wasmtime --dir).

Errors are one line on stderr: \"pop3: CLASS: message\", CLASS being usage, auth, server,
protocol, limit, timeout, closed, transport, tls (the library's error classes) or local (the
Maildir). WASI 0.2 passes only success or failure on as the exit status: wasmtime exits 0 or 1.
(The status the component asks for is that of the npm package's pop3: 2 usage, 3 auth,
4 server, 5 network, 6 TLS, 7 protocol or limit, 8 local, 1 anything else.)
";

/// A failure of the command: its class (the error kind's name, or `local`) and exit code.
struct Failure {
    class: &'static str,
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure { class: "usage", code: 2, message: message.into() }
    }

    fn local(message: impl Into<String>) -> Failure {
        Failure { class: "local", code: 8, message: message.into() }
    }
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => 2,
        ErrorKind::Auth => 3,
        ErrorKind::Server => 4,
        ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Transport => 5,
        ErrorKind::Tls => 6,
        ErrorKind::Protocol | ErrorKind::Limit => 7,
        _ => 1,
    }
}

impl From<WitError> for Failure {
    fn from(e: WitError) -> Failure {
        let kind = kind_of(&e);
        Failure { class: kind.as_str(), code: exit_code(kind), message: info_of(&e).message.clone() }
    }
}

struct Args {
    host: String,
    port: Option<u16>,
    tls: wit::TlsMode,
    ca: Vec<String>,
    ca_only: bool,
    pin: Option<String>,
    server_name: Option<String>,
    timeout_ms: Option<u32>,
    connect_timeout_ms: Option<u32>,
    user: Option<String>,
    auth: wit::AuthMethod,
    allow_cleartext: bool,
    password_env: String,
    quiet: bool,
    login_for_capa: bool,
    headers: bool,
    maildir: Option<String>,
    delete: bool,
    command: Vec<String>,
}

fn seconds_to_ms(name: &str, text: &str) -> Result<u32, Failure> {
    let secs: f64 = text.parse().map_err(|_| Failure::usage(format!("{name} takes a number of seconds")))?;
    if !(0.0..=4_000_000.0).contains(&secs) {
        return Err(Failure::usage(format!("{name} must be between 0 and 4000000 seconds")));
    }
    Ok((secs * 1000.0).round() as u32)
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>, Failure> {
    let mut args = Args {
        host: String::new(),
        port: None,
        tls: wit::TlsMode::None,
        ca: Vec::new(),
        ca_only: false,
        pin: None,
        server_name: None,
        timeout_ms: None,
        connect_timeout_ms: None,
        user: std::env::var("POP3_USER").ok().filter(|u| !u.is_empty()),
        auth: wit::AuthMethod::Auto,
        allow_cleartext: false,
        password_env: "POP3_PASSWORD".to_owned(),
        quiet: false,
        login_for_capa: false,
        headers: false,
        maildir: None,
        delete: false,
        command: Vec::new(),
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value =
            || inline.clone().or_else(|| it.next()).ok_or_else(|| Failure::usage(format!("{name} needs a value")));
        match name.as_str() {
            // wasmtime passes a `--` after the component's name on (`pop3.wasm -- --host ...`).
            "--" => {}
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("pop3 {} (WebAssembly component)", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--host" => args.host = value()?,
            "--port" => args.port = Some(value()?.parse().map_err(|_| Failure::usage("--port takes a port number"))?),
            "--tls" => {
                args.tls = match value()?.to_ascii_lowercase().as_str() {
                    "none" | "plain" => wit::TlsMode::None,
                    "implicit" | "tls" | "pop3s" => wit::TlsMode::Implicit,
                    "starttls" | "stls" => wit::TlsMode::Starttls,
                    other => {
                        return Err(Failure::usage(format!(
                            "unknown TLS mode {other:?}; use none, implicit or starttls"
                        )))
                    }
                }
            }
            "--ca" => {
                let path = value()?;
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    Failure::usage(format!("cannot read the CA file {path}: {e} (is its directory preopened?)"))
                })?;
                args.ca.push(pem);
            }
            "--ca-only" => args.ca_only = true,
            "--pin" => args.pin = Some(value()?),
            "--servername" => args.server_name = Some(value()?),
            "--timeout" => args.timeout_ms = Some(seconds_to_ms("--timeout", &value()?)?),
            "--connect-timeout" => args.connect_timeout_ms = Some(seconds_to_ms("--connect-timeout", &value()?)?),
            "--user" => args.user = Some(value()?),
            "--auth" => {
                args.auth = match value()?.to_ascii_lowercase().as_str() {
                    "auto" => wit::AuthMethod::Auto,
                    "user" => wit::AuthMethod::User,
                    "apop" => wit::AuthMethod::Apop,
                    "plain" => wit::AuthMethod::Plain,
                    "login" => wit::AuthMethod::Login,
                    "cram-md5" => wit::AuthMethod::CramMd5,
                    "scram-sha-1" => wit::AuthMethod::ScramSha1,
                    "scram-sha-256" => wit::AuthMethod::ScramSha256,
                    "xoauth2" => wit::AuthMethod::Xoauth2,
                    "oauthbearer" => wit::AuthMethod::Oauthbearer,
                    other => return Err(Failure::usage(format!("unknown authentication method {other:?}"))),
                }
            }
            "--allow-cleartext" => args.allow_cleartext = true,
            "--password-env" => args.password_env = value()?,
            "--password" => {
                return Err(Failure::usage("the password is never taken from the arguments; set POP3_PASSWORD"))
            }
            "-q" | "--quiet" => args.quiet = true,
            "--login" => args.login_for_capa = true,
            "--headers" => args.headers = true,
            "--maildir" => args.maildir = Some(value()?),
            "--delete" => args.delete = true,
            _ if name.starts_with('-') => return Err(Failure::usage(format!("unknown option {name} (see --help)"))),
            _ => args.command.push(arg),
        }
    }
    if args.command.is_empty() {
        return Err(Failure::usage("no command given (see --help)"));
    }
    if args.host.is_empty() {
        return Err(Failure::usage("--host is required"));
    }
    Ok(Some(args))
}

/// Runs the command line; the exit code.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let outcome = parse_args(argv).and_then(|args| match args {
        Some(args) => run(&args),
        None => Ok(()),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // WASI 0.2 passes only success or failure on (wasmtime exits 1 for any code), so
            // the class leads the message.
            eprintln!("pop3: {}: {}", failure.class, one_line(&failure.message));
            ExitCode::from(failure.code)
        }
    }
}

fn connect(args: &Args) -> Result<Session, Failure> {
    let options = wit::ConnectOptions {
        host: args.host.clone(),
        port: args.port,
        tls: args.tls,
        server_name: args.server_name.clone(),
        ca_pem: args.ca.clone(),
        ca_only: args.ca_only,
        pin: args.pin.clone(),
        connect_timeout_ms: args.connect_timeout_ms,
        reply_timeout_ms: args.timeout_ms,
        command_timeout_ms: None,
    };
    Ok(Session::open(options)?)
}

fn login(args: &Args, session: &Session) -> Result<(), Failure> {
    let user = args.user.clone().ok_or_else(|| Failure::usage("--user is required (or POP3_USER)"))?;
    let password = std::env::var(&args.password_env).map_err(|_| {
        Failure::usage(format!("set {} to the password (wasmtime: --env {})", args.password_env, args.password_env))
    })?;
    let options = wit::LoginOptions { method: args.auth, token: false, allow_cleartext: args.allow_cleartext };
    let method = session.login(user, password, options)?;
    if !args.quiet {
        eprintln!("pop3: logged in with {method}");
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), Failure> {
    let command = args.command[0].as_str();
    let operand = args.command.get(1);
    if args.command.len() > 2 || (operand.is_some() && command != "retr") {
        return Err(Failure::usage(format!("unexpected argument {:?}", args.command.last().unwrap())));
    }
    match command {
        "capa" => {
            let session = connect(args)?;
            if args.login_for_capa {
                login(args, &session)?;
            }
            let caps = session.capa()?;
            session.quit()?;
            print_capabilities(&session, caps);
            Ok(())
        }
        "list" => {
            let session = connect(args)?;
            login(args, &session)?;
            list(args, &session)?;
            Ok(session.quit()?)
        }
        "retr" => {
            let n: u32 =
                operand.and_then(|n| n.parse().ok()).ok_or_else(|| Failure::usage("retr takes a message number"))?;
            let session = connect(args)?;
            login(args, &session)?;
            let message = session.retrieve(n)?;
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = message.next_piece()? {
                out.write_all(&chunk).map_err(|e| Failure::local(format!("cannot write to stdout: {e}")))?;
            }
            out.flush().map_err(|e| Failure::local(format!("cannot write to stdout: {e}")))?;
            drop(message);
            Ok(session.quit()?)
        }
        "fetch" => {
            let dir = args.maildir.clone().ok_or_else(|| Failure::usage("fetch needs --maildir DIR"))?;
            let mut sink = MaildirSink::open(&dir).map_err(|e| Failure::local(e.message()))?;
            let account = format!("{}@{}", args.user.as_deref().unwrap_or_default(), args.host);
            let state = sink.load_state(&account).map_err(|e| Failure::usage(e.message()))?;
            let session = connect(args)?;
            login(args, &session)?;
            fetch(args, &session, &mut sink, state, account)
        }
        other => Err(Failure::usage(format!("unknown command {other:?} (see --help)"))),
    }
}

fn print_capabilities(session: &Session, caps: Option<wit::Capabilities>) {
    let tls = session.tls_info();
    let mut out = String::new();
    out.push_str(&format!("greeting: {}\n", session.greeting()));
    if let Some(tls) = tls {
        out.push_str(&format!("tls: {} {}\n", tls.version, tls.cipher));
    }
    let Some(caps) = caps else {
        out.push_str("capabilities: none (the server does not support CAPA)\n");
        print!("{out}");
        return;
    };
    let mut lines: Vec<String> = Vec::new();
    let mut flag = |on: bool, name: &str| {
        if on {
            lines.push(name.to_owned());
        }
    };
    flag(caps.top, "TOP");
    flag(caps.user, "USER");
    flag(caps.uidl, "UIDL");
    flag(caps.resp_codes, "RESP-CODES");
    flag(caps.auth_resp_code, "AUTH-RESP-CODE");
    flag(caps.pipelining, "PIPELINING");
    flag(caps.stls, "STLS");
    flag(caps.utf8, "UTF8");
    flag(caps.lang, "LANG");
    if !caps.sasl.is_empty() {
        lines.push(format!("SASL {}", caps.sasl.join(" ")));
    }
    if let Some(delay) = caps.login_delay {
        lines.push(format!("LOGIN-DELAY {delay}"));
    }
    match caps.expire {
        Some(wit::Expire::Never) => lines.push("EXPIRE NEVER".to_owned()),
        Some(wit::Expire::Days(days)) => lines.push(format!("EXPIRE {days}")),
        None => {}
    }
    if let Some(implementation) = caps.implementation {
        lines.push(format!("IMPLEMENTATION {implementation}"));
    }
    lines.extend(caps.other);
    out.push_str("capabilities:\n");
    for line in lines {
        out.push_str(&format!("  {line}\n"));
    }
    print!("{out}");
}

/// One line of text safe for a terminal: controls and line breaks become spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn list(args: &Args, session: &Session) -> Result<(), Failure> {
    let entries = session.list()?;
    let uids: std::collections::HashMap<u32, String> = match session.uidl() {
        Ok(list) => list.into_iter().map(|e| (e.msg, e.uid)).collect(),
        // A server without UIDL: the column shows '-'.
        Err(WitError::Server(_)) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    let headers = if args.headers {
        let msgs: Vec<u32> = entries.iter().map(|e| e.msg).collect();
        Some(session.top_many(msgs, 0)?)
    } else {
        None
    };
    if entries.is_empty() {
        if !args.quiet {
            println!("No messages.");
        }
        return Ok(());
    }
    let uid_of = |msg: u32| uids.get(&msg).map(|u| one_line(u)).unwrap_or_else(|| "-".to_owned());
    let msg_w = entries.iter().map(|e| e.msg.to_string().len()).max().unwrap_or(0).max(3);
    let size_w = entries.iter().map(|e| e.size.to_string().len()).max().unwrap_or(0).max(4);
    let uid_w = entries.iter().map(|e| uid_of(e.msg).chars().count()).max().unwrap_or(0).max(3);
    let mut out = String::new();
    let mut head = format!("{:>msg_w$}  {:>size_w$}  {:<uid_w$}", "MSG", "SIZE", "UID");
    if args.headers {
        head.push_str(&format!("  {:<16}  {:<24}  SUBJECT", "DATE", "FROM"));
    }
    out.push_str(head.trim_end());
    out.push('\n');
    for (i, e) in entries.iter().enumerate() {
        let mut line = format!("{:>msg_w$}  {:>size_w$}  {:<uid_w$}", e.msg, e.size, uid_of(e.msg));
        if let Some(headers) = &headers {
            match headers.get(i) {
                Some(Ok(raw)) => match pop3_wasm::mime::parse(raw) {
                    Ok(parsed) => {
                        let date = match (&parsed.date, &parsed.date_raw) {
                            (Some(date), _) => date.chars().take(16).collect::<String>().replace('T', " "),
                            (None, Some(raw)) => one_line(raw),
                            (None, None) => "-".to_owned(),
                        };
                        let from = parsed
                            .from
                            .first()
                            .and_then(|a| a.name.clone().or_else(|| a.address.clone()))
                            .map(|f| one_line(&f))
                            .unwrap_or_default();
                        let from: String = if from.chars().count() > 24 {
                            from.chars().take(23).chain(['…']).collect()
                        } else {
                            from
                        };
                        let subject = parsed.subject.as_deref().map(one_line).unwrap_or_else(|| "(no subject)".into());
                        line.push_str(&format!("  {date:<16}  {from:<24}  {subject}"));
                    }
                    Err(e) => line.push_str(&format!("  {:<16}  {:<24}  ({})", "-", "-", one_line(e.message()))),
                },
                Some(Err(e)) => {
                    line.push_str(&format!("  {:<16}  {:<24}  ({})", "-", "-", one_line(&info_of(e).message)))
                }
                None => {}
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The sync run's steps carried out by the core's Maildir sink (its calls complete at once:
/// they are std::fs, blocking).
fn fetch(
    args: &Args,
    session: &Session,
    sink: &mut MaildirSink,
    mut state: SyncState,
    account: String,
) -> Result<(), Failure> {
    let options = wit::SyncOptions {
        account,
        state: Some(state.to_json()),
        journal: None,
        retention: if args.delete { wit::Retention::Delete } else { wit::Retention::Keep },
        max_messages: None,
        record_every: None,
    };
    let run = session.start_sync(options)?;
    let clock = Clock::new();
    // The first local failure: the run is told, cleans up, and this is what the user sees.
    let mut local: Option<String> = None;
    let mut answer: Result<bool, String> = Ok(true);
    loop {
        let step = match run.advance(answer) {
            Ok(step) => step,
            Err(e) => {
                return Err(match local {
                    Some(message) => Failure::local(message),
                    None => e.into(),
                })
            }
        };
        let done: pop3_wasm::Result<bool> = match step {
            wit::SyncStep::Begin(m) => block_on(&clock, sink.begin(&m.uid, m.size)),
            wit::SyncStep::Chunk(chunk) => block_on(&clock, sink.write(&chunk)).map(|()| true),
            wit::SyncStep::Commit => block_on(&clock, sink.commit()).map(|()| true),
            wit::SyncStep::Abort => block_on(&clock, async {
                sink.abort().await;
                Ok(true)
            }),
            wit::SyncStep::Flush => block_on(&clock, sink.flush()).map(|()| true),
            wit::SyncStep::RecordSaved(batch) => {
                let saved: Vec<(String, Saved)> =
                    batch.entries.into_iter().map(|e| (e.uid, Saved { saved_at: e.saved_at, size: e.size })).collect();
                for (uid, s) in &saved {
                    state.messages.insert(uid.clone(), *s);
                }
                block_on(&clock, sink.record(&state, &saved)).map(|()| true)
            }
            wit::SyncStep::SaveState(json) => SyncState::from_json(&json)
                .and_then(|new| {
                    state = new;
                    block_on(&clock, sink.save_state(&state))
                })
                .map(|()| true),
            wit::SyncStep::Done(report) => {
                if !args.quiet {
                    eprintln!(
                        "pop3: {} new message(s), {} octets; {} already fetched, {} deleted, {} left for later",
                        report.saved, report.bytes, report.already_saved, report.deleted, report.remaining
                    );
                    for warning in &report.warnings {
                        eprintln!("pop3: warning: {}", one_line(warning));
                    }
                }
                return Ok(());
            }
        };
        answer = done.map_err(|e| {
            let message = e.message().to_owned();
            local.get_or_insert_with(|| message.clone());
            message
        });
    }
}
