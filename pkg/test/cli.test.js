// The `pop3` command-line client, run as a child process against real Dovecot stacks
// (tests/support/mailstack.py) with the sample mailbox, and against a tiny fake server for
// Ctrl-C.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { connect, loadSyncState } from '../src/node.js';
import {
  deliver, freePort, repo, sampleMail, scriptedServer, stallingServer, startStack, waitForPort,
} from './helpers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(pkgDir, 'bin', 'pop3.js');
const PASSWORD = 'wonderland';

/** The environment for the CLI: none of the caller's POP3_* variables. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('POP3_')) delete env[k];
  return { ...env, ...extra };
}

/**
 * Runs `node bin/pop3.js ...args`; resolves to { code, signal, stdout (Buffer), out, err }.
 * stdin is /dev/null unless `input` is given (so it is never a terminal).
 */
function run(args, { env = {}, password = PASSWORD, wrap = null, onSpawn = null, timeoutMs = 30000 } = {}) {
  const fullEnv = cleanEnv(password === null ? env : { POP3_PASSWORD: password, ...env });
  const argv = [BIN, ...args];
  const [cmd, cmdArgs] = wrap ? ['/bin/sh', ['-c', `${wrap}; exec "$0" "$@"`, process.execPath, ...argv]] : [process.execPath, argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: pkgDir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pop3 ${args.join(' ')} timed out; stderr: ${err}`)); }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, out: stdout.toString('utf8'), err });
    });
    if (onSpawn) onSpawn(child);
  });
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every message of the stack's first user, retrieved through the API: Map msg -> { bytes, uid }. */
async function serverMessages(stack) {
  const client = await connect({ host: stack.host, port: stack.pop3_port });
  try {
    await client.login('alice', stack.password());
    const uids = new Map((await client.uidl()).map((e) => [e.msg, e.uid]));
    const list = await client.list();
    const messages = new Map();
    await client.retrieveMany(list.map((e) => e.msg), {
      onMessage: (msg, bytes) => messages.set(msg, { bytes: Buffer.from(bytes), uid: uids.get(msg), size: list[msg - 1].size }),
    });
    await client.quit();
    return messages;
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

async function serverCount(stack) {
  const client = await connect({ host: stack.host, port: stack.pop3_port });
  await client.login('alice', stack.password());
  const { count } = await client.stat();
  await client.quit();
  return count;
}

function maildirFiles(dir, sub) {
  return fs.readdirSync(path.join(dir, sub)).sort();
}

/** The Maildir file name the Rust MaildirSink gives a uid: pop3-<12 bytes of SHA-256, hex>.<host>. */
function rustFileName(uid) {
  const host = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim().replace(/[/:]/g, '_');
  return `pop3-${createHash('sha256').update(uid).digest('hex').slice(0, 24)}.${host}`;
}

/**
 * The sync state of a Maildir as the next run will see it: the state file and the journal of
 * a run that did not finish, read by the library (a plain object).
 */
function readState(dir) {
  const read = (name) => {
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch (e) {
      if (e.code === 'ENOENT') return null;
      throw e;
    }
  };
  const text = read('pop3-state.json');
  const account = text ? JSON.parse(text).account : null;
  const journal = read('pop3-state.journal');
  assert.ok(text || journal, `no state in ${dir}`);
  return loadSyncState(text, journal, account ?? 'u@127.0.0.1').toJSON();
}

/** Resolves when `stream` (a child's stdout or stderr) has printed text matching `pattern`. */
function waitForText(stream, pattern, what, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => { stream.off('data', onData); reject(new Error(`timed out waiting for ${what}; got: ${seen}`)); }, timeoutMs);
    function onData(d) {
      seen += d;
      const m = pattern.exec(seen);
      if (m) { clearTimeout(timer); stream.off('data', onData); resolve(m); }
    }
    stream.on('data', onData);
  });
}

function assertNoPassword(result, password = PASSWORD) {
  assert.ok(!result.err.includes(password), `stderr must not contain the password: ${result.err}`);
  assert.ok(!result.out.includes(password), 'stdout must not contain the password');
}

describe('pop3 CLI without a server', () => {
  test('--help, COMMAND --help and --version exit 0', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage:/m);
    assert.match(help.out, /Exit codes:/);
    assert.match(help.out, /130\s+interrupted/);
    const fetchHelp = await run(['fetch', '--help']);
    assert.equal(fetchHelp.code, 0);
    assert.match(fetchHelp.out, /CRLF/);
    assert.match(fetchHelp.out, /pop3-state\.json/);
    assert.match(fetchHelp.out, /--delete-older-than DAYS/);
    const watchHelp = await run(['watch', '--help']);
    assert.equal(watchHelp.code, 0);
    assert.match(watchHelp.out, /--interval SECS/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.out, /^pop3 \(pop3-wasm\) \d+\.\d+\.\d+/);
  });

  test('usage errors exit 2 with one line on stderr', async () => {
    const noCommand = await run([]);
    assert.equal(noCommand.code, 2);
    const unknown = await run(['frobnicate', '--host', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^pop3: unknown command "frobnicate"/);
    const badPort = await run(['--host', '127.0.0.1', '--port', '99999', 'list']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.err, /--port/);
    const wrongCommand = await run(['--host', '127.0.0.1', 'list', '--maildir', '/tmp/x']);
    assert.equal(wrongCommand.code, 2);
    assert.match(wrongCommand.err, /--maildir only applies to pop3 fetch/);
    const noHost = await run(['list', '--user', 'alice']);
    assert.equal(noHost.code, 2);
    assert.match(noHost.err, /--host/);
    const dir = tmpDir('pop3-cli-usage-');
    try {
      for (const command of ['fetch', 'watch']) {
        const both = await run(['--host', '127.0.0.1', '--port', '1', '--user', 'alice', command, '--maildir', dir, '--delete', '--delete-older-than', '3']);
        assert.equal(both.code, 2, both.err);
        assert.match(both.err, /choose one of --delete and --delete-older-than/);
      }
      const zero = await run(['--host', '127.0.0.1', '--port', '1', '--user', 'alice', 'watch', '--maildir', dir, '--interval', '0']);
      assert.equal(zero.code, 2);
      assert.match(zero.err, /--interval must be more than 0/);
      const interval = await run(['--host', '127.0.0.1', 'fetch', '--maildir', dir, '--interval', '5']);
      assert.equal(interval.code, 2);
      assert.match(interval.err, /--interval only applies to pop3 watch/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--password is refused, without echoing its value', async () => {
    for (const args of [['--password', 'hunter2-secret'], ['--password=hunter2-secret']]) {
      const r = await run(['--host', '127.0.0.1', '--user', 'alice', ...args, 'list']);
      assert.equal(r.code, 2);
      assert.match(r.err, /^pop3: --password is refused/);
      assert.match(r.err, /POP3_PASSWORD/);
      assert.match(r.err, /--password-command/);
      assert.ok(!r.err.includes('hunter2-secret'));
    }
  });

  test('no password source and stdin not a terminal: exit 2', async () => {
    const r = await run(['--host', '127.0.0.1', '--port', '1', '--user', 'alice', 'list'], { password: null });
    assert.equal(r.code, 2);
    assert.match(r.err, /no password/);
  });

  test('unreachable host or port: exit 5', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
    const r = await run(['--host', '127.0.0.1', '--port', String(port), '--user', 'alice', 'list']);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, /^pop3: cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const capa = await run(['--host', '127.0.0.1', '--port', String(port), 'capa']);
    assert.equal(capa.code, 5);
  });

  test('a Maildir that cannot be created: exit 8 before connecting', async () => {
    const dir = tmpDir('pop3-cli-');
    try {
      fs.writeFileSync(path.join(dir, 'file'), 'not a directory');
      const r = await run(['--host', '127.0.0.1', '--port', '1', '--user', 'alice', 'fetch', '--maildir', path.join(dir, 'file')]);
      assert.equal(r.code, 8, r.err);
      assert.match(r.err, /^pop3: cannot use Maildir/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pop3 CLI against Dovecot (read-only)', () => {
  let stack;
  let mail;
  let manifest;
  let expected; // msg -> { bytes, uid, size }
  let base; // --host/--port/--user

  before(async () => {
    mail = sampleMail(1);
    manifest = JSON.parse(fs.readFileSync(path.join(mail.dir, 'manifest.json'), 'utf8'));
    stack = await startStack(['--mail', mail.dir, '--tls', '--websockify']);
    base = ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'alice'];
    expected = await serverMessages(stack);
  });

  after(async () => {
    await stack?.stop();
    mail?.remove();
  });

  test('capa shows the capabilities, without logging in', async () => {
    const r = await run(['--host', stack.host, '--port', String(stack.pop3_port), 'capa'], { password: null });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^PIPELINING:\s+yes$/m);
    assert.match(r.out, /^UIDL:\s+yes$/m);
    assert.match(r.out, /^STLS:\s+yes$/m);
    assert.match(r.out, /^SASL:\s+.*CRAM-MD5/m);
    assert.match(r.out, /^APOP:\s+available/m);
    assert.match(r.out, /^Greeting:\s+Dovecot/m);
    const json = await run(['--host', stack.host, '--port', String(stack.pop3_port), 'capa', '--json'], { password: null });
    assert.equal(json.code, 0, json.err);
    const info = JSON.parse(json.out);
    assert.equal(info.capabilities.top, true);
    assert.ok(info.capabilities.sasl.includes('PLAIN'));
    assert.equal(info.tls, null);
    // After login, Dovecot no longer offers SASL.
    const after = JSON.parse((await run([...base, 'capa', '--login', '--json'])).out);
    assert.equal(after.loggedIn, true);
    assert.deepEqual(after.capabilities.sasl, []);
  });

  test('list: number, size and UID of every message', async () => {
    const r = await run([...base, 'list']);
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trimEnd().split('\n');
    assert.match(rows[0], /^\s*MSG\s+SIZE\s+UID$/);
    assert.equal(rows.length - 1, expected.size);
    for (const row of rows.slice(1)) {
      const [msg, size, uid] = row.trim().split(/\s+/);
      assert.equal(Number(size), expected.get(Number(msg)).size);
      assert.equal(uid, expected.get(Number(msg)).uid);
    }
  });

  test('list --headers: decoded Date, From and Subject (TOP n 0)', async () => {
    const json = await run([...base, 'list', '--headers', '--json']);
    assert.equal(json.code, 0, json.err);
    const rows = JSON.parse(json.out);
    assert.equal(rows.length, manifest.length);
    manifest.forEach((m, i) => {
      if (m.features.includes('malformed-headers')) return;
      assert.equal(rows[i].subject, m.subject, `subject of ${m.file}`);
      assert.equal(rows[i].from[0].address, m.from_address, `from of ${m.file}`);
      assert.equal(rows[i].uid, expected.get(i + 1).uid);
    });
    const table = await run([...base, 'list', '--headers']);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^\s*MSG\s+SIZE\s+UID\s+DATE\s+FROM\s+SUBJECT$/m);
    const nonAscii = manifest.filter((m) => /[^\x00-\x7f]/.test(m.subject));
    assert.ok(nonAscii.length >= 5);
    assert.ok(nonAscii.some((m) => m.features.includes('iso-2022-jp')), 'the ISO-2022-JP subject is among them');
    for (const m of nonAscii) assert.ok(table.out.includes(m.subject), `table shows ${m.subject}`);
    assert.ok(table.out.includes('Café on Friday? ☕'));
    // Nothing that could drive the terminal: no ESC or other control characters.
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(table.out));
  });

  test('fetch --maildir: incremental; every message in new/ byte for byte, named as the Rust sink names it', async () => {
    const dir = path.join(tmpDir('pop3-cli-'), 'Mail', 'inbox'); // parents are created too
    try {
      // --limit: the first three, and a human summary.
      const some = await run([...base, '-v', 'fetch', '--maildir', dir, '--limit', '3']);
      assert.equal(some.code, 0, some.err);
      assert.match(some.out, /^fetched 3 new messages, \d+ bytes \(.+\) in [\d.]+ s into .*; 0 already fetched earlier; 0 deleted on the server; 27 left for the next run$/m);
      const r = await run([...base, 'fetch', '--maildir', dir, '--json']);
      assert.equal(r.code, 0, r.err);
      const summary = JSON.parse(r.out);
      assert.equal(summary.onServer, expected.size);
      assert.equal(summary.messages, expected.size - 3);
      assert.equal(summary.alreadyFetched, 3);
      assert.equal(summary.deleted, 0);
      assert.equal(summary.account, `alice@${stack.host}`);
      assert.deepEqual(summary.warnings, []);
      assert.deepEqual(maildirFiles(dir, 'tmp'), []);
      assert.deepEqual(maildirFiles(dir, 'cur'), []);
      assert.equal(maildirFiles(dir, 'new').length, expected.size);
      // Every message, byte for byte (CRLF, as retrieved), under the name the Rust sink uses.
      let bytes = 0;
      for (const m of expected.values()) {
        const file = path.join(dir, 'new', rustFileName(m.uid));
        assert.ok(fs.readFileSync(file).equals(m.bytes), `bytes of ${m.uid}`);
        if (summary.files.some((f) => f.uid === m.uid)) bytes += m.bytes.length;
      }
      assert.equal(summary.bytes, bytes);
      assert.ok(fs.readFileSync(path.join(dir, 'new', rustFileName(expected.get(1).uid))).includes('\r\n'));
      // One uid worked out by hand: Dovecot's UIDL of message 1 is 00000001 + UIDVALIDITY.
      const uid1 = expected.get(1).uid;
      assert.match(uid1, /^00000001[0-9a-f]{8}$/);
      assert.match(rustFileName(uid1), /^pop3-[0-9a-f]{24}\.[^/:]+$/);
      assert.equal(summary.files.find((f) => f.uid === expected.get(30).uid).file, path.join(dir, 'new', rustFileName(expected.get(30).uid)));
      // The state: the Rust format, every uid with its size.
      const state = readState(dir);
      assert.equal(state.format, 'pop3-wasm-sync');
      assert.equal(state.version, 1);
      assert.equal(state.account, `alice@${stack.host}`);
      assert.deepEqual(Object.keys(state.messages).sort(), [...expected.values()].map((m) => m.uid).sort());
      for (const m of expected.values()) assert.equal(state.messages[m.uid].size, m.bytes.length);

      // A second fetch without --delete gets nothing, and nothing was deleted.
      const again = await run([...base, '-v', 'fetch', '--maildir', dir]);
      assert.equal(again.code, 1, `nothing new: exit 1; ${again.err}`);
      assert.match(again.out, /^fetched 0 new messages, 0 bytes .*; 30 already fetched earlier; 0 deleted on the server$/m);
      assert.equal(maildirFiles(dir, 'new').length, expected.size);
      assert.equal(await serverCount(stack), expected.size);

      // Idempotent per uid: a message a reader moved to cur/ (flags appended) and the state
      // forgot is fetched again but not written twice.
      const name2 = rustFileName(expected.get(2).uid);
      fs.renameSync(path.join(dir, 'new', name2), path.join(dir, 'cur', `${name2}:2,S`));
      delete state.messages[expected.get(2).uid];
      fs.writeFileSync(path.join(dir, 'pop3-state.json'), JSON.stringify(state));
      const refetch = JSON.parse((await run([...base, 'fetch', '--maildir', dir, '--json'])).out);
      assert.equal(refetch.messages, 1);
      assert.deepEqual(refetch.files, [{ uid: expected.get(2).uid, size: expected.get(2).bytes.length, file: null, existed: true }]);
      assert.equal(maildirFiles(dir, 'new').length, expected.size - 1);
      assert.deepEqual(maildirFiles(dir, 'cur'), [`${name2}:2,S`]);
      assert.ok(readState(dir).messages[expected.get(2).uid]);
    } finally {
      fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    }
  });

  test('fetch refuses a corrupt, foreign or newer state (exit 2) and leaves it untouched', async () => {
    const dir = tmpDir('pop3-cli-state-');
    try {
      const file = path.join(dir, 'pop3-state.json');
      const cases = [
        ['{"format": "pop3-wasm-sync", "version": 1, "acc', /pop3-state\.json: the sync state is corrupt \(not JSON/],
        ['{"format":"pop3-wasm-sync","version":1,"account":"bob@elsewhere","messages":{}}', /belongs to "bob@elsewhere", not "alice@127\.0\.0\.1"/],
        ['{"format":"pop3-wasm-sync","version":9,"account":"alice@127.0.0.1","messages":{}}', /written by a newer version/],
        ['{"format":"mbsync","version":1}', /not a pop3-wasm sync state/],
        // Issue 19's case: an array where the messages belong was once taken as "nothing
        // fetched yet", and fetch --delete downloaded and deleted the whole mailbox again.
        ['{"format":"pop3-wasm-sync","version":1,"account":"alice@127.0.0.1","messages":[]}', /messages is an array/],
      ];
      for (const [content, pattern] of cases) {
        fs.writeFileSync(file, content);
        const before = fs.statSync(file);
        const r = await run([...base, 'fetch', '--maildir', dir, '--delete']);
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, pattern);
        assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
        assert.equal(fs.readFileSync(file, 'utf8'), content, 'the state file is untouched');
        assert.equal(fs.statSync(file).mtimeMs, before.mtimeMs);
        assert.deepEqual(maildirFiles(dir, 'new'), []);
      }
      assert.equal(await serverCount(stack), expected.size);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('show N --json, show N (summary) and show N --raw', async () => {
    const m4 = manifest[3];
    const json = await run([...base, 'show', '4', '--json']);
    assert.equal(json.code, 0, json.err);
    const parsed = JSON.parse(json.out);
    assert.equal(parsed.subject, m4.subject);
    assert.deepEqual(parsed.attachments.map((a) => a.filename), m4.attachments.map((a) => a.filename));
    const text = await run([...base, 'show', '4']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, new RegExp(`^Subject: ${m4.subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(text.out, /^Attachments:$/m);
    for (const a of m4.attachments) assert.ok(text.out.includes(a.filename));
    assert.ok(!text.out.includes('\r'), 'the summary uses LF line ends');
    for (const n of [2, 22, 28, expected.size]) {
      const raw = await run([...base, 'show', String(n), '--raw']);
      assert.equal(raw.code, 0, raw.err);
      assert.ok(raw.stdout.equals(expected.get(n).bytes), `raw bytes of message ${n}`);
    }
    const missing = await run([...base, 'show', '999']);
    assert.equal(missing.code, 4);
    assert.match(missing.err, /^pop3: .*999.*server said/);
  });

  test('password from env, --password-env, --password-command', async () => {
    const fromEnv = await run([...base, 'list']);
    assert.equal(fromEnv.code, 0, fromEnv.err);
    const user = await run(['--host', stack.host, '--port', String(stack.pop3_port), 'list'], { env: { POP3_USER: 'alice' } });
    assert.equal(user.code, 0, user.err);
    const namedEnv = await run([...base, '--password-env', 'MY_MAIL_PW', 'list'], { password: null, env: { MY_MAIL_PW: PASSWORD } });
    assert.equal(namedEnv.code, 0, namedEnv.err);
    const cmd = await run([...base, '--password-command', `printf '%s\\n' '${PASSWORD}'`, 'list'], { password: null });
    assert.equal(cmd.code, 0, cmd.err);
    assert.equal(cmd.out, fromEnv.out);
    const failing = await run([...base, '--password-command', 'exit 3', 'list'], { password: null });
    assert.equal(failing.code, 3);
    assert.match(failing.err, /--password-command failed/);
  });

  test('a wrong password: exit 3, and the password appears nowhere', async () => {
    const wrong = 'Not-The-Password-42';
    for (const auth of [[], ['--auth', 'user', '--allow-cleartext'], ['--auth', 'plain', '--allow-cleartext']]) {
      const r = await run([...base, ...auth, 'list'], { password: wrong });
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, /^pop3: authentication failed \[AUTH\]/);
      assert.equal(r.err.trimEnd().split('\n').length, 1);
      assertNoPassword(r, wrong);
    }
    const viaCommand = await run([...base, '--password-command', `echo ${wrong}`, '-v', 'list'], { password: null });
    assert.equal(viaCommand.code, 3);
    assertNoPassword(viaCommand, wrong);
  });

  test('cleartext login refused on a plain connection unless --allow-cleartext', async () => {
    const refused = await run([...base, '--auth', 'user', 'list']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /cleartext/);
    assert.match(refused.err, /--allow-cleartext/);
    assert.match(refused.err, /--tls/);
    assertNoPassword(refused);
    const allowed = await run([...base, '--auth', 'user', '--allow-cleartext', '-v', 'list']);
    assert.equal(allowed.code, 0, allowed.err);
    assert.match(allowed.err, /logged in as alice with USER/);
    // auto picks a mechanism that does not send the password.
    const auto = await run([...base, '-v', 'list']);
    assert.match(auto.err, /logged in as alice with (SCRAM-SHA-256|SCRAM-SHA-1|CRAM-MD5|APOP)/);
  });

  test('--tls implicit and --tls starttls with --ca; without --ca: exit 6', async () => {
    const implicit = ['--host', stack.host, '--port', String(stack.pop3s_port), '--tls', 'implicit', '--user', 'alice'];
    const ok1 = await run([...implicit, '--ca', stack.ca_cert, '-v', 'list']);
    assert.equal(ok1.code, 0, ok1.err);
    assert.match(ok1.err, /TLS: TLSv1\.[23]/);
    assert.equal(ok1.out.trimEnd().split('\n').length, expected.size + 1);
    const starttls = [...base, '--tls', 'starttls'];
    // USER/PASS is fine once the connection is encrypted.
    const ok2 = await run([...starttls, '--ca', stack.ca_cert, '--auth', 'user', '-v', 'list']);
    assert.equal(ok2.code, 0, ok2.err);
    assert.match(ok2.err, /TLS: TLSv1\.[23]/);
    assert.match(ok2.err, /with USER/);
    const capa = JSON.parse((await run([...starttls, '--ca', stack.ca_cert, 'capa', '--json'], { password: null })).out);
    assert.ok(capa.tls && capa.tls.version);
    const bad1 = await run([...implicit, 'list']);
    assert.equal(bad1.code, 6, bad1.err);
    assert.match(bad1.err, /--ca FILE/);
    const bad2 = await run([...starttls, 'list']);
    assert.equal(bad2.code, 6, bad2.err);
    const noTls = await run([...base, '--ca', stack.ca_cert, 'list']);
    assert.equal(noTls.code, 2);
  });

  test('--ws through websockify (re-executes Node 20 with --experimental-websocket)', async () => {
    const url = `ws://127.0.0.1:${stack.websockify_port}`;
    const r = await run(['--ws', url, '--user', 'alice', '-v', 'list', '--headers', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /through the WebSocket proxy/);
    const rows = JSON.parse(r.out);
    assert.equal(rows.length, expected.size);
    assert.equal(rows[1].subject, manifest[1].subject);
    const raw = await run(['--ws', url, '--user', 'alice', 'show', '3', '--raw']);
    assert.equal(raw.code, 0, raw.err);
    assert.ok(raw.stdout.equals(expected.get(3).bytes));
    // The child's exit code comes through the re-exec.
    const wrong = await run(['--ws', url, '--user', 'alice', 'list'], { password: 'Wrong-Password-7' });
    assert.equal(wrong.code, 3);
    assertNoPassword(wrong, 'Wrong-Password-7');
    const bad = await run(['--ws', url, '--host', 'x', 'list']);
    assert.equal(bad.code, 2);
  });
});

