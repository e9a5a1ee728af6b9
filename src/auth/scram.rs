//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding.
//!
//! The password never crosses the wire, and the server proves it knows the password too: its
//! final message is verified, and a server that skips it or gets it wrong is refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::digest::{Digest, FixedOutputReset, KeyInit};
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

use super::{Mechanism, RandomSource};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The hash a SCRAM variant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-1.
    Sha1,
    /// SCRAM-SHA-256.
    Sha256,
}

/// The fewest PBKDF2 iterations accepted (RFC 7677 section 4): fewer make the exchange a weak
/// password hash for anyone who records it, and a server asking for fewer is suspect.
pub const MIN_ITERATIONS: u32 = 4096;
/// The most accepted, so a hostile server cannot make the client spin.
pub const MAX_ITERATIONS: u32 = 1_000_000;

fn hmac<D: Digest + hmac::EagerHash + FixedOutputReset + Clone>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    Hmac<D>: KeyInit + Mac,
{
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl ScramHash {
    fn name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => hmac::<sha1::Sha1>(key, data),
            ScramHash::Sha256 => hmac::<sha2::Sha256>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<Vec<u8>> {
        match self {
            ScramHash::Sha1 => {
                let mut out = Zeroizing::new(vec![0; 20]);
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha256 => {
                let mut out = Zeroizing::new(vec![0; 32]);
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

enum Step {
    Start,
    SentClientFirst { bare: String },
    SentClientFinal { server_signature: Vec<u8> },
    Verified,
}

/// A SCRAM client exchange.
pub struct Scram {
    hash: ScramHash,
    user: String,
    secret: Secret,
    nonce: String,
    step: Step,
}

/// `saslname` escaping (RFC 5802 section 5.1): `=` and `,` are written `=3D` and `=2C`.
fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn random_nonce(random: &mut dyn RandomSource) -> Result<String> {
    let mut bytes = [0u8; 24];
    random.fill(&mut bytes).map_err(|e| Error::auth(format!("no randomness for the SCRAM nonce: {}", e.message())))?;
    Ok(BASE64.encode(bytes))
}

/// Looks up attribute `key` (`r`, `s`, `i`, `v`, `e`) in a SCRAM message.
fn attribute(message: &str, key: char) -> Option<&str> {
    message.split(',').find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

impl Scram {
    /// A SCRAM exchange for `user` with `secret`, with a client nonce of 24 bytes from `random`.
    pub fn new(hash: ScramHash, user: String, secret: Secret, random: &mut dyn RandomSource) -> Result<Scram> {
        Ok(Scram::with_nonce(hash, user, secret, random_nonce(random)?))
    }

    /// Same, with a given client nonce (for known-answer tests).
    pub fn with_nonce(hash: ScramHash, user: String, secret: Secret, nonce: String) -> Scram {
        Scram { hash, user, secret, nonce, step: Step::Start }
    }

    fn client_final(&mut self, server_first: &str, bare: &str) -> Result<Zeroizing<Vec<u8>>> {
        let name = self.hash.name();
        if let Some(error) = attribute(server_first, 'e') {
            return Err(Error::auth(format!("the server ended {name}: {error}")));
        }
        if server_first.starts_with("m=") {
            return Err(Error::auth(format!("the server requires a {name} extension this client does not know")));
        }
        let nonce =
            attribute(server_first, 'r').ok_or_else(|| Error::auth(format!("{name}: no nonce from the server")))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(Error::auth(format!("{name}: the server's nonce does not extend the client's")));
        }
        let salt = attribute(server_first, 's')
            .and_then(|s| BASE64.decode(s).ok())
            .ok_or_else(|| Error::auth(format!("{name}: no valid salt from the server")))?;
        let iterations: u32 = attribute(server_first, 'i')
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| Error::auth(format!("{name}: no valid iteration count from the server")))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(Error::auth(format!(
                "{name}: the server asks for {iterations} iterations; accepted are {MIN_ITERATIONS} to {MAX_ITERATIONS}"
            )));
        }
        // The password is used as typed, without SASLprep (RFC 4013): SASLprep needs Unicode
        // normalisation tables (about 80 KB in wasm), it is the identity for printable ASCII,
        // and Dovecot, like several servers, derives its SCRAM keys from the raw password too.
        let salted = self.hash.salted_password(self.secret.expose().as_bytes(), &salt, iterations);
        let client_key = Zeroizing::new(self.hash.hmac(&salted, b"Client Key"));
        let stored_key = self.hash.hash(&client_key);
        // "biws" is base64 of the GS2 header "n,,": no channel binding, no authorization id.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        let server_signature = self.hash.hmac(&server_key, auth_message.as_bytes());
        self.step = Step::SentClientFinal { server_signature };
        Ok(Zeroizing::new(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes()))
    }
}

impl Mechanism for Scram {
    fn secret(&self) -> Option<&Secret> {
        Some(&self.secret)
    }

    fn name(&self) -> &str {
        self.hash.name()
    }

    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let bare = format!("n={},r={}", escape_name(&self.user), self.nonce);
        let first = format!("n,,{bare}");
        self.step = Step::SentClientFirst { bare };
        Ok(Some(Zeroizing::new(first.into_bytes())))
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let name = self.hash.name();
        let text = std::str::from_utf8(challenge)
            .map_err(|_| Error::auth(format!("{name}: the server's message is not UTF-8")))?;
        match std::mem::replace(&mut self.step, Step::Start) {
            Step::SentClientFirst { bare } => self.client_final(text, &bare),
            Step::SentClientFinal { server_signature } => {
                if let Some(error) = attribute(text, 'e') {
                    return Err(Error::auth(format!("the server rejected {name}: {error}")));
                }
                let claimed = attribute(text, 'v').and_then(|v| BASE64.decode(v).ok());
                if claimed.as_deref() != Some(server_signature.as_slice()) {
                    return Err(Error::auth(format!(
                        "the server's {name} signature is wrong: it does not know the password (or is not the real server)"
                    )));
                }
                self.step = Step::Verified;
                Ok(Zeroizing::new(Vec::new()))
            }
            Step::Start | Step::Verified => {
                Err(Error::auth(format!("{name}: unexpected extra challenge from the server")))
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self.step {
            Step::Verified => Ok(()),
            _ => Err(Error::auth(format!(
                "the server accepted {} without proving it knows the password; the session is not trusted",
                self.hash.name()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mut m: Scram, server_first: &str, expected_final: &str, server_final: &str) {
        let first = m.initial_response().unwrap().unwrap();
        assert!(first.starts_with(b"n,,n="));
        let fin = m.respond(server_first.as_bytes()).unwrap();
        assert_eq!(std::str::from_utf8(&fin).unwrap(), expected_final);
        assert!(m.finish().is_err(), "not verified yet");
        assert!(m.respond(server_final.as_bytes()).unwrap().is_empty());
        m.finish().unwrap();
    }

    #[test]
    fn rfc5802_sha1_example() {
        // RFC 5802 section 5 (its example uses 4096 iterations).
        let m =
            Scram::with_nonce(ScramHash::Sha1, "user".into(), Secret::new("pencil"), "fyko+d2lbbFgONRv9qkxdawL".into());
        run(
            m,
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        );
    }

    #[test]
    fn rfc7677_sha256_example() {
        let m =
            Scram::with_nonce(ScramHash::Sha256, "user".into(), Secret::new("pencil"), "rOprNGfwEbeRWgbNEkqO".into());
        run(
            m,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        let mut m =
            Scram::with_nonce(ScramHash::Sha256, "user".into(), Secret::new("pencil"), "rOprNGfwEbeRWgbNEkqO".into());
        m.initial_response().unwrap();
        m.respond(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
        let err = m.respond(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap_err();
        assert!(err.to_string().contains("signature is wrong"), "{err}");
        assert!(m.finish().is_err());
    }

    #[test]
    fn hostile_server_first_messages() {
        let fresh = || Scram::with_nonce(ScramHash::Sha1, "u".into(), Secret::new("p"), "abc".into());
        for bad in [
            "r=xyz123,s=QSXCR+Q6sek8bf92,i=4096", // does not extend our nonce
            "r=abc,s=QSXCR+Q6sek8bf92,i=4096",    // adds nothing
            "r=abcdef,s=!!!,i=4096",              // bad salt
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=1",    // too few iterations
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=4000000000",
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=1000001",
            "m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
            "e=unknown-user",
        ] {
            let mut m = fresh();
            m.initial_response().unwrap();
            assert!(m.respond(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_escaped() {
        let mut m = Scram::with_nonce(ScramHash::Sha1, "a=b,c".into(), Secret::new("p"), "n".into());
        assert_eq!(m.initial_response().unwrap().unwrap().as_slice(), b"n,,n=a=3Db=2Cc,r=n");
    }

    #[test]
    fn nonces_come_from_the_configured_source() {
        use crate::auth::{OsRandom, SeededRandom};
        assert_ne!(random_nonce(&mut OsRandom).unwrap(), random_nonce(&mut OsRandom).unwrap());
        // A seed replays the same nonce: the exchange is reproducible.
        let seeded = || random_nonce(&mut SeededRandom::new([7; 32])).unwrap();
        assert_eq!(seeded(), seeded());
        assert_eq!(seeded().len(), 32);
    }
}
