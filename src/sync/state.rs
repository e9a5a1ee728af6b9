//! The persistent sync state: which messages (by unique id) are saved, as small versioned JSON,
//! plus an append-only journal of what each run recorded since the state was last written.
//!
//! This is the one reader and writer of the format for every face (the Rust `MaildirSink`, the
//! JavaScript API and CLI, the WASI component). Reading is strict: a state that is not exactly
//! this format is an error of kind [`ErrorKind::Usage`](crate::ErrorKind::Usage) saying what is
//! wrong, never an empty state (which would download everything again).
//!
//! ```json
//! {
//!   "format": "pop3-wasm-sync",
//!   "version": 1,
//!   "account": "alice@mail.example.org",
//!   "messages": {
//!     "0000000a4d3e2b1c": { "savedAt": 1700000000, "size": 4213 }
//!   }
//! }
//! ```
//!
//! The journal holds one line per recorded message, `{"uid":"…","savedAt":…,"size":…}`: a run
//! appends (and syncs) a line per message instead of rewriting the whole state, and writes the
//! state once at its end, emptying the journal. A line cut short by a crash (no final newline)
//! is ignored: its message was not recorded, so the next run fetches it again.

use std::collections::BTreeMap;

use super::json::{self, Json};
use crate::error::{Error, Result};

/// The `format` field of every state.
pub const STATE_FORMAT: &str = "pop3-wasm-sync";
/// The state version this code writes and reads.
pub const STATE_VERSION: u32 = 1;
/// The longest unique id RFC 1939 allows.
pub const MAX_UID: usize = 70;

/// What is known about a saved message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// When it was saved, in seconds since the Unix epoch.
    pub saved_at: u64,
    /// Its size in octets.
    pub size: u64,
}

/// The persistent record of a mailbox's saved messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// Always [`STATE_VERSION`] when written by this code.
    pub version: u32,
    /// The account the state belongs to (`user@host`), checked so that one mailbox's state is
    /// never used for another.
    pub account: String,
    /// Saved messages by unique id.
    pub messages: BTreeMap<String, Saved>,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::usage(format!("the sync state is corrupt ({what}); fix or remove it"))
}

/// Whether `id` may be a key of [`SyncState::messages`]: a unique id as RFC 1939 defines it (1
/// to 70 characters from `!` to `~`), optionally followed by `#n` (a repeated id told apart by
/// its order); header-digest ids (`digest:` and 32 hex digits) are of that form too.
pub fn is_valid_id(id: &str) -> bool {
    let base = match id.rsplit_once('#') {
        Some((base, n))
            if !base.is_empty() && !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => id,
    };
    is_valid_uidl(base)
}

/// Whether `uid` is a unique id as RFC 1939 defines it: 1 to 70 characters from 0x21 to 0x7E.
pub fn is_valid_uidl(uid: &str) -> bool {
    (1..=MAX_UID).contains(&uid.len()) && uid.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A non-negative whole number that fits an `f64` exactly (JavaScript reads the state too).
fn whole_number(value: &Json, what: &str) -> Result<u64> {
    const MAX_SAFE: u64 = (1 << 53) - 1;
    match value {
        Json::Number(text) => match text.parse::<u64>() {
            Ok(n) if n <= MAX_SAFE => Ok(n),
            _ => Err(corrupt(format!("{what} is {text}, not a whole number from 0"))),
        },
        other => Err(corrupt(format!("{what} is {}, not a number", other.kind()))),
    }
}

fn members<'a>(value: &'a Json, what: &str) -> Result<&'a [(String, Json)]> {
    match value {
        Json::Object(members) => Ok(members),
        other => Err(corrupt(format!("{what} is {}, not an object", other.kind()))),
    }
}

