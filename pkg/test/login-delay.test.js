// LOGIN-DELAY honoured wherever the server announces it (issue 19, item 3) through the npm
// package: announced only in the CAPA before login, it is remembered (client.loginDelay,
// report.loginDelay, error.loginDelay), and neither watch() nor `pop3 watch` logs in sooner,
// whether after an [IN-USE] or [LOGIN-DELAY] refusal, a cut connection or a successful run.
// Reconnect gaps are measured at a scripted server.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { connect, newSyncState, Pop3Error, watch } from '../src/node.js';
import { scriptedServer } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/pop3.js', import.meta.url));
// Timers may fire up to a millisecond early against performance.now(); nothing more.
const TIMER_SLACK_MS = 2;

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

/**
 * A server announcing `LOGIN-DELAY pre` in the CAPA before login and `post` (if any) in the one
 * after. `refuse[i]` is the reply to PASS on connection i; `cut` lists the connections closed
 * when LIST comes. Every other login reaches an empty mailbox.
 */
async function announcing({ pre, post = null, refuse = {}, cut = [] }) {
  const server = await scriptedServer((line, socket, conn) => {
    const index = server.connections.indexOf(conn);
    const loggedIn = conn.commands.slice(0, -1).some((c) => c.startsWith('PASS'));
    const verb = line.split(' ')[0].toUpperCase();
    switch (verb) {
      case 'CAPA': {
        const delay = loggedIn ? post : pre;
        socket.write(`+OK\r\nUSER\r\nUIDL\r\n${delay === null ? '' : `LOGIN-DELAY ${delay}\r\n`}.\r\n`);
        return true;
      }
      case 'PASS': socket.write(refuse[index] ?? '+OK logged in\r\n'); return true;
      case 'LIST':
        if (cut.includes(index)) socket.destroy();
        else socket.write('+OK\r\n.\r\n');
        return true;
      case 'UIDL': socket.write('+OK\r\n.\r\n'); return true;
      case 'STAT': socket.write('+OK 0 0\r\n'); return true;
      default: return false;
    }
  });
  cleanups.push(server.close);
  return server;
}

async function login(port) {
  const client = await connect({ host: '127.0.0.1', port });
  try {
    await client.login('u', 'secret', { mechanism: 'user', allowCleartext: true });
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
  return client;
}

function gaps(times) {
  return times.slice(1).map((t, i) => t - times[i]);
}

describe('LOGIN-DELAY announced before login', () => {
  test('client.loginDelay remembers it; the largest wins; a refused login\'s error carries it', async () => {
    let server = await announcing({ pre: 7 });
    let client = await login(server.port);
    assert.equal(client.loginDelay, 7);
    assert.equal(client.capabilities.loginDelay, null, 'the CAPA after login announced none');
    await client.quit();

    for (const [pre, post] of [[9, 4], [4, 9]]) {
      server = await announcing({ pre, post });
      client = await login(server.port);
      await client.noop();
      assert.equal(client.loginDelay, 9, `before ${pre}, after ${post}`);
      await client.quit();
    }

    server = await announcing({ pre: null });
    client = await login(server.port);
    await client.noop();
    assert.equal(client.loginDelay, null, 'none announced');
    await client.quit();

    server = await announcing({ pre: 7, refuse: { 0: '-ERR [IN-USE] mailbox locked\r\n' } });
    const e = await login(server.port).then(() => assert.fail('the login was refused'), (x) => x);
    assert.ok(e instanceof Pop3Error, String(e));
    assert.equal(e.responseCode, 'IN-USE');
    assert.equal(e.loginDelay, 7);
  });

  test('watch(): no login sooner than the delay after [IN-USE], [LOGIN-DELAY], a cut, or a run', async () => {
    const server = await announcing({
      pre: 1,
      refuse: { 0: '-ERR [IN-USE] mailbox locked by another session\r\n', 1: '-ERR [LOGIN-DELAY] too soon\r\n' },
      cut: [2],
    });
    const controller = new AbortController();
    const logins = [];
    const retries = [];
    const reports = [];
    await watch(() => { logins.push(performance.now()); return login(server.port); }, {
      state: newSyncState('u@127.0.0.1'),
      save: () => {},
      saveState: () => {},
      // Without the floor every wait here would be 50 to 100 ms.
      intervalMs: 50,
      retries: { max: 5, baseMs: 50, maxMs: 100 },
      signal: controller.signal,
      onRetry: (r) => retries.push(r),
      onSync: (report) => { reports.push(report); if (reports.length === 2) controller.abort(); },
    });
    assert.deepEqual(retries.map((r) => [r.attempt, r.error.code, r.error.responseCode, r.error.loginDelay, r.delayMs]), [
      [1, 'auth', 'IN-USE', 1, 1000],
      [2, 'auth', 'LOGIN-DELAY', 1, 1000],
      [3, 'closed', null, 1, 1000],
    ]);
    assert.deepEqual(reports.map((r) => r.loginDelay), [1, 1]);
    assert.equal(server.connections.length, 5, 'one connection per login');
    for (const [what, times] of [['logins', logins], ['connections', server.connections.map((c) => c.openedAt)]]) {
      gaps(times).forEach((gap, i) => {
        assert.ok(gap >= 1000 - TIMER_SLACK_MS, `${what} ${i} and ${i + 1}: ${gap.toFixed(1)} ms apart, under LOGIN-DELAY 1`);
        // Not far longer either (generous: CI machines are busy).
        assert.ok(gap < 6000, `${what} ${i} and ${i + 1}: ${gap.toFixed(1)} ms apart`);
      });
    }
  });

  test('pop3 watch: the first retry and the next round wait for LOGIN-DELAY, not the back-off or --interval', async () => {
    // The CLI's back-off starts at 2 s: a delay of 3 s shows which one decides.
    const server = await announcing({ pre: 3, refuse: { 0: '-ERR [IN-USE] mailbox locked\r\n' } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-login-delay-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, POP3_PASSWORD: 'secret' };
    for (const k of Object.keys(env)) if (k.startsWith('POP3_') && k !== 'POP3_PASSWORD') delete env[k];
    const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', String(server.port), '--user', 'u',
      '--auth', 'user', '--allow-cleartext', '-v', 'watch', '--maildir', dir, '--interval', '0.2'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (server.connections.length < 3 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 0, err);
    assert.equal(server.connections.length, 3, err);
    assert.match(err, /^pop3: warning: .*\[IN-USE\].*; retry 1 in 3\.00 s$/m);
    assert.match(err, /round 1 at /);
    gaps(server.connections.map((c) => c.openedAt)).forEach((gap, i) => {
      assert.ok(gap >= 3000 - TIMER_SLACK_MS, `connections ${i} and ${i + 1}: ${gap.toFixed(1)} ms apart, under LOGIN-DELAY 3\n${err}`);
    });
  });
});
