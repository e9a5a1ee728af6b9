//! Fuzzes MIME parsing: arbitrary bytes as a message. `parse` must never panic and only fail
//! on empty input, every attachment it lists must be retrievable at exactly the size it
//! reports, and an index past the list must yield nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_wasm::mime::{attachment_bytes, parse};

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
});
