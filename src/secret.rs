//! Credentials that never print and are wiped from memory when dropped, and the redaction of
//! server texts that echo them.

use std::borrow::Cow;
use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// A password or access token.
///
/// `Debug` and `Display` print `Secret(***)`, and the bytes are overwritten with zeros when the
/// value is dropped, so a secret cannot leak through logs or error messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password or token.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where it is needed to talk to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What replaces a credential in a server's text.
pub const REDACTED: &str = "***";

/// The shortest part of a credential, in bytes, that is redacted where a text begins or ends
/// with it (shorter ones would catch ordinary words and punctuation).
const EDGE_MIN: usize = 4;

/// What replaces a whole text crafted so that removing a credential keeps making another.
const WITHHELD: &str = "(withheld: the server's text contains a credential)";

/// Every form of the session's credentials that went, or may go, on the wire: the password or
/// token, and what mechanisms made of it (the base64 of a SASL response, the PLAIN string, an
/// APOP digest). Server texts pass through [`Redactor::redact_str`] before they are stored in an
/// error or handed to the caller, so a server that echoes its input (`-ERR invalid password
/// 'hunter2'`) cannot put a credential in a log line.
///
/// Matching ignores ASCII case (a server may upper-case what it echoes); other characters
/// match as they are (Unicode's case tables would add about 7 KB gzip to the wasm module, for
/// a server that upper-cases non-ASCII letters of what it echoes). Forms are wiped from memory
/// when the redactor is dropped.
#[derive(Default)]
pub struct Redactor {
    /// Lower-cased forms, longest first, so a form inside a longer one does not split it.
    forms: Vec<Zeroizing<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms)", self.forms.len())
    }
}

impl Redactor {
    /// Adds a form to redact (an empty one is ignored). Bytes that are not UTF-8 are taken as
    /// the server's texts are read: lossily.
    pub fn protect(&mut self, form: &[u8]) {
        let lower = Zeroizing::new(String::from_utf8_lossy(form).to_ascii_lowercase());
        if lower.is_empty() || self.forms.iter().any(|f| **f == *lower) {
            return;
        }
        self.forms.push(lower);
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// Adds `form` and its standard base64 encoding (the way SASL puts it on the wire).
    pub fn protect_with_base64(&mut self, form: &[u8]) {
        use base64::Engine as _;
        self.protect(form);
        if !form.is_empty() {
            let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(form));
            self.protect(encoded.as_bytes());
        }
    }

