// The hardening defects of issue 13 through the npm package, against scripted servers doing
// what real servers won't: echoing the password, streaming a message without end, trickling a
// reply, losing the reply to QUIT, gluing the terminator to a message's last line.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { connect, Pop3Error } from '../src/node.js';
import { scriptedServer, writeForever } from './helpers.js';

const servers = [];
after(async () => { for (const s of servers) await s.close(); });

async function serve(respond, options) {
  const server = await scriptedServer(respond, options);
  servers.push(server);
  return server;
}

async function loggedIn(port, options = {}) {
  const client = await connect({ host: '127.0.0.1', port, ...options });
  await client.login('alice', 'wonderland', { mechanism: 'user', allowCleartext: true });
  return client;
}

/** Everything an error shows: message, serverText, its string and JSON forms. */
function shown(e) {
  return [e.message, e.serverText, String(e), JSON.stringify(e), e.stack].join(' | ');
}

describe('no credential in any error', () => {
  const secret = 's3cr3t-Pa$$(.*)[x]';
  const b64 = Buffer.from(secret).toString('base64');

  test('a password echoed in -ERR to PASS (raw, base64, upper case) appears nowhere', async () => {
    const server = await serve((line, socket) => {
      if (line.startsWith('PASS ')) {
        socket.write(`-ERR [AUTH] invalid password '${secret}' (${b64}, ${secret.toUpperCase()}) for alice\r\n`);
        return true;
      }
      return false;
    });
    const client = await connect({ host: '127.0.0.1', port: server.port });
    const e = await client.login('alice', secret, { mechanism: 'user', allowCleartext: true }).then(() => null, (x) => x);
    assert.ok(e instanceof Pop3Error);
    assert.equal(e.code, 'auth');
    const all = shown(e);
    for (const form of [secret, b64, secret.toUpperCase()]) assert.ok(!all.includes(form), `${form} in ${all}`);
    assert.match(e.serverText, /invalid password '\*\*\*'/);
    await client.close();
  });

  test('the SASL PLAIN string echoed to AUTH, and the password echoed later, appear nowhere', async () => {
    const plain = Buffer.from(`\0alice\0${secret}`).toString('base64');
    const server = await serve((line, socket) => {
      if (line === 'CAPA') { socket.write('+OK\r\nSASL PLAIN\r\n.\r\n'); return true; }
      if (line.startsWith('AUTH PLAIN ')) { socket.write('+OK logged in\r\n'); return true; }
      if (line === 'RETR 1') { socket.write(`-ERR no such message; you logged in with ${plain} = ${secret}\r\n`); return true; }
      if (line === 'STAT') { socket.write(`what is ${secret}?\r\n`); return true; }
      return false;
    });
    const client = await connect({ host: '127.0.0.1', port: server.port });
    assert.equal(await client.login('alice', secret, { allowCleartext: true }), 'PLAIN');
    const refused = await client.retrieve(1).then(() => null, (x) => x);
    assert.equal(refused.code, 'server');
    const garbage = await client.stat().then(() => null, (x) => x);
    assert.equal(garbage.code, 'protocol');
    for (const e of [refused, garbage]) {
      for (const form of [secret, plain]) assert.ok(!shown(e).includes(form), `${form} in ${shown(e)}`);
    }
  });
});

describe('an endless message is stopped at maxMessageBytes on every path', () => {
  const LIMIT = 1024 * 1024;
  const paths = {
    retrieve: (c) => c.retrieve(1),
    top: (c) => c.top(1, 5),
    retrieveStream: async (c) => { for await (const chunk of c.retrieveStream(1)) void chunk; },
    retrieveMany: (c) => c.retrieveMany([1], { onMessage() {} }),
  };
  for (const [name, fetch] of Object.entries(paths)) {
    for (const [shape, unit] of [['lines', 'an endless line\r\n'], ['one line without end', 'x']]) {
      test(`${name}, ${shape}`, async () => {
        let written = () => 0;
        const server = await serve((line, socket) => {
          if (line === 'RETR 1' || line === 'TOP 1 5') {
            socket.write('+OK 1000 octets\r\n');
            written = writeForever(socket, unit);
            return true;
          }
          return false;
        });
        const client = await loggedIn(server.port, { maxMessageBytes: LIMIT });
        const started = Date.now();
        const e = await fetch(client).then(() => null, (x) => x);
        assert.ok(e instanceof Pop3Error, String(e));
        assert.equal(e.code, 'limit', e.message);
        assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
        // The client closed the connection: the server stops soon after the limit.
        await server.connections.at(-1).closedPromise;
        assert.ok(written() < LIMIT + 16 * 1024 * 1024, `the server wrote ${written()} bytes`);
        assert.equal(client.state, 'closed');
      });
    }
  }
});

test('commandTimeoutMs ends a reply that trickles in, which replyTimeoutMs cannot', async () => {
  const server = await serve((line, socket) => {
    if (line !== 'RETR 1') return false;
    socket.write('+OK\r\n');
    const timer = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, 50);
    socket.once('close', () => clearInterval(timer));
    return true;
  });
  const client = await loggedIn(server.port, { replyTimeoutMs: 1000, commandTimeoutMs: 600 });
  const started = Date.now();
  const e = await client.retrieve(1).then(() => null, (x) => x);
  const took = Date.now() - started;
  assert.equal(e?.code, 'timeout', String(e));
  assert.match(e.message, /deadline/);
  assert.ok(took >= 550 && took < 3000, `${took} ms`);
});

