#!/usr/bin/env python3
"""delay_proxy: a TCP relay for POP3 on loopback that adds a fixed one-way delay in each
direction and counts the round trips of every session it relays.

    python3 benches/e2e/delay_proxy.py --target 127.0.0.1:PORT --delay-ms 10 --stats FILE

It listens on a free 127.0.0.1 port, prints {"port": N} on stdout once it accepts, and runs
until SIGTERM/SIGINT or until its stdin reaches EOF (so it dies with the process that started
it with a pipe as stdin; --no-stdin to ignore stdin).

The link it models has a fixed latency and no bandwidth limit: every chunk read from one side
is written to the other side --delay-ms later, in order (the connection to the target is
opened --delay-ms after the client's, so connecting and reading the greeting costs one RTT;
the TCP handshake itself is not delayed). Flow control still holds: when one side stops
reading, the proxy stops reading from the other. With --delay-ms 0 bytes are relayed at once.

Round trips
-----------
The proxy reads POP3 as it relays it: each client line is a command (or a SASL response),
each server reply is complete at its status line, or for a multi-line reply (+OK to CAPA,
RETR, TOP, and LIST, UIDL or AUTH without an argument) at its terminating CRLF.CRLF. The
connection's greeting is the reply to connecting.

A session is *drained* when every command delivered to the server so far has been completely
answered and every byte of those answers has been handed to the client (nothing left in the
server-to-client delay line or the proxy's write buffer). A round trip is counted
  - once for connecting (the wait for the greeting), and
  - each time client bytes are delivered to the server while the session is drained:
    the server had gone quiet with nothing unanswered and nothing on its way back, so the
    session had to wait for the client (and, with a delay, for the network).
A serial client (one command, wait for the reply, next command) thus counts one per command
plus one; a client that sends every command in one flight counts one for that flight. At
RTT 0 a client that feeds commands slower than the server answers them is also counted each
time the server waited for it: the count then includes the client's own pauses, not network
round trips. At a delay well above the client's processing time the two coincide.

Stats: at the end of every session one JSON line is appended to --stats FILE:
{"event": "close", "id", "client_port", "seconds", "round_trips", "commands", "replies",
 "bytes_up", "bytes_down", "delay_ms"}; {"event": "open", "id", ...} when it is accepted.
"""

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import sys
import time

MULTI_ALWAYS = {b"CAPA", b"RETR", b"TOP"}
MULTI_WITHOUT_ARG = {b"LIST", b"UIDL", b"AUTH"}
TERMINATOR = b"\r\n.\r\n"
WRITE_BUFFER_HIGH = 1024 * 1024
TIMER_EARLY = 0.0015
MAX_LINE = 64 * 1024  # longer "lines" are not POP3; keep parsing bounded


