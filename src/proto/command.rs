//! POP3 commands with arguments validated when the command is built.
//!
//! Nothing that could inject a second command (CR, LF) or truncate one (NUL) can reach the
//! wire, and no command line exceeds the 255 octets RFC 2449 section 4 allows.

use std::fmt;
use std::num::NonZeroU32;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The longest command line allowed, including the final CRLF (RFC 2449 section 4).
pub const MAX_COMMAND_LINE: usize = 255;

/// A message number as used by `RETR`, `DELE`, etc.: 1-based, valid for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgNum(NonZeroU32);

impl MsgNum {
    /// A message number, refusing 0 (POP3 numbers messages from 1).
    pub fn new(n: u32) -> Result<MsgNum> {
        NonZeroU32::new(n).map(MsgNum).ok_or_else(|| Error::usage("message numbers start at 1"))
    }

    /// The number as an integer.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for MsgNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<u32> for MsgNum {
    type Error = Error;
    fn try_from(n: u32) -> Result<MsgNum> {
        MsgNum::new(n)
    }
}

/// A command argument as it goes on the wire: not empty, and free of CR, LF and NUL, so it
/// can neither inject a second command nor truncate this one. Only the checked constructors
/// make one, so a [`Command`] holding it is valid however it was built.
///
/// ```
/// use pop3_wasm::proto::{Argument, Command};
/// assert!(Argument::new("user name", "alice\r\nDELE 1").is_err());
/// let user = Command::User(Argument::new("user name", "alice")?);
/// assert_eq!(&user.encode()[..], b"USER alice\r\n");
/// # Ok::<(), pop3_wasm::Error>(())
/// ```
///
/// A raw string is not an argument, and its field is private:
///
/// ```compile_fail
/// use pop3_wasm::proto::Command;
/// let injected = Command::User(String::from("alice\r\nDELE 1"));
/// ```
///
/// ```compile_fail
/// use pop3_wasm::proto::{Argument, Command};
/// let injected = Command::User(Argument(String::from("alice\r\nDELE 1")));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Argument(String);

impl Argument {
    /// `value` as an argument; `what` names it in the error (`"user name"`).
    pub fn new(what: &str, value: &str) -> Result<Argument> {
        check_text(what, value)?;
        Ok(Argument(value.to_owned()))
    }

    /// Like [`Argument::new`], also refusing spaces and tabs (a single token, such as a SASL
    /// mechanism name or an APOP user name).
    pub fn token(what: &str, value: &str) -> Result<Argument> {
        check_token(what, value)?;
        Ok(Argument(value.to_owned()))
    }

    /// The argument's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A secret command argument (a password, or a base64 SASL initial response): checked like
/// [`Argument`], and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretArgument(Secret);

impl SecretArgument {
    /// `secret` as an argument; `what` names it in the error (which never shows the value).
    pub fn new(what: &str, secret: &Secret) -> Result<SecretArgument> {
        check_text(what, secret.expose())?;
        Ok(SecretArgument(secret.clone()))
    }

    /// A base64 SASL initial response: besides the checks of [`SecretArgument::new`], no
    /// spaces. An empty one is allowed (it goes on the wire as `=`, RFC 5034).
    pub fn base64(secret: Secret) -> Result<SecretArgument> {
        if secret.expose().bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0' | b' ' | b'\t')) {
            return Err(Error::usage("a SASL initial response must be base64"));
        }
        Ok(SecretArgument(secret))
    }

    /// The secret, for the wire.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SecretArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An APOP digest (RFC 1939 section 7): 32 lower-case hexadecimal digits. `proto` only carries
/// it; [`crate::auth::apop_digest`] computes it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApopDigest(String);

impl ApopDigest {
    /// A digest from its hexadecimal form (upper case is folded to lower case).
    pub fn from_hex(hex: &str) -> Result<ApopDigest> {
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::usage("an APOP digest is 32 hexadecimal digits"));
        }
        Ok(ApopDigest(hex.to_ascii_lowercase()))
    }

    /// The digest's hexadecimal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApopDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApopDigest(***)")
    }
}

