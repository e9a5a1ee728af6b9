#!/usr/bin/env python3
"""End-to-end fetch benchmark: whole client processes fetching a real Dovecot mailbox into a
Maildir, through a delay proxy, side by side in one run.

    python3 benches/e2e/bench.py [--rounds 5] [--big-rounds 3] [--sizes 4k,1m,100m]
                                 [--rtt 0,20] [--clients cli,native,mpop,poplib]
                                 [--json artifacts/bench-e2e.json]

(`./run bench` runs it with the defaults; `./run bench e2e [options]` runs only this one.)

Mailboxes (generated, deterministic): 500 x 4 KB, 50 x 1 MB and 1 x 100 MB, each message
with real-looking headers, a short text part (some lines start with dots) and a base64
attachment. Each size is a suite: one Dovecot (tests/support/mailstack.py) with that mailbox,
and two delay proxies (benches/e2e/delay_proxy.py) in front of it: 0 ms and RTT/2 each way.

Clients, each a child process, each round into a fresh Maildir:
  cli     node pkg/bin/pop3.js ... --auth user --allow-cleartext -v fetch --maildir DIR
  native  target/release/examples/pop3 ... --auth user --allow-cleartext fetch DIR
  mpop    mpop -C RC (generated: tls off, auth user, delivery maildir DIR, keep on,
          received_header off so the message is stored unchanged, a fresh uidls_file)
  poplib  benches/e2e/poplib_maildir.py (RETR one at a time, fsync, rename into new/)
The password is given as POP3_PASSWORD (mpop: in its 0600 rc file).

Each suite first runs every client once untimed (Dovecot builds its index and caches then;
the round is verified like the others). Then, per RTT, N rounds; in each round every client
runs once, in an order rotated by round, so the clients are paired per round. A round is
timed with a monotonic clock around posix_spawn .. os.wait4 (a blocking wait; no polling);
the child runs under /usr/bin/time, whose report of its ru_maxrss is the peak RSS. A round
counts only when the client exited 0 and the Maildir holds exactly the mailbox's messages,
byte for byte (compared with the server's files, with LF or CRLF line ends); otherwise it
gets no time.

Round trips are counted by the proxy (see delay_proxy.py: one for connecting, plus one each
time client bytes reach the server while every command had been answered and the answers
delivered); "own" is the count the client prints itself, where it prints one.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
MAILSTACK = os.path.join(REPO, "tests", "support", "mailstack.py")
PROXY = os.path.join(HERE, "delay_proxy.py")
POPLIB = os.path.join(HERE, "poplib_maildir.py")
CLI = os.path.join(REPO, "pkg", "bin", "pop3.js")
NATIVE = os.path.join(REPO, "target", "release", "examples", "pop3")

KB, MB = 1024, 1024 * 1024
SIZES = {
    "4k": {"label": "500 × 4 KB", "count": 500, "size": 4 * KB},
    "1m": {"label": "50 × 1 MB", "count": 50, "size": MB},
    "100m": {"label": "1 × 100 MB", "count": 1, "size": 100 * MB},
}
CLIENTS = ("cli", "native", "mpop", "poplib")
CLIENT_NAMES = {
    "cli": "`pop3` CLI (Node)",
    "native": "native example",
    "mpop": "mpop",
    "poplib": "Python poplib",
}
CHILD_TIMEOUT = 300
TIME = "/usr/bin/time"


# ---------------------------------------------------------------------------------------------
# mailboxes


def _date(i):
    t = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=7 * i)
    return t.strftime("%a, %d %b %Y %H:%M:%S +0000")


def message(kind, i, size):
    """A deterministic multipart message of about `size` bytes (LF line ends): real-looking
    headers, a text part with dot-leading lines, and a base64 attachment filling the rest."""
    tag = hashlib.sha256(f"{kind}-{i}".encode()).hexdigest()
    boundary = f"=_bench_{tag[:24]}"
    mx = i % 4 + 1
    head = (
        f"Return-Path: <sender{i}@mail.example.org>\n"
        f"Delivered-To: alice@example.net\n"
        f"Received: from mx{mx}.mail.example.org (mx{mx}.mail.example.org [192.0.2.{i % 250 + 1}])\n"
        f"\tby pop.example.net (Postfix) with ESMTPS id {tag[24:34].upper()}\n"
        f"\tfor <alice@example.net>; {_date(i)}\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mail.example.org; s=s1;\n"
        f"\th=from:to:subject:date:message-id; bh={base64.b64encode(bytes.fromhex(tag)).decode()};\n"
        f"\tb={base64.b64encode(hashlib.sha512(tag.encode()).digest()).decode()}\n"
        f"Date: {_date(i)}\n"
        f"From: \"Sender {i}\" <sender{i}@mail.example.org>\n"
        f"To: Alice <alice@example.net>\n"
        f"Subject: Report {i} of {kind}: figures for the quarter\n"
        f"Message-ID: <{tag[:32]}@mail.example.org>\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n"
        f"\n"
        f"This is a multi-part message in MIME format.\n"
        f"\n"
        f"--{boundary}\n"
        f"Content-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 7bit\n"
        f"\n"
        f"Hello Alice,\n"
        f"\n"
        f"attached is report {i}.\n"
        f".\n"
        f"..a line that starts with two dots\n"
        f".a line that starts with one\n"
        f"\n"
        f"Regards,\n"
        f"Sender {i}\n"
        f"\n"
        f"--{boundary}\n"
        f"Content-Type: application/pdf; name=\"report-{i}.pdf\"\n"
        f"Content-Disposition: attachment; filename=\"report-{i}.pdf\"\n"
        f"Content-Transfer-Encoding: base64\n"
        f"\n"
    ).encode()
    tail = f"\n--{boundary}--\n".encode()
    lines = max(1, (size - len(head) - len(tail)) // 77)  # 57 bytes -> 76 characters + LF
    return head, lines, tail, tag


def write_message(path, kind, i, size):
    head, lines, tail, tag = message(kind, i, size)
    block_lines = 13_617  # about 1 MB of base64 per block
    seed = hashlib.sha256(f"attachment {tag}".encode()).digest()
    with open(path, "wb") as f:
        f.write(head)
        done, n = 0, 0
        while done < lines:
            k = min(block_lines, lines - done)
            f.write(base64.encodebytes(hashlib.shake_256(seed + n.to_bytes(4, "big")).digest(57 * k)))
            done += k
            n += 1
        f.write(tail)


def make_mailbox(root, key):
    spec = SIZES[key]
    d = os.path.join(root, f"mail-{key}")
    os.makedirs(d, exist_ok=True)
    for i in range(1, spec["count"] + 1):
        write_message(os.path.join(d, f"{i:04d}.eml"), key, i, spec["size"])
    return d


# ---------------------------------------------------------------------------------------------
# expected contents and verification


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def server_messages(maildir):
    """{sha256: message key} for every message file the server holds, in LF and CRLF form,
    and {size: ...} for a quick reject. Read before any client has touched the mailbox."""
    by_hash, sizes, keys = {}, set(), []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            crlf = data.replace(b"\n", b"\r\n")
            key = len(keys)
            keys.append(name)
            for form in (data, crlf):
                by_hash[_sha(form)] = key
                sizes.add(len(form))
    return {"by_hash": by_hash, "sizes": sizes, "count": len(keys)}


def _file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def verify_maildir(maildir, expected):
    """None when the Maildir holds exactly the expected messages, else why not."""
    files = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            files += [os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")]
    if len(files) != expected["count"]:
        return f"{len(files)} messages in the Maildir, expected {expected['count']}"
    seen = collections.Counter()
    for path in files:
        if os.path.getsize(path) not in expected["sizes"]:
            return f"{os.path.basename(path)}: size {os.path.getsize(path)} matches no message"
        key = expected["by_hash"].get(_file_sha(path))
        if key is None:
            return f"{os.path.basename(path)}: contents match no message"
        seen[key] += 1
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        return f"{len(dup)} messages stored twice"
    return None


# ---------------------------------------------------------------------------------------------
# processes


def spawn_timed(argv, env, out_path, err_path, rss_path, cwd=REPO, timeout=CHILD_TIMEOUT):
    """Runs argv to completion; returns (wall seconds, exit code, peak RSS in KiB).

    The wall time is a monotonic clock around posix_spawn .. wait4, which blocks until the
    child ends (no polling). The child runs under /usr/bin/time, whose %M (the command's
    ru_maxrss) is the peak RSS: a process forked from this Python process would report at
    least this process's own RSS (Linux carries the parent's high-water mark across exec),
    /usr/bin/time's is about 2 MB. Its fork and exec add about a millisecond to every client."""
    exe = shutil.which(argv[0]) or argv[0]
    wrapped = [TIME, "-f", "%M", "-o", rss_path, exe, *argv[1:]]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        t0 = time.monotonic()
        pid = os.posix_spawn(TIME, wrapped, env, file_actions=actions, setpgroup=0)
    finally:
        os.chdir(old)
    killer = threading.Timer(timeout, lambda: _kill_group(pid))
    killer.start()
    _, status, _ = os.wait4(pid, 0)
    t1 = time.monotonic()
    killer.cancel()
    maxrss = None
    try:
        with open(rss_path) as f:
            numbers = [l.strip() for l in f if l.strip().isdigit()]
        maxrss = int(numbers[-1]) if numbers else None
    except OSError:
        pass
    return t1 - t0, os.waitstatus_to_exitcode(status), maxrss


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Service:
    """A helper process started with a pipe as stdin (it exits when the pipe closes) that
    prints one JSON line when ready."""

    def __init__(self, argv, name, log_path):
        self.name = name
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, cwd=REPO)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.flush()
            with open(log_path, "rb") as f:
                tail = f.read()[-3000:].decode("utf-8", "replace")
            raise SystemExit(f"{name} failed to start (exit {self.proc.returncode}):\n{tail}")
        self.info = json.loads(line)

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()
        self.log.close()


