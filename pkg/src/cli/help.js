// Help texts.

export const MAIN_HELP = `pop3 - a POP3 client (pop3-wasm)

Usage:
  pop3 capa  [--login] [--json]                  show what the server supports
  pop3 list  [--headers] [--json]                list messages: number, size, UID
  pop3 fetch --maildir DIR [--delete | --delete-older-than DAYS] [--limit N]
                                                 download new messages into a Maildir
  pop3 watch --maildir DIR [--interval SECS] [--delete | --delete-older-than DAYS]
                                                 keep fetching new messages until Ctrl-C
  pop3 show  N [--json | --raw]                  show message N
  pop3 [COMMAND] --help | pop3 --version

Connection:
  --host H                 server name or address
  --port N                 default 110, or 995 with --tls implicit
  --tls MODE               none (default), implicit (POP3S) or starttls (STLS)
  --tls-provider P         host (default over TCP: Node's TLS) or wasm (TLS inside
                           the client; always the case with --ws)
  --ca FILE                PEM CA certificate(s) to trust on top of the system roots
  --servername NAME        name the certificate must match (default: --host;
                           required with --ws and --tls)
  --ws URL                 go through a websockify WebSocket proxy (ws:// or wss://)
                           instead of TCP; the proxy decides the mail server. With
                           --tls, TLS runs end to end through the proxy, which then
                           sees only ciphertext
  --timeout SECS           longest silence while waiting for a reply (default 60)
  --connect-timeout SECS   longest wait for the connection (default 30)

Login:
  --user U                 user name (or env POP3_USER)
  --auth MECH              auto (default: the strongest offered: SCRAM-SHA-256,
                           SCRAM-SHA-1, CRAM-MD5, APOP, PLAIN, LOGIN, USER), or one of
                           user, apop, plain, login, cram-md5, scram-sha-1,
                           scram-sha-256; xoauth2 or oauthbearer take an OAuth access
                           token instead of a password (from the same sources)
  --allow-cleartext        allow sending the password itself (USER/PASS, PLAIN,
                           LOGIN) or a token without TLS; by default that is refused,
                           while SCRAM, CRAM-MD5 and APOP (which never send it) are
                           used if offered
  --password-env VAR       read the password from env VAR (default POP3_PASSWORD)
  --password-command CMD   run CMD with sh -c and use its output (final newline
                           removed), e.g. 'secret-tool lookup service pop3 user me'
  Otherwise the password is asked for on the terminal, without echo. It is never
  taken as a command-line argument (--password is refused), never printed and
  never written to disk.

Output:
  --json                   machine-readable output (capa, list, fetch, show, watch)
  -q, --quiet              no progress bar and no summary
  -v, --verbose            connection details on stderr
  -h, --help               this help; pop3 COMMAND --help for one command
  -V, --version            the version

A progress bar is drawn on stderr when it is a terminal.

Exit codes:
  0    success
  1    unexpected internal error
  2    usage: bad arguments, no password available, cleartext login refused
  3    authentication failed (or --password-command failed)
  4    the server answered -ERR
  5    network: connection failed, closed or timed out
  6    TLS: certificate or handshake failure
  7    protocol violation, or a message over a size limit
  8    local I/O error (e.g. a Maildir write failed)
  130  interrupted (Ctrl-C): the connection is closed without QUIT, so nothing
       is deleted on the server (pop3 watch stops with 0)
Errors are printed as one line: "pop3: <message> [RESPONSE-CODE]: server said ...".

Examples:
  POP3_PASSWORD=... pop3 --host mail.example.com --tls implicit --user me list --headers
  pop3 --host mail.example.com --tls starttls --user me \\
       --password-command 'pass show mail/me' fetch --maildir ~/Mail/inbox --delete
`;

