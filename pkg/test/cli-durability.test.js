// What a user's Maildir goes through: the `pop3` CLI killed with SIGKILL at random moments of a
// delete-after-save fetch, and the Rust tools (the native example, on the Rust MaildirSink)
// and the JavaScript CLI taking turns on one Maildir. Against real Dovecot.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { deliver, repo, startStack } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/pop3.js', import.meta.url));
const NATIVE = path.join(repo, 'target', 'debug', 'examples', 'pop3');

/** A message of about `kb` KB with LF line ends, as a file would hold it. */
function message(n, kb) {
  const line = `line of message ${n}, padding to make it longer than a line or two\n`;
  return `From: s${n}@example.org\nTo: u@example.org\nSubject: durability ${n}\nMessage-ID: <d${n}@example.org>\n\n`
    + line.repeat(Math.ceil((kb * 1024) / line.length));
}

function writeMessages(dir, numbers, kb) {
  fs.mkdirSync(dir, { recursive: true });
  return numbers.map((n) => {
    const file = path.join(dir, `${String(n).padStart(4, '0')}.eml`);
    fs.writeFileSync(file, message(n, kb));
    return file;
  });
}

/** What RETR returns for a file: CRLF line ends. */
const wire = (file) => Buffer.from(fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
const digest = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Every message file in new/ and cur/: their digests, with how often each occurs. A run killed
 * before it created the Maildir has saved nothing, so a missing folder counts as empty.
 */
function maildirDigests(dir) {
  const counts = new Map();
  for (const sub of ['new', 'cur']) {
    if (!fs.existsSync(path.join(dir, sub))) continue;
    for (const name of fs.readdirSync(path.join(dir, sub))) {
      const d = digest(fs.readFileSync(path.join(dir, sub, name)));
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  return counts;
}

function runCli(stack, user, args, { signalAfterMs } = {}) {
  const env = { ...process.env, POP3_PASSWORD: stack.password(user) };
  const argv = [BIN, '--host', stack.host, '--port', String(stack.pop3_port), '--user', user, '--allow-cleartext', ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = signalAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), signalAfterMs);
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

function serverCount(stack, user) {
  return fs.readdirSync(path.join(stack.maildir(user), 'cur')).length + fs.readdirSync(path.join(stack.maildir(user), 'new')).length;
}

let stack;
let root;
const sources = {};

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-durability-'));
  // 40 messages from 1 KB to 200 KB: a fetch takes long enough to be killed in its middle.
  sources.kill = writeMessages(path.join(root, 'kill-mail'), Array.from({ length: 40 }, (_, i) => i + 1), 1)
    .map((f, i) => { fs.writeFileSync(f, message(i + 1, 1 + (i % 8) * 25)); return f; });
  sources.shared = writeMessages(path.join(root, 'shared-mail'), [1, 2, 3, 4, 5], 2);
  stack = await startStack([
    '--user', 'kill:pw-kill-1234', '--mail', path.dirname(sources.kill[0]),
    '--user', 'shared:pw-shared-1234', '--mail-for', `shared=${path.dirname(sources.shared[0])}`,
  ]);
});

after(async () => {
  await stack?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('durability', () => {
  test('SIGKILL at 50 random moments of fetch --delete, then a clean run: nothing lost, nothing twice', async (t) => {
    const maildir = path.join(root, 'killed');
    const outcomes = { killed: 0, finished: 0, batches: 1 };
    const delivered = [...sources.kill];
    let next = sources.kill.length + 1;
    // A fixed seed, so a failure can be replayed.
    let seed = 20261203;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    for (let i = 0; i < 50; i++) {
      if (serverCount(stack, 'kill') === 0) {
        // The server was emptied: new mail, so that the next run has work to be killed in.
        const batch = writeMessages(path.join(root, `kill-batch-${i}`), Array.from({ length: 20 }, (_, k) => next + k), 40);
        next += batch.length;
        deliver(stack.maildir('kill'), batch);
        delivered.push(...batch);
        outcomes.batches += 1;
      }
      const r = await runCli(stack, 'kill', ['fetch', '--maildir', maildir, '--delete'], { signalAfterMs: 30 + Math.floor(random() * 220) });
      if (r.signal === 'SIGKILL') outcomes.killed += 1;
      else {
        // 0: new mail fetched; 1: nothing new.
        assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.err}`);
        outcomes.finished += 1;
      }
      // After every kill: no message is on neither side, none is twice in the Maildir.
      const have = maildirDigests(maildir);
      for (const [d, n] of have) assert.equal(n, 1, `run ${i}: a message is in the Maildir ${n} times (${d})`);
      const onServer = serverCount(stack, 'kill');
      assert.ok(have.size + onServer >= delivered.length, `run ${i}: ${have.size} saved + ${onServer} on the server < ${delivered.length}`);
    }
    const clean = await runCli(stack, 'kill', ['fetch', '--maildir', maildir, '--delete']);
    assert.ok(clean.code === 0 || clean.code === 1, `exit ${clean.code}: ${clean.err}`);
    const have = maildirDigests(maildir);
    assert.deepEqual([...have.values()].filter((n) => n !== 1), [], 'no message twice');
    assert.deepEqual([...have.keys()].sort(), delivered.map((f) => digest(wire(f))).sort(), 'every message, byte for byte');
    assert.equal(serverCount(stack, 'kill'), 0, 'delete-after-save emptied the server');
    assert.ok(outcomes.killed >= 35, `most runs were killed: ${JSON.stringify(outcomes)}`);
    t.diagnostic(JSON.stringify(outcomes));
  });

  test('the Rust tools and the JS CLI share one Maildir, in both orders: 0 new, no duplicates', async () => {
    assert.ok(fs.existsSync(NATIVE), `the native example is built by cargo test (${NATIVE})`);
    const native = (dir) => spawnSync(NATIVE, ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'shared',
      '--auth', 'user', '--allow-cleartext', 'fetch', dir], { env: { ...process.env, POP3_PASSWORD: stack.password('shared') }, encoding: 'utf8' });

    // Rust first, then JS.
    const a = path.join(root, 'rust-then-js');
    let r = native(a);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fetched 5 messages/);
    let js = await runCli(stack, 'shared', ['--json', 'fetch', '--maildir', a]);
    assert.equal(js.code, 1, `nothing new: exit 1; ${js.err}`);
    assert.equal(JSON.parse(js.out).messages, 0, 'the JS CLI finds nothing new in what the Rust sink wrote');
    assert.equal(maildirDigests(a).size, 5);

    // JS first, then Rust.
    const b = path.join(root, 'js-then-rust');
    js = await runCli(stack, 'shared', ['--json', 'fetch', '--maildir', b]);
    assert.equal(js.code, 0, js.err);
    assert.equal(JSON.parse(js.out).messages, 5);
    r = native(b);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fetched 0 messages/, 'the Rust tools find nothing new in what the JS CLI wrote');

    // New mail: each side fetches only what the other has not; the Maildirs stay duplicate-free.
    deliver(stack.maildir('shared'), writeMessages(path.join(root, 'more'), [6, 7], 2));
    r = native(a);
    assert.match(r.stderr, /fetched 2 messages/);
    js = await runCli(stack, 'shared', ['--json', 'fetch', '--maildir', b]);
    assert.equal(JSON.parse(js.out).messages, 2);
    for (const dir of [a, b]) {
      const have = maildirDigests(dir);
      assert.equal(have.size, 7);
      assert.deepEqual([...have.values()].filter((n) => n !== 1), []);
    }
  });
});
