#!/usr/bin/env python3
"""Python's poplib fetching every message into a Maildir, the way a simple fetcher would.

    POP3_PASSWORD=... python3 benches/e2e/poplib_maildir.py HOST PORT USER MAILDIR

USER/PASS, STAT, then RETR of every message one at a time (poplib waits for each reply),
each written as received (CRLF line ends, dot-stuffing undone) to MAILDIR/tmp, fsynced and
renamed into MAILDIR/new; new/ is fsynced once at the end; then QUIT. Exit 0 on success.
"""
import os
import poplib
import sys


def main():
    host, port, user, maildir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    pop = poplib.POP3(host, port, timeout=120)
    pop.user(user)
    pop.pass_(os.environ["POP3_PASSWORD"])
    count, _ = pop.stat()
    pid = os.getpid()
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        name = f"{pid}.{i}.poplib"
        tmp = os.path.join(maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(b"\r\n".join(lines) + b"\r\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(maildir, "new", name))
    fd = os.open(os.path.join(maildir, "new"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    pop.quit()


if __name__ == "__main__":
    main()