/// Reads one `{"savedAt":…, "size":…}` (plus `uid` in a journal line).
fn saved_entry(value: &Json, what: &str, with_uid: bool) -> Result<(Option<String>, Saved)> {
    let mut saved_at = None;
    let mut size = None;
    let mut uid = None;
    for (name, v) in members(value, what)? {
        let slot = match name.as_str() {
            "savedAt" => &mut saved_at,
            "size" => &mut size,
            "uid" if with_uid => {
                if uid.is_some() {
                    return Err(corrupt(format!("{what} has uid twice")));
                }
                match v {
                    Json::String(s) => uid = Some(s.clone()),
                    other => return Err(corrupt(format!("the uid of {what} is {}, not a string", other.kind()))),
                }
                continue;
            }
            other => return Err(corrupt(format!("{what} has an unknown field {other:?}"))),
        };
        if slot.is_some() {
            return Err(corrupt(format!("{what} has {name} twice")));
        }
        *slot = Some(whole_number(v, &format!("{name} of {what}"))?);
    }
    let saved_at = saved_at.ok_or_else(|| corrupt(format!("{what} has no savedAt")))?;
    let size = size.ok_or_else(|| corrupt(format!("{what} has no size")))?;
    if with_uid && uid.is_none() {
        return Err(corrupt(format!("{what} has no uid")));
    }
    Ok((uid, Saved { saved_at, size }))
}

fn check_id(id: &str, what: &str) -> Result<()> {
    if is_valid_id(id) {
        return Ok(());
    }
    Err(corrupt(format!(
        "{what} {:?} is not a unique id (1 to {MAX_UID} characters from '!' to '~')",
        crate::proto::describe_line(id.as_bytes())
    )))
}

impl SyncState {
    /// An empty state for `account` (for example `alice@mail.example.org`).
    pub fn new(account: impl Into<String>) -> SyncState {
        SyncState {
            format: STATE_FORMAT.to_owned(),
            version: STATE_VERSION,
            account: account.into(),
            messages: BTreeMap::new(),
        }
    }

    /// Reads a state from JSON, strictly: every field present with its type, no unknown field,
    /// no id twice, every id a valid unique id. A corrupt state, another program's, or one from
    /// a newer or unknown version is an error saying so.
    pub fn from_json(text: &str) -> Result<SyncState> {
        let value = json::parse(text).map_err(|e| corrupt(e.message()))?;
        let Json::Object(fields) = &value else {
            return Err(Error::usage(format!(
                "this is not a pop3-wasm sync state (the JSON is {}, not an object); refusing to use it",
                value.kind()
            )));
        };
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let format = match field("format") {
            Some(Json::String(f)) => Some(f.as_str()),
            _ => None,
        };
        let version = field("version").map(|v| whole_number(v, "version").ok());
        SyncState::check_header(format, version)?;
        let mut seen = std::collections::HashSet::new();
        for (name, _) in fields {
            if !["format", "version", "account", "messages"].contains(&name.as_str()) {
                return Err(corrupt(format!("unknown field {name:?}")));
            }
            if !seen.insert(name.as_str()) {
                return Err(corrupt(format!("the field {name:?} appears twice")));
            }
        }
        let account = match field("account") {
            Some(Json::String(a)) if !a.is_empty() => a.clone(),
            Some(Json::String(_)) => return Err(corrupt("the account is empty")),
            Some(other) => return Err(corrupt(format!("the account is {}, not a string", other.kind()))),
            None => return Err(corrupt("no account")),
        };
        let entries = members(field("messages").ok_or_else(|| corrupt("no messages"))?, "messages")?;
        let mut state = SyncState::new(account);
        for (id, entry) in entries {
            check_id(id, "a message id")?;
            let what = format!("message {:?}", crate::proto::describe_line(id.as_bytes()));
            let (_, saved) = saved_entry(entry, &what, false)?;
            if state.messages.insert(id.clone(), saved).is_some() {
                return Err(corrupt(format!("{what} appears twice")));
            }
        }
        Ok(state)
    }

