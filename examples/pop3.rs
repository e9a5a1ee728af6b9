//! A small native POP3 client on the library: capabilities, listing and pipelined download
//! into a Maildir. It shows the API and measures the engine without wasm.
//!
//! ```text
//! POP3_PASSWORD=secret cargo run --release --example pop3 -- \
//!     --host 127.0.0.1 --port 110 --user alice --allow-cleartext fetch ./Maildir
//! ```
//! Commands: `capa`, `stat`, `list`, `uidl`, `fetch DIR [--delete]`, `top N [LINES]`. `fetch`
//! is the library's sync into a Maildir (only new messages, streamed to disk, state kept in
//! the Maildir), as `pop3 fetch` in the npm package does, sharing the same Maildir.
//! The password comes from `POP3_PASSWORD` or the output of `--password-command CMD`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native;
use pop3_wasm::proto::MsgNum;
use pop3_wasm::sync::MaildirSink;
use pop3_wasm::sync::{self, Retention, SyncOptions};
use pop3_wasm::{Error, ErrorKind, Secret};

struct Args {
    host: String,
    port: u16,
    user: String,
    auth: AuthMethod,
    allow_cleartext: bool,
    timeout: Duration,
    password_command: Option<String>,
    window: usize,
    command: Vec<String>,
    delete: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: pop3 --host HOST [--port 110] --user USER [--auth auto|user|apop|plain|login|cram-md5]\n\
         \x20          [--allow-cleartext] [--timeout SECS] [--window N] [--password-command CMD]\n\
         \x20          capa | stat | list | uidl | top N [LINES] | fetch DIR [--delete]\n\
         The password is read from POP3_PASSWORD or from the output of --password-command."
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        host: String::new(),
        port: 110,
        user: String::new(),
        auth: AuthMethod::Auto,
        allow_cleartext: false,
        timeout: Duration::from_secs(30),
        password_command: None,
        window: pop3_wasm::engine::Config::default().max_in_flight,
        command: Vec::new(),
        delete: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--host" => args.host = value(),
            "--port" => args.port = value().parse().unwrap_or_else(|_| usage()),
            "--user" => args.user = value(),
            "--auth" => {
                args.auth = AuthMethod::parse(&value()).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                })
            }
            "--allow-cleartext" => args.allow_cleartext = true,
            "--timeout" => args.timeout = Duration::from_secs_f64(value().parse().unwrap_or_else(|_| usage())),
            "--window" => args.window = value().parse().unwrap_or_else(|_| usage()),
            "--password-command" => args.password_command = Some(value()),
            "--delete" => args.delete = true,
            "-h" | "--help" => usage(),
            _ if arg.starts_with("--") => usage(),
            _ => args.command.push(arg),
        }
    }
    if args.host.is_empty() || args.user.is_empty() || args.command.is_empty() {
        usage();
    }
    args
}

fn password(args: &Args) -> Result<Secret, Error> {
    if let Some(cmd) = &args.password_command {
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .output()
            .map_err(|e| Error::new(ErrorKind::Usage, format!("cannot run the password command: {e}")))?;
        if !out.status.success() {
            return Err(Error::new(ErrorKind::Usage, "the password command failed"));
        }
        let text =
            String::from_utf8(out.stdout).map_err(|_| Error::new(ErrorKind::Usage, "the password is not UTF-8"))?;
        return Ok(Secret::new(text.trim_end_matches(['\r', '\n'])));
    }
    std::env::var("POP3_PASSWORD")
        .map(Secret::new)
        .map_err(|_| Error::new(ErrorKind::Usage, "set POP3_PASSWORD or use --password-command"))
}

async fn run(args: Args) -> Result<(), Error> {
    let started = Instant::now();
    let mut config = ClientConfig { reply_timeout: Some(args.timeout), ..ClientConfig::default() };
    config.engine.max_in_flight = args.window.max(1);
    let mut client = native::connect(&args.host, args.port, config).await?;
    let credentials = Credentials::new(args.user.clone(), password(&args)?);
    let options = LoginOptions { method: args.auth.clone(), allow_cleartext: args.allow_cleartext };
    let method = client.login(&credentials, &options).await?;
    eprintln!("logged in with {method}");
    match args.command[0].as_str() {
        "capa" => println!("{:#?}", client.capa().await?),
        "stat" => {
            let stat = client.stat().await?;
            println!("{} messages, {} octets", stat.count, stat.size);
        }
        "list" => {
            for e in client.list().await? {
                println!("{} {}", e.msg, e.size);
            }
        }
        "uidl" => {
            for e in client.uidl().await? {
                println!("{} {}", e.msg, e.uid);
            }
        }
        "top" => {
            let n: u32 = args.command.get(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
            let lines: u32 = args.command.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
            let body = client.top(MsgNum::new(n)?, lines).await?;
            use std::io::Write;
            let _ = std::io::stdout().write_all(&body);
        }
        "fetch" => {
            // The library's sync into its streaming Maildir sink: only what is new, each
            // message written to disk as it arrives, recorded in the Maildir's state.
            let dir = PathBuf::from(args.command.get(1).unwrap_or_else(|| usage()));
            let mut sink = MaildirSink::open(&dir)?;
            let account = format!("{}@{}", args.user, args.host);
            let mut state = sink.load_state(&account)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let retention = if args.delete { Retention::DeleteAfterSave } else { Retention::Keep };
            let options = SyncOptions { retention, now, ..SyncOptions::default() };
            let report = sync::sync(&mut client, &mut state, &options, &mut sink).await?;
            let stats = client.stats();
            eprintln!(
                "fetched {} messages, {} octets in {:.3} s; {} already fetched, {} deleted; {} round trips, {} commands",
                report.saved,
                report.bytes,
                started.elapsed().as_secs_f64(),
                report.already_saved,
                report.deleted,
                stats.round_trips,
                stats.commands
            );
            for warning in &report.warnings {
                eprintln!("pop3: warning: {warning}");
            }
            return Ok(());
        }
        _ => usage(),
    }
    client.quit().await
}

fn main() -> ExitCode {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3: {e}");
            ExitCode::from(match e.kind() {
                ErrorKind::Usage => 2,
                ErrorKind::Auth => 3,
                ErrorKind::Server => 4,
                ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Transport => 5,
                ErrorKind::Tls => 6,
                _ => 1,
            })
        }
    }
}
