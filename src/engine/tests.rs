//! Transcript tests of the engine: what it writes for given commands, and what it makes of
//! server bytes fed whole, split at every boundary, and one byte at a time.

use super::*;
use crate::auth::{CramMd5, Plain};
use crate::proto::{ApopDigest, Argument, ResponseCode};
use crate::Secret;

/// An event with its data owned, message data joined, so runs compare equal however the
/// input was split.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Greeting(Greeting),
    Start(CommandId),
    Data(CommandId, Vec<u8>),
    Done(CommandId, Result<Reply>),
}

struct Harness {
    engine: Engine,
    pending: Vec<u8>,
    seen: Vec<Seen>,
}

impl Harness {
    fn new() -> Self {
        Self::with_config(Config::default())
    }

    fn with_config(config: Config) -> Self {
        Harness { engine: Engine::new(config), pending: Vec::new(), seen: Vec::new() }
    }

    fn greeted(greeting: &str) -> Self {
        let mut h = Harness::new();
        h.feed(greeting.as_bytes()).unwrap();
        h.seen.clear();
        h
    }

    /// Feeds bytes and records events. Stops at the first error.
    fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        let mut pos = 0;
        let result = loop {
            match self.engine.handle_input(&self.pending[pos..]) {
                Ok((used, event)) => {
                    pos += used;
                    let Some(event) = event else { break Ok(()) };
                    let seen = match event {
                        Event::Greeting(g) => Seen::Greeting(g),
                        Event::MessageStart { id, .. } => Seen::Start(id),
                        Event::MessageData { id, data } => match self.seen.last_mut() {
                            Some(Seen::Data(prev, buf)) if *prev == id => {
                                buf.extend_from_slice(data);
                                continue;
                            }
                            _ => Seen::Data(id, data.to_vec()),
                        },
                        Event::Done { id, result } => Seen::Done(id, result),
                    };
                    self.seen.push(seen);
                }
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..pos);
        result
    }

    fn transmit(&mut self) -> String {
        self.engine.poll_transmit().map(|b| String::from_utf8(b.to_vec()).unwrap()).unwrap_or_default()
    }

    fn send(&mut self, command: Command) -> CommandId {
        self.engine.send(command).unwrap()
    }
}

fn n(v: u32) -> MsgNum {
    MsgNum::new(v).unwrap()
}

fn ok(text: &str) -> Result<Reply> {
    Ok(Reply::Ok(StatusText { code: None, text: text.into() }))
}

/// Runs the same client actions against `server` bytes fed whole, split everywhere, and one
/// byte at a time; the events must be identical.
fn check_splits(setup: impl Fn() -> Harness, server: &[u8]) -> Vec<Seen> {
    let mut whole = setup();
    whole.feed(server).unwrap();
    let expected = whole.seen;
    for cut in 0..=server.len() {
        let mut h = setup();
        h.feed(&server[..cut]).unwrap();
        h.feed(&server[cut..]).unwrap();
        assert_eq!(h.seen, expected, "split at {cut}");
    }
    let mut h = setup();
    for b in server {
        h.feed(std::slice::from_ref(b)).unwrap();
    }
    assert_eq!(h.seen, expected, "one byte at a time");
    expected
}

