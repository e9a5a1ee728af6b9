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
//!   attachment; call [`parse`] on its bytes to look inside. Files uuencoded in the text body
//!   (`begin 644 name`, as Eudora and Outlook Express sent them) are attachments too, listed
//!   where the body stands and cut out of `text`.
//! - Address groups are flattened; each member keeps the group's name in `group`, and an empty
//!   group (`undisclosed-recipients:;`) becomes one entry with only `group` set.
//! - Bytes that are not UTF-8 where no charset is declared (raw 8-bit headers, bodies without
//!   a `charset` parameter) are read as windows-1252, the commonest legacy default.
//! - Message-IDs and Content-IDs are given without angle brackets.
//!
//! Without the `full-encoding` feature, mail-parser cannot decode the multi-byte legacy
//! charsets (ISO-2022-JP, Shift_JIS, EUC-JP, EUC-KR, GB2312/GBK/GB18030, Big5, and a few
//! single-byte ones it implements with the same library). A [`Parser`] given a
//! [`CharsetFallback`] hands them to it, in bodies, RFC 2047 words and RFC 2231 parameters:
//! the JavaScript face gives it the host's `TextDecoder` (browsers, Node, Deno and workerd all
//! implement the WHATWG encodings), at no cost in module size. Without a fallback (the free
//! functions [`parse`] and [`attachment_bytes`]), such text comes out as raw escape sequences
//! or U+FFFD replacement characters.
//!
//! Layout: this module holds the types and the summary; `repair` mends broken multipart
//! structure and quoted-printable before anything is read, `parts` chooses the bodies and
//! attachments and decodes their bytes, `uuencode` finds and decodes uuencoded files,
//! `charset` holds charsets and RFC 2047 words, `headers` the header fields, `date` the Date
//! field, and `params` the MIME parameters with RFC 2231 continuations.

mod charset;
mod date;
mod headers;
mod params;
mod parts;
mod repair;
mod uuencode;

#[cfg(feature = "html-text")]
use mail_parser::decoders::html::html_to_text;
use std::fmt;
use std::sync::Arc;

use mail_parser::{HeaderName, Message};

pub use self::charset::CharsetFallback;
use self::charset::Charsets;
use self::date::read_date;
use self::headers::{addresses, all_raw, field_name, first_raw, ids, raw_value, unstructured};
use self::parts::{body_string, describe, describe_uuencoded, listing, part_bytes, Bodies, Listed};
use self::repair::with_message;
use crate::{Error, ErrorKind, Result};

/// A decoded message, ready to show. Holds no attachment bytes: see [`attachment_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
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
    /// The Date as RFC 3339 with the sender's offset, e.g. `2026-03-02T08:30:12+01:00`, or
    /// `None` when it cannot be read. Two- and three-digit years are read by RFC 5322 §4.3
    /// (`02` is 2002, `99` is 1999, `101` is 2001); other years are kept as written.
    pub date: Option<String>,
    /// The Date header's text (unfolded, comments kept) whenever the message has one, whether
    /// or not `date` could be read.
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
pub struct HeaderField {
    /// The field name as spelled in the message.
    pub name: String,
    /// The value, unfolded, with encoded-words decoded.
    pub value: String,
}

/// Parses messages, with the host services it was given. `Parser::new()` has none and gives
/// the same results as the free functions [`parse`] and [`attachment_bytes`].
///
/// ```
/// use pop3_wasm::mime::Parser;
///
/// // A stand-in for encoding_rs or TextDecoder that knows one encoding.
/// let parser = Parser::new().with_charset_fallback(|encoding: &str, bytes: &[u8]| {
///     (encoding == "shift_jis" && bytes == b"\x82\xa0").then(|| "あ".to_owned())
/// });
/// let message = parser.parse(b"Subject: =?Shift_JIS?B?gqA=?=\r\n\r\nbody\r\n")?;
/// assert_eq!(message.subject.as_deref(), Some("あ"));
/// # Ok::<(), pop3_wasm::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Parser {
    charset_fallback: Option<Arc<dyn CharsetFallback + Send + Sync>>,
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser").field("charset_fallback", &self.charset_fallback.is_some()).finish()
    }
}

