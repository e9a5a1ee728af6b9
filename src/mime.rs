//! The bridge to mail-parser: raw RFC 5322 bytes (as RETR returns them) in, a plain summary
//! out that serialises with camelCase names for JavaScript, and attachment bytes on request.
//!
//! Choices this module makes on top of mail-parser:
//! - `text` is the first text/plain body part. When a message has no text/plain body but has
//!   HTML, `text` is mail-parser's HTML-to-text conversion and `text_from_html` is `true`
//!   (with the `html-text` feature, on by default; without it, `text` is `None` then).
//! - `html` is `Some` only when the message really has a text/html body part: mail-parser
//!   would otherwise turn plain text into HTML, and a client must be able to tell the two apart.
//! - `attachments` lists every leaf part of the top-level message except the two bodies shown
//!   as `text` and `html`: real attachments, inline images (with their Content-ID, so `cid:`
//!   URLs resolve), extra inline text parts, calendar parts. A forwarded message/rfc822 is one
//!   attachment; call [`parse`] on its bytes to look inside.
//! - Address groups are flattened; each member keeps the group's name in `group`, and an empty
//!   group (`undisclosed-recipients:;`) becomes one entry with only `group` set.
//! - Bytes that are not UTF-8 where no charset is declared (raw 8-bit headers, bodies without
//!   a `charset` parameter) are read as windows-1252, the commonest legacy default.
//! - Message-IDs and Content-IDs are given without angle brackets.
//!
//! Without the `full-encoding` feature, mail-parser cannot decode the multi-byte legacy
//! charsets (ISO-2022-JP, Shift_JIS, EUC-JP, EUC-KR, GB2312/GBK/GB18030, Big5, and a few
//! single-byte ones it implements with the same library). In WebAssembly the host's
//! `TextDecoder` (browsers, Node, Deno and workerd all implement the WHATWG encodings) decodes
//! them instead, in bodies, RFC 2047 words and RFC 2231 parameters, at no cost in module size.
//! Natively, such text comes out as raw escape sequences or U+FFFD replacement characters.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;
#[cfg(feature = "html-text")]
use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    Address as MpAddress, Encoding, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};
use serde::Serialize;

use crate::{Error, ErrorKind, Result};

/// A decoded message, ready to show. Holds no attachment bytes: see [`attachment_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedMessage {
    /// The Subject, with RFC 2047 encoded-words decoded.
    pub subject: Option<String>,
    /// The From addresses (usually one).
    pub from: Vec<Address>,
    /// The Sender addresses.
    pub sender: Vec<Address>,
    /// The Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// The To addresses.
    pub to: Vec<Address>,
    /// The Cc addresses.
    pub cc: Vec<Address>,
    /// The Bcc addresses (rarely present in received mail).
    pub bcc: Vec<Address>,
    /// The Date as RFC 3339 with the sender's offset, e.g. `2026-03-02T08:30:12+01:00`.
    pub date: Option<String>,
    /// The Date header's text when it exists but could not be read as a date.
    pub date_raw: Option<String>,
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The first Message-ID in In-Reply-To, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The Message-IDs in References, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The text/plain body, or the HTML body converted to text when there is no text/plain.
    pub text: Option<String>,
    /// Whether `text` was derived from the HTML body.
    pub text_from_html: bool,
    /// The text/html body exactly as sent (unsanitised), or `None` when there is no HTML part.
    pub html: Option<String>,
    /// Attachments and inline parts, in message order.
    pub attachments: Vec<Attachment>,
    /// Every top-level header in message order, values unfolded and decoded.
    pub headers: Vec<HeaderField>,
    /// The length of the raw message in bytes.
    pub size: usize,
}

/// One mailbox from an address header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The display name, decoded.
    pub name: Option<String>,
    /// The address (`local@domain`).
    pub address: Option<String>,
    /// The name of the RFC 5322 group this mailbox was listed in, if any. Always present in
    /// the JSON (as `null` outside a group), as in the object JavaScript's `parseMessage` gives.
    pub group: Option<String>,
}

/// A part of the message offered for download or referenced by `cid:` URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Position in [`ParsedMessage::attachments`]; pass it to [`attachment_bytes`].
    pub index: usize,
    /// The file name (RFC 2231 and RFC 2047 decoded), from Content-Disposition `filename`
    /// or else Content-Type `name`.
    pub filename: Option<String>,
    /// `type/subtype`, lower-case.
    pub content_type: String,
    /// The decoded size in bytes (what [`attachment_bytes`] returns).
    pub size: usize,
    /// The Content-ID without angle brackets.
    pub content_id: Option<String>,
    /// Whether the part is meant to be shown in the body (inline images, extra text parts).
    pub inline: bool,
    /// The Content-Disposition type, lower-case (`attachment`, `inline`), if the header exists.
    pub disposition: Option<String>,
}

/// One header line, for a "show all headers" view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderField {
    /// The field name as spelled in the message.
    pub name: String,
    /// The value, unfolded, with encoded-words decoded.
    pub value: String,
}

/// Parses a raw message. Fails only on empty input: anything else yields a best-effort result.
pub fn parse(raw: &[u8]) -> Result<ParsedMessage> {
    let mut parsed =
        with_message(raw, summarise).ok_or_else(|| Error::new(ErrorKind::Protocol, "cannot parse an empty message"))?;
    parsed.size = raw.len();
    Ok(parsed)
}

/// The decoded bytes of attachment `index` (as numbered by [`parse`]), or `None` when there
/// is no such attachment. A message/rfc822 attachment yields the nested message's raw bytes.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    with_message(raw, |message, buf| {
        let bodies = Bodies::choose(message);
        let (_, part) = listed_parts(message, &bodies).nth(index)?;
        Some(part_bytes(part, buf).into_owned())
    })
    .flatten()
}

/// How many missing close delimiters [`close_unclosed_multipart`] may insert.
const MAX_REPAIRS: usize = 8;