class ProxyStats:
    """Reads the proxy's stats file: the sessions of one child run."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        open(path, "a").close()

    def collect(self, wait=10.0):
        """Every session opened since the last call, once all of them have closed."""
        deadline = time.monotonic() + wait
        opened, closed = set(), {}
        while True:
            with open(self.path) as f:
                f.seek(self.offset)
                text = f.read()
            lines = text.split("\n")
            complete = lines[:-1]
            for line in complete:
                rec = json.loads(line)
                (opened.add(rec["id"]) if rec["event"] == "open" else closed.__setitem__(rec["id"], rec))
            self.offset += sum(len(x) + 1 for x in complete)
            if opened and opened <= set(closed):
                return [closed[i] for i in sorted(opened)]
            if time.monotonic() > deadline:
                return [closed[i] for i in sorted(opened) if i in closed] or None
            time.sleep(0.01)


# ---------------------------------------------------------------------------------------------
# clients


def client_argv(client, port, password, maildir, rundir):
    env = dict(os.environ)
    env["POP3_PASSWORD"] = password
    if client == "cli":
        argv = ["node", CLI, "--host", "127.0.0.1", "--port", str(port), "--user", "alice",
                "--auth", "user", "--allow-cleartext", "-v", "fetch", "--maildir", maildir]
    elif client == "native":
        argv = [NATIVE, "--host", "127.0.0.1", "--port", str(port), "--user", "alice",
                "--auth", "user", "--allow-cleartext", *native_fetch(maildir)]
    elif client == "mpop":
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        rc = os.path.join(rundir, "mpoprc")
        with open(rc, "w") as f:
            f.write("defaults\n"
                    "account bench\n"
                    "host 127.0.0.1\n"
                    f"port {port}\n"
                    "tls off\n"
                    "auth user\n"
                    "user alice\n"
                    f"password {password}\n"
                    f"delivery maildir {maildir}\n"
                    "keep on\n"
                    "received_header off\n"
                    f"uidls_file {os.path.join(rundir, 'mpop-uidls')}\n"
                    "account default : bench\n")
        os.chmod(rc, 0o600)
        argv = ["mpop", "-C", rc, "-q"]
    elif client == "poplib":
        argv = [sys.executable, POPLIB, "127.0.0.1", str(port), "alice", maildir]
    else:
        raise ValueError(client)
    return argv, env


_native_usage = None


def native_fetch(maildir):
    """The native example's fetch-into-Maildir command as its usage spells it: `fetch DIR`
    today; `fetch --maildir DIR` if it comes to take the CLI's form."""
    global _native_usage
    if _native_usage is None:
        out = subprocess.run([NATIVE, "--help"], capture_output=True, text=True, timeout=20)
        _native_usage = out.stdout + out.stderr
    if re.search(r"fetch\s+--maildir", _native_usage):
        return ["fetch", "--maildir", maildir]
    return ["fetch", maildir]


