//! Fuzzes the reply decoder: arbitrary bytes, split into arbitrary chunks, with arbitrary
//! block announcements (including messages of announced size, where a glued terminator may
//! stand). The decoder must never panic, never hand out empty data, never use more input than
//! given, and produce the same frames (and errors) however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_wasm::proto::{BlockKind, Decoder, Frame, Limits};

#[derive(Debug, PartialEq)]
enum Owned {
    Line(Vec<u8>),
    ListLine(Vec<u8>),
    Data(Vec<u8>),
    End,
    Error,
}

fn run(data: &[u8], cuts: &[usize], kinds: &[u8], limits: Limits) -> Vec<Owned> {
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut kind_index = 0;
    let mut last = 0;
    let mut boundaries: Vec<usize> = cuts.iter().copied().filter(|&c| c <= data.len()).collect();
    boundaries.sort_unstable();
    boundaries.push(data.len());
    for cut in boundaries {
        if cut < last {
            continue;
        }
        pending.extend_from_slice(&data[last..cut]);
        last = cut;
        let mut pos = 0;
        loop {
            let (used, frame) = match decoder.decode(&pending[pos..]) {
                Ok(x) => x,
                Err(_) => {
                    out.push(Owned::Error);
                    return out;
                }
            };
            assert!(used <= pending.len() - pos);
            pos += used;
            let Some(frame) = frame else { break };
            match frame {
                Frame::Line(l) => {
                    out.push(Owned::Line(l.to_vec()));
                    // Announce a block after some status lines, as an engine would.
                    let k = kinds.get(kind_index).copied().unwrap_or(0);
                    kind_index += 1;
                    if l.starts_with(b"+OK") {
                        match k % 4 {
                            1 => decoder.expect_block(BlockKind::Lines),
                            2 => decoder.expect_block(BlockKind::Message),
                            3 => {
                                // A RETR whose size was announced ("+OK 12 octets"): glued
                                // terminators are looked for at that size.
                                let announced = std::str::from_utf8(&l[3..])
                                    .ok()
                                    .and_then(|t| t.split_whitespace().next()?.parse().ok())
                                    .unwrap_or(u64::from(k) / 4);
                                decoder.expect_message(announced);
                            }
                            _ => {}
                        }
                    }
                }
                Frame::ListLine(l) => out.push(Owned::ListLine(l.to_vec())),
                Frame::Data(d) => {
                    assert!(!d.is_empty());
                    match out.last_mut() {
                        Some(Owned::Data(prev)) => prev.extend_from_slice(d),
                        _ => out.push(Owned::Data(d.to_vec())),
                    }
                }
                Frame::End => out.push(Owned::End),
            }
        }
        pending.drain(..pos);
    }
    out
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let (head, data) = input.split_at(4);
    let limits = Limits { max_line: 16 + head[0] as usize * 4, max_message: 64 + head[1] as u64 * 16, max_list: 256 };
    let kinds: Vec<u8> = head.to_vec();
    let whole = run(data, &[], &kinds, limits);
    let step = 1 + head[2] as usize % 7;
    let cuts: Vec<usize> = (0..data.len()).step_by(step).collect();
    let split = run(data, &cuts, &kinds, limits);
    // Limits are checked the same way however a line is split, so even runs that end in an
    // error must agree, frame for frame.
    assert_eq!(whole, split);
});
