//! Where random bytes come from: the only randomness the protocol needs is SCRAM's client nonce.
//!
//! Like quinn-proto, which seeds its RNG from configuration, the client takes its randomness
//! from [`crate::client::ClientConfig`], so a session (and a fuzz target) can be replayed
//! exactly. The default is the operating system's generator.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A source of random bytes.
pub trait RandomSource {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<()>;
}

/// The platform's cryptographic generator, through `getrandom` (on `wasm32-unknown-unknown`
/// that needs getrandom's `wasm_js` feature, which the JavaScript binding crate enables).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| Error::auth(format!("the platform has no random numbers: {e}")))
    }
}

/// A deterministic stream of bytes from a 32-byte seed: SHA-256 of the seed and a counter.
/// For tests, fuzzing and replaying a session; with a seed from a good generator it is also
/// unpredictable, but [`OsRandom`] is the default for a reason: a seed reused across sessions
/// repeats its nonces.
#[derive(Clone)]
pub struct SeededRandom {
    seed: [u8; 32],
    counter: u64,
}

impl SeededRandom {
    /// A stream from `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        SeededRandom { seed, counter: 0 }
    }
}

impl std::fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeededRandom(block {})", self.counter)
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        for chunk in buf.chunks_mut(32) {
            let block = Sha256::new().chain_update(self.seed).chain_update(self.counter.to_le_bytes()).finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_bytes_and_another_seed_others() {
        let bytes = |seed: u8| {
            let mut b = [0u8; 70];
            SeededRandom::new([seed; 32]).fill(&mut b).unwrap();
            b
        };
        assert_eq!(bytes(1), bytes(1));
        assert_ne!(bytes(1), bytes(2));
        // Successive blocks differ (the counter advances).
        let b = bytes(1);
        assert_ne!(b[..32], b[32..64]);
        let mut os = [0u8; 32];
        OsRandom.fill(&mut os).unwrap();
        assert_ne!(os, [0u8; 32]);
    }
}
