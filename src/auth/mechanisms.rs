//! The password mechanisms of RFC 1939's era: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195).

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use zeroize::Zeroizing;

use super::{hex, Mechanism};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// SASL PLAIN: `authzid NUL authcid NUL password` in the initial response.
pub struct Plain {
    user: String,
    secret: Secret,
    sent: bool,
}

impl Plain {
    /// PLAIN for `user` with `secret` (no separate authorization identity).
    pub fn new(user: String, secret: Secret) -> Self {
        Plain { user, secret, sent: false }
    }

    fn message(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.user.len() + self.secret.expose().len() + 2));
        out.push(0);
        out.extend_from_slice(self.user.as_bytes());
        out.push(0);
        out.extend_from_slice(self.secret.expose().as_bytes());
        out
    }
}

impl Mechanism for Plain {
    fn secret(&self) -> Option<&Secret> {
        Some(&self.secret)
    }

    fn name(&self) -> &str {
        "PLAIN"
    }

    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.sent = true;
        Ok(Some(self.message()))
    }

    fn respond(&mut self, _challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        // Servers that ignore the initial response ask with an empty challenge.
        if self.sent {
            return Err(Error::auth("the server asked for PLAIN credentials twice"));
        }
        self.sent = true;
        Ok(self.message())
    }
}

/// SASL LOGIN (draft-murchison-sasl-login): user name, then password, each on request.
pub struct Login {
    user: String,
    secret: Secret,
    step: u8,
}

impl Login {
    /// LOGIN for `user` with `secret`.
    pub fn new(user: String, secret: Secret) -> Self {
        Login { user, secret, step: 0 }
    }
}

impl Mechanism for Login {
    fn secret(&self) -> Option<&Secret> {
        Some(&self.secret)
    }

    fn name(&self) -> &str {
        "LOGIN"
    }

    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(None)
    }

    fn respond(&mut self, _challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        // The challenges are "Username:" and "Password:" in some form; answer by position, as
        // servers vary in the wording (and some send none at all).
        self.step += 1;
        match self.step {
            1 => Ok(Zeroizing::new(self.user.as_bytes().to_vec())),
            2 => Ok(Zeroizing::new(self.secret.expose().as_bytes().to_vec())),
            _ => Err(Error::auth("the server sent more LOGIN challenges than a user name and password")),
        }
    }
}

/// SASL CRAM-MD5 (RFC 2195): the user name and an HMAC-MD5 of the server's challenge.
pub struct CramMd5 {
    user: String,
    secret: Secret,
    answered: bool,
}

impl CramMd5 {
    /// CRAM-MD5 for `user` with `secret`.
    pub fn new(user: String, secret: Secret) -> Self {
        CramMd5 { user, secret, answered: false }
    }
}

impl Mechanism for CramMd5 {
    fn secret(&self) -> Option<&Secret> {
        Some(&self.secret)
    }

    fn name(&self) -> &str {
        "CRAM-MD5"
    }

    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(None)
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if self.answered {
            return Err(Error::auth("the server sent a second CRAM-MD5 challenge"));
        }
        if challenge.is_empty() {
            return Err(Error::protocol("the server sent an empty CRAM-MD5 challenge"));
        }
        self.answered = true;
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .map_err(|_| Error::auth("CRAM-MD5 key setup failed"))?;
        mac.update(challenge);
        let digest = hex(&mac.finalize().into_bytes());
        Ok(Zeroizing::new(format!("{} {digest}", self.user).into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message() {
        let mut m = Plain::new("tim".into(), Secret::new("tanstaaftanstaaf"));
        assert_eq!(m.initial_response().unwrap().unwrap().as_slice(), b"\0tim\0tanstaaftanstaaf");
    }

    #[test]
    fn login_steps() {
        let mut m = Login::new("alice".into(), Secret::new("pw"));
        assert!(m.initial_response().unwrap().is_none());
        assert_eq!(m.respond(b"Username:").unwrap().as_slice(), b"alice");
        assert_eq!(m.respond(b"Password:").unwrap().as_slice(), b"pw");
        assert!(m.respond(b"?").is_err());
    }

    #[test]
    fn rfc2195_example() {
        // RFC 2195 section 2: user "tim", secret "tanstaaftanstaaf".
        let mut m = CramMd5::new("tim".into(), Secret::new("tanstaaftanstaaf"));
        let response = m.respond(b"<1896.697170952@postoffice.reston.mci.net>").unwrap();
        assert_eq!(response.as_slice(), b"tim b913a602c7eda7a495b4e6e7334d3890");
    }
}
