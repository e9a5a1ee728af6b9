//! MIME parameters (RFC 2045), with RFC 2231 continuations and charsets.

use super::charset::{decode_param_words, utf8_or_windows_1252, windows_1252, Charsets};

/// Reads parameter `wanted` from a raw Content-Type or Content-Disposition value.
///
/// mail-parser decodes each RFC 2231 continuation on its own and applies the charset only to
/// the first, which garbles `filename*0*=iso-8859-1''...; filename*1*=...` and UTF-8 sequences
/// split across segments. Here the octets of all segments are joined first, then decoded.
/// RFC 2047 words inside quoted values (forbidden, but Outlook and Gmail send them) are decoded.
pub(super) fn header_param(charsets: Charsets<'_>, value: &[u8], wanted: &str) -> Option<String> {
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
        if let Some(s) = decode_extended(charsets, &[(0, true, val)]) {
            return Some(s);
        }
    }
    if !segments.is_empty() {
        segments.sort_by_key(|s| s.0);
        if let Some(s) = decode_extended(charsets, &segments) {
            return Some(s);
        }
    }
    plain
        .map(
            |v| {
                if v.windows(2).any(|w| w == b"=?") {
                    decode_param_words(charsets, &v)
                } else {
                    utf8_or_windows_1252(&v)
                }
            },
        )
        .filter(|s| !s.is_empty())
}

/// Joins RFC 2231 segments (number, percent-encoded?, value) and decodes them with the
/// charset named in the first encoded segment.
fn decode_extended(charsets: Charsets<'_>, segments: &[(u32, bool, Vec<u8>)]) -> Option<String> {
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
    let text = match charset.as_deref().and_then(|c| charsets.decode(c, &octets)) {
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

    #[test]
    fn mime_parameters() {
        let p = |v: &str, name: &str| header_param(Charsets::default(), v.as_bytes(), name);
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
}
