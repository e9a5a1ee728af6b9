//! Real servers for tests: Dovecot (and websockify) started by `tests/support/mailstack.py` on
//! free loopback ports, stopped when the [`Stack`] is dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running mail server stack.
pub struct Stack {
    child: Child,
    /// The launcher's description of what it started (see mailstack.py).
    pub info: Value,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mailstack.py")
}

impl Stack {
    /// Starts a stack with the launcher's command-line `args`.
    pub fn start(args: &[&str]) -> Stack {
        let mut child = Command::new("python3")
            .arg(script())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run python3 tests/support/mailstack.py");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            let status = child.wait().unwrap();
            panic!("mailstack.py failed to start ({status}); see its messages above");
        }
        let info: Value = serde_json::from_str(&line).expect("mailstack.py prints JSON");
        Stack { child, info }
    }

    /// The plain POP3 port.
    pub fn pop3_port(&self) -> u16 {
        self.info["pop3_port"].as_u64().unwrap() as u16
    }

    /// A port from the info by name, such as `websockify_port`.
    pub fn port(&self, name: &str) -> u16 {
        self.info[name].as_u64().unwrap_or_else(|| panic!("no {name} in the stack")) as u16
    }

    /// The password of `user`.
    pub fn password(&self, user: &str) -> String {
        self.info["users"][user]["password"].as_str().unwrap().to_owned()
    }

    /// The Maildir of `user`.
    pub fn maildir(&self, user: &str) -> PathBuf {
        PathBuf::from(self.info["users"][user]["maildir"].as_str().unwrap())
    }

    /// Number of messages in `user`'s Maildir (new and cur), as the server's storage sees it.
    pub fn stored_messages(&self, user: &str) -> usize {
        let dir = self.maildir(user);
        ["new", "cur"].iter().map(|d| std::fs::read_dir(dir.join(d)).map(|r| r.count()).unwrap_or(0)).sum()
    }

    /// Delivers files into `user`'s Maildir while the server runs.
    pub fn deliver(&self, user: &str, files: &[&Path]) {
        let status = Command::new("python3")
            .arg(script())
            .arg("deliver")
            .arg("--maildir")
            .arg(self.maildir(user))
            .args(files)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "deliver failed");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Closing stdin tells the launcher to stop everything it started.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `messages` as numbered `.eml` files (LF line endings, as on disk) into a new
/// temporary directory.
pub fn mail_dir(messages: &[Vec<u8>]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, m) in messages.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{:05}.eml", i + 1)), m).unwrap();
    }
    dir
}
