//! Which parts are the bodies and which are attachments, and their decoded bytes and text.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{Encoding, HeaderName, Message, MessagePart, MimeHeaders, PartType};

use super::charset::{meta_charset, utf8_or_windows_1252, windows_1252, Charsets};
use super::headers::raw_value;
use super::params::header_param;
use super::uuencode::{self, UuFile};
use super::Attachment;

/// The part ids shown as the text and HTML bodies.
pub(super) struct Bodies {
    pub(super) text: Option<usize>,
    pub(super) html: Option<usize>,
}

impl Bodies {
    pub(super) fn choose(message: &Message<'_>) -> Bodies {
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
        // `Content-Type: text` without a subtype is text/plain (RFC 2045 §5.2 reads a type it
        // cannot make sense of that way), but mail-parser files it as other text, outside
        // the bodies: take the first such part that is not an attachment.
        if text.is_none() {
            text = message.parts.iter().position(|part| {
                let attachment = part.attachment_name().is_some()
                    || part.content_disposition().is_some_and(|d| d.ctype().trim().eq_ignore_ascii_case("attachment"));
                let subtypeless_text = part.content_type().is_some_and(|ct| {
                    ct.ctype().trim().eq_ignore_ascii_case("text") && ct.subtype().is_none_or(|s| s.trim().is_empty())
                });
                matches!(part.body, PartType::Text(_)) && subtypeless_text && !attachment
            });
        }
        Bodies { text, html }
    }

    pub(super) fn contains(&self, id: usize) -> bool {
        self.text == Some(id) || self.html == Some(id)
    }
}

/// An entry of the attachment list.
pub(super) enum Listed<'a, 'x> {
    /// A MIME part, with its id.
    Part(usize, &'a MessagePart<'x>),
    /// A file uuencoded in the text body.
    Uuencoded(UuFile),
}

/// The attachment list, in message order: every leaf part except the chosen bodies, and the
/// files uuencoded in the text body where that body stands.
pub(super) fn listing<'a, 'x>(message: &'a Message<'x>, bodies: &Bodies, buf: &[u8]) -> Vec<Listed<'a, 'x>> {
    let mut listed = Vec::new();
    for (id, part) in message.parts.iter().enumerate() {
        if bodies.text == Some(id) {
            listed.extend(uuencode::files(&part_bytes(part, buf)).into_iter().map(Listed::Uuencoded));
        } else if !matches!(part.body, PartType::Multipart(_)) && !bodies.contains(id) {
            listed.push(Listed::Part(id, part));
        }
    }
    listed
}

/// The attachment entry of a file uuencoded in the text body.
pub(super) fn describe_uuencoded(file: &UuFile, index: usize) -> Attachment {
    Attachment {
        index,
        filename: Some(utf8_or_windows_1252(&file.name)).filter(|name| !name.is_empty()),
        content_type: "application/octet-stream".to_owned(),
        size: file.bytes.len(),
        content_id: None,
        inline: false,
        disposition: None,
    }
}

pub(super) fn describe(
    charsets: Charsets<'_>,
    message: &Message<'_>,
    id: usize,
    part: &MessagePart<'_>,
    index: usize,
    buf: &[u8],
) -> Attachment {
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
        filename: filename(charsets, part, buf),
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

fn filename(charsets: Charsets<'_>, part: &MessagePart<'_>, buf: &[u8]) -> Option<String> {
    let raw = |name: HeaderName<'static>| part.headers.iter().find(|h| h.name == name).map(|h| raw_value(h, buf));
    raw(HeaderName::ContentDisposition)
        .and_then(|v| header_param(charsets, v, "filename"))
        .or_else(|| raw(HeaderName::ContentType).and_then(|v| header_param(charsets, v, "name")))
        // Our reader is strict about syntax; mail-parser's reading is the fallback.
        .or_else(|| part.attachment_name().map(str::to_owned))
        .or_else(|| uuencoded_file(part, buf).map(|file| utf8_or_windows_1252(&file.name)))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// The transfer-decoded bytes of a leaf part, before any charset conversion.
pub(super) fn part_bytes<'a>(part: &'a MessagePart<'_>, buf: &'a [u8]) -> Cow<'a, [u8]> {
    let raw = buf.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
    match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => match uuencoded_file(part, buf) {
            Some(file) => Cow::Owned(file.bytes),
            None => Cow::Borrowed(bytes.as_ref()),
        },
        // Unencoded nested messages are parsed in place; encoded ones carry their decoded copy.
        PartType::Message(nested) if part.encoding != Encoding::None => Cow::Borrowed(nested.raw_message.as_ref()),
        PartType::Message(_) => Cow::Borrowed(raw),
        // mail-parser keeps text parts only after charset conversion: decode the raw bytes again.
        PartType::Text(_) | PartType::Html(_) => transfer_decode(raw, declared_encoding(part)),
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
}

/// The file in a non-text part declared `Content-Transfer-Encoding: x-uuencode` (mail-parser
/// leaves such parts encoded); `None` for other parts, or when no uuencoded block is found.
/// Text parts are left out: a text body's blocks are listed as files of their own.
fn uuencoded_file(part: &MessagePart<'_>, buf: &[u8]) -> Option<UuFile> {
    if !matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_)) {
        return None;
    }
    let encoding = part.content_transfer_encoding()?.trim().to_ascii_lowercase();
    if !matches!(encoding.as_str(), "x-uuencode" | "uuencode" | "x-uue" | "uue") {
        return None;
    }
    let raw = buf.get(part.offset_body as usize..part.offset_end as usize)?;
    uuencode::files(raw).into_iter().next()
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
pub(super) fn body_string(charsets: Charsets<'_>, part: &MessagePart<'_>, buf: &[u8]) -> String {
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_ref(),
        _ => return String::new(),
    };
    let charset = part.content_type().and_then(|ct| ct.attribute("charset")).map(str::trim).filter(|c| !c.is_empty());
    let undecoded = part.is_encoding_problem && declared_encoding(part) != Encoding::None;
    let fallback_charset = charset.is_some_and(|c| charsets.uses_fallback(c));
    if !undecoded && !fallback_charset && (charset.is_some() || !text.contains('\u{FFFD}')) {
        return text.to_owned();
    }
    let bytes = part_bytes(part, buf);
    if let Some(charset) = charset {
        // UTF-8 (and unknown names) have no decoder in mail-parser's table.
        return charsets.decode(charset, &bytes).unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    }
    if let Ok(s) = std::str::from_utf8(&bytes) {
        return s.to_owned();
    }
    if matches!(part.body, PartType::Html(_)) {
        if let Some(text) = meta_charset(&bytes).and_then(|c| charsets.decode(&c, &bytes)) {
            return text;
        }
    }
    windows_1252(&bytes)
}
