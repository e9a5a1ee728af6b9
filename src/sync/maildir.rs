//! How messages are named in a Maildir (<https://cr.yp.to/proto/maildir.html>): the one rule
//! the Rust [`crate::sync::MaildirSink`] and the JavaScript CLI share, so either can fetch
//! into a Maildir the other filled without storing a message twice.
//!
//! A message's file name comes from its unique id: `pop3-` and the lower-case hex of the first
//! 12 bytes of SHA-256(uid) (the stem), then `.` and the host name. It counts as delivered when
//! any file in `new/` or `cur/` starts with that stem (a reader that moved it to `cur/` and
//! appended flags included). Files are written in `tmp/` first; a crash can leave one there,
//! which is removed once it is older than [`STALE_TMP_SECS`], as the Maildir convention says.

use sha2::{Digest, Sha256};

/// The state file inside a Maildir.
pub const STATE_FILE: &str = "pop3-state.json";
/// The journal written next to the state file (see [`crate::sync::SyncState`]).
pub const JOURNAL_FILE: &str = "pop3-state.journal";
/// Files in `tmp/` older than this (36 hours) are leftovers of an interrupted delivery.
pub const STALE_TMP_SECS: u64 = 36 * 60 * 60;

/// The file-name stem for a unique id: `pop3-` and 24 hex digits.
pub fn stem(uid: &str) -> String {
    let digest = Sha256::digest(uid.as_bytes());
    format!("pop3-{}", crate::auth::hex(&digest[..12]))
}

/// The host part of file names: the host name with `/` and `:` (which Maildir file names
/// cannot hold) made `_`; `localhost` when there is none.
pub fn host_part(host: &str) -> String {
    let host = host.trim();
    if host.is_empty() {
        return "localhost".to_owned();
    }
    host.replace(['/', ':'], "_")
}

/// The name of a delivered message: stem, `.`, host part.
pub fn file_name(uid: &str, host: &str) -> String {
    format!("{}.{}", stem(uid), host_part(host))
}

/// The stem a file name in `new/` or `cur/` starts with, if it is one of ours.
pub fn stem_of(file_name: &str) -> Option<&str> {
    let stem = file_name.get(..29)?;
    (stem.starts_with("pop3-") && stem[5..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then_some(stem)
}

/// Whether a file in `tmp/` last modified `age_secs` ago is a leftover to remove.
pub fn is_stale_tmp(age_secs: u64) -> bool {
    age_secs > STALE_TMP_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        // Known answer, shared with the JavaScript tests: SHA-256("uid-1").
        let s = stem("uid-1");
        assert_eq!(s.len(), 29);
        assert_eq!(stem_of(&format!("{s}.host:2,S")), Some(s.as_str()));
        assert_eq!(file_name("uid-1", "a/b:c"), format!("{s}.a_b_c"));
        assert_eq!(host_part(" "), "localhost");
        assert_eq!(stem_of("1700000000.M1P2.host"), None);
        assert_eq!(stem_of("pop3-XYZ"), None);
        assert!(is_stale_tmp(STALE_TMP_SECS + 1) && !is_stale_tmp(60));
    }
}
