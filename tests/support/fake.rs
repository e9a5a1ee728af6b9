//! A scripted POP3 server for misbehaviour real servers do not show (early close, silence,
//! overlong lines, wrong sizes, one-byte writes). Real behaviour is tested against Dovecot.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One step of a server script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes in one go.
    Send(Vec<u8>),
    /// Write these bytes one at a time, flushing after each.
    SendBytewise(Vec<u8>),
    /// Read one command line and check it starts with this text.
    Expect(&'static str),
    /// Close the connection.
    Close,
    /// Keep the connection open and say nothing for this long.
    Silence(Duration),
    /// Write these bytes again and again until the client stops reading or closes (a reply
    /// without end); records `<wrote N>` with the octets written.
    Endless(Vec<u8>),
    /// Write one octet of these bytes, cycling, at this interval until the client closes (a
    /// reply that trickles in, keeping any idle timeout alive); records `<wrote N>`.
    Trickle(Vec<u8>, Duration),
    /// Wait until the client closes the connection; records `<closed>` when it did within this
    /// long, `<still open>` otherwise.
    AwaitClose(Duration),
}

pub use Step::*;

/// `Send` of a string.
pub fn send(s: &str) -> Step {
    Send(s.as_bytes().to_vec())
}

/// A server that runs `script` for one connection. Returns its port and a handle yielding
/// the command lines it received.
pub async fn serve(script: Vec<Step>) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut read = BufReader::new(read);
        let mut received = Vec::new();
        for step in script {
            match step {
                Send(bytes) => {
                    if write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                SendBytewise(bytes) => {
                    for b in bytes {
                        if write.write_all(&[b]).await.is_err() {
                            break;
                        }
                        let _ = write.flush().await;
                        tokio::task::yield_now().await;
                    }
                }
                Expect(prefix) => {
                    let mut line = String::new();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        received.push("<eof>".to_owned());
                        break;
                    }
                    let line = line.trim_end().to_owned();
                    assert!(line.starts_with(prefix), "the server expected {prefix:?}, got {line:?}");
                    received.push(line);
                }
                Close => break,
                Silence(d) => tokio::time::sleep(d).await,
                Endless(unit) => {
                    let chunk: Vec<u8> = unit.iter().copied().cycle().take(64 * 1024).collect();
                    let mut wrote = 0u64;
                    // A client that stops reading without closing fills the socket buffers:
                    // give up then too, so the test cannot hang here.
                    while let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(10), write.write_all(&chunk)).await
                    {
                        wrote += chunk.len() as u64;
                    }
                    received.push(format!("<wrote {wrote}>"));
                    break;
                }
                Trickle(unit, every) => {
                    let mut wrote = 0u64;
                    for b in unit.iter().copied().cycle() {
                        if write.write_all(&[b]).await.is_err() || write.flush().await.is_err() {
                            break;
                        }
                        wrote += 1;
                        tokio::time::sleep(every).await;
                    }
                    received.push(format!("<wrote {wrote}>"));
                    break;
                }
                AwaitClose(limit) => {
                    let mut sink = Vec::new();
                    let closed =
                        tokio::time::timeout(limit, tokio::io::AsyncReadExt::read_to_end(&mut read, &mut sink)).await;
                    received.push(if closed.is_ok() { "<closed>" } else { "<still open>" }.to_owned());
                    break;
                }
            }
        }
        received
    });
    (port, handle)
}

/// The steps of a USER/PASS login as alice on a server without CAPA.
pub fn login_steps() -> Vec<Step> {
    login_steps_answering_pass("+OK logged in\r\n")
}

/// Like [`login_steps`], with `reply` as the server's answer to PASS (a refusal, say).
pub fn login_steps_answering_pass(reply: &str) -> Vec<Step> {
    vec![
        send("+OK fake server ready\r\n"),
        Expect("CAPA"),
        send("-ERR unknown command\r\n"),
        Expect("USER alice"),
        send("+OK\r\n"),
        Expect("PASS "),
        send(reply),
    ]
}

/// One connection to a [`serve_each`] server: when it was accepted, and the command lines it
/// received.
#[derive(Debug, Clone)]
pub struct Session {
    pub opened: Instant,
    pub commands: Vec<String>,
}

/// A server for any number of connections, answering each command line with
/// `respond(connection, commands)`: `connection` counts accepted connections from 0, and
/// `commands` holds the lines received so far in it, the last being the one to answer.
/// `Some(text)` is written (nothing when empty); `None` closes the connection. Returns the
/// port and the sessions so far (updated as they go).
pub async fn serve_each<F>(greeting: &'static str, respond: F) -> (u16, Arc<Mutex<Vec<Session>>>)
where
    F: Fn(usize, &[String]) -> Option<String> + std::marker::Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let all = sessions.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let index = {
                let mut all = all.lock().unwrap();
                all.push(Session { opened: Instant::now(), commands: Vec::new() });
                all.len() - 1
            };
            let (all, respond) = (all.clone(), respond.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                if write.write_all(greeting.as_bytes()).await.is_err() {
                    return;
                }
                let mut commands = Vec::new();
                loop {
                    let mut line = String::new();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    commands.push(line.trim_end().to_owned());
                    all.lock().unwrap()[index].commands = commands.clone();
                    match respond(index, &commands) {
                        Some(reply) => {
                            if write.write_all(reply.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
            });
        }
    });
    (port, sessions)
}
