//! Watching a mailbox: a sync every interval, and retries with back-off when a run fails. The
//! one implementation of the policy: the JavaScript `watch()` and the `pop3 watch` command ask
//! this module how long to wait.

use std::time::Duration;

use super::{sync, SyncOptions, SyncReport, SyncSink, SyncState};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::{Timer, Transport};

/// How failed runs are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first failure before giving up.
    pub max_retries: u32,
    /// The first delay; each retry doubles it.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 5, base_delay: Duration::from_secs(2), max_delay: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `attempt` (1 for the first retry) after `error`,
    /// or `None` when it must not be retried: the error is permanent (`[AUTH]`, `[SYS/PERM]`,
    /// certificate errors, bad arguments) or the retries are used up. No retry comes sooner
    /// than `login_delay`, the largest `LOGIN-DELAY` the server announced (RFC 2449: it refuses
    /// logins that come sooner), whatever the back-off says.
    pub fn delay(&self, attempt: u32, error: &Error, login_delay: &LoginDelay) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries || !error.is_transient() {
            return None;
        }
        let exponential = self.base_delay.saturating_mul(1u32 << (attempt - 1).min(16)).min(self.max_delay);
        Some(exponential.max(login_delay.floor()))
    }
}

/// The largest `LOGIN-DELAY` (in seconds) a server announced to one account, before or after
/// login, in any session of a watch: the least time between two logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginDelay(Option<u32>);

impl LoginDelay {
    /// Takes note of a delay announced in a session (`None`: none announced).
    pub fn note(&mut self, seconds: Option<u32>) {
        if let Some(s) = seconds {
            self.0 = Some(self.0.map_or(s, |known| known.max(s)));
        }
    }

    /// The delay in seconds, if any was announced.
    pub fn seconds(&self) -> Option<u32> {
        self.0
    }

    /// The least wait before the next login.
    pub fn floor(&self) -> Duration {
        Duration::from_secs(u64::from(self.0.unwrap_or(0)))
    }
}

/// Settings for [`watch`].
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// What each run does.
    pub sync: SyncOptions,
    /// Time between runs; raised to the server's `LOGIN-DELAY` when that is longer.
    pub interval: Duration,
    /// How failed runs are retried.
    pub retry: RetryPolicy,
}

/// What happened in one round of [`watch`].
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A run finished.
    Synced(&'a SyncReport),
    /// A run failed and will be retried after the delay.
    Retrying {
        /// The failure.
        error: &'a Error,
        /// Which retry comes next (1 for the first).
        attempt: u32,
        /// How long until it.
        delay: Duration,
    },
}

impl WatchOptions {
    /// The wait after a successful run: the interval, raised to the server's `LOGIN-DELAY`.
    pub fn next_interval(&self, login_delay: &LoginDelay) -> Duration {
        self.interval.max(login_delay.floor())
    }
}

/// Watches a mailbox: POP3 has no push, so this connects every `options.interval`, runs
/// [`sync`], and reports each round to `on_event` (which returns `false` to stop). Transient
/// failures are retried with exponential back-off; no login comes sooner than the largest
/// `LOGIN-DELAY` the server announced, before or after login, in any round. A permanent
/// failure, or one that outlasts the retries, ends the watch with that error. `connect` must
/// return a logged-in client; `now` gives the time for each run.
pub async fn watch<T, C, N, F>(
    mut connect: C,
    mut now: N,
    timer: &dyn Timer,
    state: &mut SyncState,
    options: &WatchOptions,
    sink: &mut impl SyncSink,
    mut on_event: F,
) -> Result<()>
where
    T: Transport,
    C: AsyncFnMut() -> Result<Client<T>>,
    N: FnMut() -> u64,
    F: FnMut(WatchEvent<'_>) -> bool,
{
    let mut login_delay = LoginDelay::default();
    let mut attempt = 0;
    loop {
        let outcome = async {
            let mut client = connect().await?;
            login_delay.note(client.login_delay_seen());
            let run = SyncOptions { now: now(), ..options.sync.clone() };
            sync(&mut client, state, &run, sink).await
        }
        .await;
        // Whatever the outcome, what the server announced in the session (before or after
        // login) bounds the next login.
        match &outcome {
            Ok(report) => login_delay.note(report.login_delay),
            Err(error) => login_delay.note(error.login_delay()),
        }
        let wait = match outcome {
            Ok(report) => {
                attempt = 0;
                if !on_event(WatchEvent::Synced(&report)) {
                    return Ok(());
                }
                options.next_interval(&login_delay)
            }
            Err(error) => {
                attempt += 1;
                let Some(delay) = options.retry.delay(attempt, &error, &login_delay) else { return Err(error) };
                if !on_event(WatchEvent::Retrying { error: &error, attempt, delay }) {
                    return Ok(());
                }
                delay
            }
        };
        timer.sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn retry_delays() {
        let policy =
            RetryPolicy { max_retries: 3, base_delay: Duration::from_secs(2), max_delay: Duration::from_secs(5) };
        let none = LoginDelay::default();
        let transient = Error::timeout("silence");
        assert_eq!(policy.delay(1, &transient, &none), Some(Duration::from_secs(2)));
        assert_eq!(policy.delay(2, &transient, &none), Some(Duration::from_secs(4)));
        assert_eq!(policy.delay(3, &transient, &none), Some(Duration::from_secs(5)), "capped");
        assert_eq!(policy.delay(4, &transient, &none), None, "retries used up");
        let in_use = Error::from_server(ErrorKind::Auth, "locked", Some(crate::proto::ResponseCode::InUse), "busy");
        let mut announced = LoginDelay::default();
        announced.note(Some(300));
        announced.note(Some(60));
        announced.note(None);
        assert_eq!(announced.seconds(), Some(300), "the largest announced");
        assert_eq!(policy.delay(1, &in_use, &announced), Some(Duration::from_secs(300)), "LOGIN-DELAY is the floor");
        assert_eq!(policy.delay(1, &transient, &announced), Some(Duration::from_secs(300)), "for every retry");
        let wrong = Error::from_server(ErrorKind::Auth, "no", Some(crate::proto::ResponseCode::Auth), "bad password");
        assert_eq!(policy.delay(1, &wrong, &none), None, "[AUTH] is permanent");
        let perm = Error::from_server(ErrorKind::Server, "no", Some(crate::proto::ResponseCode::SysPerm), "gone");
        assert_eq!(policy.delay(1, &perm, &none), None);
        assert_eq!(policy.delay(1, &Error::tls("expired certificate"), &none), None);
        let options = WatchOptions { interval: Duration::from_secs(60), ..WatchOptions::default() };
        assert_eq!(options.next_interval(&announced), Duration::from_secs(300));
        assert_eq!(options.next_interval(&none), Duration::from_secs(60));
    }
}