#[test]
fn rfc1939_example_session() {
    // RFC 1939 section 10, the example POP3 session, without PIPELINING: one command at a time.
    let mut h = Harness::new();
    h.feed(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n").unwrap();
    let greeting = match &h.seen[0] {
        Seen::Greeting(g) => g.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(greeting.apop_timestamp.as_deref(), Some("<1896.697170952@dbc.mtview.ca.us>"));
    assert_eq!(h.engine.state(), State::Authorization);

    let apop = h.send(
        Command::apop("mrose", crate::auth::apop_digest("<1896.697170952@dbc.mtview.ca.us>", &Secret::new("tanstaaf")))
            .unwrap(),
    );
    assert_eq!(h.transmit(), "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    h.feed(b"+OK mrose's maildrop has 2 messages (320 octets)\r\n").unwrap();
    assert_eq!(h.engine.state(), State::Transaction);

    let stat = h.send(Command::Stat);
    let list = h.send(Command::List(None));
    assert_eq!(h.transmit(), "STAT\r\n", "no pipelining without the capability");
    h.feed(b"+OK 2 320\r\n").unwrap();
    assert_eq!(h.transmit(), "LIST\r\n");
    h.feed(b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n").unwrap();
    let retr1 = h.send(Command::Retr(n(1)));
    assert_eq!(h.transmit(), "RETR 1\r\n");
    h.feed(b"+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n").unwrap();
    let dele1 = h.send(Command::Dele(n(1)));
    assert_eq!(h.transmit(), "DELE 1\r\n");
    h.feed(b"+OK message 1 deleted\r\n").unwrap();
    let quit = h.send(Command::Quit);
    assert_eq!(h.transmit(), "QUIT\r\n");
    assert_eq!(h.engine.state(), State::Transaction);
    h.feed(b"+OK dewey POP3 server signing off (maildrop empty)\r\n").unwrap();
    assert_eq!(h.engine.state(), State::Closed);

    let entry = |m, size| ListEntry { msg: n(m), size };
    assert_eq!(
        h.seen[1..],
        [
            Seen::Done(apop, ok("mrose's maildrop has 2 messages (320 octets)")),
            Seen::Done(stat, Ok(Reply::Stat(Stat { count: 2, size: 320 }))),
            Seen::Done(
                list,
                Ok(Reply::List(Listing { entries: vec![entry(1, 120), entry(2, 200)], malformed: vec![] }))
            ),
            Seen::Start(retr1),
            Seen::Data(retr1, b"<the POP3 server sends message 1>\r\n".to_vec()),
            Seen::Done(retr1, Ok(Reply::MessageEnd)),
            Seen::Done(dele1, ok("message 1 deleted")),
            Seen::Done(quit, ok("dewey POP3 server signing off (maildrop empty)")),
        ]
    );
    assert!(h.engine.handle_eof().is_ok(), "closing after QUIT is normal");
    assert_eq!(h.engine.send(Command::Noop).unwrap_err().kind(), ErrorKind::Usage);
}

fn logged_in_with_capa(capa: &str) -> Harness {
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::user("u").unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::pass(&Secret::new("p")).unwrap());
    h.transmit();
    h.feed(b"+OK logged in\r\n").unwrap();
    h.send(Command::Capa);
    assert_eq!(h.transmit(), "CAPA\r\n");
    h.feed(format!("+OK\r\n{capa}.\r\n").as_bytes()).unwrap();
    h.seen.clear();
    h
}

#[test]
fn pipelined_fetch_costs_one_round_trip_per_window() {
    let mut h = logged_in_with_capa("PIPELINING\r\nUIDL\r\nTOP\r\n");
    assert!(h.engine.is_pipelining());
    let trips_before = h.engine.stats().round_trips;
    let ids: Vec<CommandId> = (1..=5).map(|i| h.send(Command::Retr(n(i)))).collect();
    assert_eq!(h.transmit(), "RETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nRETR 5\r\n");
    let mut server = Vec::new();
    for i in 1..=5 {
        server.extend_from_slice(format!("+OK\r\nmessage {i}\r\n.\r\n").as_bytes());
    }
    h.feed(&server).unwrap();
    assert_eq!(h.engine.stats().round_trips - trips_before, 1);
    for (i, id) in ids.iter().enumerate() {
        assert!(h.seen.contains(&Seen::Data(*id, format!("message {}\r\n", i + 1).into_bytes())));
        assert!(h.seen.contains(&Seen::Done(*id, Ok(Reply::MessageEnd))));
    }
}

#[test]
fn pipelining_window_is_bounded_and_slides() {
    let mut h = Harness::with_config(Config { max_in_flight: 4, ..Config::default() });
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::user("u").unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::pass(&Secret::new("p")).unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::Capa);
    h.transmit();
    h.feed(b"+OK\r\nPIPELINING\r\n.\r\n").unwrap();
    for i in 1..=10 {
        h.send(Command::Dele(n(i)));
    }
    assert_eq!(h.transmit(), "DELE 1\r\nDELE 2\r\nDELE 3\r\nDELE 4\r\n");
    h.feed(b"+OK\r\n").unwrap();
    assert_eq!(h.transmit(), "DELE 5\r\n", "each reply makes room for the next command at once");
    h.feed(b"+OK\r\n").unwrap();
    assert_eq!(h.transmit(), "DELE 6\r\n");
    h.feed(b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n").unwrap();
    assert_eq!(h.transmit(), "DELE 7\r\nDELE 8\r\nDELE 9\r\nDELE 10\r\n");
    // Six replies came while commands waited for room: one window's worth (4) is counted as a
    // round trip in which the server may have run dry.
    let before = h.engine.stats().round_trips;
    h.feed(b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n").unwrap();
    assert_eq!(h.engine.stats().round_trips, before, "nothing waited for room: no stall counted");
}

#[test]
fn no_pipelining_across_authentication() {
    // Even with PIPELINING advertised before login, USER, PASS and what follows go one by one.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Capa);
    h.transmit();
    h.feed(b"+OK\r\nPIPELINING\r\nUSER\r\n.\r\n").unwrap();
    assert!(h.engine.is_pipelining());
    h.send(Command::user("u").unwrap());
    h.send(Command::pass(&Secret::new("p")).unwrap());
    assert_eq!(h.transmit(), "USER u\r\n");
    h.feed(b"+OK\r\n").unwrap();
    assert_eq!(h.transmit(), "PASS p\r\n");
    h.feed(b"+OK\r\n").unwrap();
    // Capabilities may change after login, so they are asked again; a server that offered
    // PIPELINING before login gets that CAPA in one flight with the first transaction commands.
    assert!(h.engine.capabilities().is_none(), "stale until asked again");
    assert!(h.engine.is_pipelining());
    h.send(Command::Capa);
    h.send(Command::Stat);
    h.send(Command::Uidl(None));
    assert_eq!(h.transmit(), "CAPA\r\nSTAT\r\nUIDL\r\n");
}

#[test]
fn no_pipelining_after_login_unless_offered_before() {
    // Gmail offers PIPELINING only after login: until its CAPA is answered, one at a time.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Capa);
    h.transmit();
    h.feed(b"+OK\r\nUSER\r\n.\r\n").unwrap();
    h.send(Command::user("u").unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::pass(&Secret::new("p")).unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::Capa);
    h.send(Command::Stat);
    assert_eq!(h.transmit(), "CAPA\r\n");
    h.feed(b"+OK\r\nUSER\r\nPIPELINING\r\n.\r\n").unwrap();
    assert!(h.engine.is_pipelining());
    assert_eq!(h.transmit(), "STAT\r\n");
}

#[test]
fn quit_joins_the_flight_only_when_nothing_is_marked() {
    let mut h = logged_in_with_capa("PIPELINING\r\n");
    h.send(Command::Retr(n(1)));
    h.send(Command::Quit);
    assert_eq!(h.transmit(), "RETR 1\r\nQUIT\r\n", "nothing marked: QUIT rides along");
    let mut h = logged_in_with_capa("PIPELINING\r\n");
    h.send(Command::Dele(n(1)));
    h.send(Command::Quit);
    assert_eq!(h.transmit(), "DELE 1\r\n", "a DELE in flight: QUIT waits for its answer");
    h.feed(b"+OK\r\n").unwrap();
    assert_eq!(h.transmit(), "QUIT\r\n");
}

#[test]
fn greeting_refusal_is_a_server_error_with_its_code() {
    let mut h = Harness::new();
    let err = h.feed(b"-ERR [SYS/TEMP] too many connections\r\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.response_code(), Some(&ResponseCode::SysTemp));
    assert!(err.is_transient());
    assert_eq!(h.engine.state(), State::Closed);
    // Sticky.
    assert_eq!(h.engine.send(Command::Noop).unwrap_err(), err);
}

#[test]
fn garbage_instead_of_a_greeting() {
    let mut h = Harness::new();
    let err = h.feed(b"SSH-2.0-OpenSSH_9.2\r\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("SSH-2.0"), "{err}");
}

#[test]
fn login_failure_is_an_auth_error_without_the_password() {
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::user("alice").unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    let pass = h.send(Command::pass(&Secret::new("correct horse")).unwrap());
    h.transmit();
    h.feed(b"-ERR [AUTH] Authentication failed.\r\n").unwrap();
    let Seen::Done(id, Err(err)) = &h.seen[1] else { panic!("{:?}", h.seen) };
    assert_eq!(*id, pass);
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.response_code(), Some(&ResponseCode::Auth));
    assert_eq!(err.server_text(), Some("Authentication failed."));
    assert!(!err.to_string().contains("horse") && !format!("{err:?}").contains("horse"));
    assert_eq!(h.engine.state(), State::Authorization, "the session goes on");
}

#[test]
fn an_overlong_command_built_from_checked_parts_never_reaches_the_wire() {
    // Each part is valid, and the variant is built directly (not through Command::apop, which
    // checks the length): the engine checks the line again where it enters the wire's queue.
    let mut h = Harness::greeted("+OK ready <1@x>\r\n");
    let user = Argument::token("user name", &"a".repeat(250)).unwrap();
    let digest = ApopDigest::from_hex(&"0".repeat(32)).unwrap();
    let err = h.engine.send(Command::Apop { user, digest }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("APOP"), "{err}");
    let long_name = Argument::new("user name", &"b".repeat(300)).unwrap();
    assert_eq!(h.engine.send(Command::User(long_name)).unwrap_err().kind(), ErrorKind::Usage);
    assert!(h.engine.poll_transmit().is_none(), "nothing was queued");
    // The session is still usable.
    h.send(Command::user("alice").unwrap());
    assert_eq!(h.transmit(), "USER alice\r\n");
}

#[test]
fn commands_in_the_wrong_state_are_refused_before_sending() {
    let mut h = Harness::greeted("+OK ready\r\n");
    // RFC 1939: NOOP too is a TRANSACTION-state command (Dovecot answers "Unknown command").
    for cmd in [Command::Retr(n(1)), Command::Stat, Command::Dele(n(1)), Command::List(None), Command::Noop] {
        assert_eq!(h.engine.send(cmd).unwrap_err().kind(), ErrorKind::Usage);
    }
    assert_eq!(h.transmit(), "");
    let mut h = logged_in_with_capa("");
    assert_eq!(h.engine.send(Command::user("x").unwrap()).unwrap_err().kind(), ErrorKind::Usage);
    assert_eq!(h.engine.send(Command::Stls).unwrap_err().kind(), ErrorKind::Usage);
    h.send(Command::Quit);
    assert_eq!(h.engine.send(Command::Noop).unwrap_err().kind(), ErrorKind::Usage);
}

#[test]
fn nothing_is_sent_before_the_greeting() {
    let mut h = Harness::new();
    h.send(Command::Capa);
    assert_eq!(h.transmit(), "");
    h.feed(b"+OK hi\r\n").unwrap();
    assert_eq!(h.transmit(), "CAPA\r\n");
}

#[test]
fn sasl_plain_with_initial_response() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h.engine.authenticate(Box::new(Plain::new("tim".into(), Secret::new("tanstaaftanstaaf")))).unwrap();
    assert_eq!(h.transmit(), "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
    h.feed(b"+OK Maildrop locked and ready\r\n").unwrap();
    assert_eq!(h.seen, vec![Seen::Done(id, ok("Maildrop locked and ready"))]);
    assert_eq!(h.engine.state(), State::Transaction);
}

#[test]
fn sasl_cram_md5_rfc2195_exchange() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h.engine.authenticate(Box::new(CramMd5::new("tim".into(), Secret::new("tanstaaftanstaaf")))).unwrap();
    assert_eq!(h.transmit(), "AUTH CRAM-MD5\r\n");
    h.feed(b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n").unwrap();
    assert_eq!(h.transmit(), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
    h.feed(b"+OK CRAM authentication successful\r\n").unwrap();
    assert_eq!(h.seen, vec![Seen::Done(id, ok("CRAM authentication successful"))]);
}

#[test]
fn sasl_initial_response_too_long_for_one_line_goes_in_a_continuation() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let long_password = "x".repeat(300);
    h.engine.authenticate(Box::new(Plain::new("tim".into(), Secret::new(long_password.clone())))).unwrap();
    assert_eq!(h.transmit(), "AUTH PLAIN\r\n");
    h.feed(b"+ \r\n").unwrap();
    let line = h.transmit();
    let decoded = BASE64.decode(line.trim_end()).unwrap();
    assert_eq!(decoded, [b"\0tim\0".as_slice(), long_password.as_bytes()].concat());
}

struct Refuses;
impl Mechanism for Refuses {
    fn name(&self) -> &str {
        "X-TEST"
    }
    fn initial_response(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(None)
    }
    fn respond(&mut self, _: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        Err(Error::auth("the server's signature is wrong"))
    }
}

#[test]
fn a_mechanism_that_rejects_the_server_cancels_with_a_star() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h.engine.authenticate(Box::new(Refuses)).unwrap();
    h.transmit();
    h.feed(b"+ Zm9v\r\n").unwrap();
    assert_eq!(h.transmit(), "*\r\n");
    h.feed(b"-ERR authentication cancelled\r\n").unwrap();
    let Seen::Done(done, Err(err)) = &h.seen[0] else { panic!() };
    assert_eq!((*done, err.kind()), (id, ErrorKind::Auth));
    assert!(err.to_string().contains("signature is wrong"));
}

#[test]
fn non_base64_challenge_is_tolerated() {
    // MailKit#268: "+ go ahead" instead of an empty base64 challenge.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.engine.authenticate(Box::new(crate::auth::Login::new("alice".into(), Secret::new("pw")))).unwrap();
    h.transmit();
    h.feed(b"+ go ahead\r\n").unwrap();
    assert_eq!(h.transmit(), "YWxpY2U=\r\n");
}

#[test]
fn continuation_outside_auth_is_a_protocol_error() {
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Capa);
    h.transmit();
    assert_eq!(h.feed(b"+ hello\r\n").unwrap_err().kind(), ErrorKind::Protocol);
}

#[test]
fn unsolicited_reply_is_a_protocol_error() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let err = h.feed(b"+OK surprise\r\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[test]
fn stls_injection_is_detected() {
    // The server (or a man in the middle) appends a reply to the +OK for STLS, hoping the
    // client will read it after the handshake as if it came over TLS.
    for server in [&b"+OK Begin TLS\r\n+OK injected\r\n"[..], b"+OK Begin TLS\r\nX"] {
        let mut h = Harness::greeted("+OK ready\r\n");
        h.send(Command::Stls);
        h.transmit();
        let err = h.feed(server).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
        assert!(err.to_string().contains("injection"));
    }
    // Split into separate reads, the extra bytes are still refused.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Stls);
    h.transmit();
    h.feed(b"+OK Begin TLS\r\n").unwrap();
    assert!(h.engine.is_awaiting_tls());
    assert_eq!(h.engine.poll_transmit(), None, "nothing is sent before the handshake");
    assert_eq!(h.feed(b"+OK").unwrap_err().kind(), ErrorKind::Tls);
}

#[test]
fn stls_then_capabilities_are_forgotten() {
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Capa);
    h.transmit();
    h.feed(b"+OK\r\nSTLS\r\nPIPELINING\r\n.\r\n").unwrap();
    h.send(Command::Stls);
    h.transmit();
    h.feed(b"+OK Begin TLS\r\n").unwrap();
    assert!(h.engine.capabilities().is_none());
    h.engine.tls_started();
    assert!(!h.engine.is_pipelining());
    h.send(Command::Capa);
    assert_eq!(h.transmit(), "CAPA\r\n");
}

#[test]
fn eof_in_the_middle_of_a_message_is_an_error() {
    let mut h = logged_in_with_capa("");
    h.send(Command::Retr(n(1)));
    h.transmit();
    h.feed(b"+OK 100 octets\r\nSubject: half\r\n\r\nthe body is cut").unwrap();
    let err = h.engine.handle_eof().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(err.to_string().contains("RETR 1"), "{err}");
    assert!(!h.seen.iter().any(|s| matches!(s, Seen::Done(_, Ok(_)))), "no success reported");
}

#[test]
fn eof_without_a_reply_and_timeout() {
    let mut h = logged_in_with_capa("");
    h.send(Command::Noop);
    h.transmit();
    assert_eq!(h.engine.handle_eof().unwrap_err().kind(), ErrorKind::Closed);
    let mut h = logged_in_with_capa("");
    h.send(Command::Stat);
    h.transmit();
    let err = h.engine.handle_timeout();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("STAT"));
    assert_eq!(h.engine.send(Command::Noop).unwrap_err().kind(), ErrorKind::Timeout);
}

#[test]
fn errors_name_the_command_that_failed() {
    // A refusal: the command answered -ERR.
    let mut h = logged_in_with_capa("");
    h.send(Command::Dele(n(7)));
    h.transmit();
    h.feed(b"-ERR no such message\r\n").unwrap();
    let Seen::Done(_, Err(err)) = h.seen.last().unwrap() else { panic!() };
    assert_eq!(err.command(), Some("DELE"));
    // A timeout, a cut and a broken reply: the command whose reply was awaited.
    let mut h = logged_in_with_capa("");
    h.send(Command::Uidl(None));
    h.transmit();
    assert_eq!(h.engine.handle_timeout().command(), Some("UIDL"));
    let mut h = logged_in_with_capa("");
    h.send(Command::Retr(n(1)));
    h.transmit();
    h.feed(b"+OK\r\nhalf a message").unwrap();
    assert_eq!(h.engine.handle_eof().unwrap_err().command(), Some("RETR"));
    let mut h = logged_in_with_capa("");
    h.send(Command::Stat);
    h.transmit();
    assert_eq!(h.feed(b"\x00garbage\r\n").unwrap_err().command(), Some("STAT"));
    // A login refused: the login command, whatever it was.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::user("alice").unwrap());
    h.transmit();
    h.feed(b"-ERR who?\r\n").unwrap();
    let Seen::Done(_, Err(err)) = h.seen.last().unwrap() else { panic!() };
    assert_eq!(err.command(), Some("USER"));
    // Nothing awaited: no command to blame.
    let mut h = logged_in_with_capa("");
    assert_eq!(h.engine.handle_timeout().command(), None);
}

#[test]
fn quit_failure_means_deletions_did_not_happen() {
    let mut h = logged_in_with_capa("");
    h.send(Command::Dele(n(1)));
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::Quit);
    h.transmit();
    h.feed(b"-ERR [SYS/TEMP] some deleted messages not removed\r\n").unwrap();
    let Seen::Done(_, Err(err)) = h.seen.last().unwrap() else { panic!() };
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.to_string().contains("may not have deleted"));
    assert_eq!(h.engine.state(), State::Closed);
}

