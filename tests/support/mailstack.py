#!/usr/bin/env python3
"""mailstack: start a throwaway Dovecot POP3 server (plus optional websockify
relays) on free loopback ports, for tests, benchmarks and the demo.

Standard library only; needs root, `dovecot` (dovecot-pop3d), and with
--tls `openssl`, with --websockify / --ws-target-down `websockify`.

Run a stack
-----------
    python3 tests/support/mailstack.py [options]

It prints exactly ONE line of JSON on stdout once every server accepts
connections (the POP3 greeting `+OK` has been read), then runs until its
stdin reaches EOF (so it dies with the process that started it, as long as
that process gave it a pipe as stdin) or it gets SIGTERM/SIGINT/SIGHUP.
Then it stops everything it started and removes its workdir (unless --keep).
If startup fails it exits non-zero with a message (and the tail of
dovecot's log) on stderr: 2 for usage errors and busy ports, 1 otherwise.
If dovecot or a websockify dies while the stack runs it exits with 3.

Options (all optional):
    --port N, --pop3s-port N   fixed ports (default: free ones); busy -> exit 2
    --user NAME:PASSWORD       repeatable; default alice:wonderland
    --mechanisms "..."         default "plain login cram-md5 apop scram-sha-1 scram-sha-256"
    --mail PATH                repeatable; an .eml file or a dir of *.eml files
                               (sorted by name), delivered to the FIRST user in
                               the order given, so message 1 = first file
    --mail-for USER=PATH       same, for another user (repeatable)
    --tls                      test CA + certificates, `ssl = yes` (STLS) and a
                               pop3s listener
    --cert-variant V           good|expired|wronghost|unknownca: leaf dovecot serves
    --websockify               websockify relay to pop3 (and one to pop3s with --tls)
    --ws-target-down           websockify relaying to a closed port
    --web DIR                  passed to every websockify (static files)
    --websockify-log FILE      append websockify's output to FILE
    --oauth2                   also accept OAuth 2.0 bearer tokens (SASL XOAUTH2
                               and OAUTHBEARER) through dovecot's oauth2 passdb
                               and a local introspection endpoint (see below)
    --auth-delay               keep dovecot's failed-auth delay and penalty
                               (by default failures are answered at once)
    --process-limit N          let dovecot run up to N pop3 (and N login)
                               processes, for many sessions at once (its
                               default is 100)
    --workdir DIR              create the throwaway dir under DIR
    --keep                     do not remove the throwaway dir
    --no-stdin                 ignore stdin; run until a signal (for shell use)
    --info-file FILE           also write the JSON line to FILE
    --timeout SECS             startup timeout (default 15)

JSON fields: host, pop3_port, pop3s_port (null without --tls), tls,
workdir, pid (this launcher), dovecot_pid, dovecot_conf, dovecot_log,
mechanisms, users {NAME: {password, home, maildir, messages: [{source,
octets}]}}, ca_cert, cert_variant, certs {good|expired|wronghost|unknownca:
{cert, key} (unknownca also has ca_cert)}, websockify_port,
websockify_tls_port, websockify_down_port, websockify_pids, websockify_log,
oauth2 {introspection_url, tokens {NAME: token}, long_tokens {NAME: token},
revoked_token, log, config}. Unused features are null.

OAuth 2.0 (--oauth2)
--------------------
Adds `xoauth2 oauthbearer` to the mechanisms (and to the `mechanisms` JSON
field) and a dovecot `oauth2` passdb that serves ONLY those two mechanisms;
the passwd-file passdb keeps serving all the password mechanisms, and the
fast-failure behaviour below covers both. Tokens are checked by an RFC 7662
style introspection endpoint that mailstack serves itself (a thread of the
launcher, http://127.0.0.1:<free port>/introspect, stopped with the stack);
dovecot POSTs `token=<token>` to it (introspection_mode = post).
- tokens: one valid token per user, `tok-<user>-<random>`, fresh per stack.
  Introspection answers {"active": true, "username": USER, "scope": "pop"}.
- long_tokens: one more valid token per user, exactly 1200 characters and
  shaped like a JWT (like real Microsoft/Google access tokens).
- revoked_token: `tok-revoked-<random>`, answered {"active": false} like any
  unknown token.
- log: <workdir>/oauth2.log, one line per introspection request (method,
  path, headers, body, verdict); config: the passdb's dovecot-oauth2.conf.ext.
The user named in the SASL message must be the token's owner: alice's token
sent as user=bob fails. A token is never compared with passwd-file, and a
password is never accepted as a token (the oauth2 passdb's failure is final;
without that dovecot would fall through to passwd-file and accept
`auth=Bearer <password>`).

What dovecot 2.3.19 answers (the token mechanisms hand failures back as a
base64 JSON challenge; the client must answer it, e.g. with an empty line):
    C: AUTH XOAUTH2                  (or one step: AUTH XOAUTH2 <base64>)
    S: +                             (`+` and one space)
    C: base64("user=alice\\x01auth=Bearer <token>\\x01\\x01")
    S: +OK Logged in.                  valid token, or on failure:
    S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=
          = {"status":"401","schemes":"bearer","scope":"mail"}
    C: (empty line)                  (`*` instead: -ERR Authentication aborted by client.)
    S: -ERR [AUTH] Authentication failed.
  OAUTHBEARER (base64("n,a=alice,\\x01host=127.0.0.1\\x01port=<port>\\x01auth=Bearer
  <token>\\x01\\x01")) is the same except the challenge, which is
  eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0= = {"status":"invalid_token"}.
  A malformed message (no user=/a=, no auth=) gets a plain
  `-ERR [AUTH] Authentication failed.` without a challenge, after the full
  failure delay (see below). If the endpoint cannot be reached dovecot answers
  `-ERR [SYS/TEMP] Temporary authentication failure. [host:time]`.

Deliver mail into a running stack
---------------------------------
    python3 tests/support/mailstack.py deliver --maildir PATH FILE_OR_DIR...

Writes each message to PATH/tmp, then renames it into PATH/new (LF line
endings, owned by nobody:nogroup), in order; prints {"delivered": [...]}.

As a module
-----------
    sys.path.insert(0, "tests/support"); import mailstack
    stack = mailstack.start_stack(tls=True, users={"bob": "pw"}, mail=["x.eml"])
    ...  # stack is a dict with the JSON fields above
    mailstack.stop(stack)            # or: with mailstack.start_stack() as s:
    s = mailstack.start_stack(oauth2=True); s["oauth2"]["tokens"]["alice"]
    mailstack.deliver(stack["users"]["bob"]["maildir"], ["y.eml"])

Keyword arguments mirror the options (mail_for={"bob": [paths]}); a failure
raises mailstack.StackError. Stacks still running at exit are stopped.

Server behaviour worth knowing
------------------------------
- Loopback connections count as secured for dovecot, so USER/PASS and AUTH
  PLAIN work without TLS; APOP shows up as the <...> timestamp in the
  greeting, not in CAPA.
- Failed logins answer immediately (no 2 s delay, no per-IP penalty that
  would also slow later good logins); --auth-delay restores the real delays.
  Exception: a SASL message dovecot cannot even parse (e.g. `AUTH PLAIN
  Zm9v`, or an XOAUTH2 message without user=) fails before any passdb runs,
  so it still costs up to 2 s and adds the penalty (later logins from
  127.0.0.1 on that stack wait a few seconds).
- Message sizes: `octets` in the JSON is the RFC 1939 size (CRLF line ends),
  which is what LIST reports; RETR returns the file with CRLF line ends.
- UIDLs are %08Xu%08Xv (UID, UIDVALIDITY) and stay stable across sessions.

Each stack also starts a small reaper process (this script, `_reaper`)
that waits on a pipe from the launcher: if the launcher is killed outright
(SIGKILL) before it can clean up, the reaper stops dovecot and websockify
and removes the workdir. (The --oauth2 endpoint is a thread of the launcher,
so it dies with it.)
"""

