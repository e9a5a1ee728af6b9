#!/usr/bin/env python3
"""The pop3 command component run by the wasmtime CLI against real Dovecot.

Run by scripts/test-component.sh, which builds the component, starts the mail stack
(tests/support/mailstack.py --tls, mail from make_mail.py) and sets:
  POP3_COMPONENT  the component (pop3.wasm)
  WASMTIME        the wasmtime CLI
  POP3_STACK      the stack's info file (mailstack.py --info-file)

Each test runs the component as a user would: `wasmtime run -S inherit-network ...`, the
password in POP3_PASSWORD passed on with --env, files in directories preopened with --dir.
"""

import hashlib
import json
import os
import poplib
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

COMPONENT = os.environ["POP3_COMPONENT"]
WASMTIME = os.environ["WASMTIME"]
with open(os.environ["POP3_STACK"]) as stack_file:
    STACK = json.load(stack_file)
HOST = STACK["host"]
POP3 = STACK["pop3_port"]
POP3S = STACK["pop3s_port"]
ALICE = STACK["users"]["alice"]
BOB = STACK["users"]["bob"]
# Linear memory cap for the streaming tests: well under the 5.2 MB message, so a client that
# held the message in memory could not run (the component itself needs about 2 MiB).
MEMORY_CAP = 3 * 1024 * 1024


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def server_messages(user):
    """The messages as Dovecot stores them (LF line ends), as POP3 sends them (CRLF)."""
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(user["maildir"], sub)
        for name in sorted(os.listdir(folder)):
            found.append(read_bytes(os.path.join(folder, name)).replace(b"\n", b"\r\n"))
    return found


def uidl_and_list(user, password):
    """UIDL and LIST as Python's poplib (a peer client) sees them."""
    pop = poplib.POP3(HOST, POP3, timeout=10)
    try:
        pop.user(user)
        pop.pass_(password)
        uids = dict(line.decode().split(" ", 1) for line in pop.uidl()[1])
        sizes = dict(line.decode().split(" ", 1) for line in pop.list()[1])
        return {int(k): v for k, v in uids.items()}, {int(k): int(v) for k, v in sizes.items()}
    finally:
        pop.quit()


def leaf_pin():
    """The SHA-256 of the certificate Dovecot serves, in hex."""
    with open(STACK["certs"][STACK["cert_variant"]]["cert"]) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


