// The pop3:client interface from JavaScript: the component transpiled by jco
// (@bytecodealliance/jco) and run in Node on jco's WASI shims (@bytecodealliance/preview2-shim,
// whose sockets are Node's), against the same real Dovecot as test_wasmtime.py.
//
// scripts/test-component.sh sets POP3_STACK (mailstack.py's info file) and POP3_JCO_MODULE
// (the transpiled module). Calls are synchronous: the shims block on Node's sockets.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const { session } = await import(process.env.POP3_JCO_MODULE);
const stack = JSON.parse(readFileSync(process.env.POP3_STACK, 'utf8'));
const alice = stack.users.alice;
const ca = readFileSync(stack.ca_cert, 'utf8');
const auto = { method: 'auto', token: false, allowCleartext: false };

const plain = () =>
  session.Session.connect({ host: stack.host, port: stack.pop3_port, tls: 'none', caPem: [], caOnly: false });

/** Alice's messages as Dovecot stores them, as POP3 sends them (CRLF). */
function serverMessages(user) {
  const out = [];
  for (const sub of ['new', 'cur']) {
    const dir = join(user.maildir, sub);
    for (const name of readdirSync(dir).sort()) {
      out.push(Buffer.from(readFileSync(join(dir, name), 'latin1').replace(/\n/g, '\r\n'), 'latin1'));
    }
  }
  return out;
}

/** The WIT error variant a call failed with. */
function witError(fn) {
  try {
    fn();
  } catch (e) {
    assert.equal(e.constructor.name, 'ComponentError', `not a ComponentError: ${e}`);
    return e.payload;
  }
  assert.fail('the call did not fail');
}

const sortBuffers = (list) => [...list].sort(Buffer.compare);

test('a plain session: greeting, login, capa, stat, list, uidl, top, dele/rset, noop, quit', () => {
  const s = plain();
  assert.match(s.greeting(), /Dovecot/);
  assert.equal(s.tlsInfo(), undefined);
  assert.equal(s.login('alice', alice.password, auto), 'AUTH SCRAM-SHA-256');
  const caps = s.capa();
  assert.equal(caps.pipelining, true);
  assert.equal(caps.uidl, true);
  const stat = s.stat();
  assert.equal(stat.count, alice.messages.length);
  assert.equal(stat.size, BigInt(alice.messages.reduce((n, m) => n + m.octets, 0)));
  assert.deepEqual(
    s.list().map((e) => [e.msg, Number(e.size)]),
    alice.messages.map((m, i) => [i + 1, m.octets]),
  );
  const uids = s.uidl();
  assert.equal(uids.length, alice.messages.length);
  assert.equal(new Set(uids.map((u) => u.uid)).size, uids.length);
  const head = Buffer.from(s.top(2, 0)).toString('latin1');
  assert.match(head, /^Subject: =\?UTF-8\?B\?R3LDvMOfZSBhdXMgS8O2bG4=\?=\r$/m);
  assert.ok(head.endsWith('\r\n\r\n'), 'TOP n 0 is the header and the blank line');
  const many = s.topMany([1, 2, 3], 0);
  assert.equal(many.length, 3);
  assert.match(Buffer.from(many[0].val).toString(), /Subject: Plain hello/);
  s.dele(1);
  assert.equal(s.stat().count, alice.messages.length - 1);
  s.rset();
  assert.equal(s.stat().count, alice.messages.length);
  s.noop();
  s.quit();
  assert.equal(witError(() => s.noop()).tag, 'usage');
});

test('retr streams the 5 MB message in chunks, byte for byte; the session waits meanwhile', () => {
  const big = serverMessages(alice).find((m) => m.includes('Message-ID: <big@example.org>'));
  const s = plain();
  s.login('alice', alice.password, auto);
  const message = s.retr(4);
  assert.equal(message.octetsHint(), BigInt(big.length));
  assert.equal(witError(() => s.stat()).tag, 'usage', 'a message in progress holds the session');
  const chunks = [];
  for (let c = message.nextChunk(); c !== undefined; c = message.nextChunk()) chunks.push(Buffer.from(c));
  assert.ok(chunks.length > 50, `${chunks.length} chunks`);
  assert.ok(chunks.every((c) => c.length <= 64 * 1024));
  assert.equal(message.received(), BigInt(big.length));
  assert.ok(Buffer.concat(chunks).equals(big), 'the message differs from the server copy');
  assert.equal(message.nextChunk(), undefined);
  message[Symbol.dispose]?.();
  s.quit();
});

test('a message dropped half-way is skipped; the session goes on', () => {
  const s = plain();
  s.login('alice', alice.password, auto);
  const message = s.retr(4);
  message.nextChunk();
  message[Symbol.dispose]();
  assert.equal(s.stat().count, alice.messages.length);
  s.quit();
});

