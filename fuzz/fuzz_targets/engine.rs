//! Fuzzes the session engine with a client that queues a fixed script of commands and a
//! server that sends arbitrary bytes in arbitrary chunks. The engine must never panic and
//! must report a message as complete only after its terminator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_wasm::auth::{Bearer, BearerKind, CramMd5, Plain, Scram, ScramHash};
use pop3_wasm::engine::{Config, Engine, Event};
use pop3_wasm::proto::{Command, Limits, MsgNum};
use pop3_wasm::Secret;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else { return };
    let config = Config {
        limits: Limits { max_line: 64, max_message: 4096, max_list: 1024 },
        max_in_flight: 1 + (selector as usize % 8),
        pipelining: selector & 0x80 != 0,
    };
    let mut engine = Engine::new(config);
    let n = |v| MsgNum::new(v).unwrap();
    let _ = engine.send(Command::Capa);
    let secret = || Secret::new("pw");
    match selector % 6 {
        0 => {
            let _ = engine.send(Command::user("alice").unwrap());
            let _ = engine.send(Command::pass(&secret()).unwrap());
        }
        1 => {
            let _ = engine.authenticate(Box::new(Plain::new("alice".into(), secret())));
        }
        2 => {
            let _ = engine.authenticate(Box::new(CramMd5::new("alice".into(), secret())));
        }
        3 => {
            // A fixed nonce so the fuzzer can reach the server-final step.
            let m = Scram::with_nonce(ScramHash::Sha1, "alice".into(), secret(), "n".into());
            let _ = engine.authenticate(Box::new(m));
        }
        4 => {
            let _ = engine.authenticate(Box::new(Bearer::new(BearerKind::OAuthBearer, "alice".into(), secret(), None, None)));
        }
        _ => {
            let _ = engine.send(Command::Stls);
        }
    }
    let mut pending = Vec::new();
    let mut queued_transaction = false;
    for chunk in data.chunks(1 + selector as usize % 13) {
        let _ = engine.poll_transmit();
        pending.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            match engine.handle_input(&pending[pos..]) {
                Ok((used, event)) => {
                    pos += used;
                    match event {
                        None => break,
                        Some(Event::MessageData { data, .. }) => assert!(!data.is_empty()),
                        Some(_) => {}
                    }
                }
                Err(_) => {
                    // Fatal errors are sticky.
                    assert!(engine.handle_input(b"+OK\r\n").is_err());
                    return;
                }
            }
        }
        pending.drain(..pos);
        if engine.state() == pop3_wasm::engine::State::Transaction && !queued_transaction {
            queued_transaction = true;
            for cmd in [
                Command::Stat,
                Command::List(None),
                Command::Uidl(None),
                Command::Retr(n(1)),
                Command::Top(n(2), 3),
                Command::Dele(n(1)),
                Command::Quit,
            ] {
                let _ = engine.send(cmd);
            }
        }
    }
    let _ = engine.handle_eof();
});