#[test]
fn single_line_listings_and_malformed_lines() {
    let mut h = logged_in_with_capa("");
    let list = h.send(Command::List(Some(n(2))));
    h.transmit();
    h.feed(b"+OK 2 200\r\n").unwrap();
    let uidl = h.send(Command::Uidl(None));
    h.transmit();
    // Comcast-style odd spacing, a malformed line, and a duplicate id.
    h.feed(
        b"+OK\r\n1  whqtswO00WBw418f9t5JxYwZ\r\n2\tQhdPYR:00WBw1Ph7x7\r\nbogus\r\n3 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n",
    )
    .unwrap();
    assert_eq!(h.seen[0], Seen::Done(list, Ok(Reply::ListOne(ListEntry { msg: n(2), size: 200 }))));
    let Seen::Done(id, Ok(Reply::Uidl(listing))) = &h.seen[1] else { panic!("{:?}", h.seen) };
    assert_eq!(*id, uidl);
    let uids: Vec<(u32, &str)> = listing.entries.iter().map(|e| (e.msg.get(), e.uid.as_str())).collect();
    assert_eq!(uids, vec![(1, "whqtswO00WBw418f9t5JxYwZ"), (2, "QhdPYR:00WBw1Ph7x7"), (3, "whqtswO00WBw418f9t5JxYwZ")]);
    assert_eq!(listing.malformed, vec!["bogus"]);
}