/// Runs `f` on the parsed message and the buffer its offsets point into: `raw` itself, or a
/// repaired copy. [`parse`] and [`attachment_bytes`] both come through here, so attachment
/// indexes always refer to the same reading of the message.
fn with_message<T>(raw: &[u8], f: impl FnOnce(&Message<'_>, &[u8]) -> T) -> Option<T> {
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

fn summarise(message: &Message<'_>, buf: &[u8]) -> ParsedMessage {
    let top = &message.parts[0].headers; // parse() never returns a message without parts
    let bodies = Bodies::choose(message);

    let (date, date_raw) = match first_raw(top, buf, HeaderName::Date) {
        Some(value) => match reparse(value, |s| s.parse_date()) {
            HeaderValue::DateTime(dt) if date_is_valid(&dt) => (Some(rfc3339(&dt)), None),
            _ => (None, Some(unstructured(value)).filter(|s| !s.is_empty())),
        },
        None => (None, None),
    };

    let text = bodies.text.and_then(|id| message.parts.get(id)).map(|part| body_string(part, buf));
    let html = bodies.html.and_then(|id| message.parts.get(id)).map(|part| body_string(part, buf));
    let text_from_html = cfg!(feature = "html-text") && text.is_none() && html.is_some();
    // Without the `html-text` feature (the npm build, to keep its size down: mail-parser's
    // HTML entity table is about 20 KB gzip), an HTML-only message has no `text`.
    #[cfg(feature = "html-text")]
    let text = text.or_else(|| html.as_deref().map(html_to_text));

    ParsedMessage {
        subject: first_raw(top, buf, HeaderName::Subject).map(unstructured),
        from: addresses(top, buf, HeaderName::From),
        sender: addresses(top, buf, HeaderName::Sender),
        reply_to: addresses(top, buf, HeaderName::ReplyTo),
        to: addresses(top, buf, HeaderName::To),
        cc: addresses(top, buf, HeaderName::Cc),
        bcc: addresses(top, buf, HeaderName::Bcc),
        date,
        date_raw,
        message_id: first_raw(top, buf, HeaderName::MessageId).and_then(|v| ids(v).into_iter().next()),
        in_reply_to: first_raw(top, buf, HeaderName::InReplyTo).and_then(|v| ids(v).into_iter().next()),
        references: all_raw(top, buf, HeaderName::References).flat_map(ids).collect(),
        text,
        text_from_html,
        html,
        attachments: listed_parts(message, &bodies)
            .enumerate()
            .map(|(index, (id, part))| describe(message, id, part, index, buf))
            .collect(),
        headers: top
            .iter()
            .map(|h| HeaderField { name: field_name(h, buf), value: unstructured(raw_value(h, buf)) })
            .collect(),
        size: buf.len(), // the caller's length is set by parse(): buf may be padded
    }
}

/// The part ids shown as the text and HTML bodies.
struct Bodies {
    text: Option<usize>,
    html: Option<usize>,
}

impl Bodies {
    fn choose(message: &Message<'_>) -> Bodies {
        // mail-parser's body lists can start with an inline image or a converted part, so
        // body_text(0)/body_html(0) are not enough: take the first part of the right kind.
        let first = |list: &[u32], want_html: bool| {
            list.iter().map(|&id| id as usize).find(|&id| {
                matches!(
                    (message.parts.get(id).map(|p| &p.body), want_html),
                    (Some(PartType::Text(_)), false) | (Some(PartType::Html(_)), true)
                )
            })
        };
        let mut text = first(&message.text_body, false);
        let html = first(&message.html_body, true).or_else(|| first(&message.text_body, true));
        // Two single-part cases mail-parser leaves without a body: a header-only message (an
        // empty text part listed nowhere) and a multipart whose boundary never occurs (the
        // whole body becomes one text "attachment" of type multipart/*). Show both as text.
        if text.is_none() && html.is_none() && message.parts.len() == 1 {
            let root = &message.parts[0];
            let failed_multipart = root.content_type().is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
            if matches!(root.body, PartType::Text(_)) && (failed_multipart || !message.attachments.contains(&0)) {
                text = Some(0);
            }
        }
        Bodies { text, html }
    }

    fn contains(&self, id: usize) -> bool {
        self.text == Some(id) || self.html == Some(id)
    }
}

/// The parts listed as attachments, with their ids: every leaf except the chosen bodies.
fn listed_parts<'a, 'x>(
    message: &'a Message<'x>,
    bodies: &'a Bodies,
) -> impl Iterator<Item = (usize, &'a MessagePart<'x>)> + 'a {
    message
        .parts
        .iter()
        .enumerate()
        .filter(move |(id, part)| !matches!(part.body, PartType::Multipart(_)) && !bodies.contains(*id))
}

fn describe(message: &Message<'_>, id: usize, part: &MessagePart<'_>, index: usize, buf: &[u8]) -> Attachment {
    let disposition = part.content_disposition().map(|d| d.ctype().trim().to_ascii_lowercase());
    let content_id = part
        .content_id()
        .map(|cid| cid.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
        .filter(|cid| !cid.is_empty());
    let in_body = message.text_body.contains(&(id as u32)) || message.html_body.contains(&(id as u32));
    let inline = match disposition.as_deref() {
        Some("inline") => true,
        Some(_) => false,
        None => content_id.is_some() || in_body,
    };
    Attachment {
        index,
        filename: filename(part, buf),
        content_type: content_type(part, &message.parts[0], id),
        size: part_bytes(part, buf).len(),
        content_id,
        inline,
        disposition,
    }
}

fn content_type(part: &MessagePart<'_>, root: &MessagePart<'_>, id: usize) -> String {
    match part.content_type() {
        Some(ct) => {
            let main = ct.ctype().trim().to_ascii_lowercase();
            match ct.subtype().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()) {
                Some(sub) if !main.is_empty() => format!("{main}/{sub}"),
                _ if main == "text" => "text/plain".to_owned(),
                _ => "application/octet-stream".to_owned(),
            }
        }
        // RFC 2046: parts of multipart/digest default to message/rfc822, others to text/plain.
        None if id != 0 && root.is_content_type("multipart", "digest") => "message/rfc822".to_owned(),
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_owned(),
        None => "text/plain".to_owned(),
    }
}

fn filename(part: &MessagePart<'_>, buf: &[u8]) -> Option<String> {
    let raw = |name: HeaderName<'static>| part.headers.iter().find(|h| h.name == name).map(|h| raw_value(h, buf));
    raw(HeaderName::ContentDisposition)
        .and_then(|v| header_param(v, "filename"))
        .or_else(|| raw(HeaderName::ContentType).and_then(|v| header_param(v, "name")))
        // Our reader is strict about syntax; mail-parser's reading is the fallback.
        .or_else(|| part.attachment_name().map(str::to_owned))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// The transfer-decoded bytes of a leaf part, before any charset conversion.
fn part_bytes<'a>(part: &'a MessagePart<'_>, buf: &'a [u8]) -> Cow<'a, [u8]> {
    let raw = buf.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
    match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Cow::Borrowed(bytes.as_ref()),
        // Unencoded nested messages are parsed in place; encoded ones carry their decoded copy.
        PartType::Message(nested) if part.encoding != Encoding::None => Cow::Borrowed(nested.raw_message.as_ref()),
        PartType::Message(_) => Cow::Borrowed(raw),
        // mail-parser keeps text parts only after charset conversion: decode the raw bytes again.
        PartType::Text(_) | PartType::Html(_) => transfer_decode(raw, declared_encoding(part)),
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
}

