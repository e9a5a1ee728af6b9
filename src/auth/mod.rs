//! Authentication: SASL mechanisms (RFC 5034), APOP (RFC 1939), and the policy that chooses one.
//!
//! A [`Mechanism`] is a small state machine the engine drives: it produces an optional initial
//! response and answers server challenges. Mechanisms added later (SCRAM, OAuth bearer tokens)
//! plug into the same interface.

mod mechanisms;
mod oauth;
mod random;
mod scram;

use std::fmt;

use md5::{Digest, Md5};
use zeroize::Zeroizing;

pub use mechanisms::{CramMd5, Login, Plain};
pub use oauth::{Bearer, BearerKind};
pub use random::{OsRandom, RandomSource, SeededRandom};
pub use scram::{Scram, ScramHash, MAX_ITERATIONS as SCRAM_MAX_ITERATIONS, MIN_ITERATIONS as SCRAM_MIN_ITERATIONS};

use crate::error::{Error, Result};
use crate::proto::{ApopDigest, Capabilities};
use crate::secret::Secret;

/// A SASL client mechanism.
pub trait Mechanism {
    /// The SASL name, such as `CRAM-MD5`.
    fn name(&self) -> &str;

    /// The client's first message, for mechanisms that speak first (PLAIN). Raw bytes; the
    /// engine base64-encodes them.
    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>>;

    /// Answers a server challenge (already base64-decoded).
    fn respond(&mut self, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>>;

    /// The password or token this mechanism proves knowledge of. The engine removes it (and
    /// every response the mechanism sends) from the server's texts, so a server that echoes
    /// it cannot put it in an error. Mechanisms holding a secret should return it.
    fn secret(&self) -> Option<&Secret> {
        None
    }

    /// Called when the server accepted the exchange. Mechanisms that authenticate the server
    /// (SCRAM) fail here if the server never proved itself.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    /// What the mechanism learned about a failure from the server's challenges (OAuth servers
    /// explain a rejected token in JSON), to report with the server's `-ERR`.
    fn failure_detail(&self) -> Option<String> {
        None
    }
}

impl fmt::Debug for dyn Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mechanism({})", self.name())
    }
}

/// What a [`Credentials`] secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretKind {
    /// A password, for USER/PASS, APOP and the password SASL mechanisms.
    #[default]
    Password,
    /// An OAuth 2.0 access token, for OAUTHBEARER and XOAUTH2.
    AccessToken,
}

/// A user name with a password or an access token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (authentication identity).
    pub user: String,
    /// The password or token.
    pub secret: Secret,
    /// Which of the two the secret is.
    pub kind: SecretKind,
}

impl Credentials {
    /// Credentials for `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials { user: user.into(), secret: password.into(), kind: SecretKind::Password }
    }

    /// Credentials for `user` with an OAuth 2.0 access token (obtained by the application).
    pub fn access_token(user: impl Into<String>, token: impl Into<Secret>) -> Self {
        Credentials { user: user.into(), secret: token.into(), kind: SecretKind::AccessToken }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials {{ user: {:?}, secret: ***, kind: {:?} }}", self.user, self.kind)
    }
}

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// The strongest method the server offers (see [`choose`]).
    #[default]
    Auto,
    /// `USER` / `PASS` (RFC 1939).
    UserPass,
    /// `APOP` with the greeting's timestamp (RFC 1939).
    Apop,
    /// `AUTH` with the named SASL mechanism.
    Sasl(String),
}

impl AuthMethod {
    /// Parses a name as used on command lines and in JavaScript: `auto`, `user`, `apop`, or a
    /// SASL mechanism name such as `CRAM-MD5`.
    pub fn parse(name: &str) -> Result<AuthMethod> {
        let upper = name.trim().to_ascii_uppercase();
        Ok(match upper.as_str() {
            "" | "AUTO" => AuthMethod::Auto,
            "USER" | "USERPASS" | "USER/PASS" => AuthMethod::UserPass,
            "APOP" => AuthMethod::Apop,
            m if sasl(m).is_some() => AuthMethod::Sasl(upper),
            _ => {
                let names: Vec<&str> = SASL_MECHANISMS.iter().map(|m| m.name).collect();
                return Err(Error::usage(format!(
                    "unknown authentication method {name:?}; use auto, user, apop or one of {}",
                    names.join(", ")
                )));
            }
        })
    }