import argparse
import atexit
import datetime
import grp
import http.server
import json
import os
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HOST = "127.0.0.1"
DEFAULT_USERS = (("alice", "wonderland"),)
DEFAULT_MECHANISMS = "plain login cram-md5 apop scram-sha-1 scram-sha-256"
OAUTH2_MECHANISMS = ("xoauth2", "oauthbearer")
# a valid token about as long as real Microsoft / Google access tokens
OAUTH2_LONG_TOKEN_LEN = 1200
CERT_VARIANTS = ("good", "expired", "wronghost", "unknownca")
MAIL_OWNER = ("nobody", "nogroup")
DH_FILE = "/usr/share/dovecot/dh.pem"
# Unix socket paths are limited to 108 bytes; dovecot's longest socket name
# inside base_dir is about 25 characters.
MAX_BASE_DIR_LEN = 70

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_DIED = 3


class StackError(Exception):
    """Startup failed; exit_code is what the CLI exits with."""

    def __init__(self, message, exit_code=EXIT_FAILURE):
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------
# small helpers


def _find_exe(name, package):
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise StackError(f"`{name}` not found (install the Debian package {package})")
    return path


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _check_port_free(port):
    """Raise StackError(exit 2) when a requested port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind((HOST, port))
        except OSError:
            raise StackError(f"port {port} is busy", EXIT_USAGE) from None


def _closed_port_socket():
    """A bound but never listening socket: connecting to its port is refused,
    and no other process can take the port while we hold it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    return s


def _tail(path, lines=25):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _mail_ids():
    return pwd.getpwnam(MAIL_OWNER[0]).pw_uid, grp.getgrnam(MAIL_OWNER[1]).gr_gid


def _mkdir_owned(path, uid, gid, mode=0o700):
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _spawn(cmd, log_path, mode="ab"):
    with open(log_path, mode) as log:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg reaches forked children
        )