describe('QUIT whose reply never comes', () => {
  test('with messages marked: deletionsUncertain, distinct from QUIT answered -ERR', async () => {
    let quitAnswer = 'none';
    const server = await serve((line, socket) => {
      if (line.startsWith('DELE')) { socket.write('+OK marked\r\n'); return true; }
      if (line === 'QUIT') {
        if (quitAnswer === 'none') socket.destroy();
        else socket.end('-ERR [SYS/TEMP] could not delete\r\n');
        return true;
      }
      return false;
    });
    let client = await loggedIn(server.port);
    await client.delete(1);
    await client.delete(2);
    const lost = await client.quit().then(() => null, (x) => x);
    assert.equal(lost?.code, 'closed', String(lost));
    assert.equal(lost.deletionsUncertain, true);
    assert.deepEqual(lost.detail, { type: 'deletionsUncertain', marked: 2 });
    assert.match(lost.message, /may or may not have been deleted/);

    quitAnswer = 'err';
    client = await loggedIn(server.port);
    await client.delete(1);
    const refused = await client.quit().then(() => null, (x) => x);
    assert.equal(refused?.code, 'server');
    assert.equal(refused.deletionsUncertain, false);
    assert.equal(refused.detail, null);
  });
});

describe('a glued terminator (old Exchange) is settled the same way on every path', () => {
  const body = 'Subject: glued\r\n\r\nno newline at the end.';
  const paths = {
    retrieve: async (c) => Buffer.from(await c.retrieve(1)),
    retrieveStream: async (c) => {
      const parts = [];
      for await (const chunk of c.retrieveStream(1)) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts);
    },
    retrieveMany: async (c) => {
      let got;
      await c.retrieveMany([1], { onMessage: (_, bytes) => { got = Buffer.from(bytes); } });
      return got;
    },
  };
  for (const [name, fetch] of Object.entries(paths)) {
    test(name, async () => {
      const server = await serve((line, socket) => {
        if (line === 'RETR 1') { socket.write(`+OK ${body.length} octets\r\n${body}.\r\n`); return true; }
        if (line === 'STAT') { socket.write('+OK 1 40\r\n'); return true; }
        return false;
      });
      const client = await loggedIn(server.port, { replyTimeoutMs: 3000 });
      const started = Date.now();
      const got = await fetch(client);
      assert.equal(got.toString('latin1'), body);
      assert.ok(Date.now() - started < 2000, `settled by a timeout after ${Date.now() - started} ms`);
      assert.equal((await client.stat()).count, 1, 'still in step');
      assert.ok(server.connections.at(-1).commands.includes('NOOP'), 'the NOOP that settles it was sent');
      await client.quit();
    });
  }
});

test('through a WebSocket, a server that floods while the client is idle is cut off at a bound', async () => {
  // A browser WebSocket cannot be paused: unread frames are bounded by maxMessageBytes + 16 MiB
  // instead of growing until the tab dies. Node 20 needs --experimental-websocket: run a child.
  const { spawn } = await import('node:child_process');
  const { freePort, waitForPort } = await import('./helpers.js');
  let written = () => 0;
  const server = await serve((line, socket) => {
    if (!line.startsWith('PASS')) return false;
    socket.write('+OK\r\n');
    setTimeout(() => { written = writeForever(socket, 'flood '); }, 100);
    return true;
  });
  const wsPort = await freePort();
  const proxy = spawn('websockify', [`127.0.0.1:${wsPort}`, `127.0.0.1:${server.port}`], { stdio: 'ignore' });
  try {
    await waitForPort(wsPort);
    const script = `
      const { connect } = await import(${JSON.stringify(new URL('../src/node.js', import.meta.url).href)});
      const client = await connect({ url: 'ws://127.0.0.1:${wsPort}', maxMessageBytes: 1 << 20 });
      await client.login('alice', 'pw', { mechanism: 'user', allowCleartext: true });
      // Idle until the test says enough was sent.
      await new Promise((r) => process.stdin.once('data', r));
      const e = await client.noop().then(() => null, (x) => x);
      console.log(JSON.stringify({ code: e?.code, message: e?.message, heap: process.memoryUsage().arrayBuffers }));
      process.exit(0);`;
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    // Until the bound is passed (or the client cut the connection), then let the client read.
    const until = Date.now() + 30000;
    while (written() < 40 * 1024 * 1024 && !server.connections.at(-1)?.closed && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.stdin.end('go\n');
    await new Promise((resolve) => child.once('close', resolve));
    const result = JSON.parse(out);
    assert.equal(result.code, 'limit', result.message);
    assert.match(result.message, /had not read yet/);
    await server.connections.at(-1).closedPromise;
    assert.ok(written() > 17 * 1024 * 1024, `the server wrote only ${written()} bytes`);
    assert.ok(result.heap < 64 * 1024 * 1024, `unread frames held ${result.heap} bytes`);
  } finally {
    proxy.kill('SIGTERM');
  }
});