/// The Content-Transfer-Encoding as declared. mail-parser resets `encoding` to `None` on parts it
/// could not decode, which includes a base64 part that is merely cut off before its boundary.
fn declared_encoding(part: &MessagePart<'_>) -> Encoding {
    match part.content_transfer_encoding().map(str::trim) {
        Some(e) if e.eq_ignore_ascii_case("base64") => Encoding::Base64,
        Some(e) if e.eq_ignore_ascii_case("quoted-printable") => Encoding::QuotedPrintable,
        _ => Encoding::None,
    }
}

fn transfer_decode(raw: &[u8], encoding: Encoding) -> Cow<'_, [u8]> {
    let (end, bytes) = match encoding {
        Encoding::None => return Cow::Borrowed(raw),
        Encoding::Base64 => MessageStream::new(raw).decode_base64_mime(b""),
        Encoding::QuotedPrintable => MessageStream::new(raw).decode_quoted_printable_mime(b""),
    };
    // usize::MAX marks undecodable content; mail-parser then keeps the raw bytes, and so do we.
    if end == usize::MAX {
        Cow::Borrowed(raw)
    } else {
        bytes
    }
}

/// A body part's text. mail-parser decodes declared charsets; when none is declared and the
/// bytes are not UTF-8 it substitutes U+FFFD, and when a part ends without its boundary it
/// gives up on the transfer encoding. Such parts are decoded again here.
fn body_string(part: &MessagePart<'_>, buf: &[u8]) -> String {
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_ref(),
        _ => return String::new(),
    };
    let charset = part.content_type().and_then(|ct| ct.attribute("charset")).map(str::trim).filter(|c| !c.is_empty());
    let undecoded = part.is_encoding_problem && declared_encoding(part) != Encoding::None;
    let host_charset = charset.and_then(host_encoding).is_some();
    if !undecoded && !host_charset && (charset.is_some() || !text.contains('\u{FFFD}')) {
        return text.to_owned();
    }
    let bytes = part_bytes(part, buf);
    if let Some(charset) = charset {
        // UTF-8 (and unknown names) have no decoder in mail-parser's table.
        return decode_charset(charset, &bytes).unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    }
    if let Ok(s) = std::str::from_utf8(&bytes) {
        return s.to_owned();
    }
    if matches!(part.body, PartType::Html(_)) {
        if let Some(text) = meta_charset(&bytes).and_then(|c| decode_charset(&c, &bytes)) {
            return text;
        }
    }
    windows_1252(&bytes)
}

/// `bytes` decoded from `charset` by the host or by mail-parser; `None` when neither knows
/// the name.
fn decode_charset(charset: &str, bytes: &[u8]) -> Option<String> {
    host_decode(charset, bytes).or_else(|| charset_decoder(charset.as_bytes()).map(|decode| decode(bytes)))
}

// ---- charsets the host decodes ----------------------------------------------------------

/// Whether this build leaves some charsets to the host (WebAssembly without `full-encoding`).
const HOST_DECODING: bool = cfg!(all(target_arch = "wasm32", not(feature = "full-encoding")));