describe('pop3 CLI fetch --delete (destructive, own stack)', () => {
  let stack;
  let mail;
  let expected;
  let base;
  let dir;

  before(async () => {
    mail = sampleMail(1);
    stack = await startStack(['--mail', mail.dir]);
    base = ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'alice'];
    expected = await serverMessages(stack);
    dir = tmpDir('pop3-cli-maildir-');
  });

  after(async () => {
    await stack?.stop();
    mail?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function checkMaildirHolds(msgs) {
    assert.deepEqual(maildirFiles(dir, 'tmp'), []);
    const have = maildirFiles(dir, 'new').map((f) => fs.readFileSync(path.join(dir, 'new', f)));
    assert.equal(have.length, msgs.length);
    for (const n of msgs) assert.ok(have.some((b) => b.equals(expected.get(n).bytes)), `message ${n} is in the Maildir`);
  }

  test('a failed delivery stops the fetch: exit 8, NOTHING deleted; a rerun fetches only the rest', async () => {
    // A file size limit (ulimit -f 40: 20 KiB in dash's 512-byte blocks, 40 KiB in bash's):
    // the first message over 40 KiB cannot be written, and none before it is over 20 KiB.
    const big = [...expected].find(([, m]) => m.bytes.length > 40 * 1024)[0];
    assert.ok([...expected].every(([n, m]) => n >= big || m.bytes.length < 20 * 1024));
    const r = await run([...base, 'fetch', '--maildir', dir, '--delete'], { wrap: 'ulimit -f 40' });
    assert.equal(r.code, 8, r.err);
    assert.match(r.err, new RegExp(`^pop3: cannot save message ${expected.get(big).uid} in .*(EFBIG|too large)`, 'm'));
    assert.match(r.err, new RegExp(`^pop3: ${big - 1} new messages were saved into .* and recorded in .*pop3-state\\.json; nothing was deleted on the server`, 'm'));
    assert.equal(r.out, '');
    const delivered = [...expected.keys()].filter((n) => n < big);
    checkMaildirHolds(delivered);
    assert.deepEqual(Object.keys(readState(dir).messages).sort(), delivered.map((n) => expected.get(n).uid).sort());
    assert.equal(await serverCount(stack), expected.size, 'the session ended without QUIT: nothing deleted');

    // The cause fixed: only the rest is fetched (and with --delete-older-than 7, nothing is
    // old enough to delete yet).
    const rerun = await run([...base, 'fetch', '--maildir', dir, '--delete-older-than', '7', '--json']);
    assert.equal(rerun.code, 0, rerun.err);
    const summary = JSON.parse(rerun.out);
    assert.equal(summary.messages, expected.size - delivered.length);
    assert.equal(summary.alreadyFetched, delivered.length);
    assert.equal(summary.deleted, 0);
    checkMaildirHolds([...expected.keys()]);
    assert.equal(await serverCount(stack), expected.size);
  });

  test('--delete-older-than DAYS deletes only what was saved at least DAYS days ago', async () => {
    // Make the first five look saved ten days ago.
    const state = readState(dir);
    const old = [1, 2, 3, 4, 5].map((n) => expected.get(n).uid);
    const tenDaysAgo = Math.floor(Date.now() / 1000) - 10 * 86400;
    for (const uid of old) state.messages[uid].savedAt = tenDaysAgo;
    fs.writeFileSync(path.join(dir, 'pop3-state.json'), JSON.stringify(state, null, 2));
    const r = await run([...base, '-v', 'fetch', '--maildir', dir, '--delete-older-than', '7']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^fetched 0 new messages, 0 bytes .*; 30 already fetched earlier; 5 deleted on the server$/m);
    assert.equal(await serverCount(stack), expected.size - 5);
    checkMaildirHolds([...expected.keys()]);
    const later = readState(dir);
    assert.equal(later.messages[old[0]].savedAt, tenDaysAgo, 'deleted on the server, forgotten only on the next run');
  });

  test('fetch --delete empties the server; a second fetch gets nothing', async () => {
    const r = await run([...base, '-v', 'fetch', '--maildir', dir, '--delete']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^fetched 0 new messages, .*; 25 already fetched earlier; 25 deleted on the server$/m);
    assert.equal(await serverCount(stack), 0);
    checkMaildirHolds([...expected.keys()]);
    const second = await run([...base, 'fetch', '--maildir', dir, '--delete', '--json']);
    assert.equal(second.code, 1, second.err);
    const summary = JSON.parse(second.out);
    assert.equal(summary.messages, 0);
    assert.equal(summary.onServer, 0);
    assert.deepEqual(readState(dir).messages, {}, 'ids no longer on the server are forgotten');
    checkMaildirHolds([...expected.keys()]);
  });

  test('watch picks up a message delivered while it runs; SIGINT stops it (exit 0)', async () => {
    const eml = path.join(dir, '..', `watch-${process.pid}.eml`);
    fs.writeFileSync(eml, 'From: Watcher Test <watcher@example.org>\nSubject: delivered while watching\n'
      + 'Message-ID: <watch-1@example.org>\n\nhello\n');
    let child;
    const result = run([...base, '-v', 'watch', '--maildir', dir, '--interval', '0.2'], { onSpawn: (c) => { child = c; } });
    try {
      await waitForText(child.stderr, /^\* round 1 at .*: 0 new/m, 'the first round');
      deliver(stack.maildir(), [eml]);
      const [line] = await waitForText(child.stdout, /^.*delivered while watching\n/m, 'the new message');
      assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Watcher Test <watcher@example\.org>  delivered while watching\n$/);
    } finally {
      child.kill('SIGINT');
    }
    const r = await result;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^pop3: watching alice@127\.0\.0\.1 into .* every 0\.2 s/m);
    assert.match(r.err, /^pop3: stopped; 1 new message fetched$/m);
    const uids = Object.keys(readState(dir).messages);
    assert.equal(uids.length, 1);
    const file = path.join(dir, 'new', rustFileName(uids[0]));
    assert.ok(fs.readFileSync(file).equals(Buffer.from(fs.readFileSync(eml, 'utf8').replace(/\n/g, '\r\n'))));
    fs.rmSync(eml);
  });

  test('watch with a wrong password exits 3 at once, without retrying', async () => {
    const started = Date.now();
    const r = await run([...base, 'watch', '--maildir', dir, '--interval', '0.2'], { password: 'Wrong-Password-9' });
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /^pop3: authentication failed \[AUTH\]/m);
    assert.doesNotMatch(r.err, /retry/);
    assertNoPassword(r, 'Wrong-Password-9');
    assert.ok(Date.now() - started < 10000);
  });
});

