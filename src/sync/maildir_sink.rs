//! [`MaildirSink`]: sync into a Maildir on the local file system (`std::fs`), for native
//! programs and WASI components. The naming rule it follows is [`super::maildir`]'s, shared with
//! the JavaScript CLI.

use std::io;

use crate::error::{Error, ErrorKind, Result};

/// A [`crate::sync::SyncSink`] that delivers into a Maildir, streaming each message to disk,
/// and keeps the sync state in `pop3-state.json` (and its journal) inside it, or in a file of
/// the caller's choice ([`MaildirSink::with_state_file`]).
///
/// Messages are written to `tmp/`, synced, and renamed into `new/` (the Maildir delivery
/// protocol: readers never see a partial file); the directory is synced once per batch, before
/// the batch is recorded. File names are derived from the message's unique id
/// ([`crate::sync::maildir`]), so saving the same id again finds the earlier copy (in `new/`
/// or `cur/`) and writes nothing: the sink is idempotent, as sync needs. Each batch of records
/// is appended to the journal and synced; the state is written once at the end of a run,
/// through a temporary file and a rename, and the journal removed.
#[derive(Debug)]
pub struct MaildirSink {
    root: std::path::PathBuf,
    host: String,
    state_file: std::path::PathBuf,
    journal_file: std::path::PathBuf,
    /// Stems of the messages in `new/` and `cur/`, read once.
    delivered: Option<std::collections::HashSet<String>>,
    /// The message being written: its file in `tmp/`, and its final name.
    current: Option<(std::fs::File, std::path::PathBuf, String)>,
    /// Renames into `new/` not yet made durable by a sync of the directory.
    unsynced_renames: bool,
    journal: Option<std::fs::File>,
}

/// What makes a temporary file name unique among the programs writing one Maildir: the
/// process id, or on WASI, which has none (`std::process::id` panics there), random digits.
fn writer_tag() -> String {
    if cfg!(target_os = "wasi") {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        return format!("r{}", crate::auth::hex(&bytes));
    }
    std::process::id().to_string()
}

