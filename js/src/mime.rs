//! The MIME face: `parseMessage` and `attachmentContent`, with the host's `TextDecoder` as the
//! parser's charset fallback.

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::{object, opt_str, to_js_error};
use pop3_wasm::mime::{Address, CharsetFallback, ParsedMessage, Parser};

#[wasm_bindgen]
extern "C" {
    /// The host's WHATWG `TextDecoder`: every runtime this module runs in has one.
    type TextDecoder;
    #[wasm_bindgen(constructor, catch)]
    fn new(label: &str) -> Result<TextDecoder, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn encoding(this: &TextDecoder) -> String;
    #[wasm_bindgen(method, catch)]
    fn decode(this: &TextDecoder, input: &[u8]) -> Result<String, JsValue>;
}

/// The host's `TextDecoder` as the MIME parser's [`CharsetFallback`]: browsers, Node, Deno and
/// workerd all implement the WHATWG encodings, so the module needs no tables of its own for the
/// legacy charsets.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextDecoderFallback;

impl CharsetFallback for TextDecoderFallback {
    /// `bytes` decoded by a `TextDecoder` for `encoding` (invalid sequences become U+FFFD);
    /// `None` when the host does not know the label or maps it to the `replacement` encoding.
    fn decode(&self, encoding: &str, bytes: &[u8]) -> Option<String> {
        let decoder = TextDecoder::new(encoding).ok()?;
        if decoder.encoding() == "replacement" {
            return None;
        }
        decoder.decode(bytes).ok()
    }
}

/// The parser behind `parseMessage` and `attachmentContent`.
fn parser() -> Parser {
    Parser::new().with_charset_fallback(TextDecoderFallback)
}

fn addresses_to_js(list: &[Address]) -> JsValue {
    list.iter()
        .map(|a| {
            object(&[
                ("name", opt_str(a.name.as_deref())),
                ("address", opt_str(a.address.as_deref())),
                ("group", opt_str(a.group.as_deref())),
            ])
        })
        .collect::<Array>()
        .into()
}

fn message_to_js(m: &ParsedMessage) -> JsValue {
    let strings = |items: &[String]| items.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into();
    let attachments: Array = m
        .attachments
        .iter()
        .map(|a| {
            object(&[
                ("index", (a.index as f64).into()),
                ("filename", opt_str(a.filename.as_deref())),
                ("contentType", a.content_type.as_str().into()),
                ("size", (a.size as f64).into()),
                ("contentId", opt_str(a.content_id.as_deref())),
                ("inline", a.inline.into()),
                ("disposition", opt_str(a.disposition.as_deref())),
            ])
        })
        .collect();
    let headers: Array = m
        .headers
        .iter()
        .map(|h| object(&[("name", h.name.as_str().into()), ("value", h.value.as_str().into())]))
        .collect();
    object(&[
        ("subject", opt_str(m.subject.as_deref())),
        ("from", addresses_to_js(&m.from)),
        ("sender", addresses_to_js(&m.sender)),
        ("replyTo", addresses_to_js(&m.reply_to)),
        ("to", addresses_to_js(&m.to)),
        ("cc", addresses_to_js(&m.cc)),
        ("bcc", addresses_to_js(&m.bcc)),
        ("date", opt_str(m.date.as_deref())),
        ("dateRaw", opt_str(m.date_raw.as_deref())),
        ("messageId", opt_str(m.message_id.as_deref())),
        ("inReplyTo", opt_str(m.in_reply_to.as_deref())),
        ("references", strings(&m.references)),
        ("text", opt_str(m.text.as_deref())),
        ("textFromHtml", m.text_from_html.into()),
        ("html", opt_str(m.html.as_deref())),
        ("attachments", attachments.into()),
        ("headers", headers.into()),
        ("size", (m.size as f64).into()),
    ])
}

/// Parses message bytes (as retrieved) into a plain object: decoded subject, addresses,
/// date, ids, text and HTML bodies, attachment descriptions and all headers. The result is
/// plain data, so it can cross `postMessage` (parse in a Web Worker).
#[wasm_bindgen(js_name = parseMessage)]
pub fn parse_message(raw: &[u8]) -> Result<JsValue, JsValue> {
    parser().parse(raw).map(|m| message_to_js(&m)).map_err(|e| to_js_error(&e))
}

/// The decoded bytes of attachment `index` (from `parseMessage`), or `undefined`.
#[wasm_bindgen(js_name = attachmentContent)]
pub fn attachment_content(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    parser().attachment_bytes(raw, index)
}