ROUND_TRIPS_RE = re.compile(rb"(\d+) round trips?")


def run_round(client, port, password, expected, stats, workdir, tag):
    rundir = os.path.join(workdir, "runs", tag)
    os.makedirs(rundir)
    maildir = os.path.join(rundir, "Maildir")
    argv, env = client_argv(client, port, password, maildir, rundir)
    out, err = os.path.join(rundir, "stdout"), os.path.join(rundir, "stderr")
    wall, code, maxrss = spawn_timed(argv, env, out, err, os.path.join(rundir, "maxrss"))
    sessions = stats.collect()
    result = {"wall_s": round(wall, 6), "exit": code, "maxrss_kb": maxrss,
              "proxy_round_trips": sum(s["round_trips"] for s in sessions) if sessions else None,
              "sessions": len(sessions) if sessions else 0,
              "bytes_down": sum(s["bytes_down"] for s in sessions) if sessions else None}
    with open(err, "rb") as f:
        found = ROUND_TRIPS_RE.findall(f.read())
    result["own_round_trips"] = int(found[-1]) if found else None
    problem = f"exit code {code}" if code != 0 else verify_maildir(maildir, expected)
    if problem is None and not sessions:
        problem = "the proxy saw no complete session"
    result["ok"] = problem is None
    if problem is not None:
        result["problem"] = problem
        with open(err, "rb") as f:
            result["stderr_tail"] = f.read()[-600:].decode("utf-8", "replace")
        result["kept"] = rundir
    else:
        shutil.rmtree(rundir)
    return result


