//! Bearer-token mechanisms: OAUTHBEARER (RFC 7628) and Google/Microsoft's XOAUTH2.
//!
//! The caller brings an access token; running the OAuth flow is the application's job. Both
//! mechanisms always use the two-step form (`AUTH XOAUTH2`, then the token as the answer to
//! the server's empty challenge): Microsoft 365 requires it, Gmail accepts it, and tokens are
//! usually longer than a 255-octet command line anyway. When the server refuses a token it
//! sends a JSON error as a challenge; the client acknowledges it as the mechanisms require and
//! reports the server's explanation in the authentication error.

use zeroize::Zeroizing;

use super::Mechanism;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Which bearer-token mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerKind {
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
    /// `XOAUTH2` (Gmail, Microsoft 365).
    XOAuth2,
}

/// A bearer-token exchange.
pub struct Bearer {
    kind: BearerKind,
    user: String,
    token: Secret,
    host: Option<String>,
    port: Option<u16>,
    sent: bool,
    /// The server's JSON error, once it sent one.
    server_error: Option<String>,
}

impl Bearer {
    /// A bearer exchange for `user` with the access `token`. `host` and `port` are sent in
    /// OAUTHBEARER's message when known (RFC 7628 section 3.1).
    pub fn new(kind: BearerKind, user: String, token: Secret, host: Option<String>, port: Option<u16>) -> Bearer {
        Bearer { kind, user, token, host, port, sent: false, server_error: None }
    }

    fn message(&self) -> Zeroizing<Vec<u8>> {
        let token = self.token.expose();
        let text = match self.kind {
            BearerKind::XOAuth2 => format!("user={}\x01auth=Bearer {token}\x01\x01", self.user),
            BearerKind::OAuthBearer => {
                // gs2-header: no channel binding; authzid is the user, with ',' and '=' escaped.
                let user = self.user.replace('=', "=3D").replace(',', "=2C");
                let mut kv = String::new();
                if let Some(host) = &self.host {
                    kv.push_str(&format!("host={host}\x01"));
                }
                if let Some(port) = self.port {
                    kv.push_str(&format!("port={port}\x01"));
                }
                format!("n,a={user},\x01{kv}auth=Bearer {token}\x01\x01")
            }
        };
        Zeroizing::new(text.into_bytes())
    }
}

/// Pulls `status` (and `scope`) from a server's JSON error for the message; never fails.
fn describe_server_error(json: &str) -> String {
    let field = |name: &str| {
        let key = format!("\"{name}\"");
        let start = json.find(&key)? + key.len();
        let rest = json[start..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    };
    match (field("status"), field("scope")) {
        (Some(status), Some(scope)) => format!("status {status}, scope {scope}"),
        (Some(status), None) => format!("status {status}"),
        _ => json.chars().filter(|c| !c.is_control()).take(200).collect(),
    }
}

impl Mechanism for Bearer {
    fn secret(&self) -> Option<&Secret> {
        Some(&self.token)
    }

    fn name(&self) -> &str {
        match self.kind {
            BearerKind::OAuthBearer => "OAUTHBEARER",
            BearerKind::XOAuth2 => "XOAUTH2",
        }
    }

    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(None)
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if !self.sent {
            self.sent = true;
            return Ok(self.message());
        }
        if self.server_error.is_some() {
            return Err(Error::auth("the server kept challenging after rejecting the token"));
        }
        // A challenge after the token is the server's error report. Acknowledge it: an empty
        // response for XOAUTH2, a single %x01 for OAUTHBEARER (RFC 7628 section 3.2.3); the
        // server then answers -ERR, reported with this explanation.
        self.server_error = Some(describe_server_error(&String::from_utf8_lossy(challenge)));
        Ok(Zeroizing::new(match self.kind {
            BearerKind::XOAuth2 => Vec::new(),
            BearerKind::OAuthBearer => vec![1],
        }))
    }

    fn failure_detail(&self) -> Option<String> {
        self.server_error.as_ref().map(|e| format!("the server rejected the access token ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_message() {
        // Google's documented example.
        let mut m = Bearer::new(
            BearerKind::XOAuth2,
            "someuser@example.com".into(),
            Secret::new("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            None,
            None,
        );
        assert!(m.initial_response().unwrap().is_none(), "always two steps");
        let first = m.respond(b"").unwrap();
        assert_eq!(
            first.as_slice(),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
    }

    #[test]
    fn oauthbearer_rfc7628_example() {
        // RFC 7628 section 4.1.
        let mut m = Bearer::new(
            BearerKind::OAuthBearer,
            "user@example.com".into(),
            Secret::new("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
            Some("server.example.com".into()),
            Some(143),
        );
        assert_eq!(
            m.respond(b"").unwrap().as_slice(),
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        // RFC 7628 section 4.3: the error challenge, acknowledged with %x01.
        let error = br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
        assert_eq!(m.respond(error).unwrap().as_slice(), b"\x01");
        assert_eq!(
            m.failure_detail().unwrap(),
            "the server rejected the access token (status invalid_token, scope example_scope)"
        );
    }

    #[test]
    fn the_token_never_prints() {
        let m = Bearer::new(BearerKind::XOAuth2, "u".into(), Secret::new("tok3n"), None, None);
        assert!(m.failure_detail().is_none());
        assert_eq!(format!("{:?}", &m as &dyn Mechanism), "Mechanism(XOAUTH2)");
    }
}