/// The charset labels (lower-case, `-` as `_`, as mail-parser matches them) that mail-parser
/// reads as UTF-8 without its `full_encoding` feature, with the WHATWG name of the encoding it
/// would use: TextDecoder accepts only exact WHATWG labels, and several of mail-parser's
/// spellings (`cp936`, `EUC_JP`) are not. Windows code page numbers that neither knows
/// (`cp932`, `cp949`, `cp950`) are added. The `replacement` labels (ISO-2022-KR, HZ) are left
/// out: a TextDecoder turns their text into a single U+FFFD.
#[cfg(all(target_arch = "wasm32", not(feature = "full-encoding")))]
const HOST_CHARSETS: &[(&str, &str)] = &[
    ("866", "ibm866"),
    ("big5", "big5"),
    ("big5_hkscs", "big5"),
    ("chinese", "gbk"),
    ("cn_big5", "big5"),
    ("cp866", "ibm866"),
    ("cp932", "shift_jis"),
    ("cp936", "gbk"),
    ("cp949", "euc-kr"),
    ("cp950", "big5"),
    ("csbig5", "big5"),
    ("cseuckr", "euc-kr"),
    ("cseucpkdfmtjapanese", "euc-jp"),
    ("csgb18030", "gb18030"),
    ("csgb2312", "gbk"),
    ("csgbk", "gbk"),
    ("csibm866", "ibm866"),
    ("csiso2022jp", "iso-2022-jp"),
    ("csiso58gb231280", "gbk"),
    ("csksc56011987", "euc-kr"),
    ("csshiftjis", "shift_jis"),
    ("cswindows874", "windows-874"),
    ("dos_874", "windows-874"),
    ("euc_jp", "euc-jp"),
    ("euc_kr", "euc-kr"),
    ("extended_unix_code_packed_format_for_japanese", "euc-jp"),
    ("gb18030", "gb18030"),
    ("gb2312", "gb18030"),
    ("gb_2312", "gbk"),
    ("gb_2312_80", "gbk"),
    ("gbk", "gbk"),
    ("ibm866", "ibm866"),
    ("iso_2022_jp", "iso-2022-jp"),
    ("iso_ir_149", "euc-kr"),
    ("iso_ir_58", "gbk"),
    ("korean", "euc-kr"),
    ("ks_c_5601_1987", "euc-kr"),
    ("ks_c_5601_1989", "euc-kr"),
    ("ksc5601", "euc-kr"),
    ("ksc_5601", "euc-kr"),
    ("ms932", "shift_jis"),
    ("ms936", "gbk"),
    ("ms_kanji", "shift_jis"),
    ("shift_jis", "shift_jis"),
    ("sjis", "shift_jis"),
    ("windows_31j", "shift_jis"),
    ("windows_874", "windows-874"),
    ("windows_936", "gbk"),
    ("windows_949", "euc-kr"),
    ("x_euc_jp", "euc-jp"),
    ("x_gbk", "gbk"),
    ("x_mac_cyrillic", "x-mac-cyrillic"),
    ("x_mac_ukrainian", "x-mac-cyrillic"),
    ("x_sjis", "shift_jis"),
    ("x_user_defined", "x-user-defined"),
    ("x_x_big5", "big5"),
];

/// The WHATWG encoding [`host_decode`] uses for `charset`, when it handles that charset.
fn host_encoding(charset: &str) -> Option<&'static str> {
    #[cfg(all(target_arch = "wasm32", not(feature = "full-encoding")))]
    {
        let label = charset.trim().to_ascii_lowercase().replace('-', "_");
        HOST_CHARSETS.iter().find(|(key, _)| *key == label).map(|(_, encoding)| *encoding)
    }
    #[cfg(not(all(target_arch = "wasm32", not(feature = "full-encoding"))))]
    {
        let _ = charset;
        None
    }
}

/// Decodes `bytes` with the host's TextDecoder when `charset` is one mail-parser cannot
/// decode in this build.
fn host_decode(charset: &str, bytes: &[u8]) -> Option<String> {
    let encoding = host_encoding(charset)?;
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::host_text_decode(encoding, bytes)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (encoding, bytes);
        None
    }
}

/// Rewrites the RFC 2047 words of `value` whose charset [`host_decode`] handles as UTF-8 words,
/// which mail-parser's field parsers decode; `None` when there is none. Words keep their place,
/// so quoting, address syntax and the whitespace rules between adjacent words are unchanged.
fn host_encoded_words(value: &[u8], decode: impl Fn(&str, &[u8]) -> Option<String>) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    for word in encoded_words(value) {
        let Some(text) = decode(word.charset, &word.octets) else { continue };
        let buf = out.get_or_insert_with(Vec::new);
        buf.extend_from_slice(&value[copied..word.start]);
        buf.extend_from_slice(b"=?UTF-8?B?");
        buf.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(text).as_bytes());
        buf.extend_from_slice(b"?=");
        copied = word.end;
    }
    let mut buf = out?;
    buf.extend_from_slice(&value[copied..]);
    Some(buf)
}

/// An RFC 2047 encoded word in a header value: where it stands, its charset (without a
/// language tag) and its transfer-decoded octets.
struct EncodedWord<'a> {
    start: usize,
    end: usize,
    charset: &'a str,
    octets: Vec<u8>,
}

/// The encoded words (`=?charset[*language]?B|Q?text?=`) of `value`, read as mail-parser reads
/// them: leniently (folding inside a word, missing padding), and each skipped whole, so that
/// its closing `?=` cannot open another.
fn encoded_words(value: &[u8]) -> impl Iterator<Item = EncodedWord<'_>> {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(start) = memchr::memmem::find(&value[from..], b"=?").map(|i| from + i) {
            from = start + 2;
            // The scan ends at the next `?`, which the next `=?` has, so it stays linear.
            let Some(cs_len) = memchr::memchr(b'?', &value[from..]) else { continue };
            let Ok(label) = std::str::from_utf8(&value[from..from + cs_len]) else { continue };
            // As mail-parser: no line break in the label, and a charset of two octets or more.
            let charset = label.split('*').next().unwrap_or_default();
            if label.contains('\n') || charset.len() < 2 {
                continue;
            }
            let (Some(&kind), Some(b'?')) = (value.get(from + cs_len + 1), value.get(from + cs_len + 2)) else {
                continue;
            };
            let mut stream = MessageStream::new(value);
            stream.skip_bytes(from + cs_len + 3);
            let octets = match kind {
                b'B' | b'b' => stream.decode_base64_word(),
                b'Q' | b'q' => stream.decode_quoted_printable_word(),
                _ => None,
            };
            let Some(octets) = octets else { continue };
            from = stream.offset();
            return Some(EncodedWord { start, end: from, charset, octets });
        }
        from = value.len();
        None
    })
}

/// A parameter value with its RFC 2047 words decoded where they stand. mail-parser's reading
/// of unstructured text puts a space between a word and text glued to it, which a file name
/// (`name="=?UTF-8?B?...?=.pdf"`) must not get. Whitespace between two words is dropped, as
/// RFC 2047 says.
fn decode_param_words(value: &[u8]) -> String {
    let mut out = String::new();
    let mut copied = 0;
    let mut after_word = false;
    for word in encoded_words(value) {
        let between = &value[copied..word.start];
        if !(after_word && between.iter().all(u8::is_ascii_whitespace)) {
            out.push_str(&utf8_or_windows_1252(between));
        }
        let text = decode_charset(word.charset, &word.octets);
        out.push_str(&text.unwrap_or_else(|| String::from_utf8_lossy(&word.octets).into_owned()));
        copied = word.end;
        after_word = true;
    }
    out.push_str(&utf8_or_windows_1252(&value[copied..]));
    out.trim().to_owned()
}

