//! TLS inside the library: rustls over any [`Transport`], so that a WebSocket proxy relays only
//! ciphertext and the same code serves implicit TLS (POP3S, port 995) and `STLS` (RFC 2595).
//!
//! Certificates are always validated, chain and host name, against Mozilla's roots
//! (`webpki-roots`) plus any private CA certificates the caller adds; or, when the caller pins
//! a certificate, against that pin alone. Validity dates use the runtime's wall clock (in wasm,
//! JavaScript's `Date.now()`).

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{CertificateDetail, CertificateProblem, Detail, Error, Result};
use crate::transport::{TlsInfo, Transport};

/// How to validate the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// The name the server's certificate must carry (a DNS name or an IP address). Through a
    /// proxy this is the mail server's name, not the proxy's.
    pub server_name: String,
    /// Extra CA certificates (PEM) trusted besides Mozilla's roots, for private servers.
    pub extra_roots_pem: Vec<String>,
    /// Trust only these CAs, not Mozilla's roots.
    pub only_extra_roots: bool,
    /// A SHA-256 fingerprint of the server's own certificate. When set, the connection is
    /// accepted exactly when the server presents that certificate (chain and name are not
    /// checked: the pin is a stronger statement of identity than either).
    pub pin_sha256: Option<[u8; 32]>,
}

impl TlsOptions {
    /// Options for `server_name` with Mozilla's roots.
    pub fn new(server_name: impl Into<String>) -> TlsOptions {
        TlsOptions { server_name: server_name.into(), ..TlsOptions::default() }
    }

    /// Parses a pin: `sha256/BASE64` (as in HPKP), plain base64, or hex (colons allowed).
    pub fn parse_pin(pin: &str) -> Result<[u8; 32]> {
        use base64::Engine as _;
        let text = pin.trim().trim_start_matches("sha256/");
        let hex: String = text.chars().filter(|c| *c != ':').collect();
        let bytes = if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| Error::usage("a certificate pin must be a SHA-256 fingerprint in base64 or hex"))?
        };
        bytes.try_into().map_err(|_| Error::usage("a certificate pin must be a SHA-256 fingerprint (32 bytes)"))
    }

    fn client_config(&self) -> Result<Arc<ClientConfig>> {
        // ring's provider without its private-key loader: a client that never authenticates
        // with a certificate does not need RSA/ECDSA/Ed25519 signing (kilobytes in wasm).
        // Built field by field: `..default_provider()` keeps ring's key loader reachable.
        let provider = Arc::new(rustls::crypto::CryptoProvider {
            cipher_suites: rustls::crypto::ring::ALL_CIPHER_SUITES.to_vec(),
            kx_groups: rustls::crypto::ring::ALL_KX_GROUPS.to_vec(),
            signature_verification_algorithms: SIGNATURE_ALGORITHMS,
            secure_random: &SystemRandom,
            key_provider: &NoClientKeys,
        });
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|_| Error::tls("TLS setup failed"))?;
        let config = match self.pin_sha256 {
            Some(pin) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                    pin,
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth(),
            None => builder.with_root_certificates(self.roots()?).with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        if !self.only_extra_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for pem in &self.extra_roots_pem {
            let mut found = false;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| Error::usage(format!("cannot read a CA certificate (PEM): {e}")))?;
                roots.add(cert).map_err(|e| Error::usage(format!("unusable CA certificate: {e}")))?;
                found = true;
            }
            if !found {
                return Err(Error::usage("a CA certificate option contains no PEM certificate"));
            }
        }
        if roots.is_empty() {
            return Err(Error::usage("no trusted CA certificates"));
        }
        Ok(roots)
    }
}