    /// Whether this method sends the password (or a reusable token) itself over the connection.
    pub fn exposes_secret(&self) -> bool {
        match self {
            AuthMethod::UserPass => true,
            AuthMethod::Sasl(m) => sasl(m).is_some_and(|m| m.exposes_secret),
            AuthMethod::Auto | AuthMethod::Apop => false,
        }
    }

    /// Whether this method takes an access token rather than a password.
    pub fn takes_token(&self) -> bool {
        matches!(self, AuthMethod::Sasl(m) if sasl(m).is_some_and(|m| m.secret == SecretKind::AccessToken))
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Auto => f.write_str("auto"),
            AuthMethod::UserPass => f.write_str("USER/PASS"),
            AuthMethod::Apop => f.write_str("APOP"),
            AuthMethod::Sasl(m) => write!(f, "AUTH {m}"),
        }
    }
}

/// A SASL mechanism this crate implements, with what the login policy needs to know about it.
#[derive(Debug)]
pub struct SaslMechanism {
    /// The SASL name, upper case.
    pub name: &'static str,
    /// Whether it takes a password or an access token.
    pub secret: SecretKind,
    /// Whether someone who can read the connection learns the password (PLAIN, LOGIN) or a
    /// reusable bearer token. Such mechanisms are refused on unencrypted connections unless the
    /// caller allows it.
    pub exposes_secret: bool,
    build: BuildMechanism,
}

/// Makes a mechanism for a user and secret, with randomness for those that need it.
type BuildMechanism = fn(String, Secret, &mut dyn RandomSource) -> Result<Box<dyn Mechanism>>;

/// Every SASL mechanism this crate implements, strongest (or preferred) first for each kind of
/// secret: the one table the login policy, [`AuthMethod::parse`] and [`mechanism`] read.
pub const SASL_MECHANISMS: &[SaslMechanism] = &[
    SaslMechanism {
        name: "SCRAM-SHA-256",
        secret: SecretKind::Password,
        exposes_secret: false,
        build: |user, secret, random| Ok(Box::new(Scram::new(ScramHash::Sha256, user, secret, random)?)),
    },
    SaslMechanism {
        name: "SCRAM-SHA-1",
        secret: SecretKind::Password,
        exposes_secret: false,
        build: |user, secret, random| Ok(Box::new(Scram::new(ScramHash::Sha1, user, secret, random)?)),
    },
    SaslMechanism {
        name: "CRAM-MD5",
        secret: SecretKind::Password,
        exposes_secret: false,
        build: |user, secret, _| Ok(Box::new(CramMd5::new(user, secret))),
    },
    SaslMechanism {
        name: "PLAIN",
        secret: SecretKind::Password,
        exposes_secret: true,
        build: |user, secret, _| Ok(Box::new(Plain::new(user, secret))),
    },
    SaslMechanism {
        name: "LOGIN",
        secret: SecretKind::Password,
        exposes_secret: true,
        build: |user, secret, _| Ok(Box::new(Login::new(user, secret))),
    },
    SaslMechanism {
        name: "OAUTHBEARER",
        secret: SecretKind::AccessToken,
        exposes_secret: true,
        build: |user, secret, _| Ok(Box::new(Bearer::new(BearerKind::OAuthBearer, user, secret, None, None))),
    },
    SaslMechanism {
        name: "XOAUTH2",
        secret: SecretKind::AccessToken,
        exposes_secret: true,
        build: |user, secret, _| Ok(Box::new(Bearer::new(BearerKind::XOAuth2, user, secret, None, None))),
    },
];