/// The charset named by an HTML `<meta>` tag in the first kilobyte, if any.
fn meta_charset(html: &[u8]) -> Option<String> {
    let head = html.get(..1024).unwrap_or(html).to_ascii_lowercase();
    let at = head.windows(8).position(|w| w == b"charset=")? + 8;
    let rest = head.get(at..)?;
    let rest = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")).unwrap_or(rest);
    let end = rest.iter().position(|b| !(b.is_ascii_alphanumeric() || b"-_.:".contains(b))).unwrap_or(rest.len());
    let name = std::str::from_utf8(rest.get(..end)?).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Text that is UTF-8 as it is, and windows-1252 otherwise.
fn utf8_or_windows_1252(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).map(str::to_owned).unwrap_or_else(|_| windows_1252(bytes))
}

fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

// ---- headers ----------------------------------------------------------------------------

/// The raw value bytes of a header (after the colon, including the line end).
fn raw_value<'a>(header: &Header<'_>, buf: &'a [u8]) -> &'a [u8] {
    buf.get(header.offset_start as usize..header.offset_end as usize).unwrap_or_default()
}

fn field_name(header: &Header<'_>, buf: &[u8]) -> String {
    let spelled = buf
        .get(header.offset_field as usize..header.offset_start as usize)
        .map(|b| String::from_utf8_lossy(b).trim_end_matches(':').trim().to_owned())
        .filter(|s| !s.is_empty());
    spelled.unwrap_or_else(|| header.name.as_str().to_owned())
}

fn first_raw<'a>(headers: &[Header<'_>], buf: &'a [u8], name: HeaderName<'static>) -> Option<&'a [u8]> {
    all_raw(headers, buf, name).next()
}

fn all_raw<'a, 'h>(
    headers: &'h [Header<'_>],
    buf: &'a [u8],
    name: HeaderName<'static>,
) -> impl Iterator<Item = &'a [u8]> + 'h
where
    'a: 'h,
{
    headers.iter().filter(move |h| h.name == name).map(move |h| raw_value(h, buf))
}

/// One of mail-parser's field parsers.
type FieldParser = for<'x> fn(&mut MessageStream<'x>) -> HeaderValue<'x>;

/// Runs a field parser on a raw value. The value is read as windows-1252 when it is not
/// UTF-8 (mail-parser would substitute U+FFFD), and given the line end the parsers need to
/// finish (a header on the last line of a message may lack one).
fn reparse(value: &[u8], parse: FieldParser) -> HeaderValue<'static> {
    reparse_as(value, parse, true)
}

/// [`reparse`]; `decodes_words` says whether `parse` decodes RFC 2047 words (message ids are
/// read as they stand, so host-charset words in them are not rewritten either).
fn reparse_as(value: &[u8], parse: FieldParser, decodes_words: bool) -> HeaderValue<'static> {
    let mut owned: Option<Vec<u8>> = None;
    if std::str::from_utf8(value).is_err() {
        owned = Some(windows_1252(value).into_bytes());
    }
    if !owned.as_deref().unwrap_or(value).ends_with(b"\n") {
        owned.get_or_insert_with(|| value.to_vec()).push(b'\n');
    }
    if HOST_DECODING && decodes_words {
        if let Some(rewritten) = host_encoded_words(owned.as_deref().unwrap_or(value), host_decode) {
            owned = Some(rewritten);
        }
    }
    let bytes = owned.as_deref().unwrap_or(value);
    parse(&mut MessageStream::new(bytes)).into_owned()
}

/// An unstructured header value: unfolded, encoded-words decoded, trimmed.
fn unstructured(value: &[u8]) -> String {
    match reparse(value, |s| s.parse_unstructured()) {
        HeaderValue::Text(t) => t.trim().to_owned(),
        HeaderValue::TextList(list) => list.join(" ").trim().to_owned(),
        _ => String::new(),
    }
}

