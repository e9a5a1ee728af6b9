//! Golden tests for `pop3_wasm::mime`.
//!
//! - `sample_mailbox_matches_manifest`: runs `tests/fixtures/make_sample_mail.py` (needs
//!   `python3`) into a temporary directory and checks every message against its manifest.json.
//! - `golden_files`: each `tests/golden/mime/NAME.eml` must parse to exactly
//!   `tests/golden/mime/NAME.json` (the serialised `ParsedMessage`, pretty JSON).
//!   To accept new output, run `UPDATE_GOLDEN=1 cargo test --test mime_golden`, which rewrites
//!   the .json files instead of comparing; then read the diff before committing it.
//!   `pkg/test/mime-golden.test.js` checks the same files through the npm package's
//!   `parseMessage`, whose object is built separately from serde's.
//! - `legacy_charsets`: which charsets decode with and without the `full-encoding` feature;
//!   `legacy_charsets_through_a_fallback`: all of them, with encoding_rs as the parser's
//!   `CharsetFallback` (natively, the path TextDecoder takes in WebAssembly).
//! - `uuencoded_files_decode_to_their_bytes`: the files uuencoded in a golden message's body.
//! - `truncated_and_mutated_input_never_panics`: every prefix of every golden message, plus
//!   byte substitutions, parse without panicking.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pop3_wasm::mime::{attachment_bytes, parse, ParsedMessage, Parser};
use serde_json::Value;

const PDF_MAGIC: &[u8] = b"%PDF-";
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mime")
}

fn golden_emls() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(golden_dir())
        .expect("tests/golden/mime exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .eml files in tests/golden/mime");
    files
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strip_brackets(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// `[name, address]` pairs from the manifest, with "" read as no name.
fn manifest_pairs(v: &Value) -> Vec<(Option<String>, Option<String>)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let get = |i: usize| pair.get(i).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
            (get(0), get(1))
        })
        .collect()
}

