// Help texts.

export const MAIN_HELP = `pop3 - a POP3 client (pop3-wasm)

Usage:
  pop3 capa  [--login] [--json]                  show what the server supports
  pop3 list  [--headers] [--json]                list messages: number, size, UID
  pop3 fetch --maildir DIR [--delete] [--limit N] [--json]
                                                 download messages into a Maildir
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
  --json                   machine-readable output (capa, list, fetch, show)
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
       is deleted on the server
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
  fetch: `Usage: pop3 fetch --maildir DIR [--delete] [--limit N] [--json] [options]

Downloads messages into the Maildir DIR (DIR/tmp, DIR/new and DIR/cur are
created if missing). Each message is written to tmp/ under a unique name
(time.MusecPpidQn.host), flushed to disk (fsync) and then renamed into new/,
so a reader never sees a partial message. The bytes are stored exactly as
the server sent them, with CRLF line ends (dot-unstuffed), not converted to LF.

  --maildir DIR  where to deliver (required)
  --delete       delete from the server the messages that were delivered
                 (DELE, then QUIT); a message whose delivery failed is kept
  --limit N      fetch only the first N messages
  --json         print the summary as JSON

Without --delete the messages stay on the server and are fetched again next
time. A summary (messages, bytes, seconds) is printed unless --quiet.
Ctrl-C closes the connection without QUIT: nothing is deleted (exit 130).
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
