//! Fuzzes MIME parsing: arbitrary bytes as a message. `parse` must never panic and only fail
//! on empty input, every attachment it lists must be retrievable at exactly the size it
//! reports, and an index past the list must yield nothing. The same holds for a parser with a
//! charset fallback (the path TextDecoder takes in wasm), which must list the same attachments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_wasm::mime::{attachment_bytes, parse, Parser};

/// A stand-in for TextDecoder: every legacy encoding read as Latin-1.
fn latin1(_encoding: &str, bytes: &[u8]) -> Option<String> {
    Some(bytes.iter().map(|&b| char::from(b)).collect())
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse(data) else {
        assert!(data.is_empty(), "only empty input is an error");
        return;
    };
    assert_eq!(parsed.size, data.len());
    for attachment in &parsed.attachments {
        let bytes = attachment_bytes(data, attachment.index).expect("a listed attachment can be retrieved");
        assert_eq!(bytes.len(), attachment.size, "attachment {}", attachment.index);
    }
    let past = parsed.attachments.iter().map(|a| a.index + 1).max().unwrap_or(0);
    assert!(attachment_bytes(data, past).is_none());

    // Charsets change text, never which parts there are or their bytes.
    let with_fallback = Parser::new().with_charset_fallback(latin1).parse(data).expect("parses as before");
    let sizes = |m: &pop3_wasm::mime::ParsedMessage| m.attachments.iter().map(|a| a.size).collect::<Vec<_>>();
    assert_eq!(sizes(&with_fallback), sizes(&parsed));
});