def _group_members(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            pids.append(int(entry))
    return pids


def _stop_process_group(proc, timeout):
    """SIGTERM the process group of proc, wait up to timeout for it to empty,
    then SIGKILL what is left. The group id is the leader's pid
    (start_new_session)."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_members(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 2
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)


# --------------------------------------------------------------------------
# mail delivery

_name_lock = threading.Lock()
_last_stamp = (0, 0)
_name_seq = 0


def _maildir_name():
    """A unique maildir base name `SECS.MUSECSPpidQn.mailstack`. Dovecot assigns
    UIDs to new mail in the order of the time in the name, so successive names
    carry strictly increasing (secs, usecs)."""
    global _last_stamp, _name_seq
    with _name_lock:
        now = time.time_ns() // 1000
        stamp = divmod(now, 1_000_000)
        if stamp <= _last_stamp:
            secs, usecs = _last_stamp
            stamp = (secs + 1, 0) if usecs >= 999_999 else (secs, usecs + 1)
        _last_stamp = stamp
        _name_seq += 1
        return f"{stamp[0]}.M{stamp[1]}P{os.getpid()}Q{_name_seq}.mailstack"


def _expand_mail_paths(paths):
    """Files as given; directories expand to their *.eml files sorted by name."""
    files = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            files.extend(
                os.path.join(path, name)
                for name in sorted(os.listdir(path))
                if name.endswith(".eml") and os.path.isfile(os.path.join(path, name))
            )
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise StackError(f"mail path {path!r} does not exist", EXIT_USAGE)
    return files


def ensure_maildir(maildir):
    """Create maildir (and cur/new/tmp) owned by nobody:nogroup."""
    uid, gid = _mail_ids()
    for sub in ("", "cur", "new", "tmp"):
        _mkdir_owned(os.path.join(maildir, sub), uid, gid)


def deliver_bytes(maildir, data):
    """Atomically deliver one message (bytes) into maildir/new; returns the
    path and the message size in octets as POP3 counts them (CRLF lines)."""
    ensure_maildir(maildir)
    uid, gid = _mail_ids()
    data = data.replace(b"\r\n", b"\n")
    name = _maildir_name()
    tmp_path = os.path.join(maildir, "tmp", name)
    new_path = os.path.join(maildir, "new", name)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
    finally:
        os.close(fd)
    os.rename(tmp_path, new_path)
    return new_path, len(data) + data.count(b"\n")


def deliver(maildir, paths):
    """Deliver files (or dirs of *.eml) in order; returns
    [{"source", "file", "octets"}]."""
    result = []
    for source in _expand_mail_paths(paths):
        with open(source, "rb") as f:
            path, octets = deliver_bytes(maildir, f.read())
        result.append({"source": source, "file": path, "octets": octets})
    return result


# --------------------------------------------------------------------------
# certificates

_OPENSSL_CNF = """\
[ ca ]
default_ca = ca_main

[ ca_main ]
dir = {certs}/ca_main
database = $dir/index.txt
new_certs_dir = $dir/issued
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no

[ ca_other ]
dir = {certs}/ca_other
database = $dir/index.txt
new_certs_dir = $dir/issued
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no

[ policy_any ]
commonName = supplied

[ req ]
distinguished_name = req_dn
[ req_dn ]

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ leaf_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ leaf_wronghost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _asn1_time(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


def _run_all(commands):
    """Run independent commands in parallel; raise with their output on failure."""
    procs = [
        (cmd, subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT))
        for cmd in commands
    ]
    for cmd, proc in procs:
        out = proc.communicate()[0].decode("utf-8", "replace")
        if proc.returncode != 0:
            raise StackError(f"`{' '.join(cmd)}` failed:\n{out}")


def make_certs(certs_dir):
    """Generate a test CA, an unknown CA and four EC P-256 leaves with the
    openssl CLI. OpenSSL 3.0's `x509 -req` cannot backdate, so leaves are
    issued with `openssl ca` (-startdate/-enddate)."""
    openssl = _find_exe("openssl", "openssl")
    os.makedirs(certs_dir, exist_ok=True)
    cnf = os.path.join(certs_dir, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(_OPENSSL_CNF.format(certs=certs_dir))
    p = lambda name: os.path.join(certs_dir, name)  # noqa: E731

    cas = {"ca_main": "mailstack test CA", "ca_other": "mailstack unknown CA"}
    for ca in cas:
        os.makedirs(p(f"{ca}/issued"), exist_ok=True)
        open(p(f"{ca}/index.txt"), "w").close()
    leaves = {  # variant: (issuing CA, extensions section, CN)
        "good": ("ca_main", "leaf_localhost", "localhost"),
        "expired": ("ca_main", "leaf_localhost", "localhost"),
        "wronghost": ("ca_main", "leaf_wronghost", "wrong.example"),
        "unknownca": ("ca_other", "leaf_localhost", "localhost"),
    }

    # keys, CA certificates and leaf requests do not depend on each other
    step1 = [
        [openssl, "req", "-x509", "-new", *_NEW_EC_KEY, "-config", cnf, "-extensions", "v3_ca",
         "-subj", f"/CN={cn}", "-days", "3650", "-keyout", p(f"{ca}.key"), "-out", p(f"{ca}.pem")]
        for ca, cn in cas.items()
    ] + [
        [openssl, "req", "-new", *_NEW_EC_KEY, "-config", cnf, "-subj", f"/CN={cn}",
         "-keyout", p(f"{variant}.key"), "-out", p(f"{variant}.csr")]
        for variant, (_, _, cn) in leaves.items()
    ]
    _run_all(step1)

    now = datetime.datetime.now(datetime.timezone.utc)
    valid = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=365))
    expired = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
    # `openssl ca` keeps a database per CA, so issue sequentially per CA
    for variant, (ca, ext, _) in leaves.items():
        start, end = expired if variant == "expired" else valid
        _run_all([[
            openssl, "ca", "-batch", "-notext", "-config", cnf, "-name", ca,
            "-cert", p(f"{ca}.pem"), "-keyfile", p(f"{ca}.key"), "-extensions", ext,
            "-startdate", _asn1_time(start), "-enddate", _asn1_time(end),
            "-in", p(f"{variant}.csr"), "-out", p(f"{variant}.pem"),
        ]])

    certs = {v: {"cert": p(f"{v}.pem"), "key": p(f"{v}.key")} for v in leaves}
    certs["unknownca"]["ca_cert"] = p("ca_other.pem")
    return p("ca_main.pem"), certs


# --------------------------------------------------------------------------
# dovecot


