//! The crate's one error type.
//!
//! Every failure carries an [`ErrorKind`] a caller can branch on. Server refusals keep the
//! server's RFC 2449 / RFC 3206 response code and text. Messages never contain credentials:
//! nothing that formats an error has access to a password or token.

use std::fmt;
use std::sync::Arc;

use crate::proto::{ListEntry, MsgNum, ResponseCode, UidEntry};
use crate::secret::Redactor;

/// What went wrong, coarsely enough to decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered `-ERR` to a command. The session is still usable.
    Server,
    /// Authentication failed or no acceptable mechanism was available.
    Auth,
    /// The server sent something that does not follow the protocol. The session is over.
    Protocol,
    /// A configured limit (line length, message size) was exceeded.
    Limit,
    /// The server (or the connection) stayed silent for longer than allowed.
    Timeout,
    /// The connection closed (or was reset), possibly in the middle of a reply or of the TLS
    /// handshake.
    Closed,
    /// The byte stream failed (connection refused, reset, proxy error).
    Transport,
    /// TLS failed: certificate validation, an alert or no common TLS version in the
    /// handshake, bytes that are not TLS, or a STARTTLS injection attempt. Not a connection
    /// that closed or was reset during the handshake: that is [`ErrorKind::Closed`].
    Tls,
    /// The caller asked for something invalid: a bad argument or a command in the wrong state.
    Usage,
}

impl ErrorKind {
    /// A stable lower-case identifier, used as the `code` of JavaScript errors and CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Server => "server",
            ErrorKind::Auth => "auth",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Limit => "limit",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Transport => "transport",
            ErrorKind::Tls => "tls",
            ErrorKind::Usage => "usage",
        }
    }

    /// Whether retrying later, on a new connection, may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Transport)
    }
}

/// A machine-readable account of what happened, for the cases a program (or a user interface)
/// must tell apart without reading the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detail {
    /// `QUIT` was sent with messages marked for deletion, and its reply never came (the
    /// connection closed or timed out): the server may or may not have deleted them. Distinct
    /// from a `QUIT` answered `-ERR`, after which they were not deleted. A later session finds
    /// out: the messages are either still listed or gone.
    DeletionsUncertain {
        /// How many messages were marked.
        marked: u32,
    },
    /// A `LIST` or `UIDL` listing had lines that could not be read, or entries for messages
    /// beyond the count `STAT` reported. What could be read is here, for a caller that
    /// chooses to be lenient.
    Listing(Box<ListingProblem>),
}

/// The parts of a listing that was refused (see [`Detail::Listing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingProblem {
    /// The entries that could be read, in server order.
    pub entries: ListingEntries,
    /// The lines that could not be read, as sent (lossy UTF-8, credentials redacted).
    pub malformed: Vec<String>,
    /// Entries numbered above the message count `STAT` reported in the same session.
    pub beyond_count: Vec<MsgNum>,
}

/// The readable entries of a refused listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingEntries {
    /// From `LIST`.
    List(Vec<ListEntry>),
    /// From `UIDL`.
    Uidl(Vec<UidEntry>),
}

/// The error type of every fallible operation in this crate.
///
/// Two errors are equal when everything but their [`source`](std::error::Error::source) is.
/// It is one pointer wide, so results stay small on the success path.
#[derive(Clone)]
pub struct Error(Box<ErrorInner>);

#[derive(Clone)]
struct ErrorInner {
    kind: ErrorKind,
    message: String,
    code: Option<ResponseCode>,
    server_text: Option<String>,
    detail: Option<Detail>,
    login_delay: Option<u32>,
    command: Option<&'static str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        (
            self.0.kind,
            &self.0.message,
            &self.0.code,
            &self.0.server_text,
            &self.0.detail,
            self.0.login_delay,
            self.0.command,
        ) == (
            other.0.kind,
            &other.0.message,
            &other.0.code,
            &other.0.server_text,
            &other.0.detail,
            other.0.login_delay,
            other.0.command,
        )
    }
}

impl Eq for Error {}