class Component(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="pop3-component-")
        cls.ca_dir = os.path.join(cls.work, "ca")
        os.mkdir(cls.ca_dir)
        shutil.copy(STACK["ca_cert"], os.path.join(cls.ca_dir, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_component(self, args, password=None, dirs=None, memory_cap=None, timeout=60):
        """Runs `wasmtime run ... pop3.wasm ARGS`; the CompletedProcess (stdout as bytes)."""
        command = [WASMTIME, "run", "-S", "inherit-network", "-S", "allow-ip-name-lookup"]
        env = {k: v for k, v in os.environ.items() if k != "POP3_PASSWORD"}
        if password is not None:
            env["POP3_PASSWORD"] = password
            command += ["--env", "POP3_PASSWORD"]
        for host_dir, guest_dir in (dirs or {}).items():
            command += ["--dir", f"{host_dir}::{guest_dir}"]
        if memory_cap:
            command += ["-W", f"max-memory-size={memory_cap}"]
        command += [COMPONENT, *args]
        return subprocess.run(command, capture_output=True, env=env, timeout=timeout)

    def ok(self, result):
        self.assertEqual(result.returncode, 0, f"stderr: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode()

    def tls_args(self, mode):
        port = POP3S if mode == "implicit" else POP3
        return ["--host", "localhost", "--port", str(port), "--tls", mode, "--ca", "/ca/ca.pem"]

    # ----- plain, STLS, implicit TLS -----

    def test_capa_plain(self):
        out = self.ok(self.run_component(["--host", HOST, "--port", str(POP3), "capa"]))
        self.assertIn("Dovecot", out)
        for tag in ("TOP", "UIDL", "PIPELINING", "STLS", "RESP-CODES"):
            self.assertRegex(out, rf"(?m)^  {tag}$")
        self.assertRegex(out, r"(?m)^  SASL .*SCRAM-SHA-256")
        self.assertNotIn("tls:", out)

    def test_list_headers_plain(self):
        uids, sizes = uidl_and_list("alice", ALICE["password"])
        result = self.run_component(
            ["--host", HOST, "--port", str(POP3), "--user", "alice", "list", "--headers"], password=ALICE["password"]
        )
        out = self.ok(result)
        self.assertIn("logged in with AUTH SCRAM-SHA-256", result.stderr.decode())
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^MSG +SIZE +UID +DATE +FROM +SUBJECT$")
        rows = lines[1:]
        self.assertEqual(len(rows), len(sizes))
        for row, msg in zip(rows, sorted(sizes)):
            fields = row.split()
            self.assertEqual((int(fields[0]), int(fields[1]), fields[2]), (msg, sizes[msg], uids[msg]))
        self.assertRegex(rows[0], r"2026-03-02 08:30 +Plain Sender +Plain hello$")
        # RFC 2047: a UTF-8 subject and an ISO-8859-1 name, decoded by the core's MIME parser.
        self.assertRegex(rows[1], r"2026-03-02 09:15 +Jürgen Müller +Grüße aus Köln$")
        self.assertRegex(rows[3], r"2026-03-03 10:00 +Big Sender +A large one$")
        self.assertRegex(rows[4], r"-  +nodate@example.org +\(no subject\)$")

    def test_stls(self):
        dirs = {self.ca_dir: "/ca"}
        result = self.run_component(
            self.tls_args("starttls") + ["--user", "alice", "capa", "--login"], password=ALICE["password"], dirs=dirs
        )
        out = self.ok(result)
        self.assertRegex(out, r"(?m)^tls: TLSv1\.[23] \S+$")
        self.assertNotRegex(out, r"(?m)^  STLS$")  # after the upgrade, no second STLS is offered
        out = self.ok(self.run_component(self.tls_args("starttls") + ["--user", "alice", "list"], ALICE["password"], dirs))
        self.assertEqual(len(out.splitlines()), 1 + len(ALICE["messages"]))

    def test_implicit_tls_fetch_maildir_byte_exact(self):
        """fetch into a preopened Maildir over POP3S: every message byte for byte as the server
        stores it, the state file in the Maildir, and a second run that fetches nothing."""
        maildir = os.path.join(self.work, "alice-mail")
        os.mkdir(maildir)
        dirs = {self.ca_dir: "/ca", maildir: "/mail"}
        # As the README writes it: `pop3.wasm -- --host ...` (wasmtime passes the `--` on).
        args = ["--"] + self.tls_args("implicit") + ["--user", "alice", "fetch", "--maildir", "/mail"]
        result = self.run_component(args, ALICE["password"], dirs, memory_cap=MEMORY_CAP)
        self.ok(result)
        self.assertIn("5 new message(s)", result.stderr.decode())
        names = sorted(os.listdir(os.path.join(maildir, "new")))
        self.assertEqual(len(names), 5)
        for name in names:
            self.assertRegex(name, r"^pop3-[0-9a-f]{24}\.localhost$")  # the core's naming rule
        ours = sorted(read_bytes(os.path.join(maildir, "new", n)) for n in names)
        self.assertEqual(ours, sorted(server_messages(ALICE)))
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [])
        uids, sizes = uidl_and_list("alice", ALICE["password"])
        state = json.loads(read_bytes(os.path.join(maildir, "pop3-state.json")))
        self.assertEqual((state["format"], state["version"], state["account"]), ("pop3-wasm-sync", 1, "alice@localhost"))
        self.assertEqual(sorted(state["messages"]), sorted(uids.values()))
        self.assertFalse(os.path.exists(os.path.join(maildir, "pop3-state.journal")))

        again = self.run_component(args, ALICE["password"], dirs)
        self.ok(again)
        self.assertIn("0 new message(s), 0 octets; 5 already fetched", again.stderr.decode())
        self.assertEqual(sorted(os.listdir(os.path.join(maildir, "new"))), names)

    # ----- errors -----

    def test_wrong_password_is_a_typed_error(self):
        wrong = "not-the-password-0xC0FFEE"
        result = self.run_component(["--host", HOST, "--port", str(POP3), "--user", "alice", "list"], password=wrong)
        self.assertEqual(result.returncode, 1)  # WASI 0.2: success or failure only
        err = result.stderr.decode()
        self.assertRegex(err, r'(?m)^pop3: auth: authentication failed \[AUTH\]: server said "Authentication failed\."$')
        self.assertNotIn(wrong, err + result.stdout.decode())

    def test_cleartext_password_refused_without_tls(self):
        result = self.run_component(
            ["--host", HOST, "--port", str(POP3), "--user", "alice", "--auth", "user", "list"], ALICE["password"]
        )
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.decode(), r"(?m)^pop3: usage: refusing to send the password in cleartext")

    def test_untrusted_certificate_is_a_tls_error(self):
        result = self.run_component(
            ["--host", "localhost", "--port", str(POP3S), "--tls", "implicit", "--user", "alice", "list"],
            ALICE["password"],
        )
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.decode(), r"(?m)^pop3: tls: .*not issued by a trusted certificate authority")

    def test_pin(self):
        pin = leaf_pin()
        args = ["--host", HOST, "--port", str(POP3S), "--tls", "implicit", "--user", "alice"]
        out = self.ok(self.run_component(args + ["--pin", pin, "list"], ALICE["password"]))
        self.assertEqual(len(out.splitlines()), 1 + len(ALICE["messages"]))
        wrong = ("00" if pin[:2] != "00" else "11") + pin[2:]
        result = self.run_component(args + ["--pin", wrong, "list"], ALICE["password"])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.decode(), r"(?m)^pop3: tls: ")

    def test_silent_server_times_out(self):
        """A server that accepts the connection and never greets: --timeout bounds the wait,
        through the socket timeouts the component's runtime derives from the client's timers."""
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        accepted = []
        threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
        try:
            started = time.monotonic()
            result = self.run_component(["--host", HOST, "--port", str(listener.getsockname()[1]), "--timeout", "1", "capa"])
            elapsed = time.monotonic() - started
        finally:
            for conn, _ in accepted:
                conn.close()
            listener.close()
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.decode(), r"(?m)^pop3: timeout: ")
        self.assertLess(elapsed, 5)

    # ----- streaming -----

    def test_retr_5mb_streamed_byte_exact(self):
        """RETR of the 5.2 MB message over STLS to stdout, with the component's memory capped
        below the message's size: it can only pass by streaming."""
        big = next(m for m in server_messages(ALICE) if b"Message-ID: <big@example.org>" in m)
        self.assertGreater(len(big), 5_000_000)
        self.assertLess(MEMORY_CAP, len(big))
        result = self.run_component(
            self.tls_args("starttls") + ["--user", "alice", "retr", "4"],
            ALICE["password"],
            {self.ca_dir: "/ca"},
            memory_cap=MEMORY_CAP,
        )
        self.ok(result)
        self.assertEqual(len(result.stdout), len(big))
        self.assertTrue(result.stdout == big, "the message differs from the server's copy")

    # ----- deleting -----

    def test_fetch_delete(self):
        before = server_messages(BOB)
        self.assertEqual(len(before), 2)
        maildir = os.path.join(self.work, "bob-mail")
        os.mkdir(maildir)
        result = self.run_component(
            ["--host", HOST, "--port", str(POP3), "--user", "bob", "fetch", "--maildir", "/mail", "--delete"],
            BOB["password"],
            {maildir: "/mail"},
        )
        self.ok(result)
        self.assertIn("2 new message(s)", result.stderr.decode())
        self.assertIn("2 deleted", result.stderr.decode())
        ours = sorted(read_bytes(os.path.join(maildir, "new", n)) for n in os.listdir(os.path.join(maildir, "new")))
        self.assertEqual(ours, sorted(before))
        self.assertEqual(server_messages(BOB), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