test('STLS and implicit TLS with the test CA; an untrusted or misnamed certificate is a tls error', () => {
  const stls = session.Session.connect({ host: 'localhost', port: stack.pop3_port, tls: 'starttls', caPem: [ca], caOnly: true });
  assert.match(stls.tlsInfo().version, /^TLSv1\.[23]$/);
  stls.login('alice', alice.password, auto);
  assert.equal(stls.stat().count, alice.messages.length);
  stls.quit();
  const implicit = session.Session.connect({ host: 'localhost', port: stack.pop3s_port, tls: 'implicit', caPem: [ca], caOnly: false });
  assert.ok(implicit.tlsInfo().cipher.length > 0);
  implicit.quit();
  const untrusted = witError(() =>
    session.Session.connect({ host: 'localhost', port: stack.pop3s_port, tls: 'implicit', caPem: [], caOnly: false }),
  );
  assert.equal(untrusted.tag, 'tls');
  const wrongName = witError(() =>
    session.Session.connect({ host: stack.host, port: stack.pop3s_port, tls: 'implicit', serverName: 'mail.example.org', caPem: [ca], caOnly: true }),
  );
  assert.equal(wrongName.tag, 'tls');
});

test('a wrong password is an auth error carrying the server reply, and no secret', () => {
  const wrong = 'wrong-password-1234567';
  const s = plain();
  const e = witError(() => s.login('alice', wrong, auto));
  assert.equal(e.tag, 'auth');
  assert.equal(e.val.responseCode, 'AUTH');
  assert.equal(e.val.transient, false);
  assert.ok(!JSON.stringify(e).includes(wrong));
  const usage = witError(() => plain().login('alice', alice.password, { method: 'user', token: false, allowCleartext: false }));
  assert.equal(usage.tag, 'usage');
});

/** Runs a sync to an in-memory destination; `answer(step)` may return 'skip' or a failure. */
function runSync(s, options, answer = () => 'next') {
  const run = s.sync(options);
  const saved = new Map();
  const steps = [];
  let current = null;
  let state = null;
  let journal = '';
  let step = run.next();
  try {
    while (step.tag !== 'done') {
      steps.push(step.tag);
      if (step.tag === 'begin') current = { uid: step.val.uid, chunks: [] };
      else if (step.tag === 'chunk') current.chunks.push(Buffer.from(step.val));
      else if (step.tag === 'commit') saved.set(current.uid, Buffer.concat(current.chunks));
      else if (step.tag === 'abort') current = null;
      else if (step.tag === 'record-saved') journal += step.val.journal;
      else if (step.tag === 'save-state') state = step.val;
      const reply = answer(step);
      step = reply === 'skip' ? run.skip() : reply === 'next' ? run.next() : run.fail(reply);
    }
  } catch (e) {
    return { error: e.payload, steps, saved };
  }
  return { report: step.val, steps, saved, state, journal };
}

test('sync: every message streamed to the destination, the state as JSON, then nothing new', () => {
  const options = (state) => ({ account: 'alice@localhost', state, retention: { tag: 'keep' } });
  let s = session.Session.connect({ host: 'localhost', port: stack.pop3s_port, tls: 'implicit', caPem: [ca], caOnly: true });
  s.login('alice', alice.password, auto);
  const first = runSync(s, options(undefined));
  assert.equal(first.report.saved, alice.messages.length);
  assert.deepEqual(sortBuffers(first.saved.values()), sortBuffers(serverMessages(alice)));
  assert.deepEqual(first.steps.filter((t) => t !== 'chunk').slice(0, 2), ['begin', 'commit']);
  assert.equal(first.report.state, first.state);
  const state = JSON.parse(first.state);
  assert.equal(state.format, 'pop3-wasm-sync');
  assert.equal(state.account, 'alice@localhost');
  assert.deepEqual(Object.keys(state.messages).sort(), [...first.saved.keys()].sort());
  assert.equal(first.journal.trim().split('\n').length, alice.messages.length);
  assert.equal(witError(() => s.noop()).tag, 'usage', 'the run ended the session with QUIT');

  s = plain();
  s.login('alice', alice.password, auto);
  const second = runSync(s, options(first.state));
  assert.equal(second.report.saved, 0);
  assert.equal(second.report.alreadySaved, alice.messages.length);
  assert.deepEqual(second.steps, ['save-state']);

  // A state of another account is refused before anything is fetched.
  s = plain();
  s.login('alice', alice.password, auto);
  assert.equal(witError(() => s.sync({ account: 'bob@localhost', state: first.state, retention: { tag: 'keep' } })).tag, 'usage');
  s.quit();
});

test('sync: skip answers a message the destination holds; fail stops the run without losing anything', () => {
  let s = plain();
  s.login('alice', alice.password, auto);
  const skipped = runSync(s, { account: 'alice@localhost', retention: { tag: 'keep' } }, (step) => (step.tag === 'begin' ? 'skip' : 'next'));
  assert.equal(skipped.report.saved, alice.messages.length);
  assert.equal(skipped.steps.filter((t) => t === 'chunk' || t === 'commit').length, 0);

  s = plain();
  s.login('alice', alice.password, auto);
  const failed = runSync(s, { account: 'alice@localhost', retention: { tag: 'delete' } }, (step) =>
    step.tag === 'chunk' ? 'disk full' : 'next',
  );
  assert.equal(failed.error.tag, 'usage');
  assert.match(failed.error.val.message, /the destination failed: disk full/);
  assert.deepEqual(failed.steps, ['begin', 'chunk', 'abort']);
  assert.equal(serverMessages(alice).length, alice.messages.length, 'nothing was deleted');
});
