// A connection cut (FIN or RST) during the TLS handshake, implicit TLS or STLS, through Node's
// TLS (tlsProvider 'host', the default) and the TLS inside the wasm module (tlsProvider
// 'wasm'): a transient 'closed'/'transport' error, and `pop3 watch` retries it. Certificate,
// alert and not-TLS failures stay permanent 'tls' errors.
//
// The server is a real Dovecot with a test CA (tests/support/mailstack.py --tls); a small
// proxy in front of it cuts the connection at chosen points of the handshake.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { connect } from '../src/node.js';
import { cuttingProxy, startStack } from './helpers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(pkgDir, 'bin', 'pop3.js');

/** The cut points: before any of the server's answer, in its ServerHello, in its encrypted flight. */
const CUTS = [0, 40, 300];
const PROVIDERS = ['host', 'wasm'];

let good;
let ca;

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-tlscut-mail-'));
  fs.writeFileSync(path.join(dir, '1.eml'), 'From: Cut Test <cut@example.org>\nSubject: after the cut\n\nhello\n');
  good = await startStack(['--tls', '--mail', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
  ca = fs.readFileSync(good.ca_cert, 'utf8');
});

after(async () => {
  await good?.stop();
});

function portFor(stack, mode) {
  return mode === 'implicit' ? stack.pop3s_port : stack.pop3_port;
}

describe('a cut during the TLS handshake is transient', () => {
  for (const tlsProvider of PROVIDERS) {
    for (const tls of ['implicit', 'starttls']) {
      test(`${tls}, ${tlsProvider} TLS: FIN and RST at ${CUTS.join(', ')} octets of the server's handshake`, async () => {
        for (const how of ['fin', 'rst']) {
          for (const serverBytes of CUTS) {
            const what = `${tls}, ${tlsProvider} TLS, ${how} after ${serverBytes} octets`;
            const proxy = await cuttingProxy(portFor(good, tls), () => ({ serverBytes, how }));
            try {
              const started = Date.now();
              const error = await connect({ host: '127.0.0.1', port: proxy.port, tls, tlsProvider, ca, replyTimeoutMs: 20000 })
                .then(async (client) => { await client.close(); return null; }, (e) => e);
              assert.ok(error, `${what}: connected`);
              assert.equal(error.name, 'Pop3Error', `${what}: ${error.stack}`);
              assert.ok(['closed', 'transport'].includes(error.code), `${what}: code ${error.code}: ${error.message}`);
              assert.equal(error.transient, true, `${what}: ${error.message}`);
              assert.ok(Date.now() - started < 10000, `${what}: took ${Date.now() - started} ms`);
            } finally {
              await proxy.close();
            }
          }
        }
        // Uncut, the same path connects.
        const client = await connect({ host: '127.0.0.1', port: portFor(good, tls), tls, tlsProvider, ca });
        await client.quit();
      });
    }
  }
});

describe('TLS failures stay permanent', () => {
  test('an unknown CA, a wrong host name and an expired certificate: code tls, not transient (both providers, POP3S and STLS)', async () => {
    const stacks = await Promise.all(['unknownca', 'wronghost', 'expired'].map((v) => startStack(['--tls', '--cert-variant', v])));
    try {
      for (const [i, variant] of ['unknownca', 'wronghost', 'expired'].entries()) {
        const stack = stacks[i];
        const stackCa = fs.readFileSync(stack.ca_cert, 'utf8');
        for (const tlsProvider of PROVIDERS) {
          for (const tls of ['implicit', 'starttls']) {
            const what = `${variant}, ${tls}, ${tlsProvider} TLS`;
            // unknownca: the leaf's issuer is not the stack's CA, the only one trusted here.
            const error = await connect({ host: '127.0.0.1', port: portFor(stack, tls), tls, tlsProvider, ca: stackCa, serverName: 'localhost' })
              .then(async (client) => { await client.close(); return null; }, (e) => e);
            assert.ok(error, `${what}: connected`);
            assert.equal(error.code, 'tls', `${what}: ${error.message}`);
            assert.equal(error.transient, false, `${what}: ${error.message}`);
            // The same machine-readable account from either TLS, for a UI to explain.
            const expected = {
              unknownca: { problem: 'unknownIssuer', names: [] },
              wronghost: { problem: 'nameMismatch', names: ['wrong.example'] },
              expired: { problem: 'expired', names: [] },
            }[variant];
            assert.deepEqual(error.detail, { type: 'certificate', serverName: 'localhost', ...expected }, what);
          }
        }
      }
    } finally {
      await Promise.all(stacks.map((s) => s.stop()));
    }
  });

  test('a fatal alert from the server, then a close: code tls, not transient (both providers, POP3S and STLS)', async () => {
    // protocol_version (70): no TLS version in common.
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]);
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.write('+OK ready\r\n');
      let text = '';
      socket.on('data', (d) => {
        if (d[0] === 0x16) { socket.end(alert); return; }
        text += d.toString('latin1');
        if (text.endsWith('STLS\r\n')) socket.write('+OK Begin TLS\r\n');
        else if (text.endsWith('\r\n')) socket.write('+OK\r\nSTLS\r\nUSER\r\n.\r\n');
      });
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const implicitServer = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', () => socket.end(alert));
    });
    await new Promise((resolve) => implicitServer.listen(0, '127.0.0.1', resolve));
    try {
      for (const tlsProvider of PROVIDERS) {
        for (const [tls, port] of [['implicit', implicitServer.address().port], ['starttls', server.address().port]]) {
          const what = `${tls}, ${tlsProvider} TLS`;
          const error = await connect({ host: '127.0.0.1', port, tls, tlsProvider, ca })
            .then(async (client) => { await client.close(); return null; }, (e) => e);
          assert.ok(error, `${what}: connected`);
          assert.equal(error.code, 'tls', `${what}: ${error.message}`);
          assert.equal(error.transient, false, `${what}: ${error.message}`);
        }
      }
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all([server, implicitServer].map((s) => new Promise((r) => s.close(r))));
    }
  });

  test('implicit TLS to a port that speaks plain POP3: code tls, not transient (both providers)', async () => {
    for (const tlsProvider of PROVIDERS) {
      const error = await connect({ host: '127.0.0.1', port: good.pop3_port, tls: 'implicit', tlsProvider, ca })
        .then(async (client) => { await client.close(); return null; }, (e) => e);
      assert.ok(error, `${tlsProvider}: connected`);
      assert.equal(error.code, 'tls', `${tlsProvider}: ${error.message}`);
      assert.equal(error.transient, false, `${tlsProvider}: ${error.message}`);
    }
  });
});

