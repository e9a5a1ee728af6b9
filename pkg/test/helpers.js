// Test helpers: real servers from tests/support/mailstack.py, sample mail, and a scripted
// server for the one misbehaviour real servers do not show (stalling mid-message).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a mail stack; resolves to its JSON description plus stop(). */
export function startStack(args = []) {
  const child = spawn('python3', [join(repo, 'tests/support/mailstack.py'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const info = JSON.parse(out.slice(0, nl));
        info.stop = () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', done);
          child.stdin.end();
        });
        info.password = (user = 'alice') => info.users[user].password;
        info.maildir = (user = 'alice') => info.users[user].maildir;
        resolve(info);
      }
    });
    child.once('exit', (code) => reject(new Error(`mailstack exited with ${code} before starting`)));
  });
}

/** Generates the sample mailbox into a temporary directory; returns its path and cleanup. */
export function sampleMail(largeMb = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-sample-'));
  execFileSync('python3', [join(repo, 'tests/fixtures/make_sample_mail.py'), dir, '--large-mb', String(largeMb)], { stdio: 'ignore' });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Delivers files into a running stack's maildir. */
export function deliver(maildir, files) {
  execFileSync('python3', [join(repo, 'tests/support/mailstack.py'), 'deliver', '--maildir', maildir, ...files], { stdio: 'ignore' });
}

/** A minimal POP3 server that stalls in the middle of RETR 2 and records every command. */
export function stallingServer() {
  const commands = [];
  let onStall = () => {};
  const stalled = new Promise((resolve) => { onStall = resolve; });
  let closed = () => {};
  const connectionClosed = new Promise((resolve) => { closed = resolve; });
  const server = net.createServer((socket) => {
    socket.write('+OK fake POP3 ready\r\n');
    let buffer = '';
    socket.on('close', () => closed());
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buffer += data.toString('latin1');
      let nl;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const [verb, arg] = line.split(' ');
        commands.push(verb.toUpperCase() === 'PASS' ? 'PASS' : line);
        switch (verb.toUpperCase()) {
          case 'CAPA': socket.write('+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n'); break;
          case 'USER': case 'PASS': case 'NOOP': case 'DELE': case 'RSET': socket.write('+OK\r\n'); break;
          case 'STAT': socket.write('+OK 2 2000\r\n'); break;
          case 'LIST': socket.write('+OK\r\n1 40\r\n2 1960\r\n.\r\n'); break;
          case 'UIDL': socket.write('+OK\r\n1 uid-1\r\n2 uid-2\r\n.\r\n'); break;
          case 'RETR':
            if (arg === '1') socket.write('+OK\r\nSubject: one\r\n\r\nbody one\r\n.\r\n');
            else { socket.write('+OK\r\nSubject: two\r\n\r\nthe rest never comes'); onStall(); }
            break;
          case 'QUIT': socket.end('+OK bye\r\n'); break;
          default: socket.write('-ERR unknown command\r\n');
        }
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port, commands, stalled, connectionClosed, close: () => new Promise((r) => server.close(r)),
    }));
  });
}

/**
 * A scripted POP3 server for misbehaviour real servers do not show. `respond(command, socket,
 * conn)` answers each command line (`conn` is per-connection state: `{ commands }`); return
 * nothing to say nothing. The greeting is `greeting`. Resolves to { port, connections, close };
 * each connection has `openedAt`, the performance.now() when it was accepted.
 * USER/PASS/CAPA get default answers unless `respond` returns true for having answered.
 */
export function scriptedServer(respond, { greeting = '+OK scripted server ready\r\n' } = {}) {
  const connections = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    const conn = { commands: [], closed: false, socket, openedAt: performance.now() };
    conn.closedPromise = new Promise((resolve) => socket.once('close', () => { conn.closed = true; resolve(); }));
    connections.push(conn);
    sockets.add(socket);
    socket.on('error', () => {});
    socket.write(greeting);
    let buffer = '';
    socket.on('data', (data) => {
      buffer += data.toString('latin1');
      let nl;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        conn.commands.push(line);
        if (respond(line, socket, conn)) continue;
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'CAPA') socket.write('+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n');
        else if (verb === 'USER' || verb === 'PASS' || verb === 'NOOP') socket.write('+OK\r\n');
        else if (verb === 'QUIT') socket.end('+OK bye\r\n');
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      connections,
      close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
    }));
  });
}

/** Writes `unit` again and again on `socket` until the peer closes (a reply without end). */
export function writeForever(socket, unit) {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += unit.length) Buffer.from(unit, 'latin1').copy(chunk, i);
  let written = 0;
  const pump = () => {
    while (!socket.destroyed && socket.writable) {
      written += chunk.length;
      if (!socket.write(chunk)) { socket.once('drain', pump); return; }
    }
  };
  pump();
  return () => written;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** Waits until something accepts connections on 127.0.0.1:`port`. */
export async function waitForPort(port, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A proxy to 127.0.0.1:`target`. `cutFor(n)` (n: the connection's number, from 0) returns
 * { serverBytes, how } to cut that connection, or null to relay it untouched. A cut
 * connection is relayed until the client sends a TLS record (a chunk starting with 0x16, a
 * handshake record: the ClientHello); then `serverBytes` more octets from the server reach
 * the client (0: none of its answer), and the client's connection ends with `how`: 'fin' (an
 * orderly close) or 'rst' (a reset).
 */
export function cuttingProxy(target, cutFor) {
  let count = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const cut = cutFor(count++);
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    let tlsStarted = false;
    let budget = cut ? cut.serverBytes : 0;
    let done = false;
    const finish = () => {
      done = true;
      upstream.destroy();
      if (cut.how === 'rst') client.resetAndDestroy();
      else client.end(); // FIN; what the client still sends is read and dropped
    };
    client.on('data', (d) => {
      if (done) return;
      if (cut && d[0] === 0x16) tlsStarted = true;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (done) return;
      if (!cut || !tlsStarted) { client.write(d); return; }
      const pass = Math.min(budget, d.length);
      budget -= pass;
      if (budget > 0) { client.write(d); return; }
      done = true;
      if (pass > 0) client.write(d.subarray(0, pass), finish);
      else finish();
    });
    client.on('end', () => { if (!done) upstream.end(); });
    upstream.on('end', () => { if (!done) client.end(); });
    upstream.on('close', () => { if (!done) client.destroy(); });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      connections: () => count,
      close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
    }));
  });
}
