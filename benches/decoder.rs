//! Decoder throughput: framing and dot-unstuffing of a large dot-stuffed message fed in 1 KiB
//! and 64 KiB chunks. Run with `cargo bench --bench decoder`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pop3_wasm::proto::{BlockKind, Decoder, Frame, Limits};

/// A RETR reply: `+OK`, about `size` octets of 76-character lines (one in 50 starting with a
/// stuffed dot), and the terminator.
fn reply(size: usize) -> Vec<u8> {
    let mut out = b"+OK message follows\r\n".to_vec();
    let mut i = 0u64;
    while out.len() < size {
        if i.is_multiple_of(50) {
            out.extend_from_slice(b"..");
        }
        let line = format!("{i:012} The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit.\r\n");
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Decodes `input` fed in `chunk`-sized pieces; returns the message octets produced.
fn decode(input: &[u8], chunk: usize) -> usize {
    let limits = Limits { max_message: u64::MAX, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    let mut produced = 0;
    let mut carry: Vec<u8> = Vec::new();
    for piece in input.chunks(chunk) {
        // Like a real driver: an incomplete line stays in the buffer in front of new bytes.
        let owned;
        let data: &[u8] = if carry.is_empty() {
            piece
        } else {
            carry.extend_from_slice(piece);
            owned = std::mem::take(&mut carry);
            &owned
        };
        let mut pos = 0;
        loop {
            let (used, frame) = decoder.decode(&data[pos..]).expect("valid input");
            pos += used;
            match frame {
                None => break,
                Some(Frame::Line(_)) => decoder.expect_block(BlockKind::Message),
                Some(Frame::Data(d)) => produced += black_box(d).len(),
                Some(Frame::End) => {}
                Some(Frame::ListLine(_)) => unreachable!(),
            }
        }
        carry.extend_from_slice(&data[pos..]);
    }
    produced
}

fn main() {
    let input = reply(64 * 1024 * 1024);
    println!("decoder benchmark: {} MiB dot-stuffed message", input.len() / (1024 * 1024));
    for chunk in [1024, 64 * 1024] {
        let mut best = Duration::MAX;
        let mut produced = 0;
        for _ in 0..7 {
            let started = Instant::now();
            produced = decode(&input, chunk);
            best = best.min(started.elapsed());
        }
        let gbps = input.len() as f64 / best.as_secs_f64() / 1e9;
        println!(
            "  {:>6} B chunks: {:.2} GB/s  (best of 7: {:.1} ms, {} message octets out)",
            chunk,
            gbps,
            best.as_secs_f64() * 1e3,
            produced
        );
    }
}
