//! Fetching 500 messages of about 4 KB from a real Dovecot: this client (pipelined and not)
//! next to Python's `poplib`, directly and through a proxy that adds network latency.
//! Run with `cargo bench --bench fetch`.

#[path = "../tests/support/stack.rs"]
#[allow(dead_code)]
mod stack;

use std::process::Command;
use std::time::{Duration, Instant};

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native;
use pop3_wasm::proto::MsgNum;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MESSAGES: usize = 500;
const RUNS: usize = 5;

fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <s{i}@example.org>\nTo: alice@example.org\nSubject: Benchmark message {i}\n\
         Message-ID: <bench-{i}@example.org>\n\n"
    );
    let mut line = 0u32;
    while m.len() < 4000 {
        m.push_str(&format!(
            "{}{i:05}-{line:03} lorem ipsum dolor sit amet, consectetur adipiscing elit\n",
            if line.is_multiple_of(20) { "." } else { "" }
        ));
        line += 1;
    }
    m.into_bytes()
}

/// Relays TCP to `target` on a thread of its own, delaying every chunk by `delay` in each
/// direction. Returns the port to connect to.
fn latency_proxy(target: u16, delay: Duration) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, delay));
                tokio::spawn(pipe(sr, cw, delay));
            }
        });
    });
    rx.recv().unwrap()
}

async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || tx.send((tokio::time::Instant::now() + delay, buf[..n].to_vec())).is_err() {
            break;
        }
    }
}

struct Run {
    best: Duration,
    round_trips: u64,
    commands: u64,
    octets: usize,
}

async fn fetch_all(port: u16, password: &str, pipelining: bool) -> Run {
    let mut best = Duration::MAX;
    let (mut round_trips, mut commands, mut octets) = (0, 0, 0);
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut config = ClientConfig::default();
        config.engine.pipelining = pipelining;
        let mut client = native::connect("127.0.0.1", port, config).await.unwrap();
        let options = LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true };
        client.login(&Credentials::new("alice", password), &options).await.unwrap();
        let count = client.stat().await.unwrap().count;
        let msgs: Vec<MsgNum> = (1..=count).map(|i| MsgNum::new(i).unwrap()).collect();
        let mut total = 0;
        client
            .retr_many(&msgs, |_, body| {
                total += body?.len();
                Ok(())
            })
            .await
            .unwrap();
        let stats = client.stats();
        client.quit().await.unwrap();
        best = best.min(started.elapsed());
        (round_trips, commands, octets) = (stats.round_trips + 1, stats.commands + 1, total);
    }
    Run { best, round_trips, commands, octets }
}

fn poplib(port: u16, password: &str) -> (Duration, u64) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/poplib_fetch.py");
    let out = Command::new("python3")
        .args([script, "127.0.0.1", &port.to_string(), "alice", password, &RUNS.to_string()])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (Duration::from_secs_f64(v["best_s"].as_f64().unwrap()), v["commands"].as_u64().unwrap())
}

fn main() {
    let mail: Vec<Vec<u8>> = (1..=MESSAGES).map(message).collect();
    let dir = stack::mail_dir(&mail);
    let stack = stack::Stack::start(&["--mail", dir.path().to_str().unwrap()]);
    let password = stack.password("alice");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let avg = mail.iter().map(Vec::len).sum::<usize>() / mail.len();
    println!("fetch benchmark: {MESSAGES} messages of about {avg} octets from Dovecot, best of {RUNS} runs");
    println!("(round trips: times the client waited with nothing in flight, counting connect and QUIT)");
    for delay_ms in [0u64, 5] {
        let port = if delay_ms == 0 {
            stack.pop3_port()
        } else {
            latency_proxy(stack.pop3_port(), Duration::from_millis(delay_ms))
        };
        println!(
            "\n  network: loopback{}",
            if delay_ms > 0 { format!(" + {delay_ms} ms each way ({} ms RTT)", 2 * delay_ms) } else { String::new() }
        );
        for (name, pipelining) in [("pop3-wasm, pipelined", true), ("pop3-wasm, one at a time", false)] {
            let run = runtime.block_on(fetch_all(port, &password, pipelining));
            println!(
                "    {name:<26} {:>8.1} ms  {:>4} round trips  {:>4} commands  {} octets",
                run.best.as_secs_f64() * 1e3,
                run.round_trips,
                run.commands,
                run.octets
            );
        }
        let (best, commands) = poplib(port, &password);
        println!(
            "    {:<26} {:>8.1} ms  {:>4} round trips  {:>4} commands",
            "python poplib",
            best.as_secs_f64() * 1e3,
            commands + 1,
            commands
        );
    }
}