impl MaildirSink {
    /// Opens (creating if needed) the Maildir at `root`, and removes leftovers of interrupted
    /// deliveries from `tmp/` (files older than 36 hours, as the Maildir convention says).
    pub fn open(root: impl Into<std::path::PathBuf>) -> Result<MaildirSink> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| Error::usage(format!("cannot create the Maildir {}: {e}", root.display())))?;
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let sink = MaildirSink {
            host: crate::sync::maildir::host_part(&host),
            state_file: root.join(super::maildir::STATE_FILE),
            journal_file: root.join(crate::sync::maildir::JOURNAL_FILE),
            root,
            delivered: None,
            current: None,
            unsynced_renames: false,
            journal: None,
        };
        sink.clean_tmp();
        Ok(sink)
    }

    /// Keeps the sync state in `path` (and its journal beside it, with `.journal` appended)
    /// instead of inside the Maildir.
    pub fn with_state_file(mut self, path: impl Into<std::path::PathBuf>) -> MaildirSink {
        self.state_file = path.into();
        let mut journal = self.state_file.clone().into_os_string();
        journal.push(".journal");
        self.journal_file = journal.into();
        self
    }

    /// The Maildir's root directory.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Loads the sync state (and the journal of a run that did not finish), or starts one for
    /// `account` if there is none yet. A state for another account, a corrupt one or one from
    /// an unknown version is an error.
    pub fn load_state(&self, account: &str) -> Result<crate::sync::SyncState> {
        let read = |path: &std::path::Path| match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::usage(format!("cannot read {}: {e}", path.display()))),
        };
        let state = read(&self.state_file)?;
        let journal = read(&self.journal_file)?;
        crate::sync::SyncState::load(state.as_deref(), journal.as_deref(), account).map_err(|e| {
            let message = format!("{}: {}", self.state_file.display(), e.message());
            e.with_message(message)
        })
    }

    /// Removes files in `tmp/` older than 36 hours: a delivery a crash interrupted, after or
    /// before its sync, that no reader will ever see.
    fn clean_tmp(&self) {
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else { return };
        let now = std::time::SystemTime::now();
        for entry in entries.flatten() {
            let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| now.duration_since(t).ok());
            if age.is_some_and(|a| crate::sync::maildir::is_stale_tmp(a.as_secs())) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Whether a message with this stem was already delivered (in `new/`, or read and moved to
    /// `cur/` with flags appended).
    fn delivered(&mut self, stem: &str) -> Result<bool> {
        if self.delivered.is_none() {
            let mut stems = std::collections::HashSet::new();
            for sub in ["new", "cur"] {
                let entries = std::fs::read_dir(self.root.join(sub)).map_err(|e| self.io("read a directory", e))?;
                for entry in entries.flatten() {
                    if let Some(stem) = crate::sync::maildir::stem_of(&entry.file_name().to_string_lossy()) {
                        stems.insert(stem.to_owned());
                    }
                }
            }
            self.delivered = Some(stems);
        }
        Ok(self.delivered.as_ref().is_some_and(|s| s.contains(stem)))
    }

    fn io(&self, what: &str, e: io::Error) -> Error {
        Error::from_io(ErrorKind::Usage, &format!("cannot {what} in the Maildir {}", self.root.display()), e)
    }

    fn sync_dir(dir: &std::path::Path) {
        // Some file systems cannot sync a directory; the files themselves were synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

impl crate::sync::SyncSink for MaildirSink {
    async fn begin(&mut self, uid: &str, _size: Option<u64>) -> Result<bool> {
        let stem = crate::sync::maildir::stem(uid);
        if self.delivered(&stem)? {
            return Ok(false);
        }
        let name = format!("{stem}.{}", self.host);
        let tmp = self.root.join("tmp").join(format!("{name}.{}", writer_tag()));
        let file = std::fs::File::create(&tmp).map_err(|e| self.io("create a file", e))?;
        self.current = Some((file, tmp, name));
        Ok(true)
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use std::io::Write;
        let Some((file, _, _)) = self.current.as_mut() else { return Err(Error::usage("no message was begun")) };
        let written = file.write_all(chunk);
        written.map_err(|e| self.io("write", e))
    }

    async fn commit(&mut self) -> Result<()> {
        let Some((file, tmp, name)) = self.current.take() else { return Err(Error::usage("no message was begun")) };
        if let Err(e) = file.sync_all() {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("sync a file", e));
        }
        drop(file);
        std::fs::rename(&tmp, self.root.join("new").join(&name)).map_err(|e| self.io("deliver a file", e))?;
        self.unsynced_renames = true;
        if let (Some(stems), Some(stem)) = (self.delivered.as_mut(), crate::sync::maildir::stem_of(&name)) {
            stems.insert(stem.to_owned());
        }
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some((file, tmp, _)) = self.current.take() {
            drop(file);
            let _ = std::fs::remove_file(tmp);
        }
    }

    async fn flush(&mut self) -> Result<()> {
        if self.unsynced_renames {
            MaildirSink::sync_dir(&self.root.join("new"));
            self.unsynced_renames = false;
        }
        Ok(())
    }

    async fn record(&mut self, _state: &crate::sync::SyncState, saved: &[(String, crate::sync::Saved)]) -> Result<()> {
        use std::io::Write;
        if self.journal.is_none() {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.journal_file)
                .map_err(|e| self.io("open the sync journal", e))?;
            if let Some(dir) = self.journal_file.parent() {
                MaildirSink::sync_dir(dir);
            }
            self.journal = Some(file);
        }
        let lines: String = saved.iter().map(|(uid, s)| crate::sync::SyncState::journal_line(uid, s)).collect();
        let journal = self.journal.as_mut().expect("opened above");
        let result = journal.write_all(lines.as_bytes()).and_then(|()| journal.sync_data());
        result.map_err(|e| self.io("write the sync journal", e))
    }

    async fn save_state(&mut self, state: &crate::sync::SyncState) -> Result<()> {
        use std::io::Write;
        let dir = self.state_file.parent().map(std::path::Path::to_path_buf).unwrap_or_else(|| ".".into());
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            self.state_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            writer_tag()
        ));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(state.to_json().as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("write the sync state", e));
        }
        std::fs::rename(&tmp, &self.state_file).map_err(|e| self.io("write the sync state", e))?;
        MaildirSink::sync_dir(&dir);
        // The state holds everything the journal did: start a new one.
        self.journal = None;
        match std::fs::remove_file(&self.journal_file) {
            Ok(()) => MaildirSink::sync_dir(&dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io("remove the sync journal", e)),
        }
        Ok(())
    }
}
