//! The `CAPA` response (RFC 2449 section 6), with every standard tag parsed.

/// A server policy that can apply to everyone or differ per user (`LOGIN-DELAY`, `EXPIRE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerUser<T> {
    /// The advertised value.
    pub value: T,
    /// True when the server said `USER`: the value may differ after login.
    pub per_user: bool,
}

/// How long the server keeps messages that were retrieved (`EXPIRE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expire {
    /// `EXPIRE NEVER`: the server never deletes mail on its own.
    Never,
    /// `EXPIRE n`: retrieved mail may be deleted after `n` days (`0`: at the end of the session).
    Days(u32),
}

/// What the server said it supports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `TOP`.
    pub top: bool,
    /// `USER`: USER/PASS login is available.
    pub user: bool,
    /// `SASL`: the mechanisms offered for `AUTH`, upper-cased.
    pub sasl: Vec<String>,
    /// `RESP-CODES`: `-ERR` replies may carry `[CODES]`.
    pub resp_codes: bool,
    /// `AUTH-RESP-CODE`: authentication failures carry `[AUTH]` when the credentials were wrong.
    pub auth_resp_code: bool,
    /// `LOGIN-DELAY`: the minimum number of seconds between logins.
    pub login_delay: Option<PerUser<u32>>,
    /// `PIPELINING`: several commands may be in flight.
    pub pipelining: bool,
    /// `EXPIRE`: the server's retention policy.
    pub expire: Option<PerUser<Expire>>,
    /// `UIDL`.
    pub uidl: bool,
    /// `IMPLEMENTATION`: free text naming the server software.
    pub implementation: Option<String>,
    /// `STLS`: TLS can be started on this connection (RFC 2595).
    pub stls: bool,
    /// `UTF8`: the `UTF8` command is available (RFC 6856); `Some(true)` when it was `UTF8 USER`.
    pub utf8: Option<bool>,
    /// `LANG`: the `LANG` command is available (RFC 6856).
    pub lang: bool,
    /// Any other capability lines, verbatim.
    pub other: Vec<String>,
}

impl Capabilities {
    /// Parses the lines of a `CAPA` response (without the status line and terminator).
    /// Unknown or malformed lines are kept in [`Capabilities::other`] rather than rejected:
    /// a quirky server should not stop a client from logging in.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Capabilities {
        let mut caps = Capabilities::default();
        for raw in lines {
            caps.add_line(raw);
        }
        caps
    }

    /// Adds one capability line.
    pub fn add_line(&mut self, raw: &[u8]) {
        let line = String::from_utf8_lossy(raw);
        let mut words = line.split_ascii_whitespace();
        let Some(tag) = words.next() else { return };
        let args: Vec<&str> = words.collect();
        let per_user = |args: &[&str]| args.get(1).is_some_and(|a| a.eq_ignore_ascii_case("USER"));
        match tag.to_ascii_uppercase().as_str() {
            "TOP" => self.top = true,
            "USER" => self.user = true,
            "SASL" => {
                for mech in args {
                    let mech = mech.to_ascii_uppercase();
                    if !self.sasl.contains(&mech) {
                        self.sasl.push(mech);
                    }
                }
            }
            "RESP-CODES" => self.resp_codes = true,
            "AUTH-RESP-CODE" => self.auth_resp_code = true,
            "PIPELINING" => self.pipelining = true,
            "UIDL" => self.uidl = true,
            "STLS" => self.stls = true,
            "LANG" => self.lang = true,
            "UTF8" => self.utf8 = Some(args.first().is_some_and(|a| a.eq_ignore_ascii_case("USER"))),
            "IMPLEMENTATION" => {
                let text = line.trim()[tag.len()..].trim();
                self.implementation = Some(text.to_owned());
            }
            "LOGIN-DELAY" => match args.first().and_then(|a| a.parse().ok()) {
                Some(value) => self.login_delay = Some(PerUser { value, per_user: per_user(&args) }),
                None => self.other.push(line.trim().to_owned()),
            },
            "EXPIRE" => {
                let value = match args.first() {
                    Some(a) if a.eq_ignore_ascii_case("NEVER") => Some(Expire::Never),
                    Some(a) => a.parse().ok().map(Expire::Days),
                    None => None,
                };
                match value {
                    Some(value) => self.expire = Some(PerUser { value, per_user: per_user(&args) }),
                    None => self.other.push(line.trim().to_owned()),
                }
            }
            _ => self.other.push(line.trim().to_owned()),
        }
    }

    /// Whether `AUTH mechanism` is advertised.
    pub fn has_sasl(&self, mechanism: &str) -> bool {
        self.sasl.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc2449_tag() {
        let lines: Vec<&[u8]> = vec![
            b"TOP",
            b"USER",
            b"SASL PLAIN login CRAM-MD5",
            b"RESP-CODES",
            b"AUTH-RESP-CODE",
            b"LOGIN-DELAY 900 USER",
            b"PIPELINING",
            b"EXPIRE 60",
            b"UIDL",
            b"IMPLEMENTATION Shlemazle Mail Server 1.0",
            b"STLS",
            b"UTF8 USER",
            b"LANG",
            b"X-FANCY 1 2",
        ];
        let caps = Capabilities::parse(lines);
        assert!(caps.top && caps.user && caps.resp_codes && caps.auth_resp_code);
        assert!(caps.pipelining && caps.uidl && caps.stls && caps.lang);
        assert_eq!(caps.sasl, vec!["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert!(caps.has_sasl("cram-md5") && !caps.has_sasl("SCRAM-SHA-256"));
        assert_eq!(caps.login_delay, Some(PerUser { value: 900, per_user: true }));
        assert_eq!(caps.expire, Some(PerUser { value: Expire::Days(60), per_user: false }));
        assert_eq!(caps.implementation.as_deref(), Some("Shlemazle Mail Server 1.0"));
        assert_eq!(caps.utf8, Some(true));
        assert_eq!(caps.other, vec!["X-FANCY 1 2"]);
    }

    #[test]
    fn expire_never_and_zero_and_junk() {
        let caps = Capabilities::parse([b"EXPIRE NEVER".as_slice()]);
        assert_eq!(caps.expire.unwrap().value, Expire::Never);
        let caps = Capabilities::parse([b"EXPIRE 0".as_slice()]);
        assert_eq!(caps.expire.unwrap().value, Expire::Days(0));
        let caps = Capabilities::parse([b"EXPIRE soon".as_slice(), b"LOGIN-DELAY x".as_slice(), b"".as_slice()]);
        assert_eq!(caps.expire, None);
        assert_eq!(caps.login_delay, None);
        assert_eq!(caps.other, vec!["EXPIRE soon", "LOGIN-DELAY x"]);
    }

    #[test]
    fn dovecot_capa() {
        let text = "TOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\nSTLS\nUSER\nSASL PLAIN LOGIN CRAM-MD5";
        let caps = Capabilities::parse(text.lines().map(str::as_bytes));
        assert!(caps.pipelining && caps.stls && caps.uidl && caps.top);
        assert_eq!(caps.utf8, None);
    }
}