# ---------------------------------------------------------------------------------------------
# suite


def run_suite(key, args, workdir, mail_root, log):
    spec = SIZES[key]
    rounds = args.big_rounds if spec["size"] >= 50 * MB else args.rounds
    t_suite = time.monotonic()
    mail = make_mailbox(mail_root, key)
    stack = Service([sys.executable, MAILSTACK, "--mail", mail, "--workdir", workdir],
                    "mailstack", os.path.join(workdir, f"mailstack-{key}.log"))
    shutil.rmtree(mail)  # delivered: the server has its own copy
    proxies = {}
    try:
        info = stack.info
        password = info["users"]["alice"]["password"]
        expected = server_messages(info["users"]["alice"]["maildir"])
        octets = sum(m["octets"] for m in info["users"]["alice"]["messages"])
        log(f"\n== {spec['label']}: {expected['count']} messages, {octets} octets as POP3 sends them; "
            f"{rounds} rounds per RTT ==")
        for rtt in args.rtts:
            stats_path = os.path.join(workdir, f"proxy-{key}-{rtt}.jsonl")
            p = Service([sys.executable, PROXY, "--target", f"127.0.0.1:{info['pop3_port']}",
                         "--delay-ms", str(rtt / 2), "--stats", stats_path],
                        f"delay proxy {rtt} ms", os.path.join(workdir, f"proxy-{key}-{rtt}.log"))
            proxies[rtt] = (p, ProxyStats(stats_path))
        result = {"label": spec["label"], "messages": expected["count"], "octets": octets,
                  "rounds": rounds, "warmup": {}, "rtt": {}}
        # warm-up: every client once, through the RTT-0 proxy
        warm_rtt = min(args.rtts)
        for client in args.clients:
            p, st = proxies[warm_rtt]
            r = run_round(client, p.info["port"], password, expected, st, workdir,
                          f"{key}-warmup-{client}")
            result["warmup"][client] = r
            log(f"  warm-up {client:<7} {r['wall_s'] * 1e3:8.1f} ms  "
                + ("ok" if r["ok"] else f"FAILED: {r['problem']}"))
        for rtt in args.rtts:
            p, st = proxies[rtt]
            per = {c: [] for c in args.clients}
            for rnd in range(rounds):
                order = args.clients[rnd % len(args.clients):] + args.clients[:rnd % len(args.clients)]
                for client in order:
                    r = run_round(client, p.info["port"], password, expected, st, workdir,
                                  f"{key}-{rtt}-{rnd}-{client}")
                    r["round"] = rnd
                    per[client].append(r)
                line = "  ".join(
                    f"{c} {per[c][-1]['wall_s'] * 1e3:.0f}" + ("" if per[c][-1]["ok"] else "!")
                    for c in args.clients)
                log(f"  RTT {rtt:>2} ms round {rnd + 1}/{rounds}: {line} ms   (load {os.getloadavg()[0]:.2f})")
            result["rtt"][str(rtt)] = summarize(per, args.clients)
        result["seconds"] = round(time.monotonic() - t_suite, 1)
        return result
    finally:
        for p, _ in proxies.values():
            p.stop()
        stack.stop()