/// The entry of [`SASL_MECHANISMS`] named `name` (any case).
pub fn sasl(name: &str) -> Option<&'static SaslMechanism> {
    SASL_MECHANISMS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// What the server offered, as far as the choice of login method is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    /// The server's capabilities, if it answered `CAPA`.
    pub capabilities: Option<&'a Capabilities>,
    /// The APOP timestamp from the greeting, if there was one.
    pub apop_timestamp: Option<&'a str>,
    /// Whether the connection is encrypted (TLS).
    pub encrypted: bool,
}

/// Picks the login method: the requested one, or for [`AuthMethod::Auto`]: over TLS, PLAIN
/// when offered (one round trip; TLS protects the password); otherwise the strongest one
/// offered: for a password SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, APOP, PLAIN, LOGIN,
/// USER/PASS; for an access token OAUTHBEARER, then XOAUTH2 (which Gmail supports without
/// advertising it).
///
/// Methods that send the password or token itself are refused on an unencrypted connection
/// unless `allow_cleartext` is set: that is a [`crate::ErrorKind::Usage`] error naming the way
/// out.
pub fn choose(requested: &AuthMethod, offer: Offer<'_>, allow_cleartext: bool) -> Result<AuthMethod> {
    choose_for(requested, SecretKind::Password, offer, allow_cleartext)
}

/// [`choose`] for a secret of `kind`.
pub fn choose_for(
    requested: &AuthMethod,
    kind: SecretKind,
    offer: Offer<'_>,
    allow_cleartext: bool,
) -> Result<AuthMethod> {
    let cleartext_ok = offer.encrypted || allow_cleartext;
    if *requested != AuthMethod::Auto && requested.takes_token() != (kind == SecretKind::AccessToken) {
        return Err(Error::usage(match kind {
            SecretKind::AccessToken => format!("{requested} takes a password, not an access token"),
            SecretKind::Password => format!("{requested} takes an OAuth access token, not a password"),
        }));
    }
    let method = match requested {
        AuthMethod::Auto if kind == SecretKind::AccessToken => {
            let offered = |m: &str| offer.capabilities.is_some_and(|c| c.has_sasl(m));
            let name = if offered("OAUTHBEARER") { "OAUTHBEARER" } else { "XOAUTH2" };
            AuthMethod::Sasl(name.to_owned())
        }
        // Over TLS the password is protected on the wire whatever the mechanism, and PLAIN with
        // its initial response costs one round trip where SCRAM costs two or three: the
        // cheapest safe path. Without TLS, the strongest offered.
        AuthMethod::Auto if offer.encrypted && offer.capabilities.is_some_and(|c| c.has_sasl("PLAIN")) => {
            AuthMethod::Sasl("PLAIN".to_owned())
        }
        AuthMethod::Auto => {
            let caps = offer.capabilities;
            let sasl = |m: &str| caps.is_some_and(|c| c.has_sasl(m));
            let mut candidates: Vec<AuthMethod> = Vec::new();
            for m in SASL_MECHANISMS.iter().filter(|m| m.secret == SecretKind::Password).map(|m| m.name) {
                if sasl(m) {
                    candidates.push(AuthMethod::Sasl(m.to_owned()));
                }
                if m == "CRAM-MD5" && offer.apop_timestamp.is_some() {
                    candidates.push(AuthMethod::Apop);
                }
            }
            // USER/PASS is always available on servers without CAPA (RFC 1939); with CAPA it
            // should be advertised, but many servers forget, so it is the last resort either way.
            candidates.push(AuthMethod::UserPass);
            let usable = candidates.iter().find(|m| cleartext_ok || !m.exposes_secret());
            match usable {
                Some(m) => m.clone(),
                None => return Err(cleartext_refused(&candidates[0])),
            }
        }
        AuthMethod::Apop => {
            if offer.apop_timestamp.is_none() {
                return Err(Error::auth("the server's greeting has no APOP timestamp, so APOP is not available"));
            }
            AuthMethod::Apop
        }
        other => other.clone(),
    };
    if method.exposes_secret() && !cleartext_ok {
        return Err(cleartext_refused(&method));
    }
    Ok(method)
}