fn ids(value: &[u8]) -> Vec<String> {
    let clean = |s: &str| s.trim().trim_start_matches('<').trim_end_matches('>').to_owned();
    match reparse_as(value, |s| s.parse_id(), false) {
        HeaderValue::Text(t) => vec![clean(&t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

fn addresses(headers: &[Header<'_>], buf: &[u8], name: HeaderName<'static>) -> Vec<Address> {
    let mut out = Vec::new();
    for value in all_raw(headers, buf, name) {
        let parsed = reparse(value, |s| s.parse_address());
        let HeaderValue::Address(address) = parsed else { continue };
        match address {
            MpAddress::List(list) => out.extend(list.iter().filter_map(|a| mailbox(a, None))),
            MpAddress::Group(groups) => {
                for group in groups {
                    let group_name = group.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
                    let before = out.len();
                    out.extend(group.addresses.iter().filter_map(|a| mailbox(a, group_name)));
                    if out.len() == before {
                        if let Some(group_name) = group_name {
                            out.push(Address { name: None, address: None, group: Some(group_name.to_owned()) });
                        }
                    }
                }
            }
        }
    }
    out
}

fn mailbox(addr: &mail_parser::Addr<'_>, group: Option<&str>) -> Option<Address> {
    let clean = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let name = clean(addr.name());
    let address = clean(addr.address());
    if name.is_none() && address.is_none() {
        return None;
    }
    Some(Address { name, address, group: group.map(str::to_owned) })
}

fn date_is_valid(dt: &mail_parser::DateTime) -> bool {
    let leap = dt.year.is_multiple_of(4) && (!dt.year.is_multiple_of(100) || dt.year.is_multiple_of(400));
    let days = match dt.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    // is_valid() accepts 31 February and zone offsets up to 23:59; RFC 5322 zones stop at 99:99
    // syntactically, but nothing real lies beyond ±14:00.
    dt.is_valid() && dt.day <= days && dt.tz_hour <= 14
}

/// RFC 3339 with the sender's own offset. Unlike mail-parser's `to_rfc3339` this never
/// writes `Z`, so `+00:00` (UTC) and `-00:00` (offset unknown, RFC 5322 §3.3) stay distinct.
fn rfc3339(dt: &mail_parser::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        if dt.tz_before_gmt { '-' } else { '+' },
        dt.tz_hour,
        dt.tz_minute
    )
}

// ---- MIME parameters (RFC 2045, RFC 2231) ------------------------------------------------

/// Reads parameter `wanted` from a raw Content-Type or Content-Disposition value.
///
/// mail-parser decodes each RFC 2231 continuation on its own and applies the charset only to
/// the first, which garbles `filename*0*=iso-8859-1''...; filename*1*=...` and UTF-8 sequences
/// split across segments. Here the octets of all segments are joined first, then decoded.
/// RFC 2047 words inside quoted values (forbidden, but Outlook and Gmail send them) are decoded.
fn header_param(value: &[u8], wanted: &str) -> Option<String> {
    let mut plain: Option<Vec<u8>> = None;
    let mut extended: Option<Vec<u8>> = None;
    let mut segments: Vec<(u32, bool, Vec<u8>)> = Vec::new();

    for (name, val) in params(value) {
        let Some(rest) = name.strip_prefix(wanted) else { continue };
        match rest {
            "" => plain = plain.or(Some(val)),
            "*" => extended = extended.or(Some(val)),
            _ => {
                let Some(rest) = rest.strip_prefix('*') else { continue };
                let (num, encoded) = match rest.strip_suffix('*') {
                    Some(num) => (num, true),
                    None => (rest, false),
                };
                if let Ok(n) = num.parse::<u32>() {
                    if n < 1000 && !segments.iter().any(|s| s.0 == n) {
                        segments.push((n, encoded, val));
                    }
                }
            }
        }
    }

    if let Some(val) = extended {
        if let Some(s) = decode_extended(&[(0, true, val)]) {
            return Some(s);
        }
    }
    if !segments.is_empty() {
        segments.sort_by_key(|s| s.0);
        if let Some(s) = decode_extended(&segments) {
            return Some(s);
        }
    }
    plain
        .map(|v| if v.windows(2).any(|w| w == b"=?") { decode_param_words(&v) } else { utf8_or_windows_1252(&v) })
        .filter(|s| !s.is_empty())
}

/// Joins RFC 2231 segments (number, percent-encoded?, value) and decodes them with the
/// charset named in the first encoded segment.
fn decode_extended(segments: &[(u32, bool, Vec<u8>)]) -> Option<String> {
    let mut charset: Option<String> = None;
    let mut octets = Vec::new();
    for (i, (_, encoded, val)) in segments.iter().enumerate() {
        let mut val = val.as_slice();
        if i == 0 && *encoded {
            // charset'language'value; a value without the two quotes is taken as it is.
            let mut fields = val.splitn(3, |&b| b == b'\'');
            if let (Some(cs), Some(_lang), Some(rest)) = (fields.next(), fields.next(), fields.next()) {
                charset = std::str::from_utf8(cs).ok().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
                val = rest;
            }
        }
        if *encoded {
            percent_decode(val, &mut octets);
        } else {
            octets.extend_from_slice(val);
        }
    }
    let text = match charset.as_deref().and_then(|c| decode_charset(c, &octets)) {
        Some(text) => text,
        None => match String::from_utf8(octets) {
            Ok(s) => s,
            Err(e) => windows_1252(e.as_bytes()),
        },
    };
    (!text.is_empty()).then_some(text)
}

fn percent_decode(val: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < val.len() {
        if val[i] == b'%' {
            if let (Some(h), Some(l)) = (val.get(i + 1).and_then(|&b| hex(b)), val.get(i + 2).and_then(|&b| hex(b))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(val[i]);
        i += 1;
    }
}

/// Splits `type; a=b; c="d"` into lower-cased parameter names and unquoted values.
fn params(value: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = value.len();
    let skip_ws = |i: &mut usize| {
        while *i < n && value[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    // Skip the type itself.
    while i < n && value[i] != b';' {
        if value[i] == b'"' {
            i = skip_quoted(value, i).1;
        } else {
            i += 1;
        }
    }
    while i < n {
        i += 1; // the ';'
        skip_ws(&mut i);
        let start = i;
        while i < n && !matches!(value[i], b'=' | b';') {
            i += 1;
        }
        let name = String::from_utf8_lossy(&value[start..i]).trim().to_ascii_lowercase();
        if i >= n || value[i] == b';' {
            continue; // a parameter without a value
        }
        i += 1; // the '='
        skip_ws(&mut i);
        let val = if i < n && value[i] == b'"' {
            let (v, next) = skip_quoted(value, i);
            i = next;
            // Anything between the closing quote and the next ';' is junk.
            while i < n && value[i] != b';' {
                i += 1;
            }
            v
        } else {
            let start = i;
            while i < n && value[i] != b';' {
                i += 1;
            }
            value[start..i].trim_ascii().to_vec()
        };
        if !name.is_empty() {
            out.push((name, unfold(&val)));
        }
    }
    out
}

/// Reads a quoted string starting at the quote at `start`; returns its unescaped content and
/// the index after the closing quote (or the end, when it is unterminated).
fn skip_quoted(value: &[u8], start: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < value.len() {
        match value[i] {
            b'"' => return (out, i + 1),
            b'\\' if i + 1 < value.len() => {
                out.push(value[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, i)
}

/// Removes folding line breaks from a parameter value.
fn unfold(val: &[u8]) -> Vec<u8> {
    val.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_ATTACHMENT: &[u8] = b"From: a@example.com\r\nSubject: one file\r\n\
        Content-Type: multipart/mixed; boundary=XX\r\n\r\n\
        --XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
        --XX\r\nContent-Type: application/octet-stream; name=a.bin\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX--\r\n";

    /// A stand-in for the host's TextDecoder: knows only `x-upper`, which upper-cases ASCII.
    fn upper(charset: &str, bytes: &[u8]) -> Option<String> {
        charset.eq_ignore_ascii_case("x-upper").then(|| String::from_utf8_lossy(bytes).to_ascii_uppercase())
    }

    #[test]
    fn host_charset_words_become_utf8_words_in_place() {
        let rewrite = |v: &str| host_encoded_words(v.as_bytes(), upper).map(|b| String::from_utf8(b).unwrap());
        // B and Q words, a language tag, folding inside a word, other words and text untouched.
        assert_eq!(
            rewrite("\"=?x-upper?B?YWJj?=\" <a@b>, =?utf-8?Q?caf=C3=A9?= =?X-UPPER*en?q?d_e?=\r\n").as_deref(),
            Some("\"=?UTF-8?B?QUJD?=\" <a@b>, =?utf-8?Q?caf=C3=A9?= =?UTF-8?B?RCBF?=\r\n")
        );
        assert_eq!(rewrite("=?x-upper?B?YW\r\n Jj?= tail").as_deref(), Some("=?UTF-8?B?QUJD?= tail"));
        // Nothing to rewrite: unknown charsets, broken words, plain text. In the last, the `=?`
        // of the second word is the first word's `?=`: mail-parser reads it as text.
        for v in [
            "=?iso-8859-1?Q?caf=E9?=",
            "=?x-upper?X?abc?=",
            "=?x-upper?B?YWJj",
            "=?x-upper",
            "plain =? text",
            "",
            "=?utf-8?B?YWJj?=?x-upper?B?YWJj?=",
        ] {
            assert_eq!(rewrite(v), None, "{v:?}");
        }
        // The rewritten value reads back through mail-parser's own RFC 2047 decoding.
        let value = host_encoded_words(b"=?x-upper?Q?hello?= =?x-upper?B?d29ybGQ=?=\n", upper).unwrap();
        match MessageStream::new(&value).parse_unstructured() {
            HeaderValue::Text(t) => assert_eq!(t.trim(), "HELLOWORLD"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn words_in_parameter_values_decode_where_they_stand() {
        for (value, expected) in [
            ("=?UTF-8?B?w6k=?=.pdf", "é.pdf"),
            ("=?utf-8?Q?a?= =?utf-8?Q?b?=\r\n =?utf-8?Q?c?=", "abc"),
            ("report =?iso-8859-1?Q?caf=E9?= final.txt", "report café final.txt"),
            ("=?unknown?B?w6k=?=", "é"),
            ("=?utf-8?X?broken?=.txt", "=?utf-8?X?broken?=.txt"),
            // Not words to mail-parser: a one-octet charset, a line break in the label.
            ("=?x?B?YWJj?=", "=?x?B?YWJj?="),
            ("=?utf-8\n?B?YWJj?=", "=?utf-8\n?B?YWJj?="),
        ] {
            assert_eq!(decode_param_words(value.as_bytes()), expected, "{value:?}");
        }
        let raw = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\n\
            Content-Type: application/pdf; name=\"=?UTF-8?B?w6l0w6k=?=.pdf\"\r\n\r\n%PDF\r\n--b--\r\n";
        assert_eq!(parse(raw).unwrap().attachments[0].filename.as_deref(), Some("été.pdf"));
    }

    #[test]
    fn host_charset_rewriting_survives_random_input() {
        // Pieces of encoded words, shuffled: no panic, and a second pass finds nothing more.
        const PIECES: &[&[u8]] = &[
            b"=?x-upper?B?YWJj?=",
            b"=?X-Upper*en?q?a_b?=",
            b"=?x-upper?b?",
            b"=?x-upper?Q?",
            b"=?utf-8?B?",
            b"=?",
            b"?=",
            b"x-upper",
            b"?B?",
            b"?q?",
            b"?",
            b"=",
            b"YWJj",
            b"d2",
            b"=C3=A9",
            b"_",
            b" ",
            b"\r\n ",
            b"\n",
            b"\"",
            b"<a@b>",
            b",",
            b"\xff",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut rewritten = 0;
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let value: Vec<u8> =
                (0..len).flat_map(|_| PIECES[(next() % PIECES.len() as u64) as usize].to_vec()).collect();
            let Some(once) = host_encoded_words(&value, upper) else { continue };
            rewritten += 1;
            let _ = MessageStream::new(&once).parse_unstructured();
            assert_eq!(host_encoded_words(&once, upper), None, "{:?}", String::from_utf8_lossy(&value));
        }
        assert!(rewritten > 1000, "the generator should produce rewritable words ({rewritten})");
    }

    #[test]
    fn empty_input_is_an_error() {
        let err = parse(b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert_eq!(attachment_bytes(b"", 0), None);
    }

    #[test]
    fn garbage_parses_as_something() {
        for raw in [&b" "[..], b"::::", b"\x00\xff\xfe\x80 garbage", b"\r\n", b"-", b"=?", b"\n\n\n"] {
            let msg = parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(msg.size, raw.len());
            assert!(msg.attachments.is_empty(), "{raw:?}: {:?}", msg.attachments);
        }
        // Input with no header block becomes the body.
        assert_eq!(parse(b"::::").unwrap().text.as_deref(), Some("::::"));
    }

    #[test]
    fn header_only_message() {
        for raw in [&b"Subject: hi\r\nFrom: A <a@example.com>\r\n\r\n"[..], b"Subject: hi\r\nFrom: A <a@example.com>"] {
            let msg = parse(raw).unwrap();
            assert_eq!(msg.subject.as_deref(), Some("hi"), "{raw:?}");
            assert_eq!(msg.from[0].address.as_deref(), Some("a@example.com"));
            assert_eq!(msg.text.as_deref().unwrap_or_default(), "");
            assert_eq!(msg.html, None);
            assert!(msg.attachments.is_empty());
            assert_eq!(msg.headers.len(), 2);
        }
    }

    #[test]
    fn attachment_index_out_of_range() {
        let msg = parse(WITH_ATTACHMENT).unwrap();
        assert_eq!(msg.attachments.len(), 1);
        assert_eq!(msg.attachments[0].filename.as_deref(), Some("a.bin"));
        assert_eq!(attachment_bytes(WITH_ATTACHMENT, 0), Some(vec![0, 1, 2]));
        assert_eq!(attachment_bytes(WITH_ATTACHMENT, 1), None);
        assert_eq!(attachment_bytes(WITH_ATTACHMENT, usize::MAX), None);
        assert_eq!(attachment_bytes(b"Subject: none\r\n\r\nbody", 0), None);
    }

    #[test]
    fn html_is_none_without_an_html_part() {
        let msg = parse(b"Subject: plain\r\n\r\n<b>not html</b>\r\n").unwrap();
        assert_eq!(msg.html, None);
        assert!(!msg.text_from_html);
        let msg = parse(b"Content-Type: text/html\r\n\r\n<p>Hi <b>there</b></p>\r\n").unwrap();
        assert_eq!(msg.html.as_deref(), Some("<p>Hi <b>there</b></p>\r\n"));
        if cfg!(feature = "html-text") {
            assert!(msg.text_from_html);
            assert_eq!(msg.text.as_deref().map(str::trim), Some("Hi there"));
        } else {
            assert!(!msg.text_from_html);
            assert_eq!(msg.text, None);
        }
    }

    #[test]
    fn dates() {
        let date = |value: &str| {
            let msg = parse(format!("Date: {value}\r\n\r\n").as_bytes()).unwrap();
            (msg.date, msg.date_raw)
        };
        assert_eq!(date("Mon, 2 Mar 2026 08:30:12 +0100"), (Some("2026-03-02T08:30:12+01:00".into()), None));
        assert_eq!(date("2 Mar 2026 08:30:12 -0000"), (Some("2026-03-02T08:30:12-00:00".into()), None));
        assert_eq!(date("Sat, 31 Feb 2026 10:00:00 +0000"), (None, Some("Sat, 31 Feb 2026 10:00:00 +0000".into())));
        assert_eq!(date("yesterday"), (None, Some("yesterday".into())));
        assert_eq!(parse(b"Subject: x\r\n\r\n").unwrap().date_raw, None);
    }

    #[test]
    fn groups_are_flattened() {
        let msg =
            parse(b"To: Team: a@x.example, B <b@x.example>;, c@y.example\r\nCc: undisclosed-recipients:;\r\n\r\n")
                .unwrap();
        let to: Vec<_> = msg.to.iter().map(|a| (a.address.as_deref(), a.group.as_deref())).collect();
        assert_eq!(
            to,
            [(Some("a@x.example"), Some("Team")), (Some("b@x.example"), Some("Team")), (Some("c@y.example"), None)]
        );
        assert_eq!(msg.cc, [Address { name: None, address: None, group: Some("undisclosed-recipients".into()) }]);
    }

    #[test]
    fn raw_8bit_headers_read_as_windows_1252() {
        let msg = parse(b"Subject: Caf\xe9\r\nFrom: Ren\xe9e <r@example.com>\r\n\r\nx").unwrap();
        assert_eq!(msg.subject.as_deref(), Some("Caf\u{e9}"));
        assert_eq!(msg.from[0].name.as_deref(), Some("Ren\u{e9}e"));
        // Valid UTF-8 stays UTF-8.
        let msg = parse("Subject: Café\r\n\r\nx".as_bytes()).unwrap();
        assert_eq!(msg.subject.as_deref(), Some("Café"));
    }

    #[test]
    fn mime_parameters() {
        let p = |v: &str, name: &str| header_param(v.as_bytes(), name);
        assert_eq!(p("attachment; filename=\"a b.txt\"", "filename").as_deref(), Some("a b.txt"));
        assert_eq!(p("attachment; filename=plain.txt; size=3", "filename").as_deref(), Some("plain.txt"));
        assert_eq!(p("attachment; FileName=\"q\\\"uote.txt\"", "filename").as_deref(), Some("q\"uote.txt"));
        assert_eq!(p("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "filename").as_deref(), Some("€ rates.pdf"));
        assert_eq!(
            p("attachment; filename*0*=iso-8859-1''Gr%FC; filename*1*=%DFe.txt; filename=\"fallback\"", "filename")
                .as_deref(),
            Some("Grüße.txt")
        );
        // Segments out of order, and a UTF-8 sequence split across two of them.
        assert_eq!(
            p("inline; filename*1*=%A9.png; filename*0*=utf-8''caf%C3", "filename").as_deref(),
            Some("café.png")
        );
        assert_eq!(p("image/png; name=\"=?UTF-8?B?w6nDqS5wbmc=?=\"", "name").as_deref(), Some("éé.png"));
        assert_eq!(p("attachment; filename=", "filename"), None);
        assert_eq!(p("attachment; filename=\"unterminated", "filename").as_deref(), Some("unterminated"));
        assert_eq!(p("attachment", "filename"), None);
        assert_eq!(p("attachment; filenamex=a", "filename"), None);
    }

    #[test]
    fn delimiter_lines() {
        assert_eq!(find_delimiter_line(b"abc\r\n--B\r\n", b"B"), Some(5));
        assert_eq!(find_delimiter_line(b"--B--", b"B"), Some(0));
        assert_eq!(find_delimiter_line(b"x--B\r\n--BC\r\n", b"B"), None);
        assert_eq!(find_delimiter_line(b"", b"B"), None);
    }

    #[test]
    fn serialises_camel_case() {
        let json = serde_json::to_value(parse(WITH_ATTACHMENT).unwrap()).unwrap();
        for key in ["replyTo", "dateRaw", "messageId", "inReplyTo", "textFromHtml"] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert!(json["attachments"][0].get("contentType").is_some());
        assert!(json["attachments"][0].get("contentId").is_some());
    }
}