def _dovecot_conf(*, base_dir, workdir, log_path, passwd_path, pop3_port, pop3s_port,
                  mechanisms, tls_cert, tls_key, auth_delay, oauth2_conf=None, process_limit=None):
    uid, gid = MAIL_OWNER
    lines = [
        "# generated by tests/support/mailstack.py",
        f"base_dir = {base_dir}",
        f"state_dir = {workdir}/state",
        f"log_path = {log_path}",
        f"info_log_path = {log_path}",
        f"listen = {HOST}",
        "protocols = pop3",
        "first_valid_uid = 1",
        "disable_plaintext_auth = no",
        "auth_verbose = yes",
        f"auth_mechanisms = {mechanisms}",
        "mail_location = maildir:~/Maildir",
        "mail_fsync = never",
        "mail_max_userip_connections = 1000",
        "pop3_uidl_format = %08Xu%08Xv",
    ]
    if process_limit:
        # Every login process and every pop3 process is a client of the auth and anvil
        # services, so their client limits must cover both.
        lines += [f"default_process_limit = {process_limit}",
                  f"default_client_limit = {max(1000, 4 * process_limit)}"]
    if tls_cert:
        lines += ["ssl = yes", f"ssl_cert = <{tls_cert}", f"ssl_key = <{tls_key}"]
        if os.path.exists(DH_FILE):
            lines.append(f"ssl_dh = <{DH_FILE}")
    else:
        lines.append("ssl = no")
    if not auth_delay:
        # A failed login normally costs 2 s (auth_failure_delay) plus an
        # anvil penalty of up to 15 s per client IP that also slows the next
        # *successful* logins. The `nodelay` extra field skips both, but a
        # failing passdb's fields are rolled back, so set it from a first
        # passdb that always succeeds without authenticating.
        lines += [
            "passdb {",
            "  driver = static",
            "  args = nopassword noauthenticate nodelay=yes",
            "  result_success = continue",
            "}",
        ]
    if oauth2_conf:
        # Only the two token mechanisms reach this passdb, and its verdict is
        # final: the mechanisms hand the token to the passdb chain like a
        # password, so a failure must not fall through to passwd-file (where
        # a "token" equal to the user's password would otherwise log in).
        lines += [
            "passdb {",
            "  driver = oauth2",
            f"  mechanisms = {' '.join(OAUTH2_MECHANISMS)}",
            f"  args = {oauth2_conf}",
            "  result_failure = return-fail",
            "  result_internalfail = return-fail",
            "}",
        ]
    lines += [
        "passdb {",
        "  driver = passwd-file",
        f"  args = scheme=PLAIN {passwd_path}",
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={uid} gid={gid} home={workdir}/home/%u",
        "}",
        "service pop3-login {",
        "  inet_listener pop3 {",
        f"    port = {pop3_port}",
        "  }",
        "  inet_listener pop3s {",
        f"    port = {pop3s_port or 0}",
        "    ssl = yes",
        "  }",
        "}",
        "service imap-login {",
        "  inet_listener imap {",
        "    port = 0",
        "  }",
        "  inet_listener imaps {",
        "    port = 0",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# OAuth 2.0 token introspection endpoint (for --oauth2)

_OAUTH2_CONF = """\
# generated by tests/support/mailstack.py (--oauth2)
introspection_url = {url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
"""


def _random_token(prefix):
    return f"{prefix}-{secrets.token_urlsafe(18)}"


def _long_token(prefix, length=OAUTH2_LONG_TOKEN_LEN):
    """A token of exactly `length` characters shaped like a JWT (three
    dot-separated base64url parts), as Microsoft's access tokens are."""
    header, signature = 36, 43
    payload = length - len(prefix) - 1 - header - 1 - 1 - signature
    raw = secrets.token_urlsafe(length)
    token = (f"{prefix}-{raw[:header]}.{raw[header:header + payload]}."
             f"{raw[header + payload:header + payload + signature]}")
    assert len(token) == length
    return token


class _OAuth2Endpoint:
    """A token introspection endpoint (RFC 7662 style) on a free loopback
    port, served by a thread of this process.

    tokens: {token: username} of active tokens; revoked: {token: username}.
    Answers {"active": true, "username": U, "scope": "pop"} for an active
    token and {"active": false} for anything else. Accepts the token the
    way each Dovecot introspection_mode sends it: POST form `token=` (post),
    `Authorization: Bearer` (auth), or appended to the URL (get)."""

    PATH = "/introspect"

    def __init__(self, log_path, tokens, revoked):
        self.log_path = log_path
        self.tokens = dict(tokens)
        self.revoked = dict(revoked)
        self._log_lock = threading.Lock()
        self._connections = set()  # open (keep-alive) connections, closed by stop()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as dovecot's client likes
            # Dovecot drops its idle keep-alive connection after 60 s; closing
            # it from this side first could race with a new request (which
            # dovecot does not retry), so only give up on far older ones.
            timeout = 600
            server_version = "mailstack-oauth2"
            sys_version = ""

            def setup(self):
                super().setup()
                with endpoint._log_lock:
                    endpoint._connections.add(self.connection)

            def finish(self):
                with endpoint._log_lock:
                    endpoint._connections.discard(self.connection)
                super().finish()

            def log_message(self, fmt, *args):  # default: stderr
                endpoint._log(f"{self.address_string()} {fmt % args}")

            def do_GET(self):
                endpoint._handle(self, b"")

            def do_POST(self):
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = 0
                endpoint._handle(self, self.rfile.read(length) if length > 0 else b"")

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = (  # default: a traceback on stderr
            lambda request, address: self._log(f"error serving {address}:\n"
                                               + traceback.format_exc().rstrip()))
        self.port = self.server.server_address[1]
        self.url = f"http://{HOST}:{self.port}{self.PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       name=f"mailstack-oauth2-{self.port}", daemon=True)
        self._stopped = False
        self.thread.start()

    def _log(self, line):
        stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        with self._log_lock:
            try:
                with open(self.log_path, "a") as f:
                    f.write(f"{stamp} {line}\n")
            except OSError:
                pass

    @staticmethod
    def _token_from(handler, body):
        auth = handler.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip(), "authorization header"
        url = urllib.parse.urlsplit(handler.path)
        if body:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                         keep_blank_values=True)
            if form.get("token"):
                return form["token"][0], "form field token"
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        for key in ("token", "access_token"):
            if query.get(key):
                return query[key][0], f"query parameter {key}"
        path = urllib.parse.unquote(url.path)
        if path.startswith(_OAuth2Endpoint.PATH) and len(path) > len(_OAuth2Endpoint.PATH):
            return path[len(_OAuth2Endpoint.PATH):].lstrip("/"), "url suffix"
        return None, "no token found"

    def _handle(self, handler, body):
        token, source = self._token_from(handler, body)
        user = self.tokens.get(token) if token is not None else None
        if user is not None:
            answer = {"active": True, "username": user, "scope": "pop"}
            verdict = f"active token of {user}"
        else:
            answer = {"active": False}
            verdict = ("revoked token" if token in self.revoked else
                       "unknown token" if token is not None else "no token")
        data = json.dumps(answer).encode()
        headers = " ".join(f"{k}={v!r}" for k, v in handler.headers.items())
        self._log(f"{handler.command} {handler.path} headers: {headers} body: {body!r} "
                  f"token ({source}): {token!r} -> {verdict}: {data.decode()}")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        handler.wfile.write(data)

    def alive(self):
        return self._stopped or self.thread.is_alive()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        with self._log_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(2)