#[test]
fn stat_that_cannot_be_read_fails_that_command_only() {
    let mut h = logged_in_with_capa("");
    let stat = h.send(Command::Stat);
    h.transmit();
    h.feed(b"+OK mailbox ready\r\n").unwrap();
    let Seen::Done(id, Err(err)) = &h.seen[0] else { panic!() };
    assert_eq!((*id, err.kind()), (stat, ErrorKind::Protocol));
    h.send(Command::Noop);
    assert_eq!(h.transmit(), "NOOP\r\n");
}

#[test]
fn oversized_message_ends_the_session_at_the_limit() {
    // The rest of an oversized reply is never read (it may never end), so the session cannot
    // be resynchronised: the error is fatal and sticky, and says which command it was.
    let config = Config { limits: Limits { max_message: 8, ..Limits::default() }, ..Config::default() };
    let mut h = Harness::with_config(config);
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::user("u").unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.send(Command::pass(&Secret::new("p")).unwrap());
    h.transmit();
    h.feed(b"+OK\r\n").unwrap();
    h.seen.clear();
    h.send(Command::Retr(n(1)));
    h.transmit();
    let err = h.feed(b"+OK 1000 octets\r\n0123456789abcdef").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(err.to_string().contains("RETR 1"), "{err}");
    let delivered: usize = h.seen.iter().map(|s| if let Seen::Data(_, d) = s { d.len() } else { 0 }).sum();
    assert_eq!(delivered, 8, "the first 8 octets, nothing past the limit");
    assert_eq!(h.engine.send(Command::Noop).unwrap_err().kind(), ErrorKind::Limit);
    assert_eq!(h.engine.state(), State::Closed);
}