export const COMMAND_HELP = {
  capa: `Usage: pop3 capa [--login] [--json] [connection options]

Connects, reads the greeting and asks the server for its capabilities (CAPA),
without logging in (no user or password needed).

  --login     log in first and show the capabilities offered after login
              (some servers, such as Gmail, announce different ones then)
  --json      print {server, tls, greeting, capabilities} as JSON

See pop3 --help for connection and login options, and exit codes.
`,
  list: `Usage: pop3 list [--headers] [--json] [connection and login options]

Lists the messages in the mailbox: number, size in octets (as the server
reports it, a hint) and unique id (UIDL, when the server supports it).

  --headers   also show Date, From and Subject (decoded), fetched with TOP n 0
              for all messages at once (pipelined)
  --json      print an array of {msg, size, uid[, date, from, subject]}

Nothing is changed on the server.
See pop3 --help for connection and login options, and exit codes.
`,
  fetch: `Usage: pop3 fetch --maildir DIR [--delete | --delete-older-than DAYS]
                  [--limit N] [--json] [connection and login options]

Downloads the messages not fetched before into the Maildir DIR (DIR/tmp,
DIR/new and DIR/cur are created if missing). Incremental: the unique id
(UIDL) of every message saved is recorded in the state file
DIR/pop3-state.json, so each run fetches only what is new, whether or not
anything is deleted on the server. The file is the same as the Rust library's
MaildirSink uses, for user@host (user@URL with --ws); a corrupt state, one for
another account or from a newer version is refused (exit 2), never started
over.

Each message is stored before it is recorded, and recorded before anything is
deleted on the server (and POP3 deletes nothing until the final QUIT), so an
interruption at any point loses no mail and a rerun saves nothing twice.
Messages are written to tmp/, flushed to disk (fsync) and renamed into new/ as
pop3-<hash of the unique id>.<host>, so a reader never sees a partial message
and a message already in new/ or cur/ is not written again. The bytes are
stored exactly as the server sent them, with CRLF line ends (dot-unstuffed),
not converted to LF.

  --maildir DIR             where to deliver (required)
  --delete                  delete each message from the server once it is
                            saved and recorded
  --delete-older-than DAYS  delete the messages saved at least DAYS days ago
                            (by this or an earlier run); the rest stay
  --limit N                 fetch at most N new messages (the rest next time)
  --json                    print the summary as JSON

Without --delete or --delete-older-than nothing is deleted on the server. A
summary (new messages, bytes, messages fetched earlier, deleted on the server)
is printed unless --quiet; warnings go to stderr. A failed local write (disk
full) stops the run with exit 8 and deletes nothing; Ctrl-C closes the
connection without QUIT: nothing is deleted (exit 130). Run it again to get
the rest.
See pop3 --help for connection and login options, and exit codes.
`,
  watch: `Usage: pop3 watch --maildir DIR [--interval SECS]
                  [--delete | --delete-older-than DAYS] [connection and login options]

Keeps the Maildir DIR up to date: POP3 has no push, so every SECS seconds
(default 60, or the server's LOGIN-DELAY if longer) it logs in and fetches the
new messages exactly as pop3 fetch does (same state file DIR/pop3-state.json,
same file names, same guarantees), then logs out. The password is read once,
at the start.

One line is printed per new message: the time, From and Subject (with --json,
one JSON object per line: time, uid, size, file, from, subject).

  --maildir DIR             where to deliver (required)
  --interval SECS           time between checks (default 60)
  --delete                  delete each message from the server once saved
  --delete-older-than DAYS  delete the messages saved at least DAYS days ago
  --json                    one JSON object per new message
  -v, --verbose             also one line per check

Network trouble, timeouts and a busy mailbox ([IN-USE], [LOGIN-DELAY],
[SYS/TEMP]) are retried with growing delays (reported on stderr); a permanent
failure (wrong password, certificate) ends the watch with its exit code.
Ctrl-C stops cleanly (exit 0): a check in progress is abandoned without QUIT,
so nothing is deleted, and the state stays consistent.
See pop3 --help for connection and login options, and exit codes.
`,
  show: `Usage: pop3 show N [--json | --raw] [connection and login options]

Retrieves message N and shows it: From, To, Cc, Subject, Date, attachments
and the text body (text derived from the HTML when there is no text part).

  --json      the parsed message as JSON
  --raw       the message's bytes exactly as retrieved (CRLF), to stdout

Nothing is changed on the server.
See pop3 --help for connection and login options, and exit codes.
`,
};
