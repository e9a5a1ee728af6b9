#!/usr/bin/env python3
"""A scripted POP3 server for misbehaviour real servers do not show, used by the browser
tests (behind websockify) and anything else that is not Rust.

    python3 tests/support/fake_pop3.py --scenario cut-mid-message [--port N]

Prints {"port": N} on one line, serves connections until stdin closes. Scenarios:
  cut-mid-message  greets, accepts any login, answers RETR with half a message, then closes.
  silent           greets, accepts any login, then never answers again.
  in-use-then-ok   the first login of the server's lifetime is refused at PASS with
                   `-ERR [IN-USE] locked` (a mailbox locked by another session); later
                   ones succeed, with an empty mailbox (STAT, LIST, UIDL, QUIT work).
  auth-fail        every PASS is refused with `-ERR [AUTH] invalid password`.
Both of the last two announce RESP-CODES and AUTH-RESP-CODE, and log every command as
`{"session": N, "command": "..."}` lines on stderr (PASS without its argument).
"""
import argparse
import asyncio
import json
import sys

BODY = b"Subject: cut short\r\n\r\n" + b"".join(b"line %d of a message that never ends\r\n" % i for i in range(200))


LOGINS = {"count": 0}
SESSIONS = {"count": 0}


async def mailbox_session(reader, writer, scenario):
    """in-use-then-ok and auth-fail: a well-behaved server with an empty mailbox, whose PASS
    answers as the scenario says."""
    SESSIONS["count"] += 1
    number = SESSIONS["count"]
    writer.write(b"+OK fake server ready\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.split(b" ", 1)[0].strip().upper()
        logged = "PASS" if cmd == b"PASS" else line.decode("latin-1").strip()
        print(json.dumps({"session": number, "command": logged}), file=sys.stderr, flush=True)
        if cmd == b"CAPA":
            writer.write(b"+OK\r\nUSER\r\nUIDL\r\nTOP\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n")
        elif cmd in (b"USER", b"NOOP", b"RSET"):
            writer.write(b"+OK\r\n")
        elif cmd == b"PASS":
            LOGINS["count"] += 1
            if scenario == "auth-fail":
                writer.write(b"-ERR [AUTH] invalid password\r\n")
            elif LOGINS["count"] == 1:
                writer.write(b"-ERR [IN-USE] locked\r\n")
            else:
                writer.write(b"+OK logged in\r\n")
        elif cmd == b"STAT":
            writer.write(b"+OK 0 0\r\n")
        elif cmd in (b"LIST", b"UIDL"):
            if b" " in line.strip():
                writer.write(b"-ERR no such message\r\n")
            else:
                writer.write(b"+OK 0 messages\r\n.\r\n")
        elif cmd == b"QUIT":
            writer.write(b"+OK bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()
    writer.close()


async def session(reader, writer, scenario):
    if scenario in ("in-use-then-ok", "auth-fail"):
        return await mailbox_session(reader, writer, scenario)
    writer.write(b"+OK fake server ready\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.split(b" ", 1)[0].strip().upper()
        if cmd == b"CAPA":
            writer.write(b"+OK\r\nUSER\r\n.\r\n")
        elif cmd in (b"USER", b"PASS", b"NOOP"):
            writer.write(b"+OK\r\n")
        elif cmd == b"QUIT":
            writer.write(b"+OK bye\r\n")
            await writer.drain()
            break
        elif scenario == "silent":
            await asyncio.sleep(3600)
        elif cmd == b"RETR":
            writer.write(b"+OK %d octets\r\n" % len(BODY) + BODY[: len(BODY) // 2])
            await writer.drain()
            break
        else:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()
    writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=["cut-mid-message", "silent", "in-use-then-ok", "auth-fail"], required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: session(r, w, args.scenario), "127.0.0.1", args.port)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop = asyncio.get_running_loop()
    # Stop when stdin closes, so the server dies with whoever started it.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
