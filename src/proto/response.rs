//! Status lines (`+OK`, `-ERR`, SASL `+` continuations) and their response codes.

use std::fmt;

/// An extended response code from RFC 2449 section 8 / RFC 3206, such as `[IN-USE]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `[IN-USE]`: the mailbox is locked by another session (RFC 2449).
    InUse,
    /// `[LOGIN-DELAY]`: the user logged in too recently (RFC 2449).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary system problem; retry later (RFC 3206).
    SysTemp,
    /// `[SYS/PERM]`: a permanent system problem; do not retry (RFC 3206).
    SysPerm,
    /// `[AUTH]`: the credentials were wrong (RFC 3206).
    Auth,
    /// `[UTF8]`: the server requires or refuses UTF-8 mode (RFC 6856).
    Utf8,
    /// Any other code, kept verbatim without brackets (for example `SYS/TEMP/QUOTA`
    /// is reported as [`ResponseCode::SysTemp`], an unknown `FOO` as `Other("FOO")`).
    Other(String),
}

impl ResponseCode {
    /// Parses the inside of `[...]`. Hierarchical codes are matched on their known prefix.
    pub fn parse(code: &str) -> ResponseCode {
        let upper = code.to_ascii_uppercase();
        let mut levels = upper.split('/');
        match (levels.next().unwrap_or(""), levels.next()) {
            ("IN-USE", _) => ResponseCode::InUse,
            ("LOGIN-DELAY", _) => ResponseCode::LoginDelay,
            ("SYS", Some("TEMP")) => ResponseCode::SysTemp,
            ("SYS", Some("PERM")) => ResponseCode::SysPerm,
            ("AUTH", _) => ResponseCode::Auth,
            ("UTF8", _) => ResponseCode::Utf8,
            _ => ResponseCode::Other(code.to_owned()),
        }
    }

    /// The code as it appears between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Utf8 => "UTF8",
            ResponseCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed server status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLine {
    /// `+OK text`.
    Ok(StatusText),
    /// `-ERR [CODE] text`. hMailServer's `+ERR` is reported here too.
    Err(StatusText),
    /// A SASL continuation `+ data` (RFC 5034), with the raw text after `+ `.
    Continuation(Vec<u8>),
}

/// The text of a status line, split into an optional response code and the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusText {
    /// The response code, if the text began with `[...]`.
    pub code: Option<ResponseCode>,
    /// The remaining human-readable text (decoded lossily as UTF-8).
    pub text: String,
}

impl StatusText {
    /// Splits `[CODE] text` into its parts.
    pub fn parse(raw: &[u8]) -> StatusText {
        let raw = trim_ascii(raw);
        if raw.first() == Some(&b'[') {
            if let Some(end) = raw.iter().position(|&b| b == b']') {
                let inner = &raw[1..end];
                let valid = !inner.is_empty() && inner.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b'[');
                if valid {
                    let code = ResponseCode::parse(std::str::from_utf8(inner).unwrap_or_default());
                    let text = String::from_utf8_lossy(trim_ascii(&raw[end + 1..])).into_owned();
                    return StatusText { code: Some(code), text };
                }
            }
        }
        StatusText { code: None, text: String::from_utf8_lossy(raw).into_owned() }
    }
}

/// Why a line could not be read as a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStatusLine(pub String);

impl StatusLine {
    /// Parses one line (without its line ending).
    ///
    /// `allow_continuation` is true only while a SASL exchange is in progress: elsewhere a
    /// `+ ` line is a protocol violation.
    pub fn parse(line: &[u8], allow_continuation: bool) -> Result<StatusLine, BadStatusLine> {
        let (indicator, rest) = match line.iter().position(|&b| b == b' ') {
            Some(sp) => (&line[..sp], &line[sp + 1..]),
            None => (line, &line[line.len()..]),
        };
        if indicator.eq_ignore_ascii_case(b"+OK") {
            Ok(StatusLine::Ok(StatusText::parse(rest)))
        } else if indicator.eq_ignore_ascii_case(b"-ERR") || indicator.eq_ignore_ascii_case(b"+ERR") {
            // hMailServer sends "+ERR": it is an error, not success.
            Ok(StatusLine::Err(StatusText::parse(rest)))
        } else if indicator == b"+" && allow_continuation {
            Ok(StatusLine::Continuation(trim_ascii(rest).to_vec()))
        } else {
            Err(BadStatusLine(describe_line(line)))
        }
    }
}

