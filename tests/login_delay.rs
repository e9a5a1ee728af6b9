//! LOGIN-DELAY honoured wherever the server announces it (issue 19, item 3): announced only
//! in the CAPA before login, it is remembered, carried by a refused login's error and by the
//! sync report, and no login of `sync::watch` comes sooner, whether after an `[IN-USE]` or
//! `[LOGIN-DELAY]` refusal, a cut connection or a successful run. Reconnect gaps are measured
//! against a scripted server.

mod support;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{ClientConfig, LoginOptions};
use pop3_wasm::native::{self, TokioTimer};
use pop3_wasm::proto::ResponseCode;
use pop3_wasm::sync::MaildirSink;
use pop3_wasm::sync::{self, RetryPolicy, WatchEvent, WatchOptions};
use pop3_wasm::ErrorKind;
use support::fake;

const ACCOUNT: &str = "alice@127.0.0.1";

fn config() -> ClientConfig {
    ClientConfig { reply_timeout: Some(Duration::from_secs(10)), ..ClientConfig::default() }
}

fn cleartext() -> LoginOptions {
    LoginOptions { method: AuthMethod::UserPass, allow_cleartext: true }
}

/// A server announcing `LOGIN-DELAY pre` in the CAPA before login and `post` (if any) in the
/// one after. Connections numbered in `refuse` have PASS refused with that reply, those in
/// `cut` are closed when LIST comes; the others log in to an empty mailbox.
fn announcing(
    pre: u32,
    post: Option<u32>,
    refuse: &'static [(usize, &'static str)],
    cut: &'static [usize],
) -> impl Fn(usize, &[String]) -> Option<String> + Send + Sync + 'static {
    move |conn, commands| {
        let line = commands.last().unwrap();
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let logged_in = commands[..commands.len() - 1].iter().any(|c| c.starts_with("PASS"));
        Some(match verb.as_str() {
            "CAPA" if !logged_in => format!("+OK\r\nUSER\r\nUIDL\r\nLOGIN-DELAY {pre}\r\n.\r\n"),
            "CAPA" => match post {
                Some(d) => format!("+OK\r\nUSER\r\nUIDL\r\nLOGIN-DELAY {d}\r\n.\r\n"),
                None => "+OK\r\nUSER\r\nUIDL\r\n.\r\n".to_owned(),
            },
            "USER" => "+OK\r\n".to_owned(),
            "PASS" => match refuse.iter().find(|(c, _)| *c == conn) {
                Some((_, reply)) => (*reply).to_owned(),
                None => "+OK logged in\r\n".to_owned(),
            },
            "LIST" if cut.contains(&conn) => return None,
            "STAT" => "+OK 0 0\r\n".to_owned(),
            "LIST" | "UIDL" => "+OK\r\n.\r\n".to_owned(),
            "NOOP" => "+OK\r\n".to_owned(),
            "QUIT" => "+OK bye\r\n".to_owned(),
            _ => "-ERR unknown command\r\n".to_owned(),
        })
    }
}

#[tokio::test]
async fn a_login_delay_announced_before_login_is_remembered_and_the_largest_wins() {
    // Announced before login only.
    let (port, _sessions) = fake::serve_each("+OK ready\r\n", announcing(7, None, &[], &[])).await;
    let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
    client.login(&Credentials::new("alice", "x"), &cleartext()).await.unwrap();
    assert_eq!(client.login_delay_seen(), Some(7));
    assert_eq!(client.capabilities().unwrap().login_delay, None, "the CAPA after login announced none");
    client.quit().await.unwrap();

    // Announced on both sides: the largest, whichever side announced it.
    for (pre, post) in [(9, 4), (4, 9)] {
        let (port, _sessions) = fake::serve_each("+OK ready\r\n", announcing(pre, Some(post), &[], &[])).await;
        let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
        client.login(&Credentials::new("alice", "x"), &cleartext()).await.unwrap();
        client.noop().await.unwrap();
        assert_eq!(client.login_delay_seen(), Some(9), "before {pre}, after {post}");
        client.quit().await.unwrap();
    }

    // A refused login's error carries what was announced before it.
    let refuse: &'static [(usize, &'static str)] = &[(0, "-ERR [IN-USE] mailbox locked\r\n")];
    let (port, _sessions) = fake::serve_each("+OK ready\r\n", announcing(7, None, refuse, &[])).await;
    let mut client = native::connect("127.0.0.1", port, config()).await.unwrap();
    let err = client.login(&Credentials::new("alice", "x"), &cleartext()).await.unwrap_err();
    assert_eq!(err.response_code(), Some(&ResponseCode::InUse));
    assert_eq!(err.login_delay(), Some(7));
}

