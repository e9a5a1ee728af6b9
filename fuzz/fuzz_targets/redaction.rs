//! No error text ever contains a credential, whatever the server sends. The input picks a
//! mechanism and a secret, then scripts the server; the byte 0xFE followed by a selector
//! stands for one of the credential's forms (the secret, its base64, or a line the client put
//! on the wire), so the fuzzer can echo them anywhere: in -ERR replies, SASL challenges, CAPA
//! texts, garbage lines, mid-line, split across chunks.
#![no_main]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use pop3_wasm::auth::{Bearer, BearerKind, CramMd5, Login, Plain, Scram, ScramHash};
use pop3_wasm::engine::{Config, Engine, Event};
use pop3_wasm::proto::{Command, Limits, MsgNum};
use pop3_wasm::{Error, Secret};

fn check(error: &Error, forms: &[String]) {
    let shown = format!("{error} | {error:?} | {} | {}", error.message(), error.server_text().unwrap_or_default())
        .to_ascii_lowercase();
    for form in forms {
        assert!(!shown.contains(&form.to_ascii_lowercase()), "{form:?} leaked into {shown:?}");
    }
}

/// The arguments of the secret-bearing lines in `wire` (what a server could echo).
fn wire_forms(wire: &[u8], forms: &mut Vec<String>) {
    for line in String::from_utf8_lossy(wire).split("\r\n") {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "" | "*" | "USER" | "CAPA" | "STAT" | "LIST" | "UIDL" | "RETR" | "TOP" | "DELE" | "NOOP" | "QUIT" => {}
            "PASS" => forms.push(line[5..].to_owned()),
            "APOP" | "AUTH" if words.len() > 2 => forms.push(words[words.len() - 1].to_owned()),
            "AUTH" => {}
            _ => forms.push(line.to_owned()),
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let [selector, secret_len, rest @ ..] = input else { return };
    let (selector, secret_len) = (*selector, *secret_len);
    let len = 4 + secret_len as usize % 24;
    if rest.len() < len {
        return;
    }
    let (raw_secret, script) = rest.split_at(len);
    // A marker no error template contains, then printable ASCII.
    let secret: String =
        std::iter::once('¤').chain(raw_secret.iter().map(|b| char::from(0x21 + b % 0x5e))).collect();
    let pw = || Secret::new(secret.as_str());
    let config = Config {
        limits: Limits { max_line: 512, max_message: 4096, max_list: 4096 },
        max_in_flight: 4,
        pipelining: selector & 0x80 != 0,
    };
    let mut engine = Engine::new(config);
    let mut forms = vec![secret.clone(), BASE64.encode(&secret)];
    let queued = match selector % 9 {
        0 => engine.send(Command::user("alice").unwrap()).and_then(|_| engine.send(Command::pass(&pw()).unwrap())),
        1 => {
            engine.protect_secret(&pw());
            engine.send(Command::apop("alice", pop3_wasm::auth::apop_digest("<1.2@x>", &pw())).unwrap())
        }
        2 => engine.authenticate(Box::new(Plain::new("alice".into(), pw()))),
        3 => engine.authenticate(Box::new(Login::new("alice".into(), pw()))),
        4 => engine.authenticate(Box::new(CramMd5::new("alice".into(), pw()))),
        5 => engine.authenticate(Box::new(Scram::with_nonce(ScramHash::Sha1, "alice".into(), pw(), "n".into()))),
        6 => engine.authenticate(Box::new(Scram::with_nonce(ScramHash::Sha256, "alice".into(), pw(), "n".into()))),
        7 => engine.authenticate(Box::new(Bearer::new(BearerKind::OAuthBearer, "alice".into(), pw(), None, None))),
        _ => engine.authenticate(Box::new(Bearer::new(BearerKind::XOAuth2, "alice".into(), pw(), None, None))),
    };
    if queued.is_err() {
        return;
    }
    let n = |v| MsgNum::new(v).unwrap();
    let mut queued_more = false;
    let mut pending: Vec<u8> = Vec::new();
    let chunk = 1 + selector as usize % 11;
    let mut i = 0;
    while i < script.len() {
        if let Some(out) = engine.poll_transmit() {
            wire_forms(&out, &mut forms);
        }
        // Expand the next chunk of the script, replacing markers with forms.
        let end = (i + chunk).min(script.len());
        let mut j = i;
        while j < end {
            if script[j] == 0xFE && j + 1 < script.len() {
                let form = &forms[script[j + 1] as usize % forms.len()];
                pending.extend_from_slice(form.as_bytes());
                j += 2;
            } else {
                pending.push(script[j]);
                j += 1;
            }
        }
        i = j;
        let mut pos = 0;
        loop {
            match engine.handle_input(&pending[pos..]) {
                Ok((used, event)) => {
                    pos += used;
                    match event {
                        None => break,
                        Some(Event::Done { result: Err(e), .. }) => check(&e, &forms),
                        Some(_) => {}
                    }
                }
                Err(e) => {
                    check(&e, &forms);
                    return;
                }
            }
        }
        pending.drain(..pos);
        if !queued_more && engine.state() == pop3_wasm::engine::State::Transaction {
            queued_more = true;
            for cmd in [Command::Capa, Command::Retr(n(1)), Command::Uidl(None), Command::Noop] {
                let _ = engine.send(cmd);
            }
        }
        if let Some(caps) = engine.capabilities() {
            let shown = format!("{:?} {:?}", caps.implementation, caps.other).to_ascii_lowercase();
            for form in &forms {
                assert!(!shown.contains(&form.to_ascii_lowercase()), "{form:?} in capabilities {shown}");
            }
        }
    }
    if let Err(e) = engine.handle_eof() {
        check(&e, &forms);
    }
});