def _read_greeting(port, use_tls, timeout):
    """Connect, (TLS-handshake without verification,) read the greeting and QUIT."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    try:
        if use_tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        line = sock.makefile("rb").readline()
        if line.startswith(b"+OK"):
            sock.sendall(b"QUIT\r\n")
        return line
    finally:
        sock.close()


def _wait_until(what, check, proc, deadline, failed=lambda: None):
    """Poll check() until it returns true; fail when proc exits, failed()
    returns a message, or on timeout."""
    last_error = None
    while True:
        if proc.poll() is not None:
            raise StackError(f"{what}: process exited with status {proc.returncode}")
        problem = failed()
        if problem:
            raise StackError(f"{what}: {problem}")
        try:
            if check():
                return
        except OSError as e:
            last_error = e
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not ready in time (last error: {last_error})")
        time.sleep(0.02)


# --------------------------------------------------------------------------
# reaper: cleans up when the launcher is killed without a chance to do it


class _Reaper:
    """Launcher side: tell a separate process what to clean up if we die."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "_reaper"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # survives signals sent to our process group

    def _send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def watch_group(self, pgid):
        self._send(f"pgid {pgid}")

    def watch_dir(self, path):
        self._send(f"dir {path}")

    def dismiss(self):
        """We cleaned up ourselves: the reaper exits without doing anything."""
        self._send("done")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _reaper_main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    pgids, dirs = [], []
    for line in sys.stdin.buffer:
        kind, _, value = line.decode().rstrip("\n").partition(" ")
        if kind == "done":
            return 0
        if kind == "pgid":
            pgids.append(int(value))
        elif kind == "dir":
            dirs.append(value)
    # EOF without "done": the launcher died
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        for pgid in pgids:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while any(_group_members(g) for g in pgids) and time.monotonic() < deadline:
            time.sleep(0.05)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    return 0


# --------------------------------------------------------------------------
# the stack


class Stack(dict):
    """The JSON description (a dict) plus the handles needed to stop it."""

    def __init__(self):
        super().__init__()
        self._dovecot = None
        self._websockify = []
        self._oauth2 = None
        self._held_sockets = []
        self._dirs = []
        self._reaper = None
        self._keep = False
        self._stopped = False

    def stop(self):
        stop(self)

    def check_alive(self):
        """Return a message if a server process has died, else None."""
        procs = [("dovecot", self._dovecot)] + [("websockify", p) for p in self._websockify]
        for name, proc in procs:
            if proc is not None and proc.poll() is not None:
                msg = f"{name} (pid {proc.pid}) exited with status {proc.returncode}"
                if name == "dovecot":
                    msg += f"\n--- {self.get('dovecot_log')} (tail) ---\n" + _tail(
                        self.get("dovecot_log"))
                return msg
        if self._oauth2 is not None and not self._oauth2.alive():
            return "the oauth2 introspection endpoint thread stopped"
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


_live_stacks = []


def stop(stack):
    """Stop every process of the stack and remove its workdir (unless keep)."""
    if stack._stopped:
        return
    stack._stopped = True
    for proc in stack._websockify:
        _stop_process_group(proc, timeout=3)
    if stack._dovecot is not None:
        # SIGTERM to the master alone takes it about 1.1 s to wind down its
        # children; signalling the whole group at once takes milliseconds.
        _stop_process_group(stack._dovecot, timeout=5)
    if stack._oauth2 is not None:
        stack._oauth2.stop()
    for s in stack._held_sockets:
        s.close()
    if not stack._keep:
        for d in stack._dirs:
            shutil.rmtree(d, ignore_errors=True)
    if stack._reaper is not None:
        stack._reaper.dismiss()
    _live_stacks[:] = [s for s in _live_stacks if s is not stack]  # by identity


@atexit.register
def _stop_all():
    for stack in list(_live_stacks):
        stop(stack)


def _parse_users(users):
    if users is None:
        users = DEFAULT_USERS
    if isinstance(users, dict):
        users = list(users.items())
    parsed = []
    for item in users:
        if isinstance(item, str):
            if ":" not in item:
                raise StackError(f"--user {item!r}: expected NAME:PASSWORD", EXIT_USAGE)
            item = item.split(":", 1)
        name, password = item
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", name):
            raise StackError(f"user name {name!r}: use letters, digits and ._@+-", EXIT_USAGE)
        if any(c in password for c in ":\r\n\0") or not password:
            raise StackError(f"password for {name!r}: must be non-empty, without ':' or "
                             "line breaks (passwd-file format)", EXIT_USAGE)
        if name in dict(parsed):
            raise StackError(f"user {name!r} given twice", EXIT_USAGE)
        parsed.append((name, password))
    if not parsed:
        raise StackError("at least one user is needed", EXIT_USAGE)
    return parsed