/// The server signature algorithms ring verifies: the same set as rustls' ring provider, whose
/// own copy is private and reachable only through `default_provider()` (see `client_config`).
static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = {
    use webpki::ring as alg;
    WebPkiSupportedAlgorithms {
        all: &[
            alg::ECDSA_P256_SHA256,
            alg::ECDSA_P256_SHA384,
            alg::ECDSA_P384_SHA256,
            alg::ECDSA_P384_SHA384,
            alg::ED25519,
            alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
            alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
            alg::RSA_PKCS1_2048_8192_SHA256,
            alg::RSA_PKCS1_2048_8192_SHA384,
            alg::RSA_PKCS1_2048_8192_SHA512,
            alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
            alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
            alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        ],
        mapping: &[
            // For TLS 1.2 the curve is not fixed by the signature scheme; for TLS 1.3 it is.
            (SignatureScheme::ECDSA_NISTP384_SHA384, &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384]),
            (SignatureScheme::ECDSA_NISTP256_SHA256, &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256]),
            (SignatureScheme::ED25519, &[alg::ED25519]),
            (SignatureScheme::RSA_PSS_SHA512, &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY]),
            (SignatureScheme::RSA_PSS_SHA384, &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY]),
            (SignatureScheme::RSA_PSS_SHA256, &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY]),
            (SignatureScheme::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
            (SignatureScheme::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
            (SignatureScheme::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
        ],
    }
};

/// Randomness for rustls (nonces, session ids) from the platform: `getrandom`, which is
/// `crypto.getRandomValues` in wasm.
#[derive(Debug)]
struct SystemRandom;

impl rustls::crypto::SecureRandom for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> std::result::Result<(), rustls::crypto::GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// A key provider that loads nothing: this client never presents a certificate.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> std::result::Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General("client certificates are not supported".into()))
    }
}

/// Accepts exactly the pinned certificate (and still checks the handshake signatures).
#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if Sha256::digest(end_entity.as_ref()).as_slice() == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A name for a TLS alert (the common ones; others by number).
fn alert_name(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let name = match alert {
        A::HandshakeFailure => "handshake_failure (no common cipher or version)",
        A::ProtocolVersion => "protocol_version (no common TLS version)",
        A::BadCertificate => "bad_certificate",
        A::UnknownCA => "unknown_ca",
        A::CertificateExpired => "certificate_expired",
        A::InternalError => "internal_error",
        A::DecryptError => "decrypt_error",
        A::IllegalParameter => "illegal_parameter",
        A::UnrecognisedName => "unrecognized_name (the server does not know this name)",
        _ => return format!("number {}", u8::from(alert)),
    };
    name.to_owned()
}

/// The error for a TLS failure with `server`, with a [`Detail::Certificate`] when the
/// certificate was refused. Deliberately no `{:?}` of rustls's error types: their Debug code
/// (hundreds of variants) would bloat the wasm module.
fn tls_error(error: &rustls::Error, server: &str, pinned: bool) -> Error {
    let detail = certificate_detail(error, server, pinned);
    let names = detail.as_ref().map_or(&[][..], |d| &d.names[..]);
    let error_out = Error::tls(tls_message(error, server, pinned, names));
    match detail {
        Some(detail) => error_out.with_detail(Detail::Certificate(Box::new(detail))),
        None => error_out,
    }
}

/// The machine-readable account of a refused certificate.
fn certificate_detail(error: &rustls::Error, server: &str, pinned: bool) -> Option<CertificateDetail> {
    use CertificateError as C;
    use CertificateProblem as P;
    let rustls::Error::InvalidCertificate(cert) = error else { return None };
    let mut names = Vec::new();
    let problem = match cert {
        C::UnknownIssuer => P::UnknownIssuer,
        C::Expired | C::ExpiredContext { .. } => P::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => P::NotYetValid,
        C::NotValidForName => P::NameMismatch,
        C::NotValidForNameContext { presented, .. } => {
            names = presented.iter().filter_map(|p| presented_name(p)).collect();
            P::NameMismatch
        }
        C::Revoked => P::Revoked,
        C::ApplicationVerificationFailure if pinned => P::PinMismatch,
        _ => P::Other,
    };
    Some(CertificateDetail { problem, server_name: server.to_owned(), names })
}

/// A name from the verifier's list of the names a certificate carries, which webpki writes as
/// `DnsName("mail.example.org")` or `IpAddress(192.0.2.1)`; other kinds (URIs, directory
/// names) are not names a user could type, and are left out.
fn presented_name(presented: &str) -> Option<String> {
    if let Some(rest) = presented.strip_prefix("DnsName(\"") {
        return rest.strip_suffix("\")").map(str::to_owned);
    }
    presented.strip_prefix("IpAddress(")?.strip_suffix(')').map(str::to_owned)
}

