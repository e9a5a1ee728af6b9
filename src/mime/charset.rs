//! Charsets and RFC 2047 encoded words: mail-parser's decoders, the host's for the legacy
//! charsets mail-parser cannot decode in this build, and windows-1252 for undeclared 8-bit text.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;

/// Decodes the charsets that mail-parser cannot decode in this build: without the
/// `full-encoding` feature, the multi-byte legacy ones (ISO-2022-JP, Shift_JIS, EUC-JP,
/// EUC-KR, GBK/GB18030, Big5) and a few single-byte ones (IBM866, windows-874, x-mac-cyrillic).
///
/// A host service, injected into a [`Parser`](super::Parser) the way rustls takes its
/// `CryptoProvider`: the JavaScript face implements it with the host's `TextDecoder`; native
/// code can plug in `encoding_rs`, for example. With `full-encoding` on, mail-parser decodes
/// all of these itself and the fallback is never asked. Closures of the same shape implement it.
pub trait CharsetFallback {
    /// `bytes` decoded from `encoding`, named as in the WHATWG Encoding Standard (`shift_jis`,
    /// `gbk`, `euc-kr`, ...: the names `TextDecoder` and `encoding_rs` accept, whatever
    /// spelling the message used); `None` when it cannot decode that encoding. Invalid
    /// sequences should become U+FFFD, as `TextDecoder` does.
    fn decode(&self, encoding: &str, bytes: &[u8]) -> Option<String>;
}

impl<F: Fn(&str, &[u8]) -> Option<String>> CharsetFallback for F {
    fn decode(&self, encoding: &str, bytes: &[u8]) -> Option<String> {
        self(encoding, bytes)
    }
}

/// The charset decoders one parse uses: mail-parser's, and the fallback the parser was given.
#[derive(Clone, Copy, Default)]
pub(super) struct Charsets<'a> {
    fallback: Option<&'a dyn CharsetFallback>,
}

impl<'a> Charsets<'a> {
    pub(super) fn new(fallback: Option<&'a dyn CharsetFallback>) -> Self {
        Charsets { fallback }
    }

    /// `bytes` decoded from `charset` by the fallback or by mail-parser; `None` when neither
    /// knows the name.
    pub(super) fn decode(self, charset: &str, bytes: &[u8]) -> Option<String> {
        self.fallback_decode(charset, bytes).or_else(|| charset_decoder(charset.as_bytes()).map(|decode| decode(bytes)))
    }

    /// Whether `charset` is left to the fallback (mail-parser would read it as UTF-8).
    pub(super) fn uses_fallback(self, charset: &str) -> bool {
        self.fallback.is_some() && fallback_encoding(charset).is_some()
    }

    /// Decodes `bytes` with the fallback when `charset` is one mail-parser cannot decode in this
    /// build.
    fn fallback_decode(self, charset: &str, bytes: &[u8]) -> Option<String> {
        let fallback = self.fallback?;
        fallback.decode(fallback_encoding(charset)?, bytes)
    }

    /// The words of `value` in charsets left to the fallback, rewritten as UTF-8 words (see
    /// [`rewrite_encoded_words`]); `None` without a fallback or such words.
    pub(super) fn rewrite_fallback_words(self, value: &[u8]) -> Option<Vec<u8>> {
        self.fallback?;
        rewrite_encoded_words(value, |charset, bytes| self.fallback_decode(charset, bytes))
    }

    /// Every word of `value` rewritten as a UTF-8 word, its octets decoded as mail-parser
    /// decodes a word (by its charset, or as UTF-8 when the charset is unknown); `None` when
    /// `value` has no word.
    pub(super) fn rewrite_all_words(self, value: &[u8]) -> Option<Vec<u8>> {
        rewrite_encoded_words(value, |charset, bytes| {
            Some(self.decode(charset, bytes).unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned()))
        })
    }
}

// ---- charsets mail-parser leaves to the fallback ------------------------------------------

/// The charset labels (lower-case, `-` as `_`, as mail-parser matches them) that mail-parser
/// reads as UTF-8 without its `full_encoding` feature, with the WHATWG name of the encoding it
/// would use, which is what a [`CharsetFallback`] is given: TextDecoder accepts only exact
/// WHATWG labels, and several of mail-parser's spellings (`cp936`, `EUC_JP`) are not. Windows
/// code page numbers that neither knows (`cp932`, `cp949`, `cp950`) are added. The
/// `replacement` labels (ISO-2022-KR, HZ) are left out: a TextDecoder turns their text into a
/// single U+FFFD.
#[cfg(not(feature = "full-encoding"))]
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

/// The WHATWG encoding a [`CharsetFallback`] is asked for `charset`, when mail-parser cannot
/// decode that charset in this build.
fn fallback_encoding(charset: &str) -> Option<&'static str> {
    #[cfg(not(feature = "full-encoding"))]
    {
        let label = charset.trim().to_ascii_lowercase().replace('-', "_");
        HOST_CHARSETS.iter().find(|(key, _)| *key == label).map(|(_, encoding)| *encoding)
    }
    #[cfg(feature = "full-encoding")]
    {
        let _ = charset;
        None
    }
}

