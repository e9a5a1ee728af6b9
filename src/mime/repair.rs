//! Repairs made before a message is summarised: broken multipart structure, and
//! quoted-printable that mail-parser gives up on.

use mail_parser::parsers::MessageStream;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// How many repaired copies [`with_message`] may make: each closes one unclosed multipart or
/// escapes the stray `=` of every part at once.
const MAX_REPAIRS: usize = 8;

/// Runs `f` on the parsed message and the buffer its offsets point into: `raw` itself, or a
/// repaired copy. Parsing and attachment retrieval both come through here, so attachment
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
        match close_unclosed_multipart(&message, buf).or_else(|| escape_stray_equals(&message, buf)) {
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

/// mail-parser gives up on a quoted-printable part with an `=` right after another escape's
/// `=` (`a == b` in HTML pasted unencoded, `=3=`): it keeps the raw text, and files an HTML part
/// as other text, so the message loses its HTML body. This returns a copy of the message in
/// which every `=` of such parts that starts neither an escape nor a soft line break is written
/// `=3D`, which decodes to the `=` that was meant; `None` when no part needs it.
fn escape_stray_equals(message: &Message<'_>, buf: &[u8]) -> Option<Vec<u8>> {
    let mut fixed: Option<Vec<u8>> = None;
    let mut copied = 0;
    for part in &message.parts {
        let quoted_printable =
            part.content_transfer_encoding().is_some_and(|e| e.trim().eq_ignore_ascii_case("quoted-printable"));
        if !part.is_encoding_problem || !quoted_printable || matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let (start, end) = (part.offset_body as usize, part.offset_end as usize);
        let Some(body) = buf.get(start..end).filter(|_| start >= copied) else { continue };
        // The flag also marks a part cut off before its boundary: repair only what does not decode.
        if MessageStream::new(body).decode_quoted_printable_mime(b"").0 != usize::MAX {
            continue;
        }
        let out = fixed.get_or_insert_with(|| Vec::with_capacity(buf.len() + 64));
        out.extend_from_slice(&buf[copied..start]);
        for (i, &byte) in body.iter().enumerate() {
            out.push(byte);
            if byte == b'=' && !starts_escape(&body[i + 1..]) {
                out.extend_from_slice(b"3D");
            }
        }
        copied = end;
    }
    let mut fixed = fixed?;
    fixed.extend_from_slice(&buf[copied..]);
    Some(fixed)
}

/// Whether the text after an `=` makes it an escape (two hex digits) or a soft line break
/// (optional blanks, then a line end or the end of the part).
fn starts_escape(after: &[u8]) -> bool {
    if after.len() >= 2 && after[0].is_ascii_hexdigit() && after[1].is_ascii_hexdigit() {
        return true;
    }
    let blanks = after.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    matches!(after.get(blanks), None | Some(b'\r' | b'\n'))
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
    fn stray_equals_in_quoted_printable_are_escaped() {
        use crate::mime::{attachment_bytes, parse};
        // A single HTML part: shown as HTML, not as its quoted-printable source.
        let msg = parse(
            b"Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
              <p class=3D\"x\">caf=E9 a =3= b == c=\r\n d</p>\r\n",
        )
        .unwrap();
        assert_eq!(msg.html.as_deref(), Some("<p class=\"x\">caf\u{e9} a =3= b == c d</p>\r\n"));
        assert!(msg.attachments.is_empty());
        // An attachment's bytes are decoded too, at the size listed.
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n\
            Content-Type: text/csv; name=a.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            a==b,=41\r\n--b--\r\n";
        let msg = parse(raw).unwrap();
        assert_eq!(attachment_bytes(raw, 0).as_deref(), Some(&b"a==b,A"[..]));
        assert_eq!(msg.attachments[0].size, 6);
        // What mail-parser decodes is left alone: a soft break, a lone `=` at the end.
        assert!(starts_escape(b"\r\nx") && starts_escape(b" \t\n") && starts_escape(b"") && starts_escape(b"3D"));
        assert!(!starts_escape(b"=") && !starts_escape(b"3=") && !starts_escape(b" x") && !starts_escape(b"G0"));
    }

    #[test]
    fn delimiter_lines() {
        assert_eq!(find_delimiter_line(b"abc\r\n--B\r\n", b"B"), Some(5));
        assert_eq!(find_delimiter_line(b"--B--", b"B"), Some(0));
        assert_eq!(find_delimiter_line(b"x--B\r\n--BC\r\n", b"B"), None);
        assert_eq!(find_delimiter_line(b"", b"B"), None);
    }
}
