//! Repair of broken multipart structure, before the message is summarised.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// How many missing close delimiters [`close_unclosed_multipart`] may insert.
const MAX_REPAIRS: usize = 8;

/// Runs `f` on the parsed message and the buffer its offsets point into: `raw` itself, or a
/// repaired copy. [`super::parse`] and [`super::attachment_bytes`] both come through here, so attachment
/// indexes always refer to the same reading of the message.
pub(super) fn with_message<T>(raw: &[u8], f: impl FnOnce(&Message<'_>, &[u8]) -> T) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let parser = MessageParser::default();
    let mut repaired: Option<Vec<u8>> = None;
    for _ in 0..MAX_REPAIRS {
        let buf = repaired.as_deref().unwrap_or(raw);
        let Some(message) = parser.parse(buf) else {
            if repaired.is_some() {
                return None;
            }
            // mail-parser gives up when it finds no header at all (" ", "::::"); read such
            // input as a body after an empty header block rather than failing.
            let mut padded = Vec::with_capacity(raw.len() + 2);
            padded.extend_from_slice(b"\r\n");
            padded.extend_from_slice(raw);
            repaired = Some(padded);
            continue;
        };
        match close_unclosed_multipart(&message, buf) {
            Some(fixed) => repaired = Some(fixed),
            None => return Some(f(&message, buf)),
        }
    }
    let buf = repaired.as_deref().unwrap_or(raw);
    parser.parse(buf).map(|message| f(&message, buf))
}

/// mail-parser reads a nested multipart whose close delimiter is missing up to the end of the
/// message, so the rest of the parent (later attachments) ends up inside its last part. Python's
/// email package and Thunderbird stop at the parent's next boundary instead. When a part that
/// mail-parser flagged contains a boundary line of one of its ancestors, this returns a copy of
/// the message with the missing `--boundary--` line inserted before it.
fn close_unclosed_multipart(message: &Message<'_>, buf: &[u8]) -> Option<Vec<u8>> {
    let parts = &message.parts;
    // Built once, so a message with thousands of flagged parts stays linear.
    let mut parents: Vec<Option<usize>> = vec![None; parts.len()];
    for (id, part) in parts.iter().enumerate() {
        if let PartType::Multipart(children) = &part.body {
            for &child in children {
                match parents.get_mut(child as usize) {
                    Some(slot @ None) if child as usize != id => *slot = Some(id),
                    _ => {}
                }
            }
        }
    }
    let parent_of = |id: usize| parents.get(id).copied().flatten();
    let boundary =
        |id: usize| parts.get(id)?.content_type()?.attribute("boundary").map(str::as_bytes).filter(|b| !b.is_empty());
    for (id, part) in parts.iter().enumerate() {
        if !part.is_encoding_problem || matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let Some(parent) = parent_of(id) else { continue };
        let Some(unclosed) = boundary(parent) else { continue };
        let start = part.offset_body as usize;
        let body = buf.get(start..part.offset_end as usize)?;
        // Walk up from the grandparent; parts.len() bounds the walk even if the tree were cyclic.
        let mut ancestor = parent_of(parent);
        for _ in 0..parts.len() {
            let Some(up) = ancestor else { break };
            if let Some(pos) = boundary(up).and_then(|b| find_delimiter_line(body, b)) {
                let at = start + pos;
                let mut fixed = Vec::with_capacity(buf.len() + unclosed.len() + 6);
                fixed.extend_from_slice(&buf[..at]);
                fixed.extend_from_slice(b"--");
                fixed.extend_from_slice(unclosed);
                fixed.extend_from_slice(b"--\r\n");
                fixed.extend_from_slice(&buf[at..]);
                return Some(fixed);
            }
            ancestor = parent_of(up);
        }
    }
    None
}

/// The offset of the first line in `body` that is a delimiter for `boundary`.
fn find_delimiter_line(body: &[u8], boundary: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    while line_start < body.len() {
        let line = &body[line_start..];
        if let Some(after) = line.strip_prefix(b"--").and_then(|l| l.strip_prefix(boundary)) {
            if after.first().is_none_or(|b| matches!(b, b'\r' | b'\n' | b'-' | b' ' | b'\t')) {
                return Some(line_start);
            }
        }
        line_start += memchr::memchr(b'\n', line)? + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_lines() {
        assert_eq!(find_delimiter_line(b"abc\r\n--B\r\n", b"B"), Some(5));
        assert_eq!(find_delimiter_line(b"--B--", b"B"), Some(0));
        assert_eq!(find_delimiter_line(b"x--B\r\n--BC\r\n", b"B"), None);
        assert_eq!(find_delimiter_line(b"", b"B"), None);
    }
}