/// A human explanation of a TLS failure with `server`; `names`, those the certificate is valid
/// for when it was refused for its name.
fn tls_message(error: &rustls::Error, server: &str, pinned: bool, names: &[String]) -> String {
    use CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::Expired | C::ExpiredContext { .. } => format!("the certificate of {server} has expired"),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("the certificate of {server} is not valid yet (is the clock right?)")
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => match names.is_empty() {
                true => format!("the server's certificate is not valid for the name {server}"),
                false => format!(
                    "the server's certificate is not valid for the name {server}; it is valid for {}",
                    names.join(", ")
                ),
            },
            C::UnknownIssuer => format!(
                "the certificate of {server} is not issued by a trusted certificate authority \
                 (for a private server, add its CA certificate)"
            ),
            C::ApplicationVerificationFailure if pinned => {
                format!("the certificate of {server} does not match the pinned fingerprint")
            }
            C::BadSignature => format!("the certificate of {server} has a bad signature"),
            C::Revoked => format!("the certificate of {server} has been revoked"),
            C::BadEncoding => format!("the certificate of {server} is malformed"),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                format!("the certificate of {server} is not meant for a TLS server")
            }
            _ => format!("the certificate of {server} was rejected"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("{server} ended the TLS handshake with the alert {}", alert_name(*alert))
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("{server} does not speak TLS here (wrong port, or the server expects STLS?)")
        }
        rustls::Error::PeerIncompatible(_) => {
            format!("{server} and this client have no TLS version or cipher in common")
        }
        rustls::Error::PeerMisbehaved(_) => format!("{server} broke the TLS protocol"),
        rustls::Error::DecryptError => format!("data from {server} failed TLS decryption (tampered with?)"),
        _ => format!("TLS with {server} failed"),
    }
}

/// A transport that starts in plain text and can switch to TLS: at once for implicit TLS, or
/// after `STLS` was accepted.
pub struct TlsStream<T: Transport> {
    inner: T,
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    display_name: String,
    pinned: bool,
    conn: Option<ClientConnection>,
    /// Ciphertext read from `inner`, waiting to be fed to rustls.
    scratch: Box<[u8]>,
    /// The ciphertext in `scratch[start..end]` has not been given to rustls yet.
    start: usize,
    end: usize,
    /// Whether the server ended the stream.
    eof: bool,
}

impl<T: Transport> TlsStream<T> {
    /// Wraps `inner` in plain-text mode. Fails at once on unusable options (bad name, bad PEM).
    pub fn new(inner: T, options: &TlsOptions) -> Result<TlsStream<T>> {
        let server_name = ServerName::try_from(options.server_name.clone())
            .map_err(|_| Error::usage(format!("{:?} is not a valid server name for TLS", options.server_name)))?;
        Ok(TlsStream {
            inner,
            config: options.client_config()?,
            server_name,
            display_name: options.server_name.clone(),
            pinned: options.pin_sha256.is_some(),
            conn: None,
            scratch: vec![0; 16 * 1024 + 256].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
        })
    }

    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Whether TLS is active.
    pub fn is_encrypted(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.is_handshaking())
    }

    fn error(&self, e: &rustls::Error) -> Error {
        tls_error(e, &self.display_name, self.pinned)
    }

    /// Writes whatever rustls has queued (handshake messages, records, alerts).
    async fn flush_tls(&mut self) -> Result<()> {
        let Some(conn) = self.conn.as_mut() else { return Ok(()) };
        while conn.wants_write() {
            let mut out = Vec::with_capacity(4096);
            conn.write_tls(&mut out).map_err(|_| Error::tls("TLS write failed"))?;
            self.inner.write(&out).await?;
        }
        Ok(())
    }

    /// Gives rustls more ciphertext (what is left from the last read, else a new read) and
    /// has it processed. `Ok(false)` at the end of the stream.
    ///
    /// One `read_tls` per call: rustls bounds its buffer of decrypted data and refuses more
    /// until the application has read it, so the rest of a large read waits in `scratch`
    /// until the caller has drained the plaintext.
    async fn pull(&mut self) -> Result<bool> {
        if self.start == self.end {
            let n = self.inner.read(&mut self.scratch).await?;
            if n == 0 {
                self.eof = true;
                // Tell rustls the stream ended, so it can tell a clean close from a truncation.
                let conn = self.conn.as_mut().expect("TLS is active");
                let _ = conn.read_tls(&mut &[][..]);
                return Ok(false);
            }
            (self.start, self.end) = (0, n);
        }
        let conn = self.conn.as_mut().expect("TLS is active");
        let mut data = &self.scratch[self.start..self.end];
        let offered = data.len();
        conn.read_tls(&mut data).map_err(|e| Error::tls(format!("TLS read failed: {e}")))?;
        self.start += offered - data.len();
        if let Err(e) = conn.process_new_packets() {
            let error = tls_error(&e, &self.display_name, self.pinned);
            // Send the alert rustls prepared, then give up.
            let _ = self.flush_tls().await;
            return Err(error);
        }
        Ok(true)
    }

    /// Performs the TLS handshake now.
    pub async fn handshake(&mut self) -> Result<()> {
        if self.conn.is_some() {
            return Err(Error::usage("TLS is already active"));
        }
        let conn = ClientConnection::new(self.config.clone(), self.server_name.clone()).map_err(|e| self.error(&e))?;
        self.conn = Some(conn);
        loop {
            self.flush_tls().await?;
            if !self.conn.as_ref().expect("set above").is_handshaking() {
                return Ok(());
            }
            if !self.pull().await? {
                // The end of the stream says nothing about TLS: a network cut looks the same
                // as a server that hangs up. It is `Closed`, transient like any other cut; a
                // refusal that is about TLS comes as an alert or as bytes rustls rejects.
                return Err(Error::closed(format!(
                    "{} closed the connection during the TLS handshake (a network cut, or a \
                     server that does not speak TLS on this port)",
                    self.display_name
                )));
            }
        }
    }
}