#[test]
fn a_pipelined_session_fed_at_every_split() {
    let setup = || {
        let mut h = logged_in_with_capa("PIPELINING\r\n");
        h.send(Command::Stat);
        h.send(Command::Uidl(None));
        h.send(Command::Retr(n(1)));
        h.send(Command::Top(n(2), 1));
        h.send(Command::Retr(n(9)));
        h.send(Command::Dele(n(1)));
        assert_eq!(h.transmit(), "STAT\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nRETR 9\r\nDELE 1\r\n");
        h
    };
    let server = b"+OK 2 50\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n+OK 20 octets\r\nSubject: 1\r\n\r\n..dot\r\n.\r\n\
+OK\r\nSubject: 2\r\n\r\nfirst line\r\n.\r\n-ERR no such message\r\n+OK deleted\r\n";
    let seen = check_splits(setup, server);
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(seen.contains(&Seen::Data(CommandId(5), b"Subject: 1\r\n\r\n.dot\r\n".to_vec())));
    assert!(seen.contains(&Seen::Data(CommandId(6), b"Subject: 2\r\n\r\nfirst line\r\n".to_vec())));
    assert!(matches!(&seen[8], Seen::Done(CommandId(7), Err(e)) if e.kind() == ErrorKind::Server));
}

#[test]
fn utf8_mode() {
    let mut h = Harness::greeted("+OK ready\r\n");
    h.send(Command::Utf8);
    h.transmit();
    h.feed(b"+OK UTF8 enabled\r\n").unwrap();
    assert!(h.engine.is_utf8());
}

