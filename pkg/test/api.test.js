// Tests of the built package through its Node entry point, against real Dovecot servers
// started by tests/support/mailstack.py. Run: cd pkg && node --test test/api.test.js

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';

import * as pop3 from '../src/node.js';
import { sampleMail, startStack } from './helpers.js';

const { connect, Pop3Client, Pop3Error, parseMessage, attachmentContent, buildInfo, openNodeStream, NodeSocketStream } = pop3;

const PKG = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const CRLF = Buffer.from('\r\n');

/** What RETR returns for a delivered file: CRLF line ends, and a final CRLF (Dovecot adds one). */
function retrBytes(fileBytes) {
  const lf = Buffer.from(fileBytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  let crlf = Buffer.from(lf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  if (!crlf.subarray(-2).equals(CRLF)) crlf = Buffer.concat([crlf, CRLF]);
  return crlf;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Reads a whole ReadableStream into one Buffer (Array.fromAsync is not in Node 20). */
async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function assertBytes(actual, expected, what) {
  assert.ok(actual instanceof Uint8Array, `${what}: a Uint8Array`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.equal(sha256(actual), sha256(expected), `${what}: bytes`);
}

/** Asserts `promise` rejects with a real Pop3Error of `code`; returns the error. */
async function rejectsWith(promise, code, what = '') {
  let error;
  await assert.rejects(promise, (e) => { error = e; return true; }, what);
  assert.ok(error instanceof Pop3Error, `${what}: instanceof Pop3Error (got ${inspect(error)})`);
  assert.ok(error instanceof Error, `${what}: instanceof Error`);
  assert.equal(error.code, code, `${what}: code (message: ${error.message})`);
  return error;
}

// ---------------------------------------------------------------------------------------
// The shared stack: the sample mailbox (with an ~11 MB last message) over a TLS-capable
// Dovecot. Read-only tests use it; destructive ones start their own.

let sample;
let manifest;
let stack;
let caPem;
/** msg number -> { file, bytes (what RETR returns), entry (manifest) } */
const messages = [];
let largeMsg;

before(async () => {
  sample = sampleMail(8);
  manifest = JSON.parse(readFileSync(join(sample.dir, 'manifest.json'), 'utf8'));
  stack = await startStack(['--tls', '--mail', sample.dir]);
  caPem = readFileSync(stack.ca_cert, 'utf8');
  manifest.forEach((entry, i) => {
    messages[i + 1] = { file: entry.file, entry, bytes: retrBytes(readFileSync(join(sample.dir, entry.file))) };
  });
  largeMsg = manifest.findIndex((e) => e.features.includes('large')) + 1;
  assert.ok(messages[largeMsg].bytes.length > 10_000_000, 'the large sample message is > 10 MB');
});

after(async () => {
  await stack?.stop();
  sample?.remove();
});

/** A logged-in session on the shared stack (plain port; loopback counts as secured). */
async function session(options = {}) {
  const c = await connect({ host: stack.host, port: stack.pop3_port, ...options });
  await c.login('alice', stack.password(), { mechanism: 'cram-md5' });
  return c;
}

// ---------------------------------------------------------------------------------------

describe('API surface', () => {
  const clientMethods = ['capa', 'startTls', 'login', 'stat', 'list', 'listOne', 'uidl', 'uidlOne', 'top',
    'retrieve', 'retrieveStream', 'retrieveMany', 'delete', 'reset', 'noop', 'quit', 'close'];

  test('exports have the documented shapes', () => {
    assert.equal(typeof connect, 'function');
    assert.equal(typeof Pop3Client, 'function');
    assert.equal(typeof parseMessage, 'function');
    assert.equal(typeof attachmentContent, 'function');
    assert.equal(typeof buildInfo, 'function');
    assert.equal(typeof openNodeStream, 'function');
    assert.equal(typeof NodeSocketStream, 'function');
    assert.equal(typeof pop3.toPop3Error, 'function');
    for (const name of ['startTls', 'read', 'write', 'close']) {
      assert.equal(typeof NodeSocketStream.prototype[name], 'function', `NodeSocketStream#${name}`);
    }
    assert.ok('tlsInfo' in NodeSocketStream.prototype, 'NodeSocketStream#tlsInfo');
    for (const name of clientMethods) assert.equal(typeof Pop3Client.prototype[name], 'function', `Pop3Client#${name}`);
    for (const name of ['greeting', 'capabilities', 'tlsInfo', 'state', 'stats']) {
      const d = Object.getOwnPropertyDescriptor(Pop3Client.prototype, name);
      assert.ok(d && typeof d.get === 'function', `Pop3Client#${name} is a getter`);
    }

    const info = buildInfo();
    assert.equal(info.version, PKG.version);
    for (const k of ['fullEncoding', 'hostCharsets', 'htmlText', 'tls']) assert.equal(typeof info[k], 'boolean', `buildInfo().${k}`);
    // The npm builds leave legacy charsets to the host's TextDecoder instead of compiling them in.
    assert.deepEqual([info.fullEncoding, info.hostCharsets], [false, true]);
  });

  test('Pop3Client methods and types/index.d.ts agree', () => {
    const dts = readFileSync(new URL('../types/index.d.ts', import.meta.url), 'utf8');
    const body = dts.slice(dts.indexOf('export declare class Pop3Client'));
    const block = body.slice(0, body.indexOf('\n}'));
    const declared = new Set([...block.matchAll(/^\s+(\w+)\(/gm)].map((m) => m[1]));
    declared.delete('constructor');
    const implemented = new Set(Object.getOwnPropertyNames(Pop3Client.prototype)
      .filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(Pop3Client.prototype, n).value === 'function'));
    assert.deepEqual([...implemented].filter((n) => !declared.has(n)).sort(), [], 'implemented but not in the types');
    assert.deepEqual([...declared].filter((n) => !implemented.has(n)).sort(), [], 'in the types but not implemented');
  });

  test('Pop3Error is a real Error with the documented fields', () => {
    const e = new Pop3Error('busy', { code: 'server', responseCode: 'IN-USE', serverText: 'mailbox locked', transient: true });
    assert.ok(e instanceof Error);
    assert.ok(e instanceof Pop3Error);
    assert.equal(e.message, 'busy');
    assert.equal(e.code, 'server');
    assert.equal(e.responseCode, 'IN-USE');
    assert.equal(e.serverText, 'mailbox locked');
    assert.equal(e.transient, true);
    assert.equal(typeof e.stack, 'string');
    const d = new Pop3Error('x');
    assert.equal(d.responseCode, null);
    assert.equal(d.serverText, null);
    assert.equal(d.transient, false);
    const cause = new Error('root');
    assert.equal(new Pop3Error('y', { code: 'transport', cause }).cause, cause);
    const converted = pop3.toPop3Error(new TypeError('nope'));
    assert.ok(converted instanceof Pop3Error);
    assert.equal(pop3.toPop3Error(e), e);
  });

  test('every Pop3Client method returns a Promise (retrieveStream a ReadableStream)', async () => {
    const c = await connect({ host: stack.host, port: stack.pop3_port });
    assert.ok(c instanceof Pop3Client);
    assert.equal(c.state, 'authorization');
    assert.equal(typeof c.greeting.text, 'string');
    assert.ok(c.greeting.text.length > 0);
    assert.ok('responseCode' in c.greeting, 'the response code, named as on Pop3Error');
    assert.ok(!('code' in c.greeting), 'code means the error class on Pop3Error; the greeting does not reuse it');
    assert.match(c.greeting.apopTimestamp, /^<.+>$/);
    assert.equal(c.tlsInfo, null);
    for (const k of ['roundTrips', 'commands', 'bytesIn', 'bytesOut']) assert.equal(typeof c.stats[k], 'number', `stats.${k}`);

    const calls = [
      ['capa', () => c.capa()],
      ['login', () => c.login('alice', stack.password(), { mechanism: 'apop' })],
      ['stat', () => c.stat()],
      ['list', () => c.list()],
      ['listOne', () => c.listOne(1)],
      ['uidl', () => c.uidl()],
      ['uidlOne', () => c.uidlOne(1)],
      ['top', () => c.top(1, 0)],
      ['retrieve', () => c.retrieve(1)],
      ['retrieveMany', () => c.retrieveMany([1, 2], { onMessage() {} })],
      ['delete', () => c.delete(1)],
      ['reset', () => c.reset()],
      ['noop', () => c.noop()],
    ];
    for (const [name, fn] of calls) {
      const p = fn();
      assert.ok(p instanceof Promise, `${name} returns a Promise`);
      await p;
    }
    const caps = c.capabilities;
    for (const k of ['top', 'user', 'sasl', 'respCodes', 'authRespCode', 'loginDelay', 'pipelining', 'expire', 'uidl',
      'implementation', 'stls', 'utf8', 'utf8User', 'lang', 'other']) {
      assert.ok(k in caps, `capabilities.${k}`);
    }
    assert.ok(Array.isArray(caps.sasl));
    assert.equal(c.state, 'transaction');

    const stream = c.retrieveStream(1);
    assert.ok(stream instanceof ReadableStream, 'retrieveStream returns a ReadableStream');
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assertBytes(Buffer.concat(chunks), messages[1].bytes, 'streamed message 1');

    const q = c.quit();
    assert.ok(q instanceof Promise, 'quit returns a Promise');
    await q;
    assert.equal(c.state, 'closed');

    const d = await connect({ host: stack.host, port: stack.pop3_port, ca: caPem });
    const s = d.startTls();
    assert.ok(s instanceof Promise, 'startTls returns a Promise');
    await s;
    const cl = d.close();
    assert.ok(cl instanceof Promise, 'close returns a Promise');
    await cl;
    assert.equal(d.state, 'closed');
  });
});

// ---------------------------------------------------------------------------------------

describe('login', () => {
  const cases = [
    ['user', 'USER', true],
    ['apop', 'APOP', false],
    ['plain', 'PLAIN', true],
    ['login', 'LOGIN', true],
    ['cram-md5', 'CRAM-MD5', false],
  ];
  for (const [mechanism, expected, cleartext] of cases) {
    test(`mechanism ${mechanism} logs in (${expected})`, async () => {
      const c = await connect({ host: stack.host, port: stack.pop3_port });
      try {
        const used = await c.login('alice', stack.password(), { mechanism, allowCleartext: cleartext });
        assert.equal(used, expected);
        assert.equal(c.state, 'transaction');
        const { count } = await c.stat();
        assert.equal(count, manifest.length);
      } finally {
        await c.quit();
      }
    });
  }

  test('auto (and no mechanism) picks the strongest offered: SCRAM-SHA-256 if supported, else CRAM-MD5', async () => {
    for (const options of [{ mechanism: 'auto' }, undefined]) {
      const c = await connect({ host: stack.host, port: stack.pop3_port });
      try {
        const used = await c.login('alice', stack.password(), options);
        assert.ok(['SCRAM-SHA-256', 'CRAM-MD5'].includes(used), `auto chose ${used}`);
        assert.equal(c.state, 'transaction');
      } finally {
        await c.close();
      }
    }
  });

  test('auto picks CRAM-MD5 from a server offering PLAIN LOGIN CRAM-MD5 (and APOP)', async () => {
    const own = await startStack(['--mechanisms', 'plain login cram-md5 apop']);
    try {
      const c = await connect({ host: own.host, port: own.pop3_port });
      assert.equal(await c.login('alice', own.password()), 'CRAM-MD5');
      await c.quit();
    } finally {
      await own.stop();
    }
  });

  test('SCRAM mechanisms, when the build supports them', async (t) => {
    for (const [mechanism, expected] of [['scram-sha-256', 'SCRAM-SHA-256'], ['scram-sha-1', 'SCRAM-SHA-1']]) {
      const c = await connect({ host: stack.host, port: stack.pop3_port });
      try {
        const used = await c.login('alice', stack.password(), { mechanism }).catch((e) => e);
        if (used instanceof Pop3Error && used.code === 'usage' && /unknown authentication method/.test(used.message)) {
          t.diagnostic(`${mechanism} is not supported by this build`);
          continue;
        }
        assert.equal(used, expected);
        await rejectsWith(c.stat().then(() => c.login('alice', 'x', { mechanism })), 'usage', 'login twice');
      } finally {
        await c.close();
      }
      const d = await connect({ host: stack.host, port: stack.pop3_port });
      try {
        const e = await rejectsWith(d.login('alice', 'Sw0rdfish-wrong', { mechanism }), 'auth', `${mechanism} wrong password`);
        assert.ok(!e.message.includes('Sw0rdfish-wrong'));
      } finally {
        await d.close();
      }
    }
  });

  test('a wrong password: code auth, responseCode AUTH, no password anywhere in the error', async () => {
    const secret = 'Sw0rdfish-not-the-password';
    const c = await connect({ host: stack.host, port: stack.pop3_port });
    try {
      for (const mechanism of ['user', 'apop', 'plain', 'login', 'cram-md5', 'auto']) {
        const e = await rejectsWith(c.login('alice', secret, { mechanism, allowCleartext: true }), 'auth', mechanism);
        assert.equal(e.responseCode, 'AUTH', mechanism);
        for (const text of [e.message, String(e.serverText), String(e), e.stack, inspect(e, { depth: 5 }), JSON.stringify(e)]) {
          assert.ok(!text.includes(secret), `${mechanism}: the password leaked into ${JSON.stringify(text)}`);
        }
        assert.equal(c.state, 'authorization', `${mechanism}: still in authorization`);
      }
      // The session survives failed attempts.
      await c.login('alice', stack.password());
      assert.equal(c.state, 'transaction');
    } finally {
      await c.close();
    }
  });

  test('cleartext passwords are refused without allowCleartext (code usage, password never sent)', async () => {
    const c = await connect({ host: stack.host, port: stack.pop3_port });
    try {
      for (const mechanism of ['user', 'plain', 'login']) {
        const out = c.stats.bytesOut;
        const e = await rejectsWith(c.login('alice', stack.password(), { mechanism }), 'usage', mechanism);
        assert.match(e.message, /cleartext/i);
        assert.ok(!e.message.includes(stack.password()));
        // At most a CAPA went out, never USER/PASS/AUTH.
        assert.ok(c.stats.bytesOut - out <= 'CAPA\r\n'.length, `${mechanism}: ${c.stats.bytesOut - out} bytes sent`);
        assert.equal(c.state, 'authorization');
      }
      assert.equal(await c.login('alice', stack.password(), { mechanism: 'cram-md5' }), 'CRAM-MD5');
    } finally {
      await c.close();
    }
  });

  test('an unknown mechanism is a usage error', async () => {
    const c = await connect({ host: stack.host, port: stack.pop3_port });
    try {
      await rejectsWith((async () => c.login('alice', stack.password(), { mechanism: 'bogus-mech' }))(), 'usage');
      await rejectsWith((async () => c.login('', stack.password()))(), 'usage', 'empty user');
      await rejectsWith((async () => c.login('alice', 42))(), 'usage', 'password not a string');
    } finally {
      await c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('typed errors', () => {
  let c;
  before(async () => { c = await session(); });
  after(async () => { await c?.quit(); });

  test('RETR of a missing message: code server, serverText from the server', async () => {
    const e = await rejectsWith(c.retrieve(999), 'server');
    assert.equal(typeof e.serverText, 'string');
    assert.match(e.serverText, /no message/i);
    assert.equal(e.transient, false);
    assert.equal(e.name, 'Pop3Error');
    assert.equal(typeof e.stack, 'string');
    // The session is unaffected.
    assertBytes(await c.retrieve(2), messages[2].bytes, 'message 2 after the error');
  });

  test('invalid message numbers are usage errors, raised before anything is sent', async () => {
    const bad = [0, -1, 1.5, 'x', NaN, undefined, null, 2 ** 32];
    const methods = {
      retrieve: (n) => c.retrieve(n),
      listOne: (n) => c.listOne(n),
      uidlOne: (n) => c.uidlOne(n),
      top: (n) => c.top(n, 1),
      delete: (n) => c.delete(n),
      retrieveMany: (n) => c.retrieveMany([1, n], { onMessage() {} }),
    };
    const stats = { ...c.stats };
    for (const [name, fn] of Object.entries(methods)) {
      for (const n of bad) {
        await rejectsWith((async () => fn(n))(), 'usage', `${name}(${String(n)})`);
      }
    }
    for (const n of bad) {
      assert.throws(() => c.retrieveStream(n), (e) => e instanceof Pop3Error && e.code === 'usage', `retrieveStream(${String(n)})`);
    }
    await rejectsWith((async () => c.top(1, -1))(), 'usage', 'top lines -1');
    await rejectsWith((async () => c.top(1, 1.5))(), 'usage', 'top lines 1.5');
    await rejectsWith((async () => c.retrieve(1, { timeoutMs: -1 }))(), 'usage', 'timeoutMs -1');
    await rejectsWith((async () => c.retrieve(1, { onProgress: 'x' }))(), 'usage', 'onProgress not a function');
    await rejectsWith((async () => c.retrieve(1, 'options'))(), 'usage', 'options not an object');
    await rejectsWith((async () => c.retrieveMany('1', { onMessage() {} }))(), 'usage', 'msgs not an array');
    await rejectsWith((async () => c.retrieveMany([1], { onMessage: 'x' }))(), 'usage', 'onMessage not a function');
    // Without onMessage it is an async iterator; bad arguments reject its first next().
    const iterator = c.retrieveMany([0]);
    assert.equal(typeof iterator[Symbol.asyncIterator], 'function');
    await rejectsWith(iterator.next(), 'usage', 'message 0 through the iterator');
    assert.deepEqual(c.stats, stats, 'nothing was sent');
    await c.noop();
  });

  test('methods that return a Promise report bad arguments by rejecting, not by throwing synchronously', async () => {
    const probes = {
      retrieve: () => c.retrieve(0),
      listOne: () => c.listOne(-1),
      uidlOne: () => c.uidlOne(1.5),
      top: () => c.top(1, -1),
      delete: () => c.delete('x'),
      login: () => c.login('', 'pw'),
      retrieveMany: () => c.retrieveMany([0], { onMessage() {} }),
    };
    // Methods added after the first version of the API, when present.
    if (typeof c.loginWithToken === 'function') probes.loginWithToken = () => c.loginWithToken('', 'token');
    if (typeof c.deleteMany === 'function') probes.deleteMany = () => c.deleteMany([1, 0]);
    for (const [name, fn] of Object.entries(probes)) {
      let p;
      assert.doesNotThrow(() => { p = fn(); }, `${name} threw synchronously instead of returning a rejected Promise`);
      assert.ok(p instanceof Promise, `${name} returns a Promise`);
      await rejectsWith(p, 'usage', name);
    }
  });

  test('a call after quit or close is refused without touching the network', async () => {
    const d = await session();
    await d.quit();
    await rejectsWith(d.noop(), 'usage', 'noop after quit');
    const e = await session();
    await e.close();
    await rejectsWith(e.stat(), 'usage', 'stat after close');
  });
});

// ---------------------------------------------------------------------------------------

describe('overlapping calls', () => {
  test('20 calls started without awaiting all resolve correctly, in order', async () => {
    const c = await session();
    try {
      const list = await c.list();
      const uidl = await c.uidl();
      const done = [];
      const calls = [];
      const track = (i, p) => p.then((v) => { done.push(i); return v; });
      const plan = [
        ['stat'], ['list'], ['uidl'], ['retrieve', 1], ['noop'],
        ['listOne', 5], ['retrieve', 22], ['uidlOne', 7], ['top', 3, 0], ['retrieve', 20],
        ['stat'], ['retrieve', 28], ['noop'], ['listOne', 30], ['retrieve', 4],
        ['uidl'], ['retrieve', 12], ['top', 23, 2], ['stat'], ['retrieve', 2],
      ];
      plan.forEach(([m, ...args], i) => calls.push(track(i, c[m](...args))));
      const results = await Promise.all(calls);
      assert.deepEqual(done, plan.map((_, i) => i), 'completion order');
      const total = list.reduce((a, e) => a + e.size, 0);
      plan.forEach(([m, ...args], i) => {
        const r = results[i];
        switch (m) {
          case 'stat': assert.deepEqual(r, { count: manifest.length, size: total }); break;
          case 'list': assert.deepEqual(r, list); break;
          case 'uidl': assert.deepEqual(r, uidl); break;
          case 'noop': assert.equal(r, undefined); break;
          case 'listOne': assert.deepEqual(r, list[args[0] - 1]); break;
          case 'uidlOne': assert.deepEqual(r, uidl[args[0] - 1]); break;
          case 'retrieve': assertBytes(r, messages[args[0]].bytes, `call ${i}: retrieve ${args[0]}`); break;
          case 'top': {
            const text = Buffer.from(r).toString('latin1');
            const full = messages[args[0]].bytes.toString('latin1');
            assert.ok(full.startsWith(text), `call ${i}: TOP is a prefix of the message`);
            const headerEnd = full.indexOf('\r\n\r\n') + 4;
            assert.ok(text.length >= headerEnd, `call ${i}: TOP has every header`);
            break;
          }
          default: assert.fail(m);
        }
      });
    } finally {
      await c.quit();
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('AbortSignal and timeouts', () => {
  let c;
  before(async () => { c = await session(); });
  after(async () => { await c?.quit(); });

  test('an already-aborted signal rejects with code aborted and sends nothing', async () => {
    const stats = { ...c.stats };
    const e = await rejectsWith(c.retrieve(1, { signal: AbortSignal.abort() }), 'aborted');
    assert.ok(e instanceof Error);
    await rejectsWith(c.stat({ signal: AbortSignal.abort(new Error('mine')) }), 'aborted');
    await rejectsWith(c.retrieveMany([1, 2], { onMessage() {}, signal: AbortSignal.abort() }), 'aborted');
    assert.equal(c.stats.commands, stats.commands, 'no command was sent');
    assert.equal(c.stats.bytesOut, stats.bytesOut, 'no byte was sent');
    assertBytes(await c.retrieve(1), messages[1].bytes, 'message 1 afterwards');
  });

  test('aborting a large retrieve mid-way rejects with aborted; the session stays usable', async () => {
    const controller = new AbortController();
    let last = 0;
    const e = await rejectsWith(c.retrieve(largeMsg, {
      signal: controller.signal,
      onProgress: ({ received }) => {
        last = received;
        if (received > 1_000_000) controller.abort();
      },
    }), 'aborted');
    assert.ok(last > 1_000_000 && last < messages[largeMsg].bytes.length, `aborted mid-way (at ${last})`);
    assert.ok(e instanceof Error);
    // The rest of the aborted reply is skipped; the next calls see their own replies.
    assertBytes(await c.retrieve(4), messages[4].bytes, 'message 4 after the abort');
    assert.deepEqual(await c.listOne(3), { msg: 3, size: messages[3].bytes.length });
    assertBytes(await c.retrieve(largeMsg), messages[largeMsg].bytes, 'the large message after the abort');
  });

  test('aborting a queued call leaves the calls around it alone', async () => {
    const controller = new AbortController();
    const first = c.retrieve(20);
    const second = c.retrieve(21, { signal: controller.signal });
    const third = c.retrieve(22);
    second.catch(() => {}); // handled below; keeps the runner from seeing an early rejection
    controller.abort();
    assertBytes(await first, messages[20].bytes, 'first');
    await rejectsWith(second, 'aborted', 'second');
    assertBytes(await third, messages[22].bytes, 'third');
  });

  test('a queued call times out on time, not when its turn comes', async () => {
    // A stream nobody reads holds the session (back-pressure). Calls queued behind it must
    // still honour their own timeoutMs / signal.
    const reader = c.retrieveStream(largeMsg).getReader();
    await reader.read();
    const started = Date.now();
    const timedOut = c.noop({ timeoutMs: 200 }).then(() => 'resolved', (e) => e);
    const controller = new AbortController();
    const aborted = c.stat({ signal: controller.signal }).then(() => 'resolved', (e) => e);
    setTimeout(() => controller.abort(), 300);
    const settle = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r('still pending after 2 s'), 2000))]);
    const [t, a] = await Promise.all([settle(timedOut), settle(aborted)]);
    const elapsed = Date.now() - started;
    // Let the session go on before asserting, so a failure here does not wedge later tests.
    await reader.cancel();
    await Promise.all([timedOut, aborted]);
    assert.ok(t instanceof Pop3Error && t.code === 'timeout', `queued noop with timeoutMs 200: ${inspect(t)}`);
    assert.ok(a instanceof Pop3Error && a.code === 'aborted', `queued stat aborted at 300 ms: ${inspect(a)}`);
    assert.ok(elapsed < 1500, `settled after ${elapsed} ms`);
    assertBytes(await c.retrieve(9), messages[9].bytes, 'message 9 afterwards');
  });

  test('close() does not wait behind a stream nobody reads', async () => {
    const d = await session();
    const reader = d.retrieveStream(largeMsg).getReader();
    await reader.read();
    const closing = d.close().then(() => 'closed', (e) => e);
    const outcome = await Promise.race([closing, new Promise((r) => setTimeout(() => r('still pending after 2 s'), 2000))]);
    await reader.cancel().catch(() => {});
    await closing;
    assert.equal(outcome, 'closed', 'close() settles while a stream holds the session');
    assert.equal(d.state, 'closed');
  });

  test('timeoutMs rejects with code timeout (transient); the session stays usable', async () => {
    const e = await rejectsWith(c.retrieve(largeMsg, { timeoutMs: 1 }), 'timeout');
    assert.equal(e.transient, true);
    assertBytes(await c.retrieve(5), messages[5].bytes, 'message 5 after the timeout');
  });

  test('AbortSignal.timeout() rejects with code timeout', async () => {
    await rejectsWith(c.retrieve(largeMsg, { signal: AbortSignal.timeout(1) }), 'timeout');
    assertBytes(await c.retrieve(6), messages[6].bytes, 'message 6 after the timeout');
  });

  test('a generous timeout does not fire, and aborting after completion is harmless', async () => {
    const controller = new AbortController();
    const bytes = await c.retrieve(7, { timeoutMs: 30_000, signal: controller.signal });
    controller.abort();
    assertBytes(bytes, messages[7].bytes, 'message 7');
    await c.noop();
  });
});

// ---------------------------------------------------------------------------------------

describe('retrieveStream and progress', () => {
  let c;
  before(async () => { c = await session(); });
  after(async () => { await c?.quit(); });

  test('a multi-megabyte message streams in many chunks that concatenate to the exact bytes', async () => {
    const hash = createHash('sha256');
    let total = 0;
    let chunks = 0;
    for await (const chunk of c.retrieveStream(largeMsg)) {
      assert.ok(chunk instanceof Uint8Array);
      hash.update(chunk);
      total += chunk.length;
      chunks += 1;
    }
    assert.equal(total, messages[largeMsg].bytes.length);
    assert.equal(hash.digest('hex'), sha256(messages[largeMsg].bytes));
    assert.ok(chunks > 10, `${chunks} chunks`);
  });

  test('dot-stuffed lines are un-stuffed in streamed and buffered retrieval', async () => {
    const n = manifest.findIndex((e) => e.features.includes('dot-lines')) + 1;
    const streamed = await collect(c.retrieveStream(n));
    assertBytes(streamed, messages[n].bytes, 'streamed dot-lines');
    assertBytes(await c.retrieve(n), messages[n].bytes, 'retrieved dot-lines');
  });

  test('cancelling a stream early leaves the session usable', async () => {
    const reader = c.retrieveStream(largeMsg).getReader();
    let got = 0;
    while (got < 500_000) {
      const { value, done } = await reader.read();
      assert.ok(!done);
      got += value.length;
    }
    await reader.cancel();
    assertBytes(await c.retrieve(3), messages[3].bytes, 'message 3 after the cancel');
    const again = await collect(c.retrieveStream(largeMsg));
    assertBytes(again, messages[largeMsg].bytes, 'the large message streamed again');
  });

  test('a stream of a missing message errors with code server', async () => {
    const reader = c.retrieveStream(999).getReader();
    await rejectsWith(reader.read(), 'server');
    await c.noop();
  });

  test('aborting a stream through its signal errors it with code aborted', async () => {
    const controller = new AbortController();
    const reader = c.retrieveStream(largeMsg, { signal: controller.signal }).getReader();
    await reader.read();
    controller.abort();
    let error;
    try {
      for (;;) { const { done } = await reader.read(); if (done) break; }
    } catch (e) { error = e; }
    assert.ok(error instanceof Pop3Error, `the stream errored (got ${inspect(error)})`);
    assert.equal(error.code, 'aborted');
    assertBytes(await c.retrieve(8), messages[8].bytes, 'message 8 after the aborted stream');
  });

  test('stream with lines equals top()', async () => {
    const streamed = await collect(c.retrieveStream(20, { lines: 3 }));
    assertBytes(streamed, await c.top(20, 3), 'TOP 20 3');
  });

  test('onProgress reports increasing received and expected from LIST', async () => {
    const { size } = await c.listOne(largeMsg);
    const seen = [];
    const bytes = await c.retrieve(largeMsg, { onProgress: (p) => seen.push({ ...p }) });
    assertBytes(bytes, messages[largeMsg].bytes, 'large message');
    assert.ok(seen.length > 10, `${seen.length} progress reports`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i].received > seen[i - 1].received, `received increases at report ${i}`);
    }
    for (const p of seen) assert.equal(p.expected, size, 'expected is the LIST size');
    assert.ok(seen.at(-1).received <= bytes.length);
    assert.ok(seen.at(-1).received >= bytes.length - 65536, `the last report (${seen.at(-1).received}) is near the end`);
  });
});

// ---------------------------------------------------------------------------------------

describe('retrieveMany', () => {
  test('pipelined: every message in order, exact bytes, few round trips', async () => {
    const c = await session();
    try {
      const all = manifest.map((_, i) => i + 1);
      const before = { ...c.stats };
      const got = [];
      await c.retrieveMany(all, { onMessage: (msg, bytes) => got.push([msg, bytes]) });
      assert.deepEqual(got.map(([m]) => m), all, 'order');
      for (const [msg, bytes] of got) assertBytes(bytes, messages[msg].bytes, `message ${msg}`);
      const roundTrips = c.stats.roundTrips - before.roundTrips;
      // One RETR each, plus the CAPA that login left to share this flight.
      assert.equal(c.stats.commands - before.commands, all.length + 1);
      assert.ok(roundTrips <= 2, `${roundTrips} round trips for ${all.length} messages`);
    } finally {
      await c.quit();
    }
  });

  test('with pipelining off, one round trip per message (the counter means what it says)', async () => {
    const c = await session({ pipelining: false });
    try {
      const msgs = [1, 2, 3, 4, 5, 6, 7, 8];
      const before = { ...c.stats };
      const got = [];
      await c.retrieveMany(msgs, { onMessage: (msg, bytes) => got.push([msg, bytes]) });
      assert.deepEqual(got.map(([m]) => m), msgs);
      for (const [msg, bytes] of got) assertBytes(bytes, messages[msg].bytes, `message ${msg}`);
      assert.equal(c.stats.roundTrips - before.roundTrips, msgs.length);
    } finally {
      await c.quit();
    }
  });

  test('a failing message is reported through onError; without it the call rejects after the others', async () => {
    const c = await session();
    try {
      const events = [];
      await c.retrieveMany([1, 999, 2], {
        onMessage: (msg, bytes) => events.push(['ok', msg, bytes.length]),
        onError: (msg, e) => events.push(['error', msg, e instanceof Pop3Error ? e.code : String(e)]),
      });
      assert.deepEqual(events, [['ok', 1, messages[1].bytes.length], ['error', 999, 'server'], ['ok', 2, messages[2].bytes.length]]);
      const ok = [];
      await rejectsWith(c.retrieveMany([3, 999, 4], { onMessage: (msg) => ok.push(msg) }), 'server');
      assert.deepEqual(ok, [3, 4]);
      const tops = [];
      await c.retrieveMany([1, 2], { lines: 0, onMessage: (msg, bytes) => tops.push([msg, bytes]) });
      for (const [msg, bytes] of tops) assertBytes(bytes, await c.top(msg, 0), `TOP ${msg} 0`);
    } finally {
      await c.quit();
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('DELE, QUIT and RSET (own stack)', () => {
  let own;
  let dir;
  before(async () => {
    dir = sampleMail(0);
    own = await startStack(['--mail', dir.dir]);
  });
  after(async () => {
    await own?.stop();
    dir?.remove();
  });
  const open = async () => {
    const c = await connect({ host: own.host, port: own.pop3_port });
    await c.login('alice', own.password());
    return c;
  };

  test('reset unmarks; delete + quit removes; delete + close keeps', async () => {
    const c = await open();
    const start = await c.stat();
    const uids = await c.uidl();
    await c.delete(1);
    await c.delete(2);
    assert.equal((await c.stat()).count, start.count - 2);
    await rejectsWith(c.retrieve(1), 'server', 'RETR of a deleted message');
    await c.reset();
    assert.deepEqual(await c.stat(), start, 'RSET restores');
    await c.delete(1);
    await c.quit();
    assert.equal(c.state, 'closed');

    const d = await open();
    assert.equal((await d.stat()).count, start.count - 1, 'a new session sees one fewer');
    const after1 = await d.uidl();
    assert.ok(!after1.some((u) => u.uid === uids[0].uid), 'the deleted uid is gone');
    assert.deepEqual(after1.map((u) => u.uid), uids.slice(1).map((u) => u.uid), 'the other uids are stable');
    await d.delete(1);
    await d.close();

    const e = await open();
    assert.equal((await e.stat()).count, start.count - 1, 'close() without QUIT deletes nothing');
    await e.quit();
  });

  test('deleteMany marks several, reporting a bad number alone', async () => {
    const c = await open();
    const start = await c.stat();
    const results = await c.deleteMany([1, 999, 2]);
    assert.equal(results.length, 3);
    assert.equal(results[0], null);
    assert.ok(results[1] instanceof Pop3Error && results[1].code === 'server', inspect(results[1]));
    assert.equal(results[2], null);
    assert.equal((await c.stat()).count, start.count - 2);
    await c.reset();
    assert.deepEqual(await c.stat(), start);
    await c.quit();
  });
});

// ---------------------------------------------------------------------------------------

describe('TLS through Node', () => {
  const TLS_VERSIONS = ['TLSv1.3', 'TLSv1.2'];

  test("tls: 'implicit' with the stack's CA", async () => {
    const c = await connect({ host: stack.host, port: stack.pop3s_port, tls: 'implicit', ca: caPem });
    try {
      assert.ok(TLS_VERSIONS.includes(c.tlsInfo?.version), `version ${c.tlsInfo?.version}`);
      assert.equal(c.tlsInfo.terminatedBy, 'host');
      assert.ok(c.tlsInfo.cipher.length > 0);
      assert.equal(await c.login('alice', stack.password(), { mechanism: 'plain' }), 'PLAIN');
      assertBytes(await c.retrieve(1), messages[1].bytes, 'message 1 over POP3S');
    } finally {
      await c.quit();
    }
  });

  test("tls: 'implicit' with 'localhost' (name check) and ca as bytes", async () => {
    const c = await connect({ host: 'localhost', port: stack.pop3s_port, tls: 'implicit', ca: [Buffer.from(caPem)] });
    try {
      assert.ok(TLS_VERSIONS.includes(c.tlsInfo?.version));
    } finally {
      await c.close();
    }
  });

  test("tls: 'starttls' upgrades on the plain port and re-reads the capabilities", async () => {
    const plain = await connect({ host: stack.host, port: stack.pop3_port });
    const before = await plain.capa();
    await plain.close();
    assert.equal(before.stls, true, 'STLS offered before');

    const c = await connect({ host: stack.host, port: stack.pop3_port, tls: 'starttls', ca: caPem });
    try {
      assert.ok(TLS_VERSIONS.includes(c.tlsInfo?.version), `version ${c.tlsInfo?.version}`);
      assert.equal(c.tlsInfo.terminatedBy, 'host');
      assert.ok(c.capabilities, 'capabilities were read after STLS');
      assert.equal(c.capabilities.stls, false, 'STLS no longer offered: the capabilities are from after the upgrade');
      assert.equal(c.state, 'authorization');
      assert.equal(await c.login('alice', stack.password(), { mechanism: 'plain' }), 'PLAIN',
        'a password over STLS is allowed without allowCleartext');
      assertBytes(await c.retrieve(2), messages[2].bytes, 'message 2 over STLS');
      await rejectsWith(c.startTls(), 'usage', 'a second STLS');
    } finally {
      await c.quit();
    }
  });

  test('after STLS, user and login mechanisms need no allowCleartext either', async () => {
    for (const [mechanism, expected] of [['user', 'USER'], ['login', 'LOGIN']]) {
      const c = await connect({ host: stack.host, port: stack.pop3_port, tls: 'starttls', ca: caPem });
      try {
        assert.equal(await c.login('alice', stack.password(), { mechanism }), expected);
      } finally {
        await c.close();
      }
    }
  });

  test('startTls() called by hand on a plain session', async () => {
    const c = await connect({ host: stack.host, port: stack.pop3_port, ca: caPem });
    try {
      assert.equal(c.tlsInfo, null);
      await c.startTls();
      assert.ok(TLS_VERSIONS.includes(c.tlsInfo?.version));
      assert.equal(c.capabilities?.stls, false);
    } finally {
      await c.close();
    }
  });

  test('without the CA, both modes fail with code tls', async () => {
    await rejectsWith(connect({ host: stack.host, port: stack.pop3s_port, tls: 'implicit' }), 'tls', 'implicit');
    await rejectsWith(connect({ host: stack.host, port: stack.pop3_port, tls: 'starttls' }), 'tls', 'starttls');
  });

  describe('bad certificates (one stack per variant)', () => {
    const variants = ['expired', 'wronghost', 'unknownca'];
    const stacks = {};
    before(async () => {
      const started = await Promise.all(variants.map((v) => startStack(['--tls', '--cert-variant', v])));
      variants.forEach((v, i) => { stacks[v] = started[i]; });
    });
    after(async () => {
      await Promise.all(Object.values(stacks).map((s) => s.stop()));
    });

    for (const variant of variants) {
      test(`${variant}: implicit and starttls fail with code tls`, async () => {
        const s = stacks[variant];
        assert.equal(s.cert_variant, variant);
        const ca = readFileSync(s.ca_cert, 'utf8');
        await rejectsWith(connect({ host: s.host, port: s.pop3s_port, tls: 'implicit', ca }), 'tls', `${variant} implicit`);
        await rejectsWith(connect({ host: s.host, port: s.pop3_port, tls: 'starttls', ca }), 'tls', `${variant} starttls`);
      });
    }

    test("unknownca: trusting the other CA makes it work (the failure was the CA's)", async () => {
      const s = stacks.unknownca;
      const ca = readFileSync(s.certs.unknownca.ca_cert, 'utf8');
      const c = await connect({ host: s.host, port: s.pop3s_port, tls: 'implicit', ca });
      await c.close();
    });

    test('wronghost: serverName is the name Node\'s TLS checks (servername is its deprecated alias; serverName wins)', async () => {
      const s = stacks.wronghost;
      const ca = readFileSync(s.ca_cert, 'utf8');
      for (const [tls, port] of [['implicit', s.pop3s_port], ['starttls', s.pop3_port]]) {
        for (const names of [{ serverName: 'wrong.example' }, { servername: 'wrong.example' }, { serverName: 'wrong.example', servername: 'localhost' }]) {
          const c = await connect({ host: s.host, port, tls, ca, ...names });
          assert.equal(c.tlsInfo?.terminatedBy, 'host', `${tls} ${JSON.stringify(names)}`);
          await c.close();
        }
        await rejectsWith(connect({ host: s.host, port, tls, ca, serverName: 'localhost', servername: 'wrong.example' }), 'tls', `${tls}: serverName wins`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------

describe('parseMessage and attachmentContent over the sample mailbox', () => {
  const retrieved = [];
  before(async () => {
    const c = await session();
    await c.retrieveMany(manifest.map((_, i) => i + 1), { onMessage: (msg, bytes) => { retrieved[msg] = bytes; } });
    await c.quit();
  });

  const noBrackets = (id) => (id == null ? id : id.replace(/^<|>$/g, ''));
  const pairs = (list) => list.map((a) => [a.name, a.address]);

  test('every message matches manifest.json', () => {
    for (const [i, entry] of manifest.entries()) {
      const raw = retrieved[i + 1];
      const what = entry.file;
      const p = parseMessage(raw);
      assert.equal(p.size, raw.length, `${what}: size`);
      assert.equal(p.from[0]?.address, entry.from_address, `${what}: from address`);
      assert.equal(noBrackets(p.messageId), noBrackets(entry.message_id), `${what}: message id`);
      const body = p.text ?? '';

      if (entry.features.includes('malformed-headers')) {
        // Loosely: Python and mail-parser read broken headers differently.
        assert.ok(body.includes(entry.text_contains) || (p.html ?? '').includes(entry.text_contains), `${what}: snippet`);
        assert.equal(p.date, null, `${what}: bad date`);
        assert.equal(typeof p.dateRaw, 'string', `${what}: raw date kept`);
        assert.match(p.subject ?? '', /^Unpaid balance/, `${what}: subject`);
        continue;
      }

      assert.equal(p.subject, entry.subject, `${what}: subject`);
      assert.equal(p.from[0]?.name, entry.from_name, `${what}: from name`);
      assert.equal(p.html !== null, entry.has_html, `${what}: has html`);
      const htmlOnly = entry.features.includes('html-only');
      if (htmlOnly) {
        // The manifest's snippet is in the HTML part; `text` is derived from it only in builds
        // with html-text, and null otherwise.
        assert.ok(p.html.includes(entry.text_contains), `${what}: html contains ${JSON.stringify(entry.text_contains)}`);
        if (buildInfo().htmlText) assert.equal(p.textFromHtml, true, `${what}: text from html`);
        else assert.deepEqual([p.text, p.textFromHtml], [null, false], `${what}: no text without html-text`);
      } else {
        assert.equal(p.textFromHtml, false, `${what}: textFromHtml`);
        assert.ok(body.includes(entry.text_contains), `${what}: text contains ${JSON.stringify(entry.text_contains)}`);
      }
      const lines = body.split(/\r?\n/);
      for (const line of entry.exact_lines) assert.ok(lines.includes(line), `${what}: exact line ${JSON.stringify(line)}`);
      assert.equal(p.date, entry.date_iso, `${what}: date`);
      assert.equal(noBrackets(p.inReplyTo), noBrackets(entry.in_reply_to), `${what}: in-reply-to`);
      assert.deepEqual(p.references.map(noBrackets), entry.references.map(noBrackets), `${what}: references`);
      assert.deepEqual(pairs(p.to), entry.to, `${what}: to`);
      assert.deepEqual(pairs(p.cc), entry.cc, `${what}: cc`);
      assert.equal(p.replyTo[0]?.address ?? null, entry.reply_to, `${what}: reply-to`);

      assert.deepEqual(
        p.attachments.map((a) => ({ filename: a.filename, content_type: a.contentType, size: a.size, content_id: a.contentId })),
        entry.attachments,
        `${what}: attachments`,
      );
      for (const a of p.attachments) {
        assert.equal(typeof a.index, 'number');
        assert.equal(typeof a.inline, 'boolean');
        const content = attachmentContent(raw, a.index);
        assert.ok(content instanceof Uint8Array, `${what}: attachment ${a.index} content`);
        assert.equal(content.length, a.size, `${what}: attachment ${a.index} size`);
        if (a.contentType === 'application/pdf') assert.equal(Buffer.from(content.subarray(0, 4)).toString('latin1'), '%PDF');
        if (a.contentType === 'image/png') assert.deepEqual([...content.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
        if (a.contentId) assert.equal(a.inline, true, `${what}: a cid: image is inline`);
      }
    }
  });

  test('ArrayBuffer input, out-of-range attachments, and bad input', () => {
    const n = manifest.findIndex((e) => e.features.includes('pdf')) + 1;
    const raw = retrieved[n];
    const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    const fromAb = parseMessage(ab);
    assert.deepEqual(fromAb, parseMessage(raw));
    assert.equal(attachmentContent(ab, 0)?.length, fromAb.attachments[0].size);
    assert.equal(attachmentContent(raw, 99), null);
    // A Buffer view into a larger pool (non-zero byteOffset) is read from the right place.
    const pooled = Buffer.concat([Buffer.from('garbage'), Buffer.from(raw)]).subarray(7);
    assert.deepEqual(parseMessage(pooled), fromAb);
    assert.throws(() => parseMessage('From: x'), (e) => e instanceof Pop3Error && e.code === 'usage');
    assert.throws(() => attachmentContent(raw, -1), (e) => e instanceof Pop3Error && e.code === 'usage');
    assert.throws(() => parseMessage(new Uint8Array(0)), (e) => e instanceof Pop3Error);
  });

  test('the large attachment decodes to its full size', () => {
    const raw = retrieved[largeMsg];
    const p = parseMessage(raw);
    const expected = manifest[largeMsg - 1].attachments[0].size;
    assert.ok(expected >= 8 * 1024 * 1024);
    assert.equal(p.attachments.length, 1);
    assert.equal(p.attachments[0].size, expected);
    assert.equal(attachmentContent(raw, p.attachments[0].index).length, expected);
  });
});

describe('legacy charsets decoded by the host TextDecoder', () => {
  // Built byte for byte: Node's TextEncoder only writes UTF-8.
  const message = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  const pairs = (list) => list.map((a) => [a.name, a.address]);

  test('Shift_JIS, GB2312, EUC-KR and ISO-2022-JP in bodies and RFC 2047 words', () => {
    const raw = message(
      'From: =?ks_c_5601-1987?B?vsiz5w==?= <k@example.kr>\r\n',
      'To: =?ISO-2022-JP?B?GyRCN29MPhsoQg==?= <jp@example.jp>, plain@example.org\r\n',
      'Cc: =?cp936?B?xOO6ww==?= <c@example.cn>\r\n',
      'Subject: =?GB2312?Q?=C4=E3=BA=C3?= and =?iso-8859-1?q?caf=E9?=\r\n',
      // Message ids are read as they stand: a word in one is not decoded, so not rewritten.
      'Message-ID: <=?Shift_JIS?B?gqA=?=@example.jp>\r\n',
      'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n',
      '--b\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      'grGC8YLJgr+CzYFBkKKKRQ==\r\n',
      '--b\r\nContent-Type: text/html; charset="EUC-JP"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
      '<p>=C6=FC=CB=DC</p>\r\n--b--\r\n',
    );
    const p = parseMessage(raw);
    assert.deepEqual(pairs(p.from), [['안녕', 'k@example.kr']]);
    assert.deepEqual(pairs(p.to), [['件名', 'jp@example.jp'], [null, 'plain@example.org']]);
    assert.equal(p.subject, '你好 and café');
    // cp936 is mail-parser's name for GBK, not a WHATWG label: mapped before TextDecoder sees it.
    assert.deepEqual(pairs(p.cc), [['你好', 'c@example.cn']]);
    assert.equal(p.messageId, '=?Shift_JIS?B?gqA=?=@example.jp');
    assert.equal(p.text.trim(), 'こんにちは、世界');
    assert.equal(p.html.trim(), '<p>日本</p>');
    assert.equal(p.headers.find((h) => h.name === 'Subject').value, '你好 and café');
  });

  test('RFC 2231 and RFC 2047 file names in Big5 and Shift_JIS', () => {
    const raw = message(
      'From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n',
      'Content-Type: multipart/mixed; boundary="b"\r\n\r\n',
      '--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n',
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=big5''%A4%A4%A4%E5.txt\r\n\r\nx\r\n",
      '--b\r\nContent-Type: application/octet-stream; name="=?Shift_JIS?B?grGC8YLJgr+CzQ==?=.pdf"\r\n',
      'Content-Disposition: attachment\r\n\r\ny\r\n--b--\r\n',
    );
    assert.deepEqual(parseMessage(raw).attachments.map((a) => a.filename), ['中文.txt', 'こんにちは.pdf']);
  });

  test('a charset the host cannot decode either is left as it was, not replaced', () => {
    // ISO-2022-KR maps to WHATWG's "replacement" encoding: decoding would yield one U+FFFD.
    const raw = message('From: a@example.org\r\nSubject: =?ISO-2022-KR?B?GyQpQw4+SDNnDw==?=\r\n\r\nbody\r\n');
    assert.ok(parseMessage(raw).subject.startsWith('\u001b$)C'));
  });
});