impl<T: Transport> Transport for TlsStream<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.conn.is_none() {
            return self.inner.read(buf).await;
        }
        loop {
            let conn = self.conn.as_mut().expect("TLS is active");
            match conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // The server closed the TCP stream without close_notify. POP3 servers often do
                // after QUIT; the engine decides whether a reply was cut short.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(_) => return Err(Error::tls("TLS read failed")),
            }
            if self.eof && self.start == self.end {
                return Ok(0);
            }
            self.pull().await?;
            self.flush_tls().await?;
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<()> {
        let Some(conn) = self.conn.as_mut() else { return self.inner.write(data).await };
        conn.writer().write_all(data).map_err(|_| Error::tls("TLS write failed"))?;
        self.flush_tls().await
    }

    async fn close(&mut self) -> Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            conn.send_close_notify();
            let _ = self.flush_tls().await;
        }
        self.inner.close().await
    }

    async fn start_tls(&mut self) -> Result<()> {
        self.handshake().await
    }

    fn tls_info(&self) -> Option<TlsInfo> {
        let conn = self.conn.as_ref().filter(|c| !c.is_handshaking())?;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
            Some(_) => "TLS".to_owned(),
            None => String::new(),
        };
        let cipher =
            conn.negotiated_cipher_suite().and_then(|s| s.suite().as_str()).map(str::to_owned).unwrap_or_default();
        Some(TlsInfo { version, cipher, terminated_by: "wasm" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_in_every_form() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let from_hex = TlsOptions::parse_pin(hex).unwrap();
        let colons: String = hex
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(TlsOptions::parse_pin(&colons).unwrap(), from_hex);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(from_hex);
        assert_eq!(TlsOptions::parse_pin(&format!("sha256/{b64}")).unwrap(), from_hex);
        assert!(TlsOptions::parse_pin("sha256/short").is_err());
    }

    #[test]
    fn bad_options_fail_before_connecting() {
        struct Nothing;
        impl Transport for Nothing {
            async fn read(&mut self, _: &mut [u8]) -> Result<usize> {
                Ok(0)
            }
            async fn write(&mut self, _: &[u8]) -> Result<()> {
                Ok(())
            }
            async fn close(&mut self) -> Result<()> {
                Ok(())
            }
        }
        let bad_name = TlsOptions::new("not a host name");
        assert_eq!(TlsStream::new(Nothing, &bad_name).err().unwrap().kind(), crate::ErrorKind::Usage);
        let bad_pem = TlsOptions { extra_roots_pem: vec!["junk".into()], ..TlsOptions::new("localhost") };
        assert_eq!(TlsStream::new(Nothing, &bad_pem).err().unwrap().kind(), crate::ErrorKind::Usage);
        assert!(TlsStream::new(Nothing, &TlsOptions::new("127.0.0.1")).is_ok());
    }
}