#[test]
fn apop_timestamp_extraction() {
    assert_eq!(
        apop_timestamp("POP3 ready <1896.697170952@dbc.mtview.ca.us>").as_deref(),
        Some("<1896.697170952@dbc.mtview.ca.us>")
    );
    assert_eq!(apop_timestamp("Dovecot ready."), None);
    assert_eq!(apop_timestamp("ready <no-at-sign>"), None);
    assert_eq!(apop_timestamp("a <x@y> b <1.2@host>").as_deref(), Some("<1.2@host>"));
}

fn scram_rfc7677() -> Box<dyn Mechanism> {
    use crate::auth::{Scram, ScramHash};
    Box::new(Scram::with_nonce(ScramHash::Sha256, "user".into(), Secret::new("pencil"), "rOprNGfwEbeRWgbNEkqO".into()))
}

const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

#[test]
fn scram_exchange_verifies_the_server() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h.engine.authenticate(scram_rfc7677()).unwrap();
    let first = h.transmit();
    assert!(first.starts_with("AUTH SCRAM-SHA-256 "), "{first}");
    h.feed(format!("+ {}\r\n", BASE64.encode(SCRAM_SERVER_FIRST)).as_bytes()).unwrap();
    let proof = String::from_utf8(BASE64.decode(h.transmit().trim_end()).unwrap()).unwrap();
    assert!(proof.ends_with("p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="), "{proof}");
    h.feed(format!("+ {}\r\n", BASE64.encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")).as_bytes()).unwrap();
    assert_eq!(h.transmit(), "\r\n", "an empty response acknowledges the server's proof");
    h.feed(b"+OK Logged in.\r\n").unwrap();
    assert_eq!(h.seen, vec![Seen::Done(id, ok("Logged in."))]);
    assert_eq!(h.engine.state(), State::Transaction);
}

#[test]
fn scram_with_a_wrong_server_signature_is_cancelled() {
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h.engine.authenticate(scram_rfc7677()).unwrap();
    h.transmit();
    h.feed(format!("+ {}\r\n", BASE64.encode(SCRAM_SERVER_FIRST)).as_bytes()).unwrap();
    h.transmit();
    h.feed(format!("+ {}\r\n", BASE64.encode("v=AAAAAAAi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")).as_bytes()).unwrap();
    assert_eq!(h.transmit(), "*\r\n", "the client cancels");
    h.feed(b"-ERR Authentication aborted\r\n").unwrap();
    let Seen::Done(done, Err(err)) = &h.seen[0] else { panic!("{:?}", h.seen) };
    assert_eq!((*done, err.kind()), (id, ErrorKind::Auth));
    assert!(err.to_string().contains("signature is wrong"), "{err}");
    assert_eq!(h.engine.state(), State::Authorization);
}

#[test]
fn scram_accepted_without_the_server_proof_is_not_trusted() {
    // A server (or impostor) that says +OK without proving it knows the password.
    let mut h = Harness::greeted("+OK ready\r\n");
    h.engine.authenticate(scram_rfc7677()).unwrap();
    h.transmit();
    h.feed(format!("+ {}\r\n", BASE64.encode(SCRAM_SERVER_FIRST)).as_bytes()).unwrap();
    h.transmit();
    let err = h.feed(b"+OK Logged in.\r\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("without proving"), "{err}");
    assert_eq!(h.engine.state(), State::Closed, "the session is over");
}

#[test]
fn rejected_access_token_reports_the_servers_reason() {
    use crate::auth::{Bearer, BearerKind};
    let mut h = Harness::greeted("+OK ready\r\n");
    let id = h
        .engine
        .authenticate(Box::new(Bearer::new(BearerKind::XOAuth2, "alice".into(), Secret::new("tok"), None, None)))
        .unwrap();
    assert_eq!(h.transmit(), "AUTH XOAUTH2\r\n", "always the two-step form");
    h.feed(b"+ \r\n").unwrap();
    assert_eq!(BASE64.decode(h.transmit().trim_end()).unwrap(), b"user=alice\x01auth=Bearer tok\x01\x01");
    let json = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
    h.feed(format!("+ {}\r\n", BASE64.encode(json)).as_bytes()).unwrap();
    assert_eq!(h.transmit(), "\r\n");
    h.feed(b"-ERR [AUTH] Invalid credentials\r\n").unwrap();
    let Seen::Done(done, Err(err)) = &h.seen[0] else { panic!() };
    assert_eq!((*done, err.kind()), (id, ErrorKind::Auth));
    assert!(err.to_string().contains("status 401"), "{err}");
    assert!(!err.to_string().contains("tok\u{1}") && !err.to_string().contains("Bearer"));
}

#[test]
fn glued_terminator_is_settled_by_a_noop_the_engine_sends_itself() {
    let mut h = logged_in_with_capa("UIDL\r\nTOP\r\n");
    let retr = h.send(Command::Retr(n(1)));
    assert_eq!(h.transmit(), "RETR 1\r\n");
    // Old Exchange: a message without a final newline, the terminator glued to its last line.
    h.feed(b"+OK 16 octets\r\nSubject: x\r\n\r\nhi.\r\n").unwrap();
    assert!(!h.seen.contains(&Seen::Done(retr, Ok(Reply::MessageEnd))), "ended before it was settled");
    assert_eq!(h.transmit(), "NOOP\r\n", "the engine asks for a reply to settle it");
    h.feed(b"+OK\r\n").unwrap();
    assert!(h.seen.contains(&Seen::Data(retr, b"Subject: x\r\n\r\nhi".to_vec())), "{:?}", h.seen);
    assert_eq!(h.seen.last(), Some(&Seen::Done(retr, Ok(Reply::MessageEnd))), "the NOOP's reply is nobody's");
    assert_eq!(h.engine.pending(), 0);
    // The session goes on normally.
    let stat = h.send(Command::Stat);
    assert_eq!(h.transmit(), "STAT\r\n");
    h.feed(b"+OK 0 0\r\n").unwrap();
    assert!(h.seen.iter().any(|s| matches!(s, Seen::Done(id, Ok(Reply::Stat(_))) if *id == stat)));
}

#[test]
fn glued_terminator_before_a_pipelined_reply_needs_no_noop() {
    let mut h = logged_in_with_capa("PIPELINING\r\nUIDL\r\n");
    let first = h.send(Command::Retr(n(1)));
    let second = h.send(Command::Retr(n(2)));
    assert_eq!(h.transmit(), "RETR 1\r\nRETR 2\r\n");
    let seen = check_splits(
        || {
            let mut h = logged_in_with_capa("PIPELINING\r\nUIDL\r\n");
            h.send(Command::Retr(n(1)));
            h.send(Command::Retr(n(2)));
            h.transmit();
            h
        },
        b"+OK 3 octets\r\none.\r\n+OK 5 octets\r\ntwo\r\n\r\n.\r\n",
    );
    assert_eq!(
        seen,
        vec![
            Seen::Start(first),
            Seen::Data(first, b"one".to_vec()),
            Seen::Done(first, Ok(Reply::MessageEnd)),
            Seen::Start(second),
            Seen::Data(second, b"two\r\n\r\n".to_vec()),
            Seen::Done(second, Ok(Reply::MessageEnd)),
        ]
    );
    h.feed(b"+OK 3 octets\r\none.\r\n").unwrap();
    assert_eq!(h.transmit(), "", "another command is in flight: its reply will settle it");
}

// ----- credentials echoed by the server never reach an error (issue 13) -----

/// A small deterministic generator, so a failure names a seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random secret: letters, digits, spaces, regex and shell metacharacters, quotes, non-ASCII.
fn random_secret(rng: &mut Rng) -> String {
    const ALPHABET: &[&str] = &[
        "a", "Z", "q", "7", "0", " ", ".", "*", "+", "?", "^", "$", "(", ")", "[", "]", "{", "}", "|", "\\", "/", "'",
        "\"", "`", "!", "#", "%", "&", ";", "<", ">", "~", "=", ",", ":", "@", "-", "é", "ß", "日", "🔑",
    ];
    let len = 8 + rng.below(33);
    (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect()
}

/// Every form of `secret` that must never appear in an error: the secret, its base64, and the
/// argument of every line the client put on the wire during authentication.
fn forms_on_the_wire(secret: &str, wire: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), BASE64.encode(secret)];
    for line in wire.split("\r\n").filter(|l| !l.is_empty() && *l != "*") {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "PASS" => forms.push(line["PASS ".len()..].to_owned()),
            "APOP" | "AUTH" if words.len() > 2 => forms.push(words[words.len() - 1].to_owned()),
            "USER" | "AUTH" | "CAPA" | "RETR" | "NOOP" | "QUIT" => {}
            // A SASL continuation response: base64 of what the mechanism computed.
            _ => forms.push(line.to_owned()),
        }
    }
    forms
}

