//! Leftovers in a Maildir's tmp/ (issue 19, item 4): a delivery killed between fsync and
//! rename leaves a complete copy there. Opening the Maildir removes tmp/ entries older than 36
//! hours, as the Maildir convention says, and keeps younger ones (a delivery in progress).

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use pop3_wasm::sync::maildir::STALE_TMP_SECS;
use pop3_wasm::sync::MaildirSink;

const HOUR: u64 = 60 * 60;

/// A file in `dir` last modified `age` ago.
fn file_aged(dir: &Path, name: &str, age: Duration) {
    let path = dir.join(name);
    std::fs::write(&path, b"Subject: left over\r\n\r\nbody\r\n").unwrap();
    File::options().write(true).open(&path).unwrap().set_modified(SystemTime::now() - age).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn opening_a_maildir_removes_tmp_entries_older_than_36_hours() {
    assert_eq!(STALE_TMP_SECS, 36 * HOUR);
    let root = tempfile::tempdir().unwrap();
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir(root.path().join(sub)).unwrap();
    }
    let tmp = root.path().join("tmp");
    file_aged(&tmp, "killed-a-week-ago", Duration::from_secs(7 * 24 * HOUR));
    file_aged(&tmp, "killed-37-hours-ago", Duration::from_secs(37 * HOUR));
    file_aged(&tmp, "35-hours-old", Duration::from_secs(35 * HOUR));
    file_aged(&tmp, "being-written", Duration::ZERO);
    // Delivered mail is never touched, however old.
    file_aged(&root.path().join("new"), "old-but-delivered", Duration::from_secs(7 * 24 * HOUR));
    file_aged(&root.path().join("cur"), "old-and-read:2,S", Duration::from_secs(7 * 24 * HOUR));

    let _sink = MaildirSink::open(root.path()).unwrap();
    assert_eq!(names(&tmp), ["35-hours-old", "being-written"]);
    assert_eq!(names(&root.path().join("new")), ["old-but-delivered"]);
    assert_eq!(names(&root.path().join("cur")), ["old-and-read:2,S"]);

    // Opening again changes nothing more.
    let _sink = MaildirSink::open(root.path()).unwrap();
    assert_eq!(names(&tmp), ["35-hours-old", "being-written"]);
}