class Session:
    """One relayed connection: both directions, the delay lines and the POP3 bookkeeping."""

    def __init__(self, proxy, client_transport):
        self.proxy = proxy
        self.id = proxy.next_id()
        self.started = time.monotonic()
        self.delay = proxy.delay
        self.client = client_transport
        self.server = None
        self.client_port = client_transport.get_extra_info("peername")[1]
        # delay lines: deque of (due, bytes or None for EOF)
        self.up = collections.deque()    # client -> server
        self.down = collections.deque()  # server -> client
        self.up_timer = self.down_timer = None
        self.down_pending = 0  # bytes read from the server, not yet handed to the client
        # POP3 bookkeeping
        self.line = b""             # client bytes of a command not yet complete
        self.expect = collections.deque([False])  # per awaited reply: multi-line? (greeting first)
        self.partial_command = False
        self.reply_state = "status"  # or "body"
        self.status = b""
        self.body_tail = b""
        self.round_trips = 1  # connecting
        self.commands = 0
        self.replies = 0
        self.bytes_up = self.bytes_down = 0
        self.client_closed = self.server_closed = False
        self.logged = False
        self.client_paused_by_server = False
        self.server_paused_by_client = False
        proxy.log({"event": "open", "id": self.id, "client_port": self.client_port})

    # -- connecting -------------------------------------------------------------------------

    async def connect(self):
        if self.delay:
            await asyncio.sleep(self.delay)
        loop = asyncio.get_running_loop()
        try:
            self.server, _ = await loop.create_connection(
                lambda: ServerSide(self), self.proxy.target_host, self.proxy.target_port)
        except OSError:
            self.client.abort()
            self.server_closed = True
            self.maybe_done()
            return
        self.flush_up()

    # -- client -> server -------------------------------------------------------------------

    def from_client(self, data):
        self.bytes_up += len(data)
        self.enqueue(self.up, data, "up")

    def client_eof(self):
        self.enqueue(self.up, None, "up")

    def deliver_up(self, data):
        """Client bytes reach the server (after the delay)."""
        if data is None:
            if self.server is not None and not self.server.is_closing():
                if self.server.can_write_eof():
                    self.server.write_eof()
                else:
                    self.server.close()
            return
        if self.drained():
            self.round_trips += 1
        self.parse_commands(data)
        self.server.write(data)

    def drained(self):
        return (not self.expect and not self.partial_command and self.reply_state == "status"
                and not self.status and self.down_pending == 0
                and self.client.get_write_buffer_size() == 0)

    def parse_commands(self, data):
        self.line += data
        while True:
            end = self.line.find(b"\n")
            if end < 0:
                break
            line, self.line = self.line[:end], self.line[end + 1:]
            words = line.strip().split(None, 1)
            verb = words[0].upper() if words else b""
            has_arg = len(words) > 1
            multi = verb in MULTI_ALWAYS or (verb in MULTI_WITHOUT_ARG and not has_arg)
            self.expect.append(multi)
            self.commands += 1
        if len(self.line) > MAX_LINE:
            self.line = self.line[-16:]
        self.partial_command = bool(self.line)

    # -- server -> client -------------------------------------------------------------------

    def from_server(self, data):
        self.bytes_down += len(data)
        self.parse_replies(data)
        self.down_pending += len(data)
        self.enqueue(self.down, data, "down")

    def server_eof(self):
        self.enqueue(self.down, None, "down")

    def deliver_down(self, data):
        if data is None:
            if not self.client.is_closing():
                self.client.close()  # flushes what is buffered first
            return
        self.down_pending -= len(data)
        self.client.write(data)

    def parse_replies(self, data):
        pos = 0
        n = len(data)
        while pos < n:
            if self.reply_state == "status":
                end = data.find(b"\n", pos)
                if end < 0:
                    self.status += data[pos:pos + MAX_LINE]
                    return
                status = self.status + data[pos:end + 1]
                self.status = b""
                pos = end + 1
                multi = self.expect.popleft() if self.expect else False
                if multi and status.startswith(b"+OK"):
                    self.reply_state = "body"
                    self.body_tail = b"\r\n"
                else:
                    self.replies += 1
            else:
                # look for CRLF.CRLF across chunk boundaries without copying the chunk
                tail = self.body_tail
                if tail:
                    probe = tail + data[pos:pos + 4]
                    hit = probe.find(TERMINATOR)
                    if hit >= 0:
                        pos = pos + hit + len(TERMINATOR) - len(tail)
                        self.finish_body()
                        continue
                hit = data.find(TERMINATOR, pos)
                if hit >= 0:
                    pos = hit + len(TERMINATOR)
                    self.finish_body()
                    continue
                self.body_tail = (tail + data[pos:])[-4:] if n - pos < 4 else data[-4:]
                return

    def finish_body(self):
        self.reply_state = "status"
        self.body_tail = b""
        self.replies += 1

    # -- delay lines ------------------------------------------------------------------------

    def enqueue(self, line, data, direction):
        if not self.delay:
            self.deliver(direction, data)
            return
        loop = asyncio.get_running_loop()
        line.append((loop.time() + self.delay, data))
        if direction == "up" and self.up_timer is None:
            self.up_timer = loop.call_at(line[0][0] - TIMER_EARLY, self.flush_up)
        elif direction == "down" and self.down_timer is None:
            self.down_timer = loop.call_at(line[0][0] - TIMER_EARLY, self.flush_down)

    def deliver(self, direction, data):
        if direction == "up":
            if self.server is None:  # not connected yet
                self.up.append((0.0, data))
                return
            self.deliver_up(data)
        else:
            self.deliver_down(data)

    def flush_up(self):
        self.up_timer = None
        if self.server is None:
            return
        self.flush(self.up, self.deliver_up, "up")

    def flush_down(self):
        self.down_timer = None
        self.flush(self.down, self.deliver_down, "down")

    def flush(self, line, deliver, direction):
        # The event loop's timers wake up to a millisecond late (epoll's timeout is in whole
        # milliseconds, rounded up): they are set TIMER_EARLY ahead and the rest is slept here.
        loop = asyncio.get_running_loop()
        now = loop.time()
        if line and now < line[0][0] <= now + TIMER_EARLY:
            time.sleep(line[0][0] - now)
            now = loop.time()
        while line and line[0][0] <= now:
            deliver(line.popleft()[1])
        if line:
            timer = loop.call_at(line[0][0] - TIMER_EARLY, self.flush_up if direction == "up" else self.flush_down)
            if direction == "up":
                self.up_timer = timer
            else:
                self.down_timer = timer

    # -- flow control -----------------------------------------------------------------------

    def client_write_paused(self, paused):
        if self.server is not None and not self.server.is_closing():
            (self.server.pause_reading if paused else self.server.resume_reading)()

    def server_write_paused(self, paused):
        if not self.client.is_closing():
            (self.client.pause_reading if paused else self.client.resume_reading)()

    # -- end --------------------------------------------------------------------------------

    def closed(self, side):
        if side == "client":
            self.client_closed = True
            if self.server is not None and not self.server.is_closing():
                self.enqueue(self.up, None, "up")  # the client is gone: pass its EOF on
        else:
            self.server_closed = True
        self.maybe_done()

    def maybe_done(self):
        if self.logged or not (self.client_closed and self.server_closed):
            return
        self.logged = True
        for t in (self.up_timer, self.down_timer):
            if t is not None:
                t.cancel()
        self.proxy.log({
            "event": "close", "id": self.id, "client_port": self.client_port,
            "seconds": round(time.monotonic() - self.started, 6),
            "round_trips": self.round_trips, "commands": self.commands, "replies": self.replies,
            "bytes_up": self.bytes_up, "bytes_down": self.bytes_down,
            "delay_ms": self.delay * 1000,
        })