fn assert_redacted(seed: u64, what: &str, err: &Error, forms: &[String]) {
    let shown =
        format!("{err} | {err:?} | {} | {}", err.message(), err.server_text().unwrap_or_default()).to_ascii_lowercase();
    for form in forms {
        assert!(!shown.contains(&form.to_ascii_lowercase()), "seed {seed}, {what}: {form:?} leaked into {shown:?}");
    }
}

/// The errors the engine reported, in events or as the fatal error.
fn errors_of(h: &Harness, fatal: Option<Error>) -> Vec<Error> {
    let mut errors: Vec<Error> =
        h.seen.iter().filter_map(|s| if let Seen::Done(_, Err(e)) = s { Some(e.clone()) } else { None }).collect();
    errors.extend(fatal);
    errors
}

#[test]
fn echoed_credentials_are_redacted_through_every_mechanism() {
    use crate::auth::{Bearer, BearerKind, CramMd5, Login, Scram, ScramHash};
    for seed in 1..=150u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let secret = random_secret(&mut rng);
        let pw = || Secret::new(secret.as_str());
        for mechanism in 0..9 {
            let mut h = Harness::greeted("+OK ready <1.2@host>\r\n");
            let mut wire = String::new();
            // Authenticate, answering each client step with a challenge the mechanism accepts,
            // and finally refuse with -ERR echoing everything the client sent (and the secret,
            // and its base64, in upper and lower case).
            let challenges: Vec<String> = match mechanism {
                0 => {
                    h.send(Command::user("alice").unwrap());
                    wire += &h.transmit();
                    h.feed(b"+OK\r\n").unwrap();
                    h.send(Command::pass(&pw()).unwrap());
                    vec![]
                }
                1 => {
                    h.engine.protect_secret(&pw());
                    let digest = crate::auth::apop_digest("<1.2@host>", &pw());
                    h.send(Command::apop("alice", digest).unwrap());
                    vec![]
                }
                2 => {
                    h.engine.authenticate(Box::new(Plain::new("alice".into(), pw()))).unwrap();
                    vec![]
                }
                3 => {
                    h.engine.authenticate(Box::new(Login::new("alice".into(), pw()))).unwrap();
                    vec!["VXNlcm5hbWU6".into(), "UGFzc3dvcmQ6".into()]
                }
                4 => {
                    h.engine.authenticate(Box::new(CramMd5::new("alice".into(), pw()))).unwrap();
                    vec![BASE64.encode("<1896.697170952@postoffice.example.net>")]
                }
                5 | 6 => {
                    let hash = if mechanism == 5 { ScramHash::Sha1 } else { ScramHash::Sha256 };
                    h.engine
                        .authenticate(Box::new(Scram::with_nonce(hash, "alice".into(), pw(), "abc".into())))
                        .unwrap();
                    // The server ends the exchange with an error that quotes the password.
                    vec![BASE64.encode(format!("e=invalid-proof {secret}"))]
                }
                _ => {
                    let kind = if mechanism == 7 { BearerKind::OAuthBearer } else { BearerKind::XOAuth2 };
                    h.engine.authenticate(Box::new(Bearer::new(kind, "alice".into(), pw(), None, None))).unwrap();
                    let status = format!("{{\"status\":\"invalid token {secret}\",\"scope\":\"x\"}}");
                    vec![String::new(), BASE64.encode(status)]
                }
            };
            wire += &h.transmit();
            for challenge in challenges {
                if h.engine.fatal_error().is_some() {
                    break;
                }
                let _ = h.feed(format!("+ {challenge}\r\n").as_bytes());
                wire += &h.transmit();
            }
            let forms = forms_on_the_wire(&secret, &wire);
            let echo = forms.join(" | ");
            let fatal =
                h.feed(format!("-ERR [AUTH] rejected: {echo} {}\r\n", echo.to_ascii_uppercase()).as_bytes()).err();
            for err in errors_of(&h, fatal) {
                assert_redacted(seed, &format!("mechanism {mechanism}"), &err, &forms);
            }
        }
    }
}