/** A free loopback port (free a moment ago). */

describe('pop3 CLI interrupted or timed out (fake server)', () => {
  const cleanups = [];
  let dir;
  before(() => { dir = tmpDir('pop3-cli-int-'); });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const login = ['--user', 'u', '--auth', 'user', '--allow-cleartext'];

  async function fake() {
    const f = await stallingServer();
    cleanups.push(f.close);
    return f;
  }

  test('SIGINT during fetch --delete: exit 130, no DELE, no QUIT, delivered mail kept', async () => {
    const f = await fake();
    let child;
    const result = run(['--host', '127.0.0.1', '--port', String(f.port), ...login, 'fetch', '--maildir', dir, '--delete'],
      { onSpawn: (c) => { child = c; } });
    await f.stalled;
    child.kill('SIGINT');
    const r = await result;
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /interrupted/);
    await f.connectionClosed;
    assert.ok(f.commands.includes('RETR 2'));
    assert.ok(!f.commands.some((c) => /^(DELE|QUIT)/i.test(c)), `commands: ${f.commands.join(', ')}`);
    assert.deepEqual(maildirFiles(dir, 'new'), [rustFileName('uid-1')]);
    assert.deepEqual(maildirFiles(dir, 'tmp'), []);
    // The state is consistent: message 1 is recorded, message 2 is not.
    assert.deepEqual(Object.keys(readState(dir).messages), ['uid-1']);
    assert.match(r.err, /^pop3: 1 new message was saved into .* and recorded/m);
  });

  test('watch reports a retry on stderr after -ERR [IN-USE], then syncs; SIGINT: exit 0', async () => {
    const fakePop3 = spawn('python3', [path.join(repo, 'tests/support/fake_pop3.py'), '--scenario', 'in-use-then-ok'], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanups.push(() => new Promise((resolve) => {
      if (fakePop3.exitCode !== null) return resolve();
      fakePop3.once('exit', resolve);
      fakePop3.stdin.end();
    }));
    const [, port] = await waitForText(fakePop3.stdout, /"port": (\d+)/, 'the fake server');
    const watchDir = path.join(dir, 'watch');
    let child;
    const result = run(['--host', '127.0.0.1', '--port', port, ...login, '-v', 'watch', '--maildir', watchDir, '--interval', '0.2'],
      { onSpawn: (c) => { child = c; } });
    try {
      await waitForText(child.stderr, /^\* round 1 at .*: 0 new, 0 already fetched, 0 deleted, 0 on the server$/m, 'a round after the retry');
    } finally {
      child.kill('SIGINT');
    }
    const r = await result;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^pop3: warning: .*\[IN-USE\].*locked.*; retry 1 in 2\.00 s$/m);
    assert.match(r.err, /^pop3: stopped; 0 new messages fetched$/m);
    assert.equal(readState(watchDir).account, 'u@127.0.0.1');
  });

  test('--timeout: a server that stops answering gives exit 5', async () => {
    const f = await fake();
    const started = Date.now();
    const r = await run(['--host', '127.0.0.1', '--port', String(f.port), ...login, '--timeout', '0.5', 'show', '2']);
    assert.equal(r.code, 5, r.err);
    assert.ok(Date.now() - started < 10000);
    assert.ok(!f.commands.some((c) => /^QUIT/i.test(c)));
  });

  test('a server that echoes the password (raw and base64): it appears nowhere in the output', async () => {
    const secret = 'Tr0ub4dor&3$(x)';
    const b64 = Buffer.from(secret).toString('base64');
    const f = await scriptedServer((line, socket) => {
      if (!line.startsWith('PASS ')) return false;
      socket.write(`-ERR [AUTH] invalid password '${secret}' (${b64}) for u\r\n`);
      return true;
    });
    cleanups.push(f.close);
    const r = await run(['--host', '127.0.0.1', '--port', String(f.port), ...login, '-v', 'list'], { password: secret });
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /invalid password '\*\*\*' \(\*\*\*\)/);
    for (const form of [secret, b64]) assert.ok(!(r.out + r.err).includes(form), r.err);
  });

  test('fetch --delete whose QUIT reply is lost says the deletions are uncertain; the rerun finishes', async () => {
    const messages = new Map([[1, 'Subject: one\r\n\r\nbody one\r\n'], [2, 'Subject: two\r\n\r\nbody two\r\n']]);
    let loseQuit = true;
    const f = await scriptedServer((line, socket) => {
      const [verb, arg] = line.split(' ');
      const present = [...messages.keys()];
      switch (verb) {
        case 'LIST': socket.write(`+OK\r\n${present.map((m) => `${m} ${messages.get(m).length}`).join('\r\n')}${present.length ? '\r\n' : ''}.\r\n`); return true;
        case 'UIDL': socket.write(`+OK\r\n${present.map((m) => `${m} uid-${m}`).join('\r\n')}${present.length ? '\r\n' : ''}.\r\n`); return true;
        case 'RETR': socket.write(`+OK\r\n${messages.get(Number(arg))}.\r\n`); return true;
        case 'DELE': socket.write('+OK marked\r\n'); return true;
        case 'QUIT':
          // The server deletes, then the connection drops before its +OK arrives.
          messages.clear();
          if (loseQuit) socket.destroy(); else socket.end('+OK\r\n');
          return true;
        default: return false;
      }
    });
    cleanups.push(f.close);
    const target = path.join(dir, 'uncertain');
    const args = ['--host', '127.0.0.1', '--port', String(f.port), ...login, 'fetch', '--maildir', target, '--delete'];
    const r = await run(args);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, /may or may not have deleted the messages marked for deletion/);
    assert.doesNotMatch(r.err, /nothing was deleted/);
    assert.deepEqual(Object.keys(readState(target).messages).sort(), ['uid-1', 'uid-2']);
    assert.equal(maildirFiles(target, 'new').length, 2);
    loseQuit = false;
    const again = await run(['-v', ...args]);
    assert.equal(again.code, 1, again.err);
    assert.match(again.out, /fetched 0 new messages/);
    assert.deepEqual(readState(target).messages, {}, 'the messages turned out deleted: forgotten');
  });

  test('--ws: SIGINT to the re-executing launcher reaches the client (exit 130, no QUIT)', async () => {
    const f = await fake();
    const wsPort = await freePort();
    const proxy = spawn('websockify', [`127.0.0.1:${wsPort}`, `127.0.0.1:${f.port}`], { stdio: 'ignore' });
    cleanups.push(() => new Promise((resolve) => {
      if (proxy.exitCode !== null || proxy.signalCode !== null) return resolve();
      proxy.once('exit', resolve);
      proxy.kill('SIGTERM');
    }));
    await waitForPort(wsPort);
    let child;
    const result = run(['--ws', `ws://127.0.0.1:${wsPort}`, ...login, 'show', '2'], { onSpawn: (c) => { child = c; } });
    await f.stalled;
    child.kill('SIGINT'); // the launcher only: it must forward the signal
    const r = await result;
    assert.equal(r.code, 130, r.err);
    assert.ok(f.commands.includes('RETR 2'));
    assert.ok(!f.commands.some((c) => /^QUIT/i.test(c)));
  });
});