def _median(xs):
    return statistics.median(xs) if xs else None


def summarize(per, clients):
    out = {}
    base = {r["round"]: r for r in per.get("mpop", []) if r["ok"]}
    for c in clients:
        runs = per[c]
        ok = [r for r in runs if r["ok"]]
        ratios = [r["wall_s"] / base[r["round"]]["wall_s"] for r in ok if r["round"] in base]
        for r in runs:
            if r["ok"] and r["round"] in base:
                r["ratio_to_mpop"] = round(r["wall_s"] / base[r["round"]]["wall_s"], 4)
        rts = [r["proxy_round_trips"] for r in ok if r["proxy_round_trips"] is not None]
        own = [r["own_round_trips"] for r in ok if r["own_round_trips"] is not None]
        out[c] = {
            "runs": runs,
            "ok_rounds": len(ok),
            "median_wall_s": _median([r["wall_s"] for r in ok]),
            "median_ratio_to_mpop": _median(ratios),
            "median_maxrss_kb": _median([r["maxrss_kb"] for r in ok if r["maxrss_kb"] is not None]),
            "round_trips": {"median": _median(rts), "min": min(rts, default=None), "max": max(rts, default=None)},
            "own_round_trips": {"median": _median(own), "min": min(own, default=None), "max": max(own, default=None)},
        }
    return out


# ---------------------------------------------------------------------------------------------
# report


def _fmt_ms(s):
    if s is None:
        return "—"
    ms = s * 1e3
    return f"{ms:.0f} ms" if ms < 10_000 else f"{s:.1f} s"


def _fmt_range(d):
    if d["median"] is None:
        return "—"
    if d["min"] == d["max"]:
        return f"{d['min']}"
    return f"{d['min']}–{d['max']}"


def table(suite, clients, rtts):
    rows = ["| client | RTT | median wall | ÷ mpop (paired) | peak RSS | round trips (proxy) | own count | rounds ok |",
            "|---|---|---|---|---|---|---|---|"]
    for c in clients:
        for rtt in rtts:
            s = suite["rtt"][str(rtt)][c]
            n = len(s["runs"])
            ratio = "—" if s["median_ratio_to_mpop"] is None else f"{s['median_ratio_to_mpop']:.2f}"
            rss = "—" if s["median_maxrss_kb"] is None else f"{s['median_maxrss_kb'] / 1024:.0f} MB"
            ok = f"{s['ok_rounds']}/{n}" if s["ok_rounds"] == n else f"**{s['ok_rounds']}/{n}**"
            rows.append(f"| {CLIENT_NAMES[c]} | {rtt} ms | {_fmt_ms(s['median_wall_s'])} | {ratio} | {rss} "
                        f"| {_fmt_range(s['round_trips'])} | {_fmt_range(s['own_round_trips'])} | {ok} |")
    return "\n".join(rows)