class ClientSide(asyncio.Protocol):
    def __init__(self, proxy):
        self.proxy = proxy
        self.session = None

    def connection_made(self, transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self.session = Session(self.proxy, transport)
        asyncio.get_running_loop().create_task(self.session.connect())

    def data_received(self, data):
        self.session.from_client(data)

    def eof_received(self):
        self.session.client_eof()
        return True  # keep our sending half open until the server is done

    def pause_writing(self):
        self.session.client_write_paused(True)

    def resume_writing(self):
        self.session.client_write_paused(False)

    def connection_lost(self, exc):
        self.session.closed("client")


class ServerSide(asyncio.Protocol):
    def __init__(self, session):
        self.session = session

    def connection_made(self, transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)

    def data_received(self, data):
        self.session.from_server(data)

    def eof_received(self):
        self.session.server_eof()
        return False

    def pause_writing(self):
        self.session.server_write_paused(True)

    def resume_writing(self):
        self.session.server_write_paused(False)

    def connection_lost(self, exc):
        if not self.session.down or self.session.down[-1][1] is not None:
            self.session.server_eof()
        self.session.closed("server")


class Proxy:
    def __init__(self, target_host, target_port, delay_ms, stats_path):
        self.target_host, self.target_port = target_host, target_port
        self.delay = delay_ms / 1000
        self.stats = open(stats_path, "a", buffering=1) if stats_path else None
        self._ids = 0

    def next_id(self):
        self._ids += 1
        return self._ids

    def log(self, record):
        if self.stats:
            self.stats.write(json.dumps(record) + "\n")


async def main_async(args):
    host, _, port = args.target.rpartition(":")
    proxy = Proxy(host or "127.0.0.1", int(port), args.delay_ms, args.stats)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ClientSide(proxy), "127.0.0.1", args.port,
                                      reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if not args.no_stdin:
        def on_stdin():
            if not os.read(sys.stdin.fileno(), 4096):
                loop.remove_reader(sys.stdin.fileno())
                stop.done() or stop.set_result(None)
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    await stop
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", required=True, metavar="HOST:PORT")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay (RTT = 2x)")
    ap.add_argument("--port", type=int, default=0, help="listening port (default: a free one)")
    ap.add_argument("--stats", metavar="FILE", help="append one JSON line per session event")
    ap.add_argument("--no-stdin", action="store_true", help="ignore stdin")
    args = ap.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
