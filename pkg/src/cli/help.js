// Help texts.

export const MAIN_HELP = `pop3 - a POP3 client (pop3-wasm)

Usage:
  pop3 capa  [--login] [--json]                  show what the server supports
  pop3 list  [--headers] [--json]                list messages: number, size, UID
  pop3 fetch [ACCOUNT...]                        fetch new mail for the accounts of the
                                                 config file (all of them by default)
  pop3 fetch DESTINATION [--keep | --delete | --delete-older-than DAYS] [--limit N]
                                                 download new messages
  pop3 watch DESTINATION [--interval SECS] [--delete | --delete-older-than DAYS]
                                                 keep fetching new messages until Ctrl-C
  pop3 show  N [--json | --raw]                  show message N
  pop3 [COMMAND] --help | pop3 --version

DESTINATION is one of (pop3 fetch --help tells more):
  --maildir DIR            a Maildir (created if missing)
  --mbox FILE              an mbox file (mboxrd, locked with FILE.lock, fsynced)
  --mda CMD                a delivery agent run with sh -c for each message, which
                           it reads on stdin: procmail, maildrop, 'sendmail -oi me';
                           %F in CMD is the sender. Delivered only when CMD exits 0
  --state FILE             keep the sync state in FILE (default: DIR/pop3-state.json
                           for a Maildir, ~/.local/state/pop3/USER@HOST.json else)

Connection:
  --host H                 server name or address
  --port N                 default 110, or 995 with --tls implicit
  --tls MODE               none (default), implicit (POP3S) or starttls (STLS)
  --tls-provider P         host (default over TCP: Node's TLS) or wasm (TLS inside
                           the client; always the case with --ws)
  --ca FILE                PEM CA certificate(s) to trust on top of the system roots
  --server-name NAME       name the certificate must match (default: --host;
                           required with --ws and --tls). --servername is the
                           old spelling, deprecated, accepted until the next release
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

Accounts:
  --config FILE            the config file (default ~/.config/pop3/config.toml, or
                           config.json there; $XDG_CONFIG_HOME is honoured)
  --account NAME           use account NAME of the config file (capa, list, show,
                           watch; pop3 fetch takes the names as arguments)
  The config file is TOML (or JSON): a [defaults] table and one [accounts.NAME]
  table per account, whose keys are the long options above and below, without
  the dashes: host, port, ws, tls, tls-provider, ca, server-name, user, auth,
  allow-cleartext, password-env, password-command, timeout, connect-timeout,
  maildir, mbox, mda, state, keep, delete, delete-older-than, limit, interval.
  Options on the command line override the file. Example:
      [defaults]
      tls = "implicit"
      [accounts.work]
      host = "pop.work.example"
      user = "alice"
      password-command = "secret-tool lookup service pop3 user alice"
      maildir = "~/Mail/work"
      delete = true
      [accounts.lists]
      host = "pop.example.org"
      user = "alice@example.org"
      password-command = "pass show mail/example.org"
      mda = "procmail -d alice"
      delete-older-than = 30

Output:
  --json                   machine-readable output (capa, list, fetch, show, watch)
  -q, --quiet              no progress bar and no summary
  -v, --verbose            the summary of pop3 fetch, and connection details on
                           stderr
  -h, --help               this help; pop3 COMMAND --help for one command
  -V, --version            the version

pop3 fetch is quiet unless something goes wrong (for cron): its summary is
printed with -v, or when stdout is a terminal. A progress bar is drawn on stderr
when it is a terminal.

Exit codes:
  0    success; for pop3 fetch: new mail was delivered
  1    pop3 fetch: nothing new (and nothing failed)
  2    usage: bad arguments or config file, no password available, cleartext
       login refused, a sync state that is corrupt or another account's
  3    authentication failed (or --password-command failed)
  4    the server answered -ERR (such as [IN-USE]: the mailbox is locked)
  5    network: connection failed, closed or timed out
  6    TLS: certificate or handshake failure
  7    protocol violation, or a message over a size limit
  8    local I/O error: the Maildir or mbox could not be written (disk full)
  9    the MDA command failed (exit status other than 0): not delivered
  10   busy: another pop3 run uses the same state (or the mbox stayed locked)
  11   the WebSocket proxy (--ws) refused the connection (HTTP 403, 404, ...)
  70   unexpected internal error (a bug)
  130  interrupted (Ctrl-C): the connection is closed without QUIT, so nothing
       is deleted on the server (pop3 watch stops with 0)
With several accounts, every account is fetched; the exit code is the first
failure's, else 0 if any account got new mail, else 1. In every failure the
session ends without QUIT: nothing is deleted on the server.
Errors are printed as one line: "pop3: <message> [RESPONSE-CODE]: server said ...".

Examples:
  POP3_PASSWORD=... pop3 --host mail.example.com --tls implicit --user me list --headers
  pop3 --host mail.example.com --tls starttls --user me \\
       --password-command 'pass show mail/me' fetch --maildir ~/Mail/inbox --delete
  pop3 --host mail.example.com --tls implicit --user me fetch --mbox ~/Mail/inbox.mbox
  pop3 --host mail.example.com --tls implicit --user me fetch --mda 'procmail -d me'
  */5 * * * * pop3 fetch        (crontab: every account of the config file)
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
  fetch: `Usage: pop3 fetch [ACCOUNT...] [options]                 (with a config file)
       pop3 fetch --maildir DIR | --mbox FILE | --mda CMD [--state FILE]
                  [--keep | --delete | --delete-older-than DAYS] [--limit N]
                  [--json] [connection and login options]