#[test]
fn echoed_credentials_are_redacted_in_later_replies() {
    for seed in 1..=100u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let secret = random_secret(&mut rng);
        let mut h = Harness::greeted("+OK ready\r\n");
        h.engine.authenticate(Box::new(Plain::new("alice".into(), Secret::new(secret.as_str())))).unwrap();
        let wire = h.transmit();
        h.feed(b"+OK welcome\r\n").unwrap();
        let forms = forms_on_the_wire(&secret, &wire);
        let echo = forms.join(" ");
        // A refused command, a CAPA whose free texts echo, then a garbage line (fatal).
        h.send(Command::Retr(n(1)));
        h.send(Command::Capa);
        h.send(Command::Noop);
        h.transmit();
        h.feed(format!("-ERR no such message; you said {echo}\r\n").as_bytes()).unwrap();
        assert_eq!(h.transmit(), "CAPA\r\n", "one at a time: no PIPELINING");
        h.feed(format!("+OK\r\nIMPLEMENTATION {echo}\r\nX-ECHO {echo}\r\n.\r\n").as_bytes()).unwrap();
        assert_eq!(h.transmit(), "NOOP\r\n");
        let caps = h.engine.capabilities().expect("CAPA answered").clone();
        let shown = format!("{:?} {:?}", caps.implementation, caps.other).to_ascii_lowercase();
        for form in &forms {
            assert!(!shown.contains(&form.to_ascii_lowercase()), "seed {seed}: {form:?} in capabilities {shown}");
        }
        let fatal = h.feed(format!("garbage {echo}\r\n").as_bytes()).err();
        assert!(fatal.is_some(), "a garbage line is fatal");
        let errors = errors_of(&h, fatal);
        assert_eq!(errors.len(), 2, "seed {seed}: {errors:?}");
        for err in errors {
            assert_redacted(seed, "later reply", &err, &forms);
        }
    }
}

#[test]
fn short_passwords_do_not_break_the_grammar() {
    // Redaction applies to texts after parsing: a password "p" or "ok" must not turn
    // PIPELINING into ***I***ELINING, or +OK into +***.
    for password in ["p", "ok", "OK", "+", "LINING"] {
        let mut h = Harness::greeted("+OK ready\r\n");
        h.send(Command::user("u").unwrap());
        h.transmit();
        h.feed(b"+OK\r\n").unwrap();
        h.send(Command::pass(&Secret::new(password)).unwrap());
        h.transmit();
        h.feed(b"+OK logged in\r\n").unwrap();
        h.send(Command::Capa);
        h.transmit();
        h.feed(b"+OK\r\nPIPELINING\r\nUIDL\r\n.\r\n").unwrap();
        assert!(h.engine.is_pipelining(), "password {password:?}");
        assert_eq!(h.engine.state(), State::Transaction);
    }
}

#[test]
fn a_greeting_after_credentials_were_queued_is_redacted() {
    // Found by the redaction fuzzer: a driver may queue the login before the greeting arrives.
    for greeting in ["+OK ready aHVudGVyMi1zZWNyZXQ=\r\n", "-ERR hunter2-secret\r\n", "garbage HUNTER2-SECRET\r\n"] {
        let mut h = Harness::new();
        h.engine.authenticate(Box::new(Plain::new("alice".into(), Secret::new("hunter2-secret")))).unwrap();
        let shown = match h.feed(greeting.as_bytes()) {
            Ok(()) => format!("{:?}", h.engine.greeting()),
            Err(e) => format!("{e} {}", e.server_text().unwrap_or_default()),
        };
        assert!(!shown.to_lowercase().contains("hunter2-secret") && !shown.contains("aHVudGVyMi1zZWNyZXQ="), "{shown}");
    }
}