    /// Checks a stored state's `format` and `version` fields (`version` is `Some(None)` when
    /// present but not a whole number).
    pub fn check_header(format: Option<&str>, version: Option<Option<u64>>) -> Result<()> {
        if format != Some(STATE_FORMAT) {
            return Err(Error::usage(format!(
                "this is not a pop3-wasm sync state (format {}); refusing to use it",
                format.map_or("missing".to_owned(), |f| format!("{f:?}"))
            )));
        }
        match version {
            Some(Some(v)) if v == u64::from(STATE_VERSION) => Ok(()),
            Some(Some(v)) if v > u64::from(STATE_VERSION) => Err(Error::usage(format!(
                "the sync state was written by a newer version (state version {v}, this one reads {STATE_VERSION}); \
                 upgrade pop3-wasm"
            ))),
            Some(Some(v)) => Err(Error::usage(format!(
                "the sync state has version {v}, which this version ({STATE_VERSION}) cannot read"
            ))),
            Some(None) => Err(corrupt("the version is not a whole number")),
            None => Err(Error::usage("the sync state has no version; refusing to use it")),
        }
    }

    /// The state as JSON: stable (ids in order), one message per line.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128 + self.messages.len() * 64);
        out.push_str("{\n  \"format\": ");
        json::write_string(&mut out, &self.format);
        out.push_str(&format!(",\n  \"version\": {},\n  \"account\": ", self.version));
        json::write_string(&mut out, &self.account);
        out.push_str(",\n  \"messages\": {");
        for (i, (id, saved)) in self.messages.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            json::write_string(&mut out, id);
            out.push_str(&format!(": {{ \"savedAt\": {}, \"size\": {} }}", saved.saved_at, saved.size));
        }
        out.push_str(if self.messages.is_empty() { "}\n}\n" } else { "\n  }\n}\n" });
        out
    }

    /// Checks the state belongs to `account`.
    pub fn check_account(&self, account: &str) -> Result<()> {
        if self.account == account {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "the sync state belongs to {:?}, not {account:?}; use a separate state per mailbox",
                self.account
            )))
        }
    }

    /// Reads a state and the journal written since (either may be absent), checks it belongs
    /// to `account`, and returns the current state. No state and no journal: a new one.
    pub fn load(state: Option<&str>, journal: Option<&str>, account: &str) -> Result<SyncState> {
        let mut current = match state {
            Some(text) => SyncState::from_json(text)?,
            None => SyncState::new(account),
        };
        current.check_account(account)?;
        if let Some(journal) = journal {
            current.apply_journal(journal)?;
        }
        Ok(current)
    }

    /// Applies the lines of a journal (see the module documentation) to the state.
    pub fn apply_journal(&mut self, journal: &str) -> Result<()> {
        let complete = match journal.rfind('\n') {
            Some(end) => &journal[..end],
            None => "",
        };
        for (n, line) in complete.split('\n').enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let what = format!("journal line {}", n + 1);
            let value = json::parse(line).map_err(|e| corrupt(format!("{what}: {}", e.message())))?;
            let (uid, saved) = saved_entry(&value, &what, true)?;
            let uid = uid.expect("checked");
            check_id(&uid, &format!("the uid of {what}"))?;
            self.messages.insert(uid, saved);
        }
        Ok(())
    }

    /// The journal line that records `uid` as saved (with its final newline).
    pub fn journal_line(uid: &str, saved: &Saved) -> String {
        let mut out = String::with_capacity(uid.len() + 48);
        out.push_str("{\"uid\":");
        json::write_string(&mut out, uid);
        out.push_str(&format!(",\"savedAt\":{},\"size\":{}}}\n", saved.saved_at, saved.size));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn state_with(messages: &str) -> String {
        format!(r#"{{"format":"pop3-wasm-sync","version":1,"account":"a@x","messages":{messages}}}"#)
    }

    #[test]
    fn round_trip() {
        let mut state = SyncState::new("alice@example.org");
        state.messages.insert("abc".into(), Saved { saved_at: 1_700_000_000, size: 42 });
        state.messages.insert("q\"uote\\d".into(), Saved { saved_at: 1, size: 2 });
        let text = state.to_json();
        assert_eq!(SyncState::from_json(&text).unwrap(), state);
        assert!(text.contains("\"savedAt\": 1700000000"), "{text}");
        assert_eq!(SyncState::from_json(&SyncState::new("a@x").to_json()).unwrap(), SyncState::new("a@x"));
    }

    #[test]
    fn every_malformed_shape_is_refused_with_a_reason() {
        let long = "x".repeat(71);
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "not JSON"),
            ("[]".into(), "not an object"),
            ("null".into(), "not an object"),
            (r#"{"format":"other","version":1}"#.into(), "not a pop3-wasm sync state"),
            (r#"{"format":"pop3-wasm-sync","version":2,"account":"a","messages":{}}"#.into(), "newer version"),
            (r#"{"format":"pop3-wasm-sync","version":0,"account":"a","messages":{}}"#.into(), "cannot read"),
            (r#"{"format":"pop3-wasm-sync","version":"1","account":"a","messages":{}}"#.into(), "version"),
            (r#"{"format":"pop3-wasm-sync","account":"a","messages":{}}"#.into(), "no version"),
            (r#"{"format":"pop3-wasm-sync","version":1,"messages":{}}"#.into(), "no account"),
            (r#"{"format":"pop3-wasm-sync","version":1,"account":7,"messages":{}}"#.into(), "account is a number"),
            (r#"{"format":"pop3-wasm-sync","version":1,"account":"a"}"#.into(), "no messages"),
            (state_with("[]"), "messages is an array"),
            (state_with("null"), "messages is null"),
            (state_with(r#"{"x":[]}"#), "is an array, not an object"),
            (state_with(r#"{"x":{"savedAt":"soon","size":1}}"#), "savedAt"),
            (state_with(r#"{"x":{"savedAt":-1,"size":1}}"#), "not a whole number"),
            (state_with(r#"{"x":{"savedAt":1.5,"size":1}}"#), "not a whole number"),
            (state_with(r#"{"x":{"savedAt":1}}"#), "no size"),
            (state_with(r#"{"x":{"savedAt":1,"size":1,"flag":true}}"#), "unknown field \"flag\""),
            (state_with(r#"{"x":{"savedAt":1,"size":1},"x":{"savedAt":2,"size":1}}"#), "appears twice"),
            (state_with(r#"{"a b":{"savedAt":1,"size":1}}"#), "not a unique id"),
            (state_with(r#"{"a\u0007b":{"savedAt":1,"size":1}}"#), "not a unique id"),
            (state_with(r#"{"":{"savedAt":1,"size":1}}"#), "not a unique id"),
            (state_with(&format!(r#"{{"{long}":{{"savedAt":1,"size":1}}}}"#)), "not a unique id"),
            (
                r#"{"format":"pop3-wasm-sync","version":1,"account":"a","messages":{},"extra":1}"#.into(),
                "unknown field \"extra\"",
            ),
            (
                r#"{"format":"pop3-wasm-sync","version":1,"account":"a","account":"b","messages":{}}"#.into(),
                "appears twice",
            ),
        ];
        for (bad, needle) in cases {
            let err = SyncState::from_json(&bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{bad}");
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn valid_ids() {
        for ok in ["a", "x".repeat(70).as_str(), "abc#2", "digest:0123456789abcdef0123456789abcdef", "a#b"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "a b", "é", &"x".repeat(71), "a\tb"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn journal_replay_and_a_torn_last_line() {
        let mut journal = String::new();
        journal += &SyncState::journal_line("one", &Saved { saved_at: 10, size: 1 });
        journal += &SyncState::journal_line("two", &Saved { saved_at: 11, size: 2 });
        journal += r#"{"uid":"three","saved"#; // cut by a crash: not recorded
        let state = SyncState::load(Some(&SyncState::new("a@x").to_json()), Some(&journal), "a@x").unwrap();
        assert_eq!(state.messages.keys().collect::<Vec<_>>(), ["one", "two"]);
        // A complete line that is not a record is corruption, not a torn write.
        let err = SyncState::load(None, Some("{\"uid\":\"x\"}\n"), "a@x").unwrap_err();
        assert!(err.to_string().contains("no savedAt"), "{err}");
        let err = SyncState::load(None, Some("{\"uid\":\"a b\",\"savedAt\":1,\"size\":1}\n"), "a@x").unwrap_err();
        assert!(err.to_string().contains("not a unique id"), "{err}");
        assert!(SyncState::load(Some(&SyncState::new("b@x").to_json()), None, "a@x").is_err(), "another account");
    }
}