impl Parser {
    /// A parser with no host services: charsets mail-parser cannot decode stay undecoded.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// This parser, handing the charsets mail-parser cannot decode in this build to `fallback`.
    pub fn with_charset_fallback(mut self, fallback: impl CharsetFallback + Send + Sync + 'static) -> Parser {
        self.charset_fallback = Some(Arc::new(fallback));
        self
    }

    /// Parses a raw message. Fails only on empty input: anything else yields a best-effort
    /// result.
    pub fn parse(&self, raw: &[u8]) -> Result<ParsedMessage> {
        let charsets = self.charsets();
        let mut parsed = with_message(raw, |message, buf| summarise(charsets, message, buf))
            .ok_or_else(|| Error::new(ErrorKind::Protocol, "cannot parse an empty message"))?;
        parsed.size = raw.len();
        Ok(parsed)
    }

    /// The decoded bytes of attachment `index` (as numbered by [`Parser::parse`]), or `None`
    /// when there is no such attachment. A message/rfc822 attachment yields the nested
    /// message's raw bytes.
    pub fn attachment_bytes(&self, raw: &[u8], index: usize) -> Option<Vec<u8>> {
        with_message(raw, |message, buf| {
            let bodies = Bodies::choose(message);
            match listing(message, &bodies, buf).into_iter().nth(index)? {
                Listed::Part(_, part) => Some(part_bytes(part, buf).into_owned()),
                Listed::Uuencoded(file) => Some(file.bytes),
            }
        })
        .flatten()
    }

    fn charsets(&self) -> Charsets<'_> {
        Charsets::new(self.charset_fallback.as_deref().map(|f| f as &dyn CharsetFallback))
    }
}

/// Parses a raw message with no host services ([`Parser::parse`] of `Parser::new()`). Fails
/// only on empty input: anything else yields a best-effort result.
pub fn parse(raw: &[u8]) -> Result<ParsedMessage> {
    Parser::new().parse(raw)
}

/// The decoded bytes of attachment `index` (as numbered by [`parse`]), or `None` when there
/// is no such attachment. A message/rfc822 attachment yields the nested message's raw bytes.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    Parser::new().attachment_bytes(raw, index)
}