    /// Whether nothing is protected yet.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// [`Redactor::redact_str`] for raw bytes (read lossily as UTF-8 when something matched).
    pub fn redact<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        if self.forms.is_empty() {
            return Cow::Borrowed(text);
        }
        match self.redact_str(&String::from_utf8_lossy(text)) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(changed) => Cow::Owned(changed.into_bytes()),
        }
    }

    /// `text` with every protected form replaced by `***`. Replacing may join the text
    /// around a form into another occurrence, so it repeats until none is left; text that still
    /// holds one after a few rounds (crafted to defeat the replacement) is withheld whole.
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.forms.is_empty() || text.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut current: Cow<'a, str> = Cow::Borrowed(text);
        for _ in 0..8 {
            match self.redact_once(&current) {
                None => return current,
                Some(next) => current = Cow::Owned(next),
            }
        }
        // Owned, so that no caller can take it for the unchanged text.
        Cow::Owned(WITHHELD.to_owned())
    }

    /// One pass: `None` when nothing matched.
    fn redact_once(&self, text: &str) -> Option<String> {
        // ASCII lower-casing keeps every byte where it was, so positions map back as they are.
        let lower = Zeroizing::new(text.to_ascii_lowercase());
        // Covered ranges, from every form; overlaps merge.
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let text_bytes = lower.as_bytes();
        for form in &self.forms {
            let form = form.as_bytes();
            for start in memchr::memmem::find_iter(text_bytes, form) {
                hits.push((start, start + form.len()));
            }
            // A text cut short inside a credential (a server truncating what it echoes), or one
            // the caller's template completes (the quote that closes `got "…`), shows most of
            // it: a text that ends with the form's beginning, or begins with its end, loses that
            // part too once it is long enough to say something.
            let longest = (form.len() - 1).min(text_bytes.len());
            if let Some(k) = (EDGE_MIN..=longest).rev().find(|&k| text_bytes.ends_with(&form[..k])) {
                hits.push((text_bytes.len() - k, text_bytes.len()));
            }
            if let Some(k) = (EDGE_MIN..=longest).rev().find(|&k| text_bytes.starts_with(&form[form.len() - k..])) {
                hits.push((0, k));
            }
        }
        // Both texts are UTF-8, so an edge match starts and ends on character boundaries; the
        // widening only makes sure a slip here could never panic in the slicing below.
        for (start, end) in &mut hits {
            while !text.is_char_boundary(*start) {
                *start -= 1;
            }
            while !text.is_char_boundary(*end) {
                *end += 1;
            }
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut iter = hits.into_iter().peekable();
        while let Some((start, mut end)) = iter.next() {
            while let Some(&(next_start, next_end)) = iter.peek() {
                if next_start > end {
                    break;
                }
                end = end.max(next_end);
                iter.next();
            }
            if start >= pos {
                out.push_str(&text[pos..start]);
                out.push_str(REDACTED);
            }
            pos = pos.max(end);
        }
        out.push_str(&text[pos..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_form_in_any_case() {
        let mut r = Redactor::default();
        assert_eq!(r.redact(b"hunter2"), Cow::Borrowed(b"hunter2".as_slice()));
        r.protect_with_base64(b"hunter2");
        r.protect("pässwörd".as_bytes());
        assert_eq!(r.redact_str("was PäSSWöRD?"), "was ***?");
        assert_eq!(r.redact(b"bytes \xff hunter2"), Cow::<[u8]>::Owned("bytes \u{fffd} ***".as_bytes().to_vec()));
        assert_eq!(r.redact_str("invalid password 'hunter2' for alice"), "invalid password '***' for alice");
        assert_eq!(r.redact_str("INVALID PASSWORD 'HUNTER2'"), "INVALID PASSWORD '***'");
        assert_eq!(r.redact_str("bad response aHVudGVyMg=="), "bad response ***");
        assert_eq!(r.redact_str("nothing here"), "nothing here");
    }

    #[test]
    fn redacts_a_credential_cut_at_either_end_of_the_text() {
        let mut r = Redactor::default();
        r.protect(b"hunter2\"");
        // Truncated echo, and one whose closing quote a template would supply.
        assert_eq!(r.redact_str("bad password hunt"), "bad password ***");
        assert_eq!(r.redact_str("bad password hunter2"), "bad password ***");
        assert_eq!(r.redact_str("nter2\" was refused"), "*** was refused");
        // Short edges are ordinary text.
        assert_eq!(r.redact_str("go hun"), "go hun");
        assert_eq!(r.redact_str("2\" ok"), "2\" ok");
        let mut r = Redactor::default();
        r.protect("pässwörd".as_bytes());
        // Non-ASCII characters in the part that is left.
        assert_eq!(r.redact_str("no p\u{e4}ssw"), "no ***");
    }

    #[test]
    fn overlapping_and_reassembled_forms_are_removed() {
        let mut r = Redactor::default();
        r.protect(b"abcd");
        r.protect(b"cdef");
        assert_eq!(r.redact_str("xabcdefy"), "x***y");
        // Removing the inner copy joins "a" + "***b"... into another copy: replaced again.
        let mut r = Redactor::default();
        r.protect(b"a***b");
        let out = r.redact_str("aa***bb");
        assert!(!out.contains("a***b"), "{out}");
    }

    #[test]
    fn text_that_keeps_rebuilding_a_credential_is_withheld_on_every_path() {
        // Found by fuzzing: each removal of "¤!!!**" joins the "¤!!!" before it and the "***"
        // left behind into another copy.
        let mut r = Redactor::default();
        r.protect("¤!!!**".as_bytes());
        let text = format!("x {}**", "¤!!!".repeat(12));
        assert_eq!(r.redact_str(&text), WITHHELD);
        assert_eq!(&*r.redact(text.as_bytes()), WITHHELD.as_bytes());
    }

    #[test]
    fn regex_and_shell_metacharacters_are_plain_text() {
        let mut r = Redactor::default();
        r.protect(b".*$(rm -rf /)|\\d+[a]");
        assert_eq!(r.redact_str("x .*$(rm -rf /)|\\d+[a] y"), "x *** y");
        assert_eq!(r.redact_str("x anything y"), "x anything y");
    }

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "hunter2");
    }
}
