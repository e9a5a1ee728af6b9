//! The crate's one error type.
//!
//! Every failure carries an [`ErrorKind`] a caller can branch on. Server refusals keep the
//! server's RFC 2449 / RFC 3206 response code and text. Messages never contain credentials:
//! nothing that formats an error has access to a password or token.

use std::fmt;

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
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    code: Option<ResponseCode>,
    server_text: Option<String>,
    detail: Option<Detail>,
    login_delay: Option<u32>,
}

impl Error {
    /// A new error of `kind` with a human-readable explanation.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), code: None, server_text: None, detail: None, login_delay: None }
    }

    /// An error that carries the server's `-ERR` reply.
    pub fn from_server(kind: ErrorKind, context: impl Into<String>, code: Option<ResponseCode>, text: &str) -> Self {
        Error {
            kind,
            message: context.into(),
            code,
            server_text: Some(text.to_owned()),
            detail: None,
            login_delay: None,
        }
    }

    /// This error with `detail` attached.
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.detail = Some(detail);
        self
    }

    /// This error noting the largest `LOGIN-DELAY` the server announced in the session that
    /// failed (kept when `None`).
    pub fn with_login_delay(mut self, seconds: Option<u32>) -> Self {
        if seconds.is_some() {
            self.login_delay = seconds;
        }
        self
    }

    /// This error with another explanation, keeping its kind, server reply and detail.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// This error with every credential `redactor` knows removed from its texts.
    pub(crate) fn redacted(mut self, redactor: &Redactor) -> Self {
        self.message = redactor.redact_str(&self.message).into_owned();
        if let Some(text) = &self.server_text {
            self.server_text = Some(redactor.redact_str(text).into_owned());
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
        self.kind
    }

    /// The explanation written by this crate (without the server's text).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's response code, such as `[IN-USE]`, when the server sent one.
    pub fn response_code(&self) -> Option<&ResponseCode> {
        self.code.as_ref()
    }

    /// The human-readable text of the server's `-ERR` line, when this error came from one.
    /// Credentials the session sent are removed from it (a server may echo them).
    pub fn server_text(&self) -> Option<&str> {
        self.server_text.as_deref()
    }

    /// The machine-readable detail, for the conditions [`Detail`] lists.
    pub fn detail(&self) -> Option<&Detail> {
        self.detail.as_ref()
    }

    /// The largest `LOGIN-DELAY` (seconds) the server announced in the session that failed,
    /// before or after login, if any: a retry must not log in sooner.
    pub fn login_delay(&self) -> Option<u32> {
        self.login_delay
    }

    /// Whether messages marked for deletion may or may not have been deleted: `QUIT` was sent
    /// and its reply never came (see [`Detail::DeletionsUncertain`]).
    pub fn deletions_uncertain(&self) -> bool {
        matches!(self.detail, Some(Detail::DeletionsUncertain { .. }))
    }

    /// Whether a new attempt later may succeed: network trouble, timeouts, and the server's
    /// `[SYS/TEMP]`, `[IN-USE]` and `[LOGIN-DELAY]` replies.
    pub fn is_transient(&self) -> bool {
        if self.kind.is_transient() {
            return true;
        }
        matches!(self.code, Some(ResponseCode::SysTemp) | Some(ResponseCode::InUse) | Some(ResponseCode::LoginDelay))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if let Some(text) = &self.server_text {
            if !text.is_empty() {
                write!(f, ": server said \"{text}\"")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {self})", self.kind.as_str())
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