fn summarise(charsets: Charsets<'_>, message: &Message<'_>, buf: &[u8]) -> ParsedMessage {
    let top = &message.parts[0].headers; // parse() never returns a message without parts
    let bodies = Bodies::choose(message);

    let (date, date_raw) = first_raw(top, buf, HeaderName::Date).map_or((None, None), |v| read_date(charsets, v));

    let text = bodies.text.and_then(|id| message.parts.get(id)).map(|part| body_string(charsets, part, buf));
    // Uuencoded files in the text are listed as attachments instead.
    let text = text.map(|text| uuencode::without_files(&text).unwrap_or(text));
    let html = bodies.html.and_then(|id| message.parts.get(id)).map(|part| body_string(charsets, part, buf));
    let text_from_html = cfg!(feature = "html-text") && text.is_none() && html.is_some();
    // Without the `html-text` feature (the npm build, to keep its size down: mail-parser's
    // HTML entity table is about 20 KB gzip), an HTML-only message has no `text`.
    #[cfg(feature = "html-text")]
    let text = text.or_else(|| html.as_deref().map(html_to_text));

    ParsedMessage {
        subject: first_raw(top, buf, HeaderName::Subject).map(|v| unstructured(charsets, v)),
        from: addresses(charsets, top, buf, HeaderName::From),
        sender: addresses(charsets, top, buf, HeaderName::Sender),
        reply_to: addresses(charsets, top, buf, HeaderName::ReplyTo),
        to: addresses(charsets, top, buf, HeaderName::To),
        cc: addresses(charsets, top, buf, HeaderName::Cc),
        bcc: addresses(charsets, top, buf, HeaderName::Bcc),
        date,
        date_raw,
        message_id: first_raw(top, buf, HeaderName::MessageId).and_then(|v| ids(v).into_iter().next()),
        in_reply_to: first_raw(top, buf, HeaderName::InReplyTo).and_then(|v| ids(v).into_iter().next()),
        references: all_raw(top, buf, HeaderName::References).flat_map(ids).collect(),
        text,
        text_from_html,
        html,
        attachments: listing(message, &bodies, buf)
            .iter()
            .enumerate()
            .map(|(index, entry)| match entry {
                Listed::Part(id, part) => describe(charsets, message, *id, part, index, buf),
                Listed::Uuencoded(file) => describe_uuencoded(file, index),
            })
            .collect(),
        headers: top
            .iter()
            .map(|h| HeaderField { name: field_name(h, buf), value: unstructured(charsets, raw_value(h, buf)) })
            .collect(),
        size: buf.len(), // the caller's length is set by parse(): buf may be padded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_ATTACHMENT: &[u8] = b"From: a@example.com\r\nSubject: one file\r\n\
        Content-Type: multipart/mixed; boundary=XX\r\n\r\n\
        --XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
        --XX\r\nContent-Type: application/octet-stream; name=a.bin\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX--\r\n";

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
    fn text_without_a_subtype_is_plain_text() {
        let msg = parse(b"Content-Type: text\r\n\r\nhello\r\n").unwrap();
        assert_eq!((msg.text.as_deref(), msg.attachments.len()), (Some("hello\r\n"), 0));
        let msg = parse(b"Content-Type: TEXT/; charset=us-ascii\r\n\r\nhello\r\n").unwrap();
        assert_eq!((msg.text.as_deref(), msg.attachments.len()), (Some("hello\r\n"), 0));
        // Beside an HTML alternative, it is the text; one with a file name stays an attachment.
        let msg = parse(
            b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\
              Content-Type: multipart/alternative; boundary=a\r\n\r\n\
              --a\r\nContent-Type: text\r\n\r\nplain\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n\
              --m\r\nContent-Type: text; name=notes\r\n\r\nfile\r\n--m--\r\n",
        )
        .unwrap();
        assert_eq!(msg.text.as_deref(), Some("plain"));
        assert_eq!(msg.html.as_deref(), Some("<p>html</p>"));
        let files: Vec<_> = msg.attachments.iter().map(|a| (a.filename.as_deref(), a.content_type.as_str())).collect();
        assert_eq!(files, [(Some("notes"), "text/plain")]);
    }

    #[test]
    fn uuencoded_files_are_attachments() {
        // In the text body, before a MIME attachment: listed where the body stands.
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            see\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\nbye\r\n--b\r\n\
            Content-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            AAEC\r\n--b--\r\n";
        let msg = parse(raw).unwrap();
        assert_eq!(msg.text.as_deref(), Some("see\r\nbye"));
        let files: Vec<_> = msg.attachments.iter().map(|a| (a.index, a.filename.as_deref(), a.size)).collect();
        assert_eq!(files, [(0, Some("cat.txt"), 3), (1, Some("a.bin"), 3)]);
        assert_eq!(attachment_bytes(raw, 0).as_deref(), Some(&b"Cat"[..]));
        assert_eq!(attachment_bytes(raw, 1).as_deref(), Some(&[0u8, 1, 2][..]));
        assert_eq!(attachment_bytes(raw, 2), None);
        // A part declared x-uuencode: decoded, named by its begin line when the headers do not.
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n\
            Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
            begin 600 dog.txt\r\n#1&]G\r\n`\r\nend\r\n--b--\r\n";
        let msg = parse(raw).unwrap();
        assert_eq!((msg.attachments[0].filename.as_deref(), msg.attachments[0].size), (Some("dog.txt"), 3));
        assert_eq!(attachment_bytes(raw, 0).as_deref(), Some(&b"Dog"[..]));
    }

    #[cfg(feature = "serde")]
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