def start_stack(*, port=None, pop3s_port=None, users=None, mechanisms=DEFAULT_MECHANISMS,
                mail=(), mail_for=None, tls=False, cert_variant="good", websockify=False,
                web=None, websockify_log=None, ws_target_down=False, auth_delay=False,
                workdir=None, keep=False, timeout=15.0, oauth2=False, process_limit=None):
    """Start dovecot (and websockify relays); return a Stack (a dict with the
    JSON fields). Raises StackError (with .exit_code) on failure, after
    cleaning up whatever had been started.

    users: {"name": "password"} or ["name:password", ...] or [(name, pw)].
    mail: paths (files or dirs of *.eml) for the first user.
    mail_for: {"user": [paths]}.
    oauth2: also accept XOAUTH2/OAUTHBEARER tokens (see --oauth2).
    process_limit: dovecot's process limit (see --process-limit).
    """
    if os.geteuid() != 0:
        raise StackError("mailstack must run as root (dovecot switches to the mail user)")
    if cert_variant not in CERT_VARIANTS:
        raise StackError(f"unknown cert variant {cert_variant!r}", EXIT_USAGE)
    if (pop3s_port is not None or cert_variant != "good") and not tls:
        raise StackError("--pop3s-port and --cert-variant need --tls", EXIT_USAGE)
    if (web or websockify_log) and not (websockify or ws_target_down):
        raise StackError("--web and --websockify-log need --websockify or --ws-target-down",
                         EXIT_USAGE)
    if process_limit is not None and (not isinstance(process_limit, int) or process_limit < 1):
        raise StackError("--process-limit must be a positive integer", EXIT_USAGE)
    if web is not None and not os.path.isdir(web):
        raise StackError(f"--web {web!r} is not a directory", EXIT_USAGE)
    users = _parse_users(users)
    user_names = [name for name, _ in users]
    mail_plan = [(user_names[0], list(mail))] if mail else []
    for name, paths in (mail_for or {}).items():
        if name not in user_names:
            raise StackError(f"--mail-for {name}: no such user", EXIT_USAGE)
        mail_plan.append((name, [paths] if isinstance(paths, str) else list(paths)))
    mail_plan = [(name, _expand_mail_paths(paths)) for name, paths in mail_plan]
    if port is not None and port == pop3s_port:
        raise StackError("--port and --pop3s-port must differ", EXIT_USAGE)
    for requested in (port, pop3s_port):
        if requested is not None:
            _check_port_free(requested)
    dovecot = _find_exe("dovecot", "dovecot-pop3d")
    ws_exe = _find_exe("websockify", "websockify") if websockify or ws_target_down else None

    mechanisms = mechanisms.split()
    if oauth2:
        mechanisms += [m for m in OAUTH2_MECHANISMS if m not in map(str.lower, mechanisms)]

    stack = Stack()
    _live_stacks.append(stack)
    stack._keep = keep
    try:
        stack._reaper = _Reaper()
        _start(stack, dovecot=dovecot, ws_exe=ws_exe, port=port, pop3s_port=pop3s_port,
               users=users, mechanisms=" ".join(mechanisms), mail_plan=mail_plan,
               tls=tls, cert_variant=cert_variant, websockify=websockify, web=web,
               websockify_log=websockify_log, ws_target_down=ws_target_down,
               auth_delay=auth_delay, workdir=workdir, timeout=timeout, oauth2=oauth2,
               process_limit=process_limit)
    except BaseException:
        stop(stack)
        raise
    return stack


