//! The crate's one error type.
//!
//! Every failure carries an [`ErrorKind`] a caller can branch on. Server refusals keep the
//! server's RFC 2449 / RFC 3206 response code and text. Messages never contain credentials:
//! nothing that formats an error has access to a password or token.

use std::fmt;

use crate::proto::ResponseCode;

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
    /// The connection closed, possibly in the middle of a reply.
    Closed,
    /// The byte stream failed (connection refused, reset, proxy error).
    Transport,
    /// TLS failed: handshake, certificate validation, or a STARTTLS injection attempt.
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

/// The error type of every fallible operation in this crate.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    code: Option<ResponseCode>,
    server_text: Option<String>,
}

impl Error {
    /// A new error of `kind` with a human-readable explanation.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), code: None, server_text: None }
    }

    /// An error that carries the server's `-ERR` reply.
    pub fn from_server(kind: ErrorKind, context: impl Into<String>, code: Option<ResponseCode>, text: &str) -> Self {
        Error { kind, message: context.into(), code, server_text: Some(text.to_owned()) }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Limit, message)
    }

    pub(crate) fn closed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Closed, message)
    }

    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Transport, message)
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Auth, message)
    }

    pub(crate) fn tls(message: impl Into<String>) -> Self {
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
    pub fn server_text(&self) -> Option<&str> {
        self.server_text.as_deref()
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