#[tokio::test]
async fn watch_waits_out_a_login_delay_announced_before_login_after_refusals_a_cut_and_a_run() {
    const DELAY: u32 = 1;
    // Connection 0 is refused [IN-USE], connection 1 [LOGIN-DELAY]; connection 2 is cut when
    // the sync sends LIST; 3 and 4 log in and sync an empty mailbox. The CAPA after login
    // announces nothing.
    let refuse: &'static [(usize, &'static str)] = &[
        (0, "-ERR [IN-USE] mailbox locked by another session\r\n"),
        (1, "-ERR [LOGIN-DELAY] you logged in too recently\r\n"),
    ];
    let (port, sessions) = fake::serve_each("+OK ready\r\n", announcing(DELAY, None, refuse, &[2])).await;
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let mut state = sync::SyncState::new(ACCOUNT);
    // Without the floor every wait here would be 50 to 100 ms.
    let options = WatchOptions {
        interval: Duration::from_millis(50),
        retry: RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
        },
        ..WatchOptions::default()
    };
    let logins = RefCell::new(Vec::<Instant>::new());
    let mut events = Vec::new();
    let mut synced = 0;
    sync::watch(
        async || {
            logins.borrow_mut().push(Instant::now());
            let mut client = native::connect("127.0.0.1", port, config()).await?;
            client.login(&Credentials::new("alice", "x"), &cleartext()).await?;
            Ok(client)
        },
        || 1,
        &TokioTimer,
        &mut state,
        &options,
        &mut sink,
        |event| {
            match event {
                WatchEvent::Retrying { error, attempt, delay } => {
                    events.push(format!("retry {attempt} after {:?} in {delay:?}", error.response_code()));
                    assert!(error.is_transient(), "{error}");
                    assert_eq!(error.login_delay(), Some(DELAY), "{error}");
                }
                WatchEvent::Synced(report) => {
                    events.push(format!("synced, login delay {:?}", report.login_delay));
                    synced += 1;
                }
            }
            synced < 2
        },
    )
    .await
    .unwrap();

    let floor = Duration::from_secs(DELAY.into());
    assert_eq!(
        events,
        [
            format!("retry 1 after Some(InUse) in {floor:?}"),
            format!("retry 2 after Some(LoginDelay) in {floor:?}"),
            format!("retry 3 after None in {floor:?}"),
            format!("synced, login delay Some({DELAY})"),
            format!("synced, login delay Some({DELAY})"),
        ]
    );
    let logins = logins.into_inner();
    assert_eq!(logins.len(), 5);
    let opened: Vec<Instant> = sessions.lock().unwrap().iter().map(|s| s.opened).collect();
    assert_eq!(opened.len(), 5, "one connection per login");
    // No login sooner than the delay: after [IN-USE], after [LOGIN-DELAY], after the cut, after
    // a good run.
    for (what, times) in [("logins", &logins), ("connections accepted", &opened)] {
        for (i, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            assert!(gap >= floor, "{what} {i} and {}: {gap:?} apart, under the LOGIN-DELAY of {floor:?}", i + 1);
            // Not far longer either (generous: CI machines are busy).
            assert!(gap < floor + Duration::from_secs(5), "{what} {i} and {}: {gap:?} apart", i + 1);
        }
    }
}

#[tokio::test]
async fn watch_ends_on_a_permanent_refusal_even_with_a_login_delay() {
    let refuse: &'static [(usize, &'static str)] = &[(0, "-ERR [AUTH] wrong password\r\n")];
    let (port, sessions) = fake::serve_each("+OK ready\r\n", announcing(1, None, refuse, &[])).await;
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = MaildirSink::open(maildir.path()).unwrap();
    let mut state = sync::SyncState::new(ACCOUNT);
    let err = sync::watch(
        async || {
            let mut client = native::connect("127.0.0.1", port, config()).await?;
            client.login(&Credentials::new("alice", "x"), &cleartext()).await?;
            Ok(client)
        },
        || 1,
        &TokioTimer,
        &mut state,
        &WatchOptions::default(),
        &mut sink,
        |event| panic!("no round was expected: {event:?}"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(sessions.lock().unwrap().len(), 1);
}
