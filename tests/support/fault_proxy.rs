//! A TCP proxy between the client and a real server that cuts the connection at a chosen
//! point: after a number of bytes from the server, or at a chosen command (before forwarding
//! it, or after forwarding it and before the reply reaches the client).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Where to cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// After this many bytes from the server have reached the client.
    ServerBytes(usize),
    /// Instead of forwarding the `n`-th (from 1) command starting with the keyword.
    BeforeCommand(&'static str, usize),
    /// After forwarding the `n`-th command with the keyword, once the server starts replying,
    /// before any of the reply reaches the client (the server acted; the client never knows).
    AfterCommand(&'static str, usize),
    /// After forwarding the `n`-th command with the keyword and this many bytes of its reply.
    DuringReply(&'static str, usize, usize),
}

#[derive(Default)]
struct Shared {
    /// Server bytes still allowed through (None: unlimited).
    budget: Option<usize>,
    cut: bool,
}

/// Starts a proxy to `target` on a free port; the first connection gets `cut`, later ones pass
/// untouched. Returns the port.
pub async fn start(target: u16, cut: Cut) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
            let cut = if first { Some(cut) } else { None };
            first = false;
            tokio::spawn(relay(client, server, cut));
        }
    });
    port
}

async fn relay(client: TcpStream, server: TcpStream, cut: Option<Cut>) {
    let shared = Arc::new(Mutex::new(Shared {
        budget: match cut {
            Some(Cut::ServerBytes(n)) => Some(n),
            _ => None,
        },
        cut: false,
    }));
    let (client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let down = shared.clone();
    let to_client = tokio::spawn(async move {
        let mut buf = vec![0; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = {
                let mut s = down.lock().unwrap();
                if s.cut {
                    0
                } else {
                    match s.budget {
                        Some(b) if b <= n => {
                            s.cut = true;
                            b
                        }
                        Some(b) => {
                            s.budget = Some(b - n);
                            n
                        }
                        None => n,
                    }
                }
            };
            if allowed > 0 && client_write.write_all(&buf[..allowed]).await.is_err() {
                break;
            }
            if down.lock().unwrap().cut {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    });
    let mut lines = BufReader::new(client_read);
    let mut seen = 0;
    loop {
        let mut line = Vec::new();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if shared.lock().unwrap().cut {
            break;
        }
        let keyword = |word: &str| line.len() >= word.len() && line[..word.len()].eq_ignore_ascii_case(word.as_bytes());
        match cut {
            Some(Cut::BeforeCommand(word, n)) if keyword(word) => {
                seen += 1;
                if seen == n {
                    shared.lock().unwrap().cut = true;
                    break;
                }
            }
            Some(Cut::AfterCommand(word, n)) if keyword(word) => {
                seen += 1;
                if seen == n {
                    shared.lock().unwrap().budget = Some(0);
                }
            }
            Some(Cut::DuringReply(word, n, bytes)) if keyword(word) => {
                seen += 1;
                if seen == n {
                    shared.lock().unwrap().budget = Some(bytes);
                }
            }
            _ => {}
        }
        if server_write.write_all(&line).await.is_err() {
            break;
        }
    }
    // Give the server a moment to act on what it got (QUIT), then drop everything.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let _ = server_write.shutdown().await;
    to_client.abort();
}