fn cleartext_refused(method: &AuthMethod) -> Error {
    Error::usage(format!(
        "refusing to send the password in cleartext ({method}) over an unencrypted connection; \
         use TLS, or explicitly allow cleartext authentication"
    ))
}

/// Builds the SASL mechanism `name` for `credentials`, taking any random bytes it needs (SCRAM's
/// client nonce) from `random`.
pub fn mechanism(name: &str, credentials: &Credentials, random: &mut dyn RandomSource) -> Result<Box<dyn Mechanism>> {
    let Some(entry) = sasl(name) else {
        return Err(Error::usage(format!("the SASL mechanism {name} is not supported")));
    };
    (entry.build)(credentials.user.clone(), credentials.secret.clone(), random)
}

/// The APOP digest: lower-case hex MD5 of the greeting's timestamp followed by the secret.
pub fn apop_digest(timestamp: &str, secret: &Secret) -> ApopDigest {
    let mut md5 = Md5::new();
    md5.update(timestamp.as_bytes());
    md5.update(secret.expose().as_bytes());
    ApopDigest::from_hex(&hex(&md5.finalize())).expect("an MD5 digest is 32 hex digits")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn the_mechanism_table_builds_what_it_names_and_seeds_replay() {
        let creds = Credentials::new("alice", "pw");
        for entry in SASL_MECHANISMS {
            let m = mechanism(entry.name, &creds, &mut OsRandom).unwrap();
            assert_eq!(m.name(), entry.name);
            assert_eq!(AuthMethod::parse(&entry.name.to_lowercase()).unwrap(), AuthMethod::Sasl(entry.name.into()));
            let method = AuthMethod::Sasl(entry.name.into());
            assert_eq!(method.exposes_secret(), entry.exposes_secret, "{}", entry.name);
            assert_eq!(method.takes_token(), entry.secret == SecretKind::AccessToken, "{}", entry.name);
        }
        let first = |seed| {
            let mut m = mechanism("SCRAM-SHA-256", &creds, &mut SeededRandom::new(seed)).unwrap();
            m.initial_response().unwrap().unwrap().to_vec()
        };
        assert_eq!(first([1; 32]), first([1; 32]));
        assert_ne!(first([1; 32]), first([2; 32]));
        assert!(mechanism("GSSAPI", &creds, &mut OsRandom).is_err());
    }

    fn caps(sasl: &[&str]) -> Capabilities {
        Capabilities { sasl: sasl.iter().map(|s| s.to_string()).collect(), user: true, ..Default::default() }
    }

    #[test]
    fn auto_prefers_scram_then_cram_then_apop_then_cleartext() {
        let c = caps(&["PLAIN", "SCRAM-SHA-1", "CRAM-MD5", "SCRAM-SHA-256"]);
        let offer = Offer { capabilities: Some(&c), apop_timestamp: Some("<1@x>"), encrypted: false };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::Sasl("SCRAM-SHA-256".into()));
        let c = caps(&["PLAIN", "SCRAM-SHA-1", "CRAM-MD5"]);
        let offer = Offer { capabilities: Some(&c), apop_timestamp: Some("<1@x>"), encrypted: false };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::Sasl("SCRAM-SHA-1".into()));
    }

    #[test]
    fn tokens_use_bearer_mechanisms_only() {
        let c = caps(&["PLAIN", "OAUTHBEARER", "XOAUTH2"]);
        let tls = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: true };
        let token = SecretKind::AccessToken;
        assert_eq!(choose_for(&AuthMethod::Auto, token, tls, false).unwrap(), AuthMethod::Sasl("OAUTHBEARER".into()));
        // Gmail accepts XOAUTH2 without advertising it.
        let none = caps(&["PLAIN"]);
        let gmail = Offer { capabilities: Some(&none), apop_timestamp: None, encrypted: true };
        assert_eq!(choose_for(&AuthMethod::Auto, token, gmail, false).unwrap(), AuthMethod::Sasl("XOAUTH2".into()));
        // A token is never sent without TLS unless allowed, and never to a password method.
        let plain = Offer { encrypted: false, ..tls };
        assert_eq!(choose_for(&AuthMethod::Auto, token, plain, false).unwrap_err().kind(), ErrorKind::Usage);
        assert_eq!(choose_for(&AuthMethod::UserPass, token, tls, false).unwrap_err().kind(), ErrorKind::Usage);
        let xo = AuthMethod::Sasl("XOAUTH2".into());
        assert_eq!(choose_for(&xo, SecretKind::Password, tls, false).unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn auto_over_tls_takes_plain_for_one_round_trip() {
        let c = caps(&["SCRAM-SHA-256", "CRAM-MD5", "PLAIN"]);
        let tls = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: true };
        assert_eq!(choose(&AuthMethod::Auto, tls, false).unwrap(), AuthMethod::Sasl("PLAIN".into()));
        let c = caps(&["SCRAM-SHA-256", "CRAM-MD5"]);
        let tls = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: true };
        assert_eq!(choose(&AuthMethod::Auto, tls, false).unwrap(), AuthMethod::Sasl("SCRAM-SHA-256".into()));
        // Plain text, even allowed: the strongest.
        let c = caps(&["SCRAM-SHA-256", "PLAIN"]);
        let plain = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: false };
        assert_eq!(choose(&AuthMethod::Auto, plain, true).unwrap(), AuthMethod::Sasl("SCRAM-SHA-256".into()));
    }

    #[test]
    fn auto_prefers_the_strongest() {
        let c = caps(&["PLAIN", "LOGIN", "CRAM-MD5"]);
        let offer = Offer { capabilities: Some(&c), apop_timestamp: Some("<1@x>"), encrypted: false };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::Sasl("CRAM-MD5".into()));
        let c = caps(&["PLAIN", "LOGIN"]);
        let offer = Offer { capabilities: Some(&c), apop_timestamp: Some("<1@x>"), encrypted: false };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::Apop);
        let offer = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: true };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::Sasl("PLAIN".into()));
        let offer = Offer { capabilities: None, apop_timestamp: None, encrypted: true };
        assert_eq!(choose(&AuthMethod::Auto, offer, false).unwrap(), AuthMethod::UserPass);
    }

    #[test]
    fn cleartext_needs_tls_or_consent() {
        let c = caps(&["PLAIN", "LOGIN"]);
        let plain = Offer { capabilities: Some(&c), apop_timestamp: None, encrypted: false };
        let err = choose(&AuthMethod::Auto, plain, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("unencrypted"), "{err}");
        assert_eq!(choose(&AuthMethod::Auto, plain, true).unwrap(), AuthMethod::Sasl("PLAIN".into()));
        assert!(choose(&AuthMethod::UserPass, plain, false).is_err());
        assert!(choose(&AuthMethod::Sasl("LOGIN".into()), plain, false).is_err());
        // CRAM-MD5 never sends the password, so it is fine without TLS.
        assert!(choose(&AuthMethod::Sasl("CRAM-MD5".into()), plain, false).is_ok());
    }

    #[test]
    fn apop_needs_a_timestamp() {
        let offer = Offer { capabilities: None, apop_timestamp: None, encrypted: false };
        assert_eq!(choose(&AuthMethod::Apop, offer, false).unwrap_err().kind(), ErrorKind::Auth);
    }

    #[test]
    fn method_names() {
        assert_eq!(AuthMethod::parse("auto").unwrap(), AuthMethod::Auto);
        assert_eq!(AuthMethod::parse("cram-md5").unwrap(), AuthMethod::Sasl("CRAM-MD5".into()));
        assert_eq!(AuthMethod::parse("User").unwrap(), AuthMethod::UserPass);
        assert_eq!(AuthMethod::parse("GSSAPI").unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn credentials_do_not_print_the_password() {
        let c = Credentials::new("alice", "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