def _version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        pass
    git = lambda *a: subprocess.run(["git", "-C", REPO, *a], capture_output=True, text=True).stdout.strip()
    wasm = os.path.join(os.path.dirname(CLI), "..", "wasm", "pop3_wasm_bg.wasm")
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(),
        "kernel": platform.release(), "loadavg_start": os.getloadavg(),
        "commit": git("rev-parse", "--short", "HEAD"),
        # uncommitted changes to what is measured (README edits do not count)
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "examples",
                          "pkg/src", "pkg/bin", "benches", "Cargo.toml", "Cargo.lock")),
        "cli": os.path.relpath(CLI, REPO), "native": os.path.relpath(NATIVE, REPO),
        "node": _version(["node", "--version"]), "python": platform.python_version(),
        "mpop": _version(["mpop", "--version"]), "dovecot": _version(["dovecot", "--version"]),
        "wasm_module": {"bytes": os.path.getsize(wasm), "mtime": datetime.datetime.fromtimestamp(
            os.path.getmtime(wasm), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        if os.path.exists(wasm) else None,
    }


def main():
    global CLI, NATIVE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per client and RTT (default 5)")
    ap.add_argument("--big-rounds", type=int, default=3, help="rounds for the 100 MB mailbox (default 3)")
    ap.add_argument("--sizes", default="4k,1m,100m", help="comma-separated: 4k, 1m, 100m")
    ap.add_argument("--rtt", default="0,20", help="comma-separated RTTs in ms (default 0,20)")
    ap.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated: " + ", ".join(CLIENTS))
    ap.add_argument("--json", default=os.path.join(REPO, "artifacts", "bench-e2e.json"),
                    help="where to write the results (default artifacts/bench-e2e.json)")
    ap.add_argument("--cli", default=CLI, help="the pop3 CLI to run (default pkg/bin/pop3.js of this tree)")
    ap.add_argument("--native", default=NATIVE, help="the native example to run (default target/release/examples/pop3)")
    ap.add_argument("--workdir", help="parent of the scratch directory (default: the system's)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    CLI, NATIVE = os.path.abspath(args.cli), os.path.abspath(args.native)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    args.rtts = [int(x) for x in args.rtt.split(",") if x.strip()]
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    for s in args.sizes:
        if s not in SIZES:
            ap.error(f"unknown size {s}")
    for c in args.clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c}")
    missing = [what for what, ok in (
        ("the native example (cargo build --release --example pop3)", "native" not in args.clients or os.access(NATIVE, os.X_OK)),
        ("the npm package's wasm (scripts/build-pkg.sh)", "cli" not in args.clients or os.path.exists(os.path.join(os.path.dirname(CLI), "..", "wasm", "pop3_wasm_bg.wasm"))),
        ("mpop (apt-get install mpop)", "mpop" not in args.clients or shutil.which("mpop")),
        ("node", "cli" not in args.clients or shutil.which("node")),
        ("/usr/bin/time (apt-get install time)", os.access(TIME, os.X_OK)),
    ) if not ok]
    if missing:
        raise SystemExit("bench-e2e: missing " + "; ".join(missing))

    command = "python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO)] + sys.argv[1:])
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="pop3-bench-e2e-", dir=args.workdir)
    os.chmod(workdir, 0o755)  # dovecot's unprivileged processes reach the stack below it
    info = machine_info()

    def log(msg):
        print(msg, flush=True)

    log(f"bench-e2e: {command}")
    log(f"  {info['date_utc']}, {info['cores']} cores ({info['cpu']}), load {info['loadavg_start'][0]:.2f}; "
        f"commit {info['commit']}{' (dirty)' if info['dirty'] else ''}; node {info['node']}, {info['mpop']}")
    results = {"command": command, "machine": info,
               "config": {"rounds": args.rounds, "big_rounds": args.big_rounds, "rtt_ms": args.rtts,
                          "clients": args.clients, "sizes": args.sizes},
               "round_trip_definition": (
                   "counted by the delay proxy: 1 for connecting (the greeting), plus 1 each time client "
                   "bytes reach the server while every command delivered so far has been completely "
                   "answered and all of the answers have been handed to the client"),
               "suites": {}}
    ok = True
    try:
        for key in args.sizes:
            results["suites"][key] = run_suite(key, args, workdir, workdir, log)
    finally:
        results["seconds"] = round(time.monotonic() - started, 1)
        results["machine"]["loadavg_end"] = os.getloadavg()
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        if not args.keep and not any(
                r.get("kept") for s in results["suites"].values()
                for rtt in s["rtt"].values() for c in rtt.values() for r in c["runs"]):
            shutil.rmtree(workdir, ignore_errors=True)

    log("")
    log(f"Measured {info['date_utc']} on {info['host']} ({info['cores']} cores, {info['cpu']}), "
        f"commit {info['commit']}{' + uncommitted changes' if info['dirty'] else ''}; "
        f"{results['seconds']:.0f} s in all.")
    log(f"Command: `{command}`")
    for key, suite in results["suites"].items():
        log(f"\n{suite['label']} ({suite['octets'] / MB:.1f} MB as sent), median of {suite['rounds']} rounds:\n")
        log(table(suite, args.clients, args.rtts))
        for rtt, per in suite["rtt"].items():
            for c, s in per.items():
                for r in s["runs"]:
                    if not r["ok"]:
                        ok = False
                        log(f"  {c}, RTT {rtt}, round {r['round'] + 1}: {r['problem']} (kept {r['kept']})")
    log("\nround trips (proxy): 1 for connecting, plus 1 each time client bytes reached the server while "
        "every command had been answered and the answers delivered (benches/e2e/delay_proxy.py).")
    log("own count: what the client itself prints (pop3 -v, the native example); peak RSS: the client's ru_maxrss (/usr/bin/time %M).")
    log(f"JSON: {os.path.relpath(args.json, REPO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