def _start(stack, *, dovecot, ws_exe, port, pop3s_port, users, mechanisms, mail_plan, tls,
           cert_variant, websockify, web, websockify_log, ws_target_down, auth_delay,
           workdir, timeout, oauth2, process_limit=None):
    deadline = time.monotonic() + timeout
    if workdir is not None:
        os.makedirs(workdir, exist_ok=True)
    root = tempfile.mkdtemp(prefix="mailstack-", dir=workdir)
    stack._dirs.append(root)
    if not stack._keep:
        stack._reaper.watch_dir(root)
    root = os.path.realpath(root)
    if re.search(r"[\s\"'#%\\{}$]", root):
        raise StackError(f"workdir {root!r} contains characters dovecot's config cannot "
                         "hold; choose another --workdir", EXIT_USAGE)
    # dovecot's unprivileged processes (users dovecot, nobody) must reach it
    os.chmod(root, 0o755)
    parent = os.path.dirname(root)
    while parent != os.path.dirname(parent):
        if not os.stat(parent).st_mode & 0o001:
            raise StackError(f"{parent} is not searchable by other users, so dovecot's "
                             "unprivileged processes cannot reach the workdir; choose "
                             "another --workdir", EXIT_USAGE)
        parent = os.path.dirname(parent)
    base_dir = os.path.join(root, "run")
    if len(base_dir) > MAX_BASE_DIR_LEN:
        base_dir = tempfile.mkdtemp(prefix="mailstack-run-")
        stack._dirs.append(base_dir)
        stack._reaper.watch_dir(base_dir)
    os.makedirs(os.path.join(root, "state"), exist_ok=True)
    log_path = os.path.join(root, "dovecot.log")
    conf_path = os.path.join(root, "dovecot.conf")
    stderr_path = os.path.join(root, "dovecot.stderr")

    # users, passwords and mail
    passwd_path = os.path.join(root, "passwd")
    with open(passwd_path, "w") as f:
        f.writelines(f"{name}:{{PLAIN}}{password}\n" for name, password in users)
    os.chmod(passwd_path, 0o644)  # read by the auth process (user dovecot)
    os.makedirs(os.path.join(root, "home"), mode=0o755, exist_ok=True)
    uid, gid = _mail_ids()
    user_info = {}
    for name, password in users:
        home = os.path.join(root, "home", name)
        _mkdir_owned(home, uid, gid)
        maildir = os.path.join(home, "Maildir")
        ensure_maildir(maildir)
        user_info[name] = {"password": password, "home": home, "maildir": maildir,
                           "messages": []}
    for name, files in mail_plan:
        for delivered in deliver(user_info[name]["maildir"], files):
            user_info[name]["messages"].append(
                {"source": delivered["source"], "octets": delivered["octets"]})

    tls_cert = tls_key = ca_cert = certs = None
    if tls:
        ca_cert, certs = make_certs(os.path.join(root, "certs"))
        tls_cert, tls_key = certs[cert_variant]["cert"], certs[cert_variant]["key"]

    stack.update({
        "host": HOST,
        "pop3_port": None,
        "pop3s_port": None,
        "tls": tls,
        "workdir": root,
        "pid": os.getpid(),
        "dovecot_pid": None,
        "dovecot_conf": conf_path,
        "dovecot_log": log_path,
        "mechanisms": mechanisms.split(),
        "users": user_info,
        "ca_cert": ca_cert,
        "cert_variant": cert_variant if tls else None,
        "certs": certs,
        "websockify_port": None,
        "websockify_tls_port": None,
        "websockify_down_port": None,
        "websockify_pids": [],
        "websockify_log": None,
        "oauth2": None,
    })

    # OAuth 2.0: the introspection endpoint dovecot's oauth2 passdb asks
    oauth2_conf = None
    if oauth2:
        first = users[0][0]
        # user names may hold characters a bearer token cannot (RFC 6750 b64token)
        tag = {name: re.sub(r"[^A-Za-z0-9._~-]", "-", name) for name, _ in users}
        tokens = {name: _random_token(f"tok-{tag[name]}") for name, _ in users}
        long_tokens = {name: _long_token(f"tok-{tag[name]}-long") for name, _ in users}
        revoked = _random_token("tok-revoked")
        oauth2_log = os.path.join(root, "oauth2.log")
        open(oauth2_log, "w").close()
        stack._oauth2 = _OAuth2Endpoint(
            oauth2_log,
            {**{t: n for n, t in tokens.items()}, **{t: n for n, t in long_tokens.items()}},
            {revoked: first})
        oauth2_conf = os.path.join(root, "dovecot-oauth2.conf.ext")
        with open(oauth2_conf, "w") as f:
            f.write(_OAUTH2_CONF.format(url=stack._oauth2.url))
        os.chmod(oauth2_conf, 0o644)  # read by the auth process
        stack["oauth2"] = {
            "introspection_url": stack._oauth2.url,
            "tokens": tokens,
            "long_tokens": long_tokens,
            "revoked_token": revoked,
            "log": oauth2_log,
            "config": oauth2_conf,
        }

    # dovecot; auto-chosen ports may be taken by someone else meanwhile: retry
    for attempt in range(3):
        p3 = port if port is not None else _free_port()
        p3s = (pop3s_port if pop3s_port is not None else _free_port()) if tls else None
        with open(conf_path, "w") as f:
            f.write(_dovecot_conf(base_dir=base_dir, workdir=root, log_path=log_path,
                                  passwd_path=passwd_path, pop3_port=p3, pop3s_port=p3s,
                                  mechanisms=mechanisms, tls_cert=tls_cert, tls_key=tls_key,
                                  auth_delay=auth_delay, oauth2_conf=oauth2_conf,
                                  process_limit=process_limit))
        open(log_path, "w").close()
        proc = _spawn([dovecot, "-F", "-c", conf_path], stderr_path, mode="wb")
        stack._dovecot = proc
        stack._reaper.watch_group(proc.pid)
        stack["dovecot_pid"] = proc.pid
        def fatal():  # e.g. an unknown auth mechanism: auth dies, no greeting comes
            return next((line for line in _tail(log_path, 200).splitlines()
                         if "Fatal:" in line), None)

        try:
            _wait_until("dovecot pop3", lambda: _read_greeting(p3, False, 1).startswith(b"+OK"),
                        proc, deadline, fatal)
            if tls:
                _wait_until("dovecot pop3s",
                            lambda: _read_greeting(p3s, True, 1).startswith(b"+OK"),
                            proc, deadline, fatal)
            break
        except StackError as e:
            logs = _tail(stderr_path) + "\n" + _tail(log_path)
            _stop_process_group(proc, timeout=3)
            stack._dovecot = None
            auto = port is None and (pop3s_port is None or not tls)
            if "Address already in use" in logs and auto and attempt < 2:
                continue
            raise StackError(f"dovecot failed to start: {e}\n"
                             f"--- {stderr_path} ---\n{_tail(stderr_path)}\n"
                             f"--- {log_path} (tail) ---\n{_tail(log_path)}") from None
    stack["pop3_port"], stack["pop3s_port"] = p3, p3s
    problems = [line for line in _tail(log_path, 200).splitlines()
                if "Fatal:" in line or "Error:" in line]
    if problems:
        raise StackError("dovecot logged errors at startup:\n" + "\n".join(problems))

    # websockify relays
    relays = []
    if websockify:
        relays.append(("websockify_port", p3))
        if tls:
            relays.append(("websockify_tls_port", p3s))
    if ws_target_down:
        closed = _closed_port_socket()
        stack._held_sockets.append(closed)
        relays.append(("websockify_down_port", closed.getsockname()[1]))
    if relays:
        ws_log = os.path.abspath(websockify_log) if websockify_log else os.path.join(
            root, "websockify.log")
        stack["websockify_log"] = ws_log
    # websockify takes ~0.3 s to start: start them all, then wait for each
    def spawn_relay(target):
        ws_port = _free_port()
        cmd = [ws_exe] + (["--web", os.path.abspath(web)] if web else []) + [
            f"{HOST}:{ws_port}", f"{HOST}:{target}"]
        proc = _spawn(cmd, ws_log)
        stack._websockify.append(proc)  # from now on stop() takes care of it
        stack._reaper.watch_group(proc.pid)
        return ws_port, proc

    pending = [(key, target, *spawn_relay(target)) for key, target in relays]
    for key, target, ws_port, proc in pending:
        for attempt in range(3):
            try:
                _wait_until(f"websockify {ws_port} -> {target}",
                            lambda: socket.create_connection((HOST, ws_port), 1).close() or True,
                            proc, deadline)
                break
            except StackError as e:
                _stop_process_group(proc, timeout=3)
                stack._websockify.remove(proc)
                if attempt == 2 or time.monotonic() > deadline:  # else: port race, retry
                    raise StackError(f"{e}\n--- {ws_log} (tail) ---\n{_tail(ws_log)}") from None
                ws_port, proc = spawn_relay(target)
        stack["websockify_pids"].append(proc.pid)
        stack[key] = ws_port