fn check_manifest_entry(dir: &Path, entry: &Value) {
    let file = str_field(entry, "file").expect("manifest entry has a file");
    let features: Vec<&str> = entry["features"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let raw = fs::read(dir.join(file)).expect("sample message readable");
    let msg = parse(&raw).unwrap_or_else(|e| panic!("{file}: {e}"));
    let ctx = |what: &str| format!("{file}: {what}");

    assert_eq!(msg.size, raw.len(), "{}", ctx("size"));
    assert_eq!(Some(msg.size as u64), entry["file_size"].as_u64(), "{}", ctx("file_size"));

    let snippet = str_field(entry, "text_contains").expect("text_contains");
    let in_text = msg.text.as_deref().is_some_and(|t| t.contains(snippet));
    let in_html = msg.html.as_deref().is_some_and(|h| h.contains(snippet));

    if features.contains(&"malformed-headers") {
        // Python and mail-parser read broken headers differently; only demand survival.
        assert!(in_text || in_html, "{}", ctx("snippet survives"));
        assert!(msg.date.is_none() && msg.date_raw.is_some(), "{}", ctx("bad date kept raw: {msg:?}"));
        assert_eq!(msg.from.first().and_then(|a| a.address.as_deref()), str_field(entry, "from_address"));
        return;
    }

    let legacy_multibyte = features.contains(&"iso-2022-jp") && !cfg!(feature = "full-encoding");
    if legacy_multibyte {
        // Without encoding_rs, ISO-2022-JP stays as its 7-bit escape sequences (see legacy_charsets).
        let subject = msg.subject.as_deref().unwrap_or_default();
        assert!(subject.contains("\u{1b}$B"), "{}", ctx("undecoded ISO-2022-JP subject"));
        assert!(msg.text.as_deref().unwrap_or_default().contains("\u{1b}$B"), "{}", ctx("undecoded body"));
    } else {
        assert_eq!(msg.subject.as_deref(), str_field(entry, "subject"), "{}", ctx("subject"));
        let from = msg.from.first().expect("a From address");
        assert_eq!(from.name.as_deref(), str_field(entry, "from_name"), "{}", ctx("from name"));
        assert!(if msg.text_from_html { in_html } else { in_text }, "{}", ctx("text snippet: {msg:?}"));
        for line in entry["exact_lines"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let text = msg.text.as_deref().unwrap_or_default();
            assert!(text.lines().any(|l| l == line), "{}", ctx(&format!("exact line {line:?} in {text:?}")));
        }
    }
    assert_eq!(msg.from.first().and_then(|a| a.address.as_deref()), str_field(entry, "from_address"));

    let pairs = |list: &[pop3_wasm::mime::Address]| -> Vec<(Option<String>, Option<String>)> {
        list.iter().map(|a| (a.name.clone(), a.address.clone())).collect()
    };
    if !legacy_multibyte {
        assert_eq!(pairs(&msg.to), manifest_pairs(&entry["to"]), "{}", ctx("to"));
        assert_eq!(pairs(&msg.cc), manifest_pairs(&entry["cc"]), "{}", ctx("cc"));
    }
    assert_eq!(
        msg.reply_to.first().and_then(|a| a.address.as_deref()),
        str_field(entry, "reply_to"),
        "{}",
        ctx("reply-to")
    );

    assert_eq!(msg.date.as_deref(), str_field(entry, "date_iso"), "{}", ctx("date"));
    // The Date header's text is always kept, read or not.
    let date_header = msg.headers.iter().find(|h| h.name.eq_ignore_ascii_case("Date")).map(|h| h.value.as_str());
    assert!(date_header.is_some(), "{}", ctx("a Date header"));
    assert_eq!(msg.date_raw.as_deref(), date_header, "{}", ctx("date_raw"));
    assert_eq!(msg.message_id.as_deref(), str_field(entry, "message_id").map(strip_brackets), "{}", ctx("id"));
    assert_eq!(msg.in_reply_to.as_deref(), str_field(entry, "in_reply_to").map(strip_brackets), "{}", ctx("irt"));
    let refs: Vec<&str> =
        entry["references"].as_array().into_iter().flatten().filter_map(Value::as_str).map(strip_brackets).collect();
    assert_eq!(msg.references, refs, "{}", ctx("references"));
    assert_eq!(msg.html.is_some(), entry["has_html"].as_bool().unwrap_or(false), "{}", ctx("has_html"));

    let expected = entry["attachments"].as_array().cloned().unwrap_or_default();
    assert_eq!(msg.attachments.len(), expected.len(), "{}", ctx(&format!("attachments {:?}", msg.attachments)));
    for (i, (att, exp)) in msg.attachments.iter().zip(&expected).enumerate() {
        assert_eq!(att.index, i);
        assert_eq!(att.filename.as_deref(), str_field(exp, "filename"), "{}", ctx("filename"));
        assert_eq!(Some(att.content_type.as_str()), str_field(exp, "content_type"), "{}", ctx("type"));
        assert_eq!(Some(att.size as u64), exp["size"].as_u64(), "{}", ctx("attachment size"));
        assert_eq!(att.content_id.as_deref(), str_field(exp, "content_id"), "{}", ctx("content id"));
        assert_eq!(att.inline, att.content_id.is_some(), "{}", ctx("inline flag"));

        let bytes = attachment_bytes(&raw, i).unwrap_or_else(|| panic!("{}", ctx("attachment bytes")));
        assert_eq!(bytes.len(), att.size, "{}", ctx("bytes length"));
        match att.content_type.as_str() {
            "application/pdf" => assert!(bytes.starts_with(PDF_MAGIC), "{}", ctx("PDF magic")),
            "image/png" => assert!(bytes.starts_with(PNG_MAGIC), "{}", ctx("PNG magic")),
            _ => {}
        }
    }
    assert_eq!(attachment_bytes(&raw, expected.len()), None, "{}", ctx("index past the end"));
}

#[test]
fn sample_mailbox_matches_manifest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make_sample_mail.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .args(["--large-mb", "1"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs (the sample mailbox generator needs it)");
    assert!(status.success(), "make_sample_mail.py failed");

    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.path().join("manifest.json")).expect("manifest")).expect("JSON");
    let entries = manifest.as_array().expect("manifest is a list");
    assert!(entries.len() >= 25, "expected about 30 sample messages, got {}", entries.len());
    for entry in entries {
        check_manifest_entry(dir.path(), entry);
    }
}

fn to_pretty_json(msg: &ParsedMessage) -> String {
    let mut json = serde_json::to_string_pretty(msg).expect("ParsedMessage serialises");
    json.push('\n');
    json
}