/** Runs the CLI until `until` (a regexp on stderr) shows, then sends SIGINT. */
function runUntil(args, until, { env = {}, timeoutMs = 30000 } = {}) {
  const fullEnv = { ...process.env, ...env };
  for (const k of Object.keys(fullEnv)) if (k.startsWith('POP3_') && !(k in env)) delete fullEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: pkgDir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let stopping = false;
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => {
      err += d;
      // Once: a second Ctrl-C stops at once.
      if (!stopping && until.test(err)) { stopping = true; child.kill('SIGINT'); }
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pop3 ${args.join(' ')} timed out; stderr: ${err}`)); }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

describe('pop3 watch retries a cut during the TLS handshake', () => {
  for (const [tls, tlsProvider] of [['implicit', 'host'], ['starttls', 'host'], ['implicit', 'wasm'], ['starttls', 'wasm']]) {
    test(`--tls ${tls} --tls-provider ${tlsProvider}: a FIN, then an RST during the handshake: two retries, then a sync`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-tlscut-watch-'));
      // The first connection is closed in the handshake, the second reset; the ones after pass.
      const proxy = await cuttingProxy(portFor(good, tls), (n) => (n < 2 ? { serverBytes: 0, how: n === 0 ? 'fin' : 'rst' } : null));
      try {
        const r = await runUntil(['--host', '127.0.0.1', '--port', String(proxy.port), '--tls', tls, '--tls-provider', tlsProvider,
          '--ca', good.ca_cert, '--user', 'alice', '-v', 'watch', '--maildir', dir, '--interval', '0.2'],
        /^\* round 1 at /m, { env: { POP3_PASSWORD: good.password() } });
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /^pop3: warning: .*closed the connection.*; retry 1 in 2\.00 s$|^pop3: warning: .*disconnected.*; retry 1 in 2\.00 s$/m);
        assert.match(r.err, /^pop3: warning: .*; retry 2 in 4\.00 s$/m);
        assert.match(r.err, /^\* round 1 at .*: 1 new, 0 already fetched, 0 deleted, 1 on the server$/m);
        assert.match(r.err, /^pop3: stopped; 1 new message fetched$/m);
        assert.match(r.out, /Cut Test <cut@example\.org>  after the cut/);
        assert.equal(proxy.connections(), 3);
      } finally {
        await proxy.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("a caller's byte stream: its errors are classified by cause, not by message", () => {
  const failing = (error) => ({ read: () => Promise.reject(error), write: () => Promise.resolve(), close: () => Promise.resolve() });
  const named = (name, message) => Object.assign(new Error(message), { name });
  for (const [what, error, code, transient] of [
    ["Node's ECONNRESET, in a message about TLS", Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' }), 'closed', true],
    ["Node's EPIPE", Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'closed', true],
    ["Node's ETIMEDOUT", Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'timeout', true],
    ["Deno's UnexpectedEof, in a message about TLS", named('UnexpectedEof', 'tls handshake eof'), 'closed', true],
    ["Deno's ConnectionReset", named('ConnectionReset', 'connection reset'), 'closed', true],
    ['a plain Error that mentions TLS', new Error('TLS went wrong'), 'transport', true],
    ["an adapter's pop3Kind 'tls'", Object.assign(new Error('certificate rejected'), { pop3Kind: 'tls' }), 'tls', false],
    ["an adapter's pop3Kind 'protocol'", Object.assign(new Error('not POP3'), { pop3Kind: 'protocol' }), 'protocol', false],
  ]) {
    test(`${what}: ${code}`, async () => {
      for (const tlsProvider of ['host', 'wasm']) {
        // wasm: the handshake's first read fails; host: the greeting's.
        const tls = tlsProvider === 'wasm' ? 'implicit' : 'none';
        const e = await connect({ transport: failing(error), tls, tlsProvider, serverName: 'localhost' }).then(() => null, (x) => x);
        assert.ok(e, `${tlsProvider}: connected`);
        assert.equal(e.code, code, `${tlsProvider}: ${e.message}`);
        assert.equal(e.transient, transient, `${tlsProvider}: ${e.message}`);
      }
    });
  }
});