/// A command to send to the server. Arguments that could carry text are checked types
/// ([`Argument`], [`SecretArgument`], [`ApopDigest`], [`MsgNum`]), so no value of this type
/// can put CR, LF or NUL on the wire; the engine checks the whole line's length (255 octets,
/// RFC 2449) before anything is sent.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `CAPA` (RFC 2449).
    Capa,
    /// `STLS` (RFC 2595).
    Stls,
    /// `UTF8` (RFC 6856).
    Utf8,
    /// `LANG [tag]` (RFC 6856): without a tag, the list of languages the server offers; with
    /// one, switches the language of the server's texts.
    Lang(Option<Argument>),
    /// `USER name`.
    User(Argument),
    /// `PASS secret`.
    Pass(SecretArgument),
    /// `APOP name digest`.
    Apop {
        /// The user name.
        user: Argument,
        /// The digest of the greeting's timestamp and the secret.
        digest: ApopDigest,
    },
    /// `AUTH mechanism [initial-response]` (RFC 5034); the initial response is base64 already.
    Auth {
        /// The SASL mechanism name.
        mechanism: Argument,
        /// The base64 initial response, if the mechanism speaks first.
        initial_response: Option<SecretArgument>,
    },
    /// `STAT`.
    Stat,
    /// `LIST [n]`.
    List(Option<MsgNum>),
    /// `UIDL [n]`.
    Uidl(Option<MsgNum>),
    /// `RETR n`.
    Retr(MsgNum),
    /// `TOP n lines`.
    Top(MsgNum, u32),
    /// `DELE n`.
    Dele(MsgNum),
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
}

/// How the reply to a command is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyShape {
    /// One status line.
    Line,
    /// A status line and, after `+OK`, a dot-terminated list of short lines.
    Lines,
    /// A status line and, after `+OK`, a dot-terminated message.
    Message,
    /// A SASL exchange: `+ ` continuations until `+OK` or `-ERR`.
    Sasl,
}

fn check_text(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::usage(format!("{what} must not be empty")));
    }
    if let Some(bad) = value.bytes().find(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        let name = match bad {
            b'\r' => "CR",
            b'\n' => "LF",
            _ => "NUL",
        };
        return Err(Error::usage(format!("{what} contains a {name} character, which could inject a command")));
    }
    Ok(())
}

fn check_token(what: &str, value: &str) -> Result<()> {
    check_text(what, value)?;
    if value.bytes().any(|b| b == b' ' || b == b'\t') {
        return Err(Error::usage(format!("{what} must not contain spaces")));
    }
    Ok(())
}

impl Command {
    /// `USER name`. Spaces are allowed (some servers use them), control line breaks are not.
    pub fn user(name: &str) -> Result<Command> {
        Command::User(Argument::new("user name", name)?).checked()
    }

    /// `PASS secret`.
    pub fn pass(secret: &Secret) -> Result<Command> {
        Command::Pass(SecretArgument::new("password", secret)?).checked()
    }

    /// `APOP name digest`, with the digest from [`crate::auth::apop_digest`].
    pub fn apop(name: &str, digest: ApopDigest) -> Result<Command> {
        Command::Apop { user: Argument::token("user name", name)?, digest }.checked()
    }

    /// `AUTH mechanism [initial-response]`; `initial_response` must already be base64.
    pub fn auth(mechanism: &str, initial_response: Option<Secret>) -> Result<Command> {
        let mechanism = Argument::token("SASL mechanism name", mechanism)?;
        let initial_response = initial_response.map(SecretArgument::base64).transpose()?;
        Command::Auth { mechanism, initial_response }.checked()
    }

    /// `LANG` (the list of languages) or `LANG tag` (RFC 6856).
    pub fn lang(tag: Option<&str>) -> Result<Command> {
        Command::Lang(tag.map(|t| Argument::token("language tag", t)).transpose()?).checked()
    }

    /// The command itself if its line fits in [`MAX_COMMAND_LINE`] octets, else a usage error
    /// that names the command (never its secret).
    pub fn checked(self) -> Result<Command> {
        let len = self.line_len();
        if len > MAX_COMMAND_LINE {
            return Err(Error::usage(format!(
                "the {} command would be {len} octets long; POP3 allows at most {MAX_COMMAND_LINE}",
                self.keyword()
            )));
        }
        Ok(self)
    }

