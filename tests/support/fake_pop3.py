#!/usr/bin/env python3
"""A scripted POP3 server for misbehaviour real servers do not show, used by the browser
tests (behind websockify) and anything else that is not Rust.

    python3 tests/support/fake_pop3.py --scenario cut-mid-message [--port N]

Prints {"port": N} on one line, serves connections until stdin closes. Scenarios:
  cut-mid-message  greets, accepts any login, answers RETR with half a message, then closes.
  silent           greets, accepts any login, then never answers again.
"""
import argparse
import asyncio
import json
import sys

BODY = b"Subject: cut short\r\n\r\n" + b"".join(b"line %d of a message that never ends\r\n" % i for i in range(200))


async def session(reader, writer, scenario):
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
    parser.add_argument("--scenario", choices=["cut-mid-message", "silent"], required=True)
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