#[test]
fn golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for eml in golden_emls() {
        let raw = fs::read(&eml).expect("golden .eml readable");
        let json = to_pretty_json(&parse(&raw).expect("golden message parses"));
        let expected_path = eml.with_extension("json");
        if update {
            fs::write(&expected_path, &json).expect("write golden .json");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == json => {}
            Ok(_) => failures.push(format!("{} differs; got:\n{json}", expected_path.display())),
            Err(_) => failures.push(format!("{} is missing (run with UPDATE_GOLDEN=1)", expected_path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Attachment bytes of the golden messages: every listed attachment is retrievable, sizes
/// agree, and a forwarded message's bytes parse as that message.
#[test]
fn golden_attachment_bytes() {
    for eml in golden_emls() {
        let raw = fs::read(&eml).expect("golden .eml readable");
        let msg = parse(&raw).expect("parses");
        for att in &msg.attachments {
            let bytes = attachment_bytes(&raw, att.index).expect("listed attachment has bytes");
            assert_eq!(bytes.len(), att.size, "{}: attachment {}", eml.display(), att.index);
            if att.content_type == "message/rfc822" {
                let inner = parse(&bytes).expect("nested message parses");
                assert_eq!(inner.subject.as_deref(), Some("Your ticket #4711"));
                assert_eq!(inner.attachments.len(), 1);
                let pdf = attachment_bytes(&bytes, 0).expect("nested PDF");
                assert!(pdf.starts_with(PDF_MAGIC));
            }
        }
        assert_eq!(attachment_bytes(&raw, msg.attachments.len()), None);
    }
}

/// The files uuencoded in a text body come out byte for byte.
#[test]
fn uuencoded_files_decode_to_their_bytes() {
    let raw = fs::read(golden_dir().join("uuencoded-attachments.eml")).expect("golden .eml readable");
    let mut table: Vec<u8> = (0..=255).collect();
    table.extend_from_slice(&b"The quick brown fox jumps over the lazy dog.\n".repeat(3));
    assert_eq!(attachment_bytes(&raw, 0), Some(table));
    assert_eq!(attachment_bytes(&raw, 1).as_deref(), Some(&b"PK\x03\x04 not really a zip"[..]));
    let text = parse(&raw).expect("parses").text.expect("a text body");
    assert!(!text.contains("begin 644") && !text.contains("\nend\r\n"), "{text:?}");
}

/// (charset, expected text, RFC 2047 word, body bytes in that charset).
const CHARSETS: &[(&str, &str, &str, &[u8])] = &[
    (
        "iso-2022-jp",
        "日本語のテキスト",
        "=?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiUtJTklSBsoQg==?=",
        b"\x1b$BF|K\x5c8l$N%F%-%9%H\x1b(B",
    ),
    (
        "shift_jis",
        "日本語のテキスト",
        "=?SHIFT_JIS?B?k/qWe4zqgsyDZYNMg1iDZw==?=",
        b"\x93\xfa\x96{\x8c\xea\x82\xcc\x83e\x83L\x83X\x83g",
    ),
    (
        "euc-jp",
        "日本語のテキスト",
        "=?EUC-JP?B?xvzL3LjspM6lxqWtpbmlyA==?=",
        b"\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xc6\xa5\xad\xa5\xb9\xa5\xc8",
    ),
    ("gb2312", "简体中文测试", "=?GB2312?B?vPLM5dbQzsSy4srU?=", b"\xbc\xf2\xcc\xe5\xd6\xd0\xce\xc4\xb2\xe2\xca\xd4"),
    ("gbk", "简体中文测试", "=?GBK?B?vPLM5dbQzsSy4srU?=", b"\xbc\xf2\xcc\xe5\xd6\xd0\xce\xc4\xb2\xe2\xca\xd4"),
    ("gb18030", "简体中文测试", "=?GB18030?B?vPLM5dbQzsSy4srU?=", b"\xbc\xf2\xcc\xe5\xd6\xd0\xce\xc4\xb2\xe2\xca\xd4"),
    ("big5", "繁體中文測試", "=?BIG5?B?wWPF6aSkpOW0+rjV?=", b"\xc1c\xc5\xe9\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5"),
    (
        "euc-kr",
        "한국어 테스트",
        "=?EUC-KR?B?x9Gxub7uIMXXvbrGrg==?=",
        b"\xc7\xd1\xb1\xb9\xbe\xee \xc5\xd7\xbd\xba\xc6\xae",
    ),
    ("koi8-r", "Привет, мир", "=?KOI8-R?B?8NLJ18XULCDNydI=?=", b"\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2"),
    ("iso-8859-1", "Grüße, café", "=?ISO-8859-1?B?R3L832UsIGNhZuk=?=", b"Gr\xfc\xdfe, caf\xe9"),
    ("windows-1252", "“quotes” – 5 €", "=?WINDOWS-1252?B?k3F1b3Rlc5QgliA1IIA=?=", b"\x93quotes\x94 \x96 5 \x80"),
    ("iso-8859-2", "Zażółć gęślą", "=?ISO-8859-2?B?WmG/87PmIGfqtmyx?=", b"Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1"),
    ("windows-1251", "Привет, мир", "=?WINDOWS-1251?B?z/Do4uXyLCDs6PA=?=", b"\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0"),
    ("iso-8859-15", "Prix: 5 €", "=?ISO-8859-15?B?UHJpeDogNSCk?=", b"Prix: 5 \xa4"),
];

/// Charsets that only decode with the `full-encoding` feature (mail-parser's encoding_rs path).
const NEEDS_FULL_ENCODING: &[&str] =
    &["iso-2022-jp", "shift_jis", "euc-jp", "gb2312", "gbk", "gb18030", "big5", "euc-kr"];

#[test]
fn legacy_charsets() {
    for &(charset, expected, word, body) in CHARSETS {
        let mut raw = format!(
            "From: x@example.com\r\nSubject: {word}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(body);
        raw.extend_from_slice(b"\r\n");
        let msg = parse(&raw).expect("parses");
        let subject = msg.subject.as_deref().unwrap_or_default();
        let text = msg.text.as_deref().unwrap_or_default().trim_end();
        if cfg!(feature = "full-encoding") || !NEEDS_FULL_ENCODING.contains(&charset) {
            assert_eq!(subject, expected, "{charset} subject");
            assert_eq!(text, expected, "{charset} body");
        } else {
            // What breaks without the feature: the text is not decoded. ISO-2022-JP is 7-bit,
            // so it shows its escape sequences; the 8-bit ones become U+FFFD.
            assert_ne!(subject, expected, "{charset} subject unexpectedly decoded");
            assert_ne!(text, expected, "{charset} body unexpectedly decoded");
            let garbled = |s: &str| s.contains('\u{FFFD}') || s.contains('\u{1b}');
            assert!(garbled(subject) && garbled(text), "{charset}: {subject:?} / {text:?}");
        }
    }
}

/// encoding_rs as a `CharsetFallback`: what a native user would plug in.
fn encoding_rs_fallback(encoding: &str, bytes: &[u8]) -> Option<String> {
    let encoding = encoding_rs::Encoding::for_label_no_replacement(encoding.as_bytes())?;
    Some(encoding.decode_without_bom_handling(bytes).0.into_owned())
}

#[test]
fn legacy_charsets_through_a_fallback() {
    let parser = Parser::new().with_charset_fallback(encoding_rs_fallback);
    for &(charset, expected, word, body) in CHARSETS {
        let mut raw = format!(
            "From: =?{charset}?B?{}?= <x@example.com>\r\nSubject: {word}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            word.split('?').nth(3).expect("a B word")
        )
        .into_bytes();
        raw.extend_from_slice(body);
        raw.extend_from_slice(
            b"\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=",
        );
        raw.extend_from_slice(charset.as_bytes());
        raw.extend_from_slice(b"''");
        for byte in body {
            raw.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
        raw.extend_from_slice(b"\r\n\r\nx\r\n--b--\r\n");
        let msg = parser.parse(&raw).expect("parses");
        assert_eq!(msg.subject.as_deref(), Some(expected), "{charset} subject (RFC 2047)");
        assert_eq!(msg.from[0].name.as_deref(), Some(expected), "{charset} From name (RFC 2047 in an address)");
        assert_eq!(msg.text.as_deref().map(str::trim_end), Some(expected), "{charset} body");
        assert_eq!(msg.attachments[0].filename.as_deref(), Some(expected), "{charset} file name (RFC 2231)");
        assert_eq!(parser.attachment_bytes(&raw, 0).as_deref(), Some(&b"x"[..]));
    }
}

fn assert_survives(raw: &[u8]) {
    match parse(raw) {
        Ok(msg) => {
            for att in &msg.attachments {
                let bytes = attachment_bytes(raw, att.index).expect("listed attachment has bytes");
                assert_eq!(bytes.len(), att.size);
            }
            assert_eq!(attachment_bytes(raw, msg.attachments.len()), None);
        }
        Err(_) => assert!(raw.is_empty(), "only empty input may fail"),
    }
}

#[test]
fn truncated_and_mutated_input_never_panics() {
    for eml in golden_emls() {
        let raw = fs::read(&eml).expect("golden .eml readable");
        for end in 0..=raw.len() {
            assert_survives(&raw[..end]);
        }
        // Bytes that matter to MIME syntax, dropped in at a stride.
        for (n, pos) in (0..raw.len()).step_by(7).enumerate() {
            let mut mutated = raw.clone();
            mutated[pos] = [b'\n', b'-', b'=', b'"', b';', 0xff, b'\r', b'?'][n % 8];
            assert_survives(&mutated);
        }
        // LF-only line ends (some servers and files use them).
        let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        assert_survives(&lf);
    }
}