Downloads the messages not fetched before and delivers them. Incremental: the
unique id (UIDL) of every message delivered is recorded in a state file, so
each run fetches only what is new, whether or not anything is deleted on the
server. A corrupt state, one for another account or from a newer version is
refused (exit 2), never started over. Two runs never use one state at once
(STATE.lock; exit 10).

Without --host or --ws, every account of the config file is fetched, or the
ones named (see pop3 --help, Accounts); options given here override the file.

Each message is delivered before it is recorded, and recorded before anything
is deleted on the server (and POP3 deletes nothing until the final QUIT), so
an interruption at any point loses no mail.

Destinations:
  --maildir DIR   Messages are written to tmp/, flushed to disk (fsync) and
                  renamed into new/ as pop3-<hash of the unique id>.<host>, so
                  a reader never sees a partial message and a message already
                  in new/ or cur/ is not written again: a rerun never stores
                  one twice. The bytes are stored exactly as the server sent
                  them, with CRLF line ends (dot-unstuffed). Default state:
                  DIR/pop3-state.json, the same file as the Rust library's
                  MaildirSink uses.
  --mbox FILE     Each message is appended to FILE (mboxrd): a "From SENDER
                  DATE" line (the Return-Path, else the From address; the time
                  in UTC), the message with LF line ends, every line that
                  starts with "From " or ">From ", ">>From "... quoted with one
                  more ">", and an empty line. The message is downloaded to a
                  temporary file first, then appended while FILE.lock is held
                  (the dot-lock of mutt and procmail), and FILE is flushed to
                  disk (fsync) before the message counts as delivered. A failed
                  append is truncated away.
  --mda CMD       Each message, downloaded complete first, is given to CMD (run
                  with sh -c) on stdin, with LF line ends: procmail, maildrop,
                  '/usr/sbin/sendmail -oi me'. %F in CMD is replaced by the
                  sender (quoted). It counts as delivered only when CMD exits
                  with 0; otherwise the run stops (exit 9) and nothing is
                  deleted on the server. CMD does not see the password.
  --state FILE    keep the state in FILE (its journal and lock beside it).
                  Default for --mbox and --mda: ~/.local/state/pop3/USER@HOST.json
                  ($XDG_STATE_HOME/pop3 when set).

An mbox or an MDA cannot tell whether it already has a message, so for them
each message is recorded as soon as it is delivered (a Maildir records in
batches): if pop3 is killed between the delivery and the record, that one
message is delivered again by the next run. No message is ever lost.

Retention:
  --keep                    delete nothing on the server (the default; overrides
                            a config file's delete or delete-older-than)
  --delete                  delete each message from the server once it is
                            delivered and recorded
  --delete-older-than DAYS  delete the messages delivered at least DAYS days ago
                            (by this or an earlier run); the rest stay
  --limit N                 fetch at most N new messages (the rest next time)
  --json                    print the summary as JSON (an array, one object per
                            account, with a config file)

Quiet unless something goes wrong: the summary (new messages, bytes, messages
fetched earlier, deleted on the server) is printed with -v, or when stdout is a
terminal; warnings and errors go to stderr. Exit 0: new mail was delivered; 1:
nothing new; otherwise the failure's code (see pop3 --help). A failed local
write (disk full) stops the run with exit 8 and a failed MDA with exit 9, and
delete nothing; Ctrl-C closes the connection without QUIT: nothing is deleted
(exit 130). Run it again to get the rest.
See pop3 --help for connection and login options, and exit codes.
`,
  watch: `Usage: pop3 watch --maildir DIR | --mbox FILE | --mda CMD [--state FILE]
                  [--interval SECS] [--delete | --delete-older-than DAYS]
                  [--account NAME] [connection and login options]

Keeps a destination up to date: POP3 has no push, so every SECS seconds
(default 60, or the server's LOGIN-DELAY if longer) it logs in and fetches the
new messages exactly as pop3 fetch does (same destinations, same state file,
same guarantees), then logs out. The password is read once, at the start.

One line is printed per new message: the time, From and Subject (with --json,
one JSON object per line: time, uid, size, file, from, subject).

  --maildir DIR, --mbox FILE, --mda CMD, --state FILE
                            where to deliver (one is required; see pop3 fetch --help)
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
