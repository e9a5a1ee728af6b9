#!/usr/bin/env python3
"""Writes the component tests' mail: DIR/alice/*.eml and DIR/bob/*.eml (LF line ends, as
Dovecot stores them), deterministic. Alice's mailbox has, in order:

  01  plain ASCII headers and body
  02  RFC 2047 subject and sender name (UTF-8 and ISO-8859-1), to see MIME decoding
  03  lines that start with dots (dot-stuffed on the wire)
  04  a 5 MB message: text with dot lines, a base64 attachment of random bytes
  05  no Date, no Subject

Bob has two small messages (the fetch --delete test empties his mailbox).
"""

import base64
import os
import random
import sys

BIG_ATTACHMENT = 3_800_000  # bytes before base64: the message is about 5.2 MB on the wire


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def big_message():
    rnd = random.Random(18)
    head = [
        "From: Big Sender <big@example.org>",
        "To: alice@localhost",
        "Subject: A large one",
        "Date: Tue, 3 Mar 2026 10:00:00 +0000",
        "Message-ID: <big@example.org>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
        "",
        "--b1",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        ".a line that starts with a dot",
        "..two dots",
        ".",
        "the line above is a single dot",
        "--b1",
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="random.bin"',
        "Content-Transfer-Encoding: base64",
        "",
    ]
    data = base64.b64encode(rnd.randbytes(BIG_ATTACHMENT)).decode()
    body = [data[i : i + 76] for i in range(0, len(data), 76)]
    return "\n".join(head + body + ["--b1--", ""])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_mail.py DIR")
    root = sys.argv[1]
    alice = os.path.join(root, "alice")
    bob = os.path.join(root, "bob")
    os.makedirs(alice, exist_ok=True)
    os.makedirs(bob, exist_ok=True)
    write(
        os.path.join(alice, "01.eml"),
        "From: Plain Sender <plain@example.org>\nTo: alice@localhost\nSubject: Plain hello\n"
        "Date: Mon, 2 Mar 2026 08:30:12 +0100\nMessage-ID: <01@example.org>\n\nHello Alice.\n",
    )
    write(
        os.path.join(alice, "02.eml"),
        "From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.org>\nTo: alice@localhost\n"
        "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\nDate: Mon, 2 Mar 2026 09:15:00 +0100\n"
        "Message-ID: <02@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\nGrüße!\n",
    )
    write(
        os.path.join(alice, "03.eml"),
        "From: dots@example.org\nTo: alice@localhost\nSubject: Dots\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n"
        "Message-ID: <03@example.org>\n\n.leading\n..two\n.\n. a dot and a space\n",
    )
    write(os.path.join(alice, "04.eml"), big_message())
    write(
        os.path.join(alice, "05.eml"),
        "From: nodate@example.org\nTo: alice@localhost\nMessage-ID: <05@example.org>\n\nNo date, no subject.\n",
    )
    for i in (1, 2):
        write(
            os.path.join(bob, f"{i:02d}.eml"),
            f"From: friend@example.org\nTo: bob@localhost\nSubject: For Bob {i}\n"
            f"Date: Wed, 4 Mar 2026 12:00:0{i} +0000\nMessage-ID: <bob{i}@example.org>\n\nHi Bob ({i}).\n",
        )


if __name__ == "__main__":
    main()