/// Rewrites the RFC 2047 words of `value` that `decode` decodes as UTF-8 words,
/// which mail-parser's field parsers decode; `None` when there is none. Words keep their place,
/// so quoting, address syntax and the whitespace rules between adjacent words are unchanged.
fn rewrite_encoded_words(value: &[u8], decode: impl Fn(&str, &[u8]) -> Option<String>) -> Option<Vec<u8>> {
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
pub(super) fn decode_param_words(charsets: Charsets<'_>, value: &[u8]) -> String {
    let mut out = String::new();
    let mut copied = 0;
    let mut after_word = false;
    for word in encoded_words(value) {
        let between = &value[copied..word.start];
        if !(after_word && between.iter().all(u8::is_ascii_whitespace)) {
            out.push_str(&utf8_or_windows_1252(between));
        }
        let text = charsets.decode(word.charset, &word.octets);
        out.push_str(&text.unwrap_or_else(|| String::from_utf8_lossy(&word.octets).into_owned()));
        copied = word.end;
        after_word = true;
    }
    out.push_str(&utf8_or_windows_1252(&value[copied..]));
    out.trim().to_owned()
}

/// The charset named by an HTML `<meta>` tag in the first kilobyte, if any.
pub(super) fn meta_charset(html: &[u8]) -> Option<String> {
    let head = html.get(..1024).unwrap_or(html).to_ascii_lowercase();
    let at = head.windows(8).position(|w| w == b"charset=")? + 8;
    let rest = head.get(at..)?;
    let rest = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")).unwrap_or(rest);
    let end = rest.iter().position(|b| !(b.is_ascii_alphanumeric() || b"-_.:".contains(b))).unwrap_or(rest.len());
    let name = std::str::from_utf8(rest.get(..end)?).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Text that is UTF-8 as it is, and windows-1252 otherwise.
pub(super) fn utf8_or_windows_1252(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).map(str::to_owned).unwrap_or_else(|_| windows_1252(bytes))
}

pub(super) fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::parse;
    use mail_parser::HeaderValue;

    /// A stand-in for the host's TextDecoder: knows only `x-upper`, which upper-cases ASCII.
    fn upper(charset: &str, bytes: &[u8]) -> Option<String> {
        charset.eq_ignore_ascii_case("x-upper").then(|| String::from_utf8_lossy(bytes).to_ascii_uppercase())
    }

    #[test]
    fn the_fallback_gets_whatwg_names_and_only_what_mail_parser_cannot_decode() {
        let asked = std::cell::RefCell::new(Vec::new());
        let fake = |encoding: &str, bytes: &[u8]| {
            asked.borrow_mut().push(encoding.to_owned());
            Some(format!("{encoding}:{}", bytes.len()))
        };
        let charsets = Charsets::new(Some(&fake));
        assert_eq!(charsets.decode("iso-8859-1", b"caf\xe9").as_deref(), Some("caf\u{e9}"));
        assert_eq!(charsets.decode("utf-8", b"x"), None, "UTF-8 is mail-parser's default, not a fallback's");
        let legacy = [("cp936", "gbk"), ("EUC_JP", "euc-jp"), ("Shift-JIS", "shift_jis"), ("ks_c_5601-1987", "euc-kr")];
        for (label, whatwg) in legacy {
            let decoded = charsets.decode(label, b"\x82\xa0");
            if cfg!(feature = "full-encoding") {
                assert!(decoded.is_some_and(|t| !t.contains(':')), "{label}: mail-parser decodes it itself");
            } else {
                assert_eq!(decoded, Some(format!("{whatwg}:2")), "{label}");
            }
            assert_eq!(charsets.uses_fallback(label), !cfg!(feature = "full-encoding"), "{label}");
        }
        let expected: Vec<&str> =
            if cfg!(feature = "full-encoding") { vec![] } else { legacy.iter().map(|(_, whatwg)| *whatwg).collect() };
        assert_eq!(*asked.borrow(), expected);
        // Without a fallback nothing is rewritten and nothing is left to anyone.
        assert!(!Charsets::default().uses_fallback("cp936"));
        assert_eq!(Charsets::default().rewrite_fallback_words(b"=?cp936?B?xOO6ww==?=\n"), None);
    }

    #[test]
    fn fallback_charset_words_become_utf8_words_in_place() {
        let rewrite = |v: &str| rewrite_encoded_words(v.as_bytes(), upper).map(|b| String::from_utf8(b).unwrap());
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
        let value = rewrite_encoded_words(b"=?x-upper?Q?hello?= =?x-upper?B?d29ybGQ=?=\n", upper).unwrap();
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
            assert_eq!(decode_param_words(Charsets::default(), value.as_bytes()), expected, "{value:?}");
        }
        let raw = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\n\
            Content-Type: application/pdf; name=\"=?UTF-8?B?w6l0w6k=?=.pdf\"\r\n\r\n%PDF\r\n--b--\r\n";
        assert_eq!(parse(raw).unwrap().attachments[0].filename.as_deref(), Some("été.pdf"));
    }

    #[test]
    fn fallback_word_rewriting_survives_random_input() {
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
            let Some(once) = rewrite_encoded_words(&value, upper) else { continue };
            rewritten += 1;
            let _ = MessageStream::new(&once).parse_unstructured();
            assert_eq!(rewrite_encoded_words(&once, upper), None, "{:?}", String::from_utf8_lossy(&value));
        }
        assert!(rewritten > 1000, "the generator should produce rewritable words ({rewritten})");
    }
}