    /// The command keyword, such as `RETR`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Utf8 => "UTF8",
            Command::Lang(_) => "LANG",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        }
    }

    /// How the server frames its reply to this command.
    pub fn reply_shape(&self) -> ReplyShape {
        match self {
            Command::Capa | Command::List(None) | Command::Uidl(None) | Command::Lang(None) => ReplyShape::Lines,
            Command::Retr(_) | Command::Top(..) => ReplyShape::Message,
            Command::Auth { .. } => ReplyShape::Sasl,
            _ => ReplyShape::Line,
        }
    }

    fn line_len(&self) -> usize {
        self.encode().len()
    }

    /// The command line with its CRLF. The buffer is wiped when dropped, since it may hold a
    /// password.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(32));
        self.encode_into(&mut out);
        out
    }

    /// Appends the command line with its CRLF to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        out.extend_from_slice(self.keyword().as_bytes());
        // Writing to a Vec cannot fail.
        let _ = match self {
            Command::User(name) => write!(out, " {name}"),
            Command::Pass(secret) => write!(out, " {}", secret.expose()),
            Command::Apop { user, digest } => write!(out, " {user} {}", digest.as_str()),
            Command::Lang(Some(tag)) => write!(out, " {tag}"),
            Command::Auth { mechanism, initial_response } => match initial_response {
                // RFC 5034: an empty initial response is sent as "=".
                Some(ir) if ir.expose().is_empty() => write!(out, " {mechanism} ="),
                Some(ir) => write!(out, " {mechanism} {}", ir.expose()),
                None => write!(out, " {mechanism}"),
            },
            Command::List(Some(n)) | Command::Uidl(Some(n)) | Command::Retr(n) | Command::Dele(n) => {
                write!(out, " {n}")
            }
            Command::Top(n, lines) => write!(out, " {n} {lines}"),
            _ => Ok(()),
        };
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints the command as a client log would, with secrets replaced by `***`.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::User(name) => write!(f, "USER {name}"),
            Command::Lang(Some(tag)) => write!(f, "LANG {tag}"),
            Command::Pass(_) => write!(f, "PASS ***"),
            Command::Apop { user, .. } => write!(f, "APOP {user} ***"),
            Command::Auth { mechanism, initial_response: Some(_) } => write!(f, "AUTH {mechanism} ***"),
            Command::Auth { mechanism, initial_response: None } => write!(f, "AUTH {mechanism}"),
            Command::List(Some(n)) => write!(f, "LIST {n}"),
            Command::Uidl(Some(n)) => write!(f, "UIDL {n}"),
            Command::Retr(n) => write!(f, "RETR {n}"),
            Command::Dele(n) => write!(f, "DELE {n}"),
            Command::Top(n, l) => write!(f, "TOP {n} {l}"),
            other => f.write_str(other.keyword()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn n(v: u32) -> MsgNum {
        MsgNum::new(v).unwrap()
    }

    #[test]
    fn known_answer_encodings() {
        let cases: Vec<(Command, &[u8])> = vec![
            (Command::Capa, b"CAPA\r\n"),
            (Command::Stls, b"STLS\r\n"),
            (Command::Utf8, b"UTF8\r\n"),
            (Command::user("alice").unwrap(), b"USER alice\r\n"),
            (Command::pass(&Secret::new("pass word")).unwrap(), b"PASS pass word\r\n"),
            (Command::Stat, b"STAT\r\n"),
            (Command::List(None), b"LIST\r\n"),
            (Command::List(Some(n(2))), b"LIST 2\r\n"),
            (Command::Uidl(None), b"UIDL\r\n"),
            (Command::Uidl(Some(n(7))), b"UIDL 7\r\n"),
            (Command::Retr(n(1)), b"RETR 1\r\n"),
            (Command::Top(n(10), 0), b"TOP 10 0\r\n"),
            (Command::Dele(n(3)), b"DELE 3\r\n"),
            (Command::Rset, b"RSET\r\n"),
            (Command::Noop, b"NOOP\r\n"),
            (Command::Quit, b"QUIT\r\n"),
            (Command::auth("PLAIN", None).unwrap(), b"AUTH PLAIN\r\n"),
            (Command::auth("PLAIN", Some(Secret::new("AGEAYg=="))).unwrap(), b"AUTH PLAIN AGEAYg==\r\n"),
            (Command::auth("EXTERNAL", Some(Secret::new(""))).unwrap(), b"AUTH EXTERNAL =\r\n"),
        ];
        for (cmd, wire) in cases {
            assert_eq!(cmd.encode().as_slice(), wire, "{cmd}");
        }
    }

    #[test]
    fn rfc1939_apop_example() {
        // RFC 1939 section 7: the shared secret "tanstaaf" and this timestamp give this digest.
        let digest = crate::auth::apop_digest("<1896.697170952@dbc.mtview.ca.us>", &Secret::new("tanstaaf"));
        let cmd = Command::apop("mrose", digest).unwrap();
        assert_eq!(cmd.encode().as_slice(), b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
        assert_eq!(cmd.to_string(), "APOP mrose ***");
    }

    #[test]
    fn injection_is_refused_before_sending() {
        for bad in ["alice\r\nDELE 1", "alice\nQUIT", "ali\rce", "a\0b", ""] {
            let err = Command::user(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{bad:?}");
        }
        let err = Command::pass(&Secret::new("pw\r\nDELE 1")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(!err.to_string().contains("pw"), "error must not echo the password: {err}");
        assert!(Command::auth("PL AIN", None).is_err());
        assert!(Command::auth("PLAIN", Some(Secret::new("a b"))).is_err());
        assert!(Command::apop("a b", crate::auth::apop_digest("<1@x>", &Secret::new("x"))).is_err());
        assert!(Argument::new("user name", "a\nb").is_err());
        assert!(SecretArgument::new("password", &Secret::new("a\0b")).is_err());
        assert!(ApopDigest::from_hex("c4c9334bac560ecc979e58001b3e22f").is_err(), "31 digits");
        assert!(ApopDigest::from_hex("c4c9334bac560ecc979e58001b3e22fg").is_err(), "not hex");
    }

    #[test]
    fn overlong_lines_are_refused() {
        // "USER " + name + CRLF: 5 + 248 + 2 = 255 is the maximum.
        assert!(Command::user(&"a".repeat(248)).is_ok());
        let err = Command::user(&"a".repeat(249)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("256 octets"), "{err}");
        let err = Command::pass(&Secret::new("p".repeat(300))).unwrap_err();
        assert!(!err.to_string().contains("ppp"));
    }

    #[test]
    fn secrets_never_display() {
        let cmd = Command::pass(&Secret::new("hunter2")).unwrap();
        assert_eq!(format!("{cmd} {cmd:?}"), "PASS *** PASS ***");
        let cmd = Command::auth("PLAIN", Some(Secret::new("AGFsaWNlAGh1bnRlcjI="))).unwrap();
        assert_eq!(cmd.to_string(), "AUTH PLAIN ***");
    }

    #[test]
    fn arguments_never_print_their_secrets() {
        let arg = SecretArgument::new("password", &Secret::new("hunter2")).unwrap();
        assert_eq!(format!("{arg:?}"), "***");
        let digest = ApopDigest::from_hex("C4C9334BAC560ECC979E58001B3E22FB").unwrap();
        assert_eq!(digest.as_str(), "c4c9334bac560ecc979e58001b3e22fb");
        assert!(!format!("{digest:?}").contains("c4c9"));
    }

    #[test]
    fn lang_command() {
        assert_eq!(Command::lang(None).unwrap().encode().as_slice(), b"LANG\r\n");
        assert_eq!(Command::lang(Some("fr")).unwrap().encode().as_slice(), b"LANG fr\r\n");
        assert_eq!(Command::lang(None).unwrap().reply_shape(), ReplyShape::Lines);
        assert_eq!(Command::lang(Some("fr")).unwrap().reply_shape(), ReplyShape::Line);
        assert!(Command::lang(Some("fr CA")).is_err());
    }

    #[test]
    fn message_number_zero_is_refused() {
        assert_eq!(MsgNum::new(0).unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn reply_shapes() {
        assert_eq!(Command::List(None).reply_shape(), ReplyShape::Lines);
        assert_eq!(Command::List(Some(n(1))).reply_shape(), ReplyShape::Line);
        assert_eq!(Command::Top(n(1), 3).reply_shape(), ReplyShape::Message);
        assert_eq!(Command::auth("LOGIN", None).unwrap().reply_shape(), ReplyShape::Sasl);
    }
}
