//! Uuencoded files (`begin 644 name` ... `end`), as Eudora, Outlook Express and Pegasus sent
//! them inside a plain-text body, and as parts with `Content-Transfer-Encoding: x-uuencode`.
//! mail-parser reads neither. No crate for this is well kept, so the decoder is here: one pass
//! over the lines, output at most three quarters of the input, and lenient the way mail
//! relays require (trailing blanks stripped, `` ` `` and space both zero).

use std::ops::Range;

/// One uuencoded file found in a text.
pub(super) struct UuFile {
    /// Where the block stands in the text: from its `begin` line through its `end` line.
    pub(super) span: Range<usize>,
    /// The file name from the `begin` line, as written.
    pub(super) name: Vec<u8>,
    /// The decoded bytes.
    pub(super) bytes: Vec<u8>,
}

/// The uuencoded files in `text`, in order. A block is a `begin MODE NAME` line, data lines,
/// and an `end` line; one cut off by the end of the text (a truncated message) counts too.
/// Anything else, such as prose that happens to start with "begin", is not a block.
pub(super) fn files(text: &[u8]) -> Vec<UuFile> {
    let mut found = Vec::new();
    let mut lines = Lines { text, at: 0 };
    while let Some((start, line)) = lines.next() {
        let Some(name) = begin_line(line) else { continue };
        let resume = lines.at;
        match read_block(&mut lines) {
            Some(bytes) => found.push(UuFile { span: start..lines.at, name: name.to_vec(), bytes }),
            None => lines.at = resume,
        }
    }
    found
}

/// `text` without the uuencoded blocks in it.
pub(super) fn without_files(text: &str) -> Option<String> {
    let blocks = files(text.as_bytes());
    if blocks.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for block in blocks {
        // Blocks start and end at line boundaries, which are ASCII, so these are char boundaries.
        out.push_str(text.get(copied..block.span.start)?);
        copied = block.span.end;
    }
    out.push_str(text.get(copied..)?);
    Some(out)
}

/// Lines of a text with their offsets, without their line ends.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let start = self.at;
        let rest = self.text.get(start..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        self.at = start + len;
        let line = &rest[..len];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    }

    fn peek(&self) -> Option<&'a [u8]> {
        Lines { text: self.text, at: self.at }.next().map(|(_, line)| line)
    }
}

/// The file name of a `begin MODE NAME` line (MODE three or four octal digits).
fn begin_line(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"begin ")?;
    let mode_len = rest.iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
    if !(3..=4).contains(&mode_len) || rest.get(mode_len) != Some(&b' ') {
        return None;
    }
    let name = rest[mode_len + 1..].trim_ascii();
    (!name.is_empty()).then_some(name)
}

/// Reads data lines up to and including the `end` line; `None`, with `lines` anywhere, when
/// what follows the `begin` line is not a block.
fn read_block(lines: &mut Lines<'_>) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut data_lines = 0;
    loop {
        let Some((_, line)) = lines.next() else {
            // Cut off: keep what arrived, if anything did.
            return (data_lines > 0).then_some(bytes);
        };
        if line.trim_ascii_end() == b"end" {
            return Some(bytes);
        }
        let length = line.first().map_or(0, |&c| c.wrapping_sub(b' ') & 0x3f);
        if length == 0 && line.iter().all(|&c| c == b'`' || c == b' ') {
            // The zero-length line before `end` (a relay may have stripped it to nothing).
            let at_end = lines.peek().is_none_or(|next| next.trim_ascii_end() == b"end");
            if at_end {
                lines.next();
                return Some(bytes);
            }
            return None;
        }
        if !decode_line(line, length, &mut bytes) {
            return None;
        }
        data_lines += 1;
    }
}

/// Appends the `length` bytes a data line encodes; `false` when it is not a data line.
fn decode_line(line: &[u8], length: u8, out: &mut Vec<u8>) -> bool {
    let chars = &line[1..];
    let needed = usize::from(length).div_ceil(3) * 4;
    // Encoders may add a check character or two; relays strip trailing blanks (zeros), at most
    // one group's worth, which also keeps the output within the input's length.
    let in_range = line.iter().all(|c| (b' '..=b'`').contains(c));
    if !in_range || chars.len() > needed + 2 || chars.len() + 4 < needed {
        return false;
    }
    let sextet = |i: usize| chars.get(i).map_or(0, |&c| c.wrapping_sub(b' ') & 0x3f);
    let mut written = 0;
    for group in (0..needed).step_by(4) {
        let (a, b, c, d) = (sextet(group), sextet(group + 1), sextet(group + 2), sextet(group + 3));
        for byte in [a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d] {
            if written < usize::from(length) {
                out.push(byte);
                written += 1;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_blocks_and_leaves_prose() {
        let text = b"Hi\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\nbye\r\n";
        let found = files(text);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].name.as_slice(), found[0].bytes.as_slice()), (&b"cat.txt"[..], &b"Cat"[..]));
        assert_eq!(&text[found[0].span.clone()], b"begin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\n");
        assert_eq!(without_files(std::str::from_utf8(text).unwrap()).as_deref(), Some("Hi\r\nbye\r\n"));
        // Blanks stripped by a relay (the space that was the zero line, trailing zeros), LF ends.
        assert_eq!(files(b"begin 600 z\n$0V%T\n\nend\n")[0].bytes, b"Cat\0");
        assert_eq!(files(b"begin 600 z\n#0V%\nend")[0].bytes, b"Ca\x40");
        // Cut off by the end of the message: what arrived is kept.
        assert_eq!(files(b"begin 644 a\n#0V%T\n")[0].bytes, b"Cat");
    }

    #[test]
    fn prose_is_not_a_block() {
        for text in [
            &b"begin 644 words\nthen we talked\nend\n"[..],
            b"begin 644\n#0V%T\nend\n",
            b"begin 64 x\n#0V%T\nend\n",
            b"begin 644 x\n",
            b"begin 644 x\n#0V%T\nmore prose here\n",
            b"begin 644 x\n`\nnot the end\n",
            b"  begin 644 x\n#0V%T\nend\n",
            b"begin-base64 644 x\nQ2F0\n====\n",
        ] {
            assert!(files(text).is_empty(), "{:?}", String::from_utf8_lossy(text));
        }
        assert_eq!(without_files("no blocks"), None);
    }

    #[test]
    fn random_input_is_bounded_and_never_panics() {
        const PIECES: &[&[u8]] =
            &[b"begin 644 f\n", b"end\n", b"`\n", b"\n", b"#0V%T\n", b"M", b"!", b"\r", b"\xff", b" "];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = Vec::new();
            for _ in 0..(seed % 16) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.extend_from_slice(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            let decoded: usize = files(&text).iter().map(|f| f.bytes.len()).sum();
            assert!(decoded <= text.len(), "{decoded} bytes from {}", text.len());
            let _ = without_files(&String::from_utf8_lossy(&text));
        }
    }
}