/// A short, printable excerpt of a line for error messages (never the whole line).
pub(crate) fn describe_line(line: &[u8]) -> String {
    const MAX: usize = 60;
    let excerpt: String = String::from_utf8_lossy(&line[..line.len().min(MAX)])
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if line.len() > MAX {
        format!("{excerpt}…")
    } else {
        excerpt
    }
}

pub(crate) fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> StatusLine {
        StatusLine::Ok(StatusText { code: None, text: text.into() })
    }

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], StatusLine)] = &[
            (b"+OK", ok("")),
            (b"+OK ", ok("")),
            (b"+OK 2 320", ok("2 320")),
            (b"+ok lower case", ok("lower case")),
            (
                b"-ERR [IN-USE] mailbox locked",
                StatusLine::Err(StatusText { code: Some(ResponseCode::InUse), text: "mailbox locked".into() }),
            ),
            (
                b"-ERR [LOGIN-DELAY] wait",
                StatusLine::Err(StatusText { code: Some(ResponseCode::LoginDelay), text: "wait".into() }),
            ),
            (
                b"-ERR [SYS/TEMP] try later",
                StatusLine::Err(StatusText { code: Some(ResponseCode::SysTemp), text: "try later".into() }),
            ),
            (
                b"-ERR [SYS/PERM] gone",
                StatusLine::Err(StatusText { code: Some(ResponseCode::SysPerm), text: "gone".into() }),
            ),
            (
                b"-ERR [AUTH] Authentication failed.",
                StatusLine::Err(StatusText { code: Some(ResponseCode::Auth), text: "Authentication failed.".into() }),
            ),
            (
                b"-ERR [UTF8] need utf8",
                StatusLine::Err(StatusText { code: Some(ResponseCode::Utf8), text: "need utf8".into() }),
            ),
            (
                b"-ERR [SYS/TEMP/QUOTA] full",
                StatusLine::Err(StatusText { code: Some(ResponseCode::SysTemp), text: "full".into() }),
            ),
            (
                b"-ERR [X-CUSTOM] odd",
                StatusLine::Err(StatusText { code: Some(ResponseCode::Other("X-CUSTOM".into())), text: "odd".into() }),
            ),
            (b"-ERR [not a code", StatusLine::Err(StatusText { code: None, text: "[not a code".into() })),
            (b"+ERR hmailserver", StatusLine::Err(StatusText { code: None, text: "hmailserver".into() })),
            (b"-ERR", StatusLine::Err(StatusText::default())),
        ];
        for (line, expected) in cases {
            assert_eq!(&StatusLine::parse(line, false).unwrap(), expected, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn continuation_only_when_allowed() {
        assert_eq!(StatusLine::parse(b"+ PDEyMz4=", true).unwrap(), StatusLine::Continuation(b"PDEyMz4=".to_vec()));
        assert_eq!(StatusLine::parse(b"+", true).unwrap(), StatusLine::Continuation(Vec::new()));
        assert!(StatusLine::parse(b"+ PDEyMz4=", false).is_err());
    }

    #[test]
    fn garbage_is_rejected_with_an_excerpt() {
        let err = StatusLine::parse(b"HTTP/1.1 400 Bad Request", false).unwrap_err();
        assert_eq!(err.0, "HTTP/1.1 400 Bad Request");
        let long = vec![b'x'; 500];
        assert!(StatusLine::parse(&long, false).unwrap_err().0.ends_with('…'));
    }

    #[test]
    fn non_utf8_text_is_kept_lossily() {
        let line = b"-ERR Postfach gesperrt \xfc";
        match StatusLine::parse(line, false).unwrap() {
            StatusLine::Err(t) => assert!(t.text.starts_with("Postfach gesperrt ")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