# --------------------------------------------------------------------------
# command line


class _Stop(Exception):
    pass


def _install_signal_handlers():
    state = {"stopping": False}

    def handler(signum, frame):
        if not state["stopping"]:
            state["stopping"] = True
            raise _Stop()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)
    return state


def _run_until_stopped(stack, use_stdin):
    """Return an exit code: 0 on stdin EOF / signal, EXIT_DIED if a server died."""
    stdin_fd = None
    if use_stdin:
        stdin_fd = sys.stdin.fileno() if sys.stdin is not None else None
        if stdin_fd is None:
            return 0  # no stdin at all counts as EOF
    while True:
        died = stack.check_alive()
        if died:
            print(f"mailstack: {died}", file=sys.stderr)
            return EXIT_DIED
        if stdin_fd is None:
            time.sleep(0.5)
            continue
        ready, _, _ = select.select([stdin_fd], [], [], 0.5)
        if ready:
            try:
                if not os.read(stdin_fd, 65536):
                    return 0
            except OSError:
                return 0


def _parser():
    ap = argparse.ArgumentParser(
        prog="mailstack.py", description="Start a throwaway Dovecot POP3 stack (see the "
        "module docstring); `mailstack.py deliver --help` for the delivery helper.")
    ap.add_argument("--port", type=int, help="pop3 port (default: a free one)")
    ap.add_argument("--pop3s-port", type=int, help="pop3s port (needs --tls)")
    ap.add_argument("--user", action="append", metavar="NAME:PASSWORD",
                    help="repeatable; default alice:wonderland")
    ap.add_argument("--mechanisms", default=DEFAULT_MECHANISMS,
                    help=f'dovecot auth_mechanisms (default "{DEFAULT_MECHANISMS}")')
    ap.add_argument("--mail", action="append", default=[], metavar="PATH",
                    help="an .eml file or dir of *.eml for the first user (repeatable)")
    ap.add_argument("--mail-for", action="append", default=[], metavar="USER=PATH",
                    help="like --mail, for USER (repeatable)")
    ap.add_argument("--tls", action="store_true", help="certificates, STLS and pop3s")
    ap.add_argument("--cert-variant", choices=CERT_VARIANTS, default="good")
    ap.add_argument("--websockify", action="store_true", help="websockify relays")
    ap.add_argument("--ws-target-down", action="store_true",
                    help="a websockify relaying to a closed port")
    ap.add_argument("--web", metavar="DIR", help="passed to websockify --web")
    ap.add_argument("--websockify-log", metavar="FILE")
    ap.add_argument("--oauth2", action="store_true",
                    help="also accept OAuth 2.0 bearer tokens (XOAUTH2, OAUTHBEARER) via a "
                    "local introspection endpoint")
    ap.add_argument("--auth-delay", action="store_true",
                    help="keep dovecot's delay/penalty after failed logins")
    ap.add_argument("--process-limit", type=int, metavar="N",
                    help="dovecot's process limit (default 100) for many sessions at once")
    ap.add_argument("--workdir", metavar="DIR", help="create the throwaway dir under DIR")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway dir")
    ap.add_argument("--no-stdin", action="store_true",
                    help="ignore stdin; run until SIGTERM/SIGINT")
    ap.add_argument("--info-file", metavar="FILE", help="also write the JSON to FILE")
    ap.add_argument("--timeout", type=float, default=15.0, help="startup timeout (s)")
    return ap


def _deliver_main(argv):
    ap = argparse.ArgumentParser(
        prog="mailstack.py deliver",
        description="Atomically deliver messages (tmp/ then rename to new/, LF endings, "
        "owned by nobody:nogroup), in the order given (dirs: *.eml sorted).")
    ap.add_argument("--maildir", required=True)
    ap.add_argument("files", nargs="+", metavar="FILE_OR_DIR")
    args = ap.parse_args(argv)
    try:
        delivered = deliver(args.maildir, args.files)
    except (StackError, OSError) as e:
        print(f"mailstack deliver: {e}", file=sys.stderr)
        return getattr(e, "exit_code", EXIT_FAILURE)
    print(json.dumps({"delivered": [d["file"] for d in delivered]}), flush=True)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["deliver"]:
        return _deliver_main(argv[1:])
    if argv[:1] == ["_reaper"]:
        return _reaper_main()
    args = _parser().parse_args(argv)
    mail_for = {}
    for item in args.mail_for:
        name, sep, path = item.partition("=")
        if not sep:
            print(f"mailstack: --mail-for {item!r}: expected USER=PATH", file=sys.stderr)
            return EXIT_USAGE
        mail_for.setdefault(name, []).append(path)

    state = _install_signal_handlers()
    stack = None
    try:
        try:
            stack = start_stack(
                port=args.port, pop3s_port=args.pop3s_port, users=args.user,
                mechanisms=args.mechanisms, mail=args.mail, mail_for=mail_for, tls=args.tls,
                cert_variant=args.cert_variant, websockify=args.websockify, web=args.web,
                websockify_log=args.websockify_log, ws_target_down=args.ws_target_down,
                auth_delay=args.auth_delay, workdir=args.workdir, keep=args.keep,
                timeout=args.timeout, oauth2=args.oauth2, process_limit=args.process_limit)
        except StackError as e:
            print(f"mailstack: {e}", file=sys.stderr)
            return e.exit_code
        line = json.dumps(stack)
        if args.info_file:
            tmp = args.info_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(line + "\n")
            os.replace(tmp, args.info_file)
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            return EXIT_FAILURE
        return _run_until_stopped(stack, use_stdin=not args.no_stdin)
    except _Stop:
        return 0
    finally:
        state["stopping"] = True  # a second signal must not interrupt cleanup
        if stack is not None:
            stop(stack)
        for s in list(_live_stacks):  # a stack interrupted while starting
            stop(s)


if __name__ == "__main__":
    sys.exit(main())