impl Error {
    /// A new error of `kind` with a human-readable explanation.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorInner {
            kind,
            message: message.into(),
            code: None,
            server_text: None,
            detail: None,
            login_delay: None,
            command: None,
            source: None,
        }))
    }

    /// An I/O error, explained as `context` and kept as the [`source`](std::error::Error::source):
    /// a cut connection is [`ErrorKind::Closed`], a timed-out one [`ErrorKind::Timeout`],
    /// anything else `otherwise`.
    pub fn from_io(otherwise: ErrorKind, context: &str, error: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let what = match error.kind() {
            K::ConnectionRefused => "connection refused".to_owned(),
            K::ConnectionReset => "connection reset by the server".to_owned(),
            K::ConnectionAborted => "connection aborted".to_owned(),
            K::BrokenPipe => "the server closed the connection".to_owned(),
            K::TimedOut => "timed out".to_owned(),
            _ => error.to_string(),
        };
        let kind = match error.kind() {
            K::BrokenPipe | K::ConnectionReset | K::UnexpectedEof => ErrorKind::Closed,
            K::TimedOut => ErrorKind::Timeout,
            _ => otherwise,
        };
        Error::new(kind, format!("{context}: {what}")).with_source(error)
    }

    /// This error with `source` as its cause ([`std::error::Error::source`]). The cause is for
    /// programs and logs that walk the chain; the message already says what happened.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Arc::new(source));
        self
    }

    /// This error noting the command that failed (`"RETR"`, `"AUTH"`, ...), kept when one is
    /// already noted.
    pub fn with_command(mut self, command: &'static str) -> Self {
        self.0.command.get_or_insert(command);
        self
    }

    /// The command whose reply (or lack of one) this error is about, when it is about one.
    pub fn command(&self) -> Option<&'static str> {
        self.0.command
    }

    /// An error that carries the server's `-ERR` reply.
    pub fn from_server(kind: ErrorKind, context: impl Into<String>, code: Option<ResponseCode>, text: &str) -> Self {
        let mut error = Error::new(kind, context);
        error.0.server_text = Some(text.to_owned());
        error.0.code = code;
        error
    }

    /// This error with `detail` attached.
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.0.detail = Some(detail);
        self
    }

    /// This error noting the largest `LOGIN-DELAY` the server announced in the session that
    /// failed (kept when `None`).
    pub fn with_login_delay(mut self, seconds: Option<u32>) -> Self {
        if seconds.is_some() {
            self.0.login_delay = seconds;
        }
        self
    }

    /// This error with another explanation, keeping its kind, server reply and detail.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.message = message.into();
        self
    }

    /// This error with every credential `redactor` knows removed from its texts.
    pub(crate) fn redacted(mut self, redactor: &Redactor) -> Self {
        self.0.message = redactor.redact_str(&self.0.message).into_owned();
        if let Some(text) = &self.0.server_text {
            self.0.server_text = Some(redactor.redact_str(text).into_owned());
        }
        self
    }

    /// An error of kind [`ErrorKind::Usage`]: the caller asked for something invalid.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    /// An error of kind [`ErrorKind::Protocol`]: the server broke the protocol.
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }

    /// An error of kind [`ErrorKind::Limit`]: a configured limit was exceeded.
    pub fn limit(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Limit, message)
    }

    /// An error of kind [`ErrorKind::Closed`]: the connection closed.
    pub fn closed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Closed, message)
    }

    /// An error of kind [`ErrorKind::Transport`]: the byte stream failed (for transports outside this crate).
    pub fn transport(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Transport, message)
    }

    /// An error of kind [`ErrorKind::Timeout`]: a deadline passed.
    pub fn timeout(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }

    /// An error of kind [`ErrorKind::Auth`]: authentication failed or was not possible.
    pub fn auth(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Auth, message)
    }

    /// An error of kind [`ErrorKind::Tls`]: TLS failed.
    pub fn tls(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Tls, message)
    }

    /// The class of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The explanation written by this crate (without the server's text).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The server's response code, such as `[IN-USE]`, when the server sent one.
    pub fn response_code(&self) -> Option<&ResponseCode> {
        self.0.code.as_ref()
    }

    /// The human-readable text of the server's `-ERR` line, when this error came from one.
    /// Credentials the session sent are removed from it (a server may echo them).
    pub fn server_text(&self) -> Option<&str> {
        self.0.server_text.as_deref()
    }

    /// The machine-readable detail, for the conditions [`Detail`] lists.
    pub fn detail(&self) -> Option<&Detail> {
        self.0.detail.as_ref()
    }

    /// The largest `LOGIN-DELAY` (seconds) the server announced in the session that failed,
    /// before or after login, if any: a retry must not log in sooner.
    pub fn login_delay(&self) -> Option<u32> {
        self.0.login_delay
    }

    /// Whether messages marked for deletion may or may not have been deleted: `QUIT` was sent
    /// and its reply never came (see [`Detail::DeletionsUncertain`]).
    pub fn deletions_uncertain(&self) -> bool {
        matches!(self.0.detail, Some(Detail::DeletionsUncertain { .. }))
    }

    /// Whether a new attempt later may succeed: network trouble, timeouts, and the server's
    /// `[SYS/TEMP]`, `[IN-USE]` and `[LOGIN-DELAY]` replies.
    pub fn is_transient(&self) -> bool {
        if self.0.kind.is_transient() {
            return true;
        }
        matches!(self.0.code, Some(ResponseCode::SysTemp) | Some(ResponseCode::InUse) | Some(ResponseCode::LoginDelay))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if let Some(code) = &self.0.code {
            write!(f, " [{code}]")?;
        }
        if let Some(text) = &self.0.server_text {
            if !text.is_empty() {
                write!(f, ": server said \"{text}\"")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {self})", self.0.kind.as_str())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
