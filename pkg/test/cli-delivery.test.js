// pop3 fetch's destinations and accounts, run as a child process against real Dovecot
// (tests/support/mailstack.py): --mbox (read back by Python's mailbox.mbox), --mda (a small
// script as the MDA, and one that fails), --state, the config file with several accounts,
// exit codes, the state lock, and --ws against a proxy that refuses with 403 (websockify's
// ExpectOrigin plugin).
// Run: cd pkg && node --test test/cli-delivery.test.js

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { connect, loadSyncState } from '../src/node.js';
import { deliver, freePort, sampleMail, startStack, waitForPort } from './helpers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(pkgDir, 'bin', 'pop3.js');

function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('POP3_') || k.startsWith('XDG_')) delete env[k];
  return { ...env, ...extra };
}

/** Runs `node bin/pop3.js ...args`; resolves to { code, signal, out, err, ms }. stdin is /dev/null. */
function run(args, { env = {}, timeoutMs = 60000 } = {}) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: pkgDir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pop3 ${args.join(' ')} timed out; stderr: ${err}`)); }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err, ms: Date.now() - started }); });
  });
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-delivery-'));
let seq = 0;
const tmp = (name) => path.join(tmpRoot, `${++seq}-${name}`);

/** Every message of `user`, through the API: [{ msg, uid, bytes }] in order. */
async function serverMessages(stack, user = 'alice') {
  const client = await connect({ host: stack.host, port: stack.pop3_port });
  try {
    await client.login(user, stack.password(user));
    const uids = new Map((await client.uidl()).map((e) => [e.msg, e.uid]));
    const out = [];
    for (const { msg } of await client.list()) out.push({ msg, uid: uids.get(msg), bytes: Buffer.from(await client.retrieve(msg)) });
    await client.quit();
    return out;
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

async function serverCount(stack, user = 'alice') {
  return (await serverMessages(stack, user)).length;
}

const lf = (bytes) => Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');

/** The messages of an mbox as Python's mailbox.mbox reads them: [{ from, bytes }]. */
function readMboxWithPython(file) {
  const script = `
import base64, json, mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
out = []
for key in box.iterkeys():
    msg = box.get_message(key)
    out.append({"from": msg.get_from(), "subject": msg["subject"], "bytes": base64.b64encode(box.get_bytes(key)).decode()})
print(json.dumps(out))
`;
  const out = execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return JSON.parse(out).map((m) => ({ ...m, bytes: Buffer.from(m.bytes, 'base64') }));
}

/** mboxrd unquoting: one '>' less on every line matching /^>+From /. */
function unquoteMboxrd(bytes) {
  return Buffer.from(bytes.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1');
}

function writeEml(dir, name, text) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A directory of messages whose bodies need mbox quoting, one without Return-Path, one with a null one. */
function trickyMail(dir) {
  [
    writeEml(dir, '01-quoting.eml', 'Return-Path: <bounce+list@example.org>\nFrom: List <list@example.org>\n'
      + 'To: alice@example.org\nSubject: quoting\nMessage-ID: <q1@example.org>\n\n'
      + 'From the start: this line begins with From.\n>From quoted once already\n>>From quoted twice\nFrom\n'
      + 'Fromage is not quoted\n From with a space first\n>>>>\n>\nFrom \nlast line\n'),
    writeEml(dir, '02-no-return-path.eml', 'From: "Bob Example" <bob@example.org>\nTo: alice@example.org\n'
      + 'Subject: first body line\nMessage-ID: <q2@example.org>\n\nFrom here on, quoted.\n\n\nFrom again after blank lines\n'),
    writeEml(dir, '03-null-sender.eml', 'Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@example.org>\n'
      + 'To: alice@example.org\nSubject: bounce\nMessage-ID: <q3@example.org>\n\nUndeliverable.\n'),
  ];
  return dir;
}

after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

describe('pop3 fetch --mbox (Dovecot; read back by Python mailbox.mbox)', () => {
  let stack;
  let mail;
  let base;
  before(async () => {
    mail = sampleMail(1);
    stack = await startStack(['--mail', trickyMail(tmp('tricky')), '--mail', mail.dir]);
    base = ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'alice'];
  });
  after(async () => {
    await stack?.stop();
    mail?.remove();
  });

  test('every message, byte for byte (LF, mboxrd-quoted), with its From line; then nothing new (exit 1)', async () => {
    const expected = await serverMessages(stack);
    const mbox = path.join(tmp('mbox'), 'Mail', 'inbox.mbox');
    const state = tmp('mbox-state.json');
    const env = { POP3_PASSWORD: stack.password() };
    const r = await run([...base, 'fetch', '--mbox', mbox, '--state', state], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '', 'quiet by default');
    assert.equal(r.err, '');

    const read = readMboxWithPython(mbox);
    assert.equal(read.length, expected.length, 'Python finds exactly the messages fetched (no "From " line split one)');
    read.forEach((m, i) => {
      assert.ok(unquoteMboxrd(m.bytes).equals(lf(expected[i].bytes)), `message ${i + 1}: bytes after mboxrd unquoting`);
    });
    // The quoting itself, as it is in the file.
    const raw = fs.readFileSync(mbox, 'latin1');
    assert.match(raw, /^>From the start: this line begins with From\.$/m);
    assert.match(raw, /^>>From quoted once already$/m);
    assert.match(raw, /^>>>From quoted twice$/m);
    assert.match(raw, /^From$/m);
    assert.match(raw, /^Fromage is not quoted$/m);
    assert.match(raw, /^>>>>$/m);
    assert.match(raw, /^>From $/m);
    assert.match(raw, /^>From here on, quoted\.$/m);
    assert.ok(!raw.includes('\r\n'), 'LF line ends');
    // From lines: Return-Path, else the From address; a null Return-Path is MAILER-DAEMON.
    const dateRe = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}$/;
    assert.match(read[0].from, /^bounce\+list@example\.org /);
    assert.match(read[1].from, /^bob@example\.org /);
    assert.match(read[2].from, /^MAILER-DAEMON /);
    for (const m of read) assert.match(m.from.replace(/^\S+ /, ''), dateRe);
    assert.equal(read[0].subject, 'quoting');
    // Every message ends with an empty line, and the file with one newline after it.
    assert.ok(raw.endsWith('\n\n') && !raw.endsWith('\n\n\n'));
    assert.equal(fs.readdirSync(path.dirname(mbox)).sort().join(','), 'inbox.mbox', 'no lock file or staging left behind');
    assert.equal(JSON.parse(fs.readFileSync(state, 'utf8')).account, `alice@${stack.host}`);

    // Nothing new: exit 1, the file untouched; -v prints the summary.
    const size = fs.statSync(mbox).size;
    const again = await run([...base, '-v', 'fetch', '--mbox', mbox, '--state', state], { env });
    assert.equal(again.code, 1, again.err);
    assert.match(again.out, new RegExp(`^fetched 0 new messages, 0 bytes .* into ${mbox.replace(/[.+]/g, '\\$&')}; ${expected.length} already fetched earlier; 0 deleted on the server$`, 'm'));
    assert.equal(fs.statSync(mbox).size, size);

    // New mail is appended after what is there; --delete empties the server.
    const eml = writeEml(tmp('new'), 'late.eml', 'From: Late <late@example.org>\nSubject: late\nMessage-ID: <late@example.org>\n\nFrom late.\n');
    deliver(stack.maildir(), [eml]);
    const third = await run([...base, '--json', 'fetch', '--mbox', mbox, '--state', state, '--delete'], { env });
    assert.equal(third.code, 0, third.err);
    const summary = JSON.parse(third.out);
    assert.equal(summary.messages, 1);
    assert.equal(summary.mbox, mbox);
    assert.equal(summary.deleted, expected.length + 1);
    assert.equal(await serverCount(stack), 0);
    const after = readMboxWithPython(mbox);
    assert.equal(after.length, expected.length + 1);
    assert.ok(unquoteMboxrd(after.at(-1).bytes).equals(Buffer.from('From: Late <late@example.org>\nSubject: late\nMessage-ID: <late@example.org>\n\nFrom late.\n')));
    assert.ok(fs.readFileSync(mbox).subarray(0, size).equals(Buffer.from(raw, 'latin1')), 'what was there is unchanged');
  });

  test('appends after an mbox whose last message lacks the final empty line; waits for FILE.lock', async () => {
    const eml = writeEml(tmp('lock'), 'locked.eml', 'From: Lock <lock@example.org>\nSubject: locked\nMessage-ID: <lock@example.org>\n\nbody\n');
    deliver(stack.maildir(), [eml]);
    const dir = tmp('mbox-lock');
    fs.mkdirSync(dir);
    const mbox = path.join(dir, 'inbox');
    fs.writeFileSync(mbox, 'From someone@example.org Thu Jan  1 00:00:00 2026\nSubject: old\n\nno final empty line');
    // A mail reader holds the lock for a second and a half.
    fs.writeFileSync(`${mbox}.lock`, '');
    const release = setTimeout(() => fs.unlinkSync(`${mbox}.lock`), 1500);
    const r = await run([...base, 'fetch', '--mbox', mbox, '--state', path.join(dir, 'state.json')], { env: { POP3_PASSWORD: stack.password() } });
    clearTimeout(release);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.ms >= 1400, `waited for the lock (${r.ms} ms)`);
    const read = readMboxWithPython(mbox);
    assert.equal(read.length, 2);
    assert.equal(read[0].bytes.toString(), 'Subject: old\n\nno final empty line\n');
    assert.equal(read[1].subject, 'locked');
    assert.ok(!fs.existsSync(`${mbox}.lock`));
  });
});

describe('pop3 fetch --mda (Dovecot; a script as the MDA)', () => {
  let stack;
  let mail;
  let base;
  let expected;
  const env = () => ({ POP3_PASSWORD: stack.password() });
  // The MDA: stores stdin as OUT/<n>.eml with the sender (%F) and whether it saw the password
  // variable; with FAIL_AT=n it fails (exit 75, EX_TEMPFAIL) for the n-th message it is given.
  let mdaScript;

  before(async () => {
    mail = sampleMail(0);
    stack = await startStack(['--mail', trickyMail(tmp('tricky-mda')), '--mail', mail.dir]);
    base = ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'alice'];
    expected = await serverMessages(stack);
    mdaScript = writeEml(tmp('mda'), 'mda.sh', `#!/bin/sh
out=$1; sender=$2
n=$(( $(cat "$out/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$out/count"
if [ -n "$FAIL_AT" ] && [ "$n" -eq "$FAIL_AT" ]; then
  cat > /dev/null
  echo "mda: mailbox over quota" >&2
  exit 75
fi
cat > "$out/$n.eml.tmp" || exit 74
printf '%s\\n' "$sender" > "$out/$n.sender"
if [ -n "\${POP3_PASSWORD+set}" ]; then echo leaked > "$out/$n.password"; fi
mv "$out/$n.eml.tmp" "$out/$n.eml"
`);
    fs.chmodSync(mdaScript, 0o755);
  });
  after(async () => {
    await stack?.stop();
    mail?.remove();
  });

  const delivered = (out) => fs.readdirSync(out).filter((f) => f.endsWith('.eml')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((f) => fs.readFileSync(path.join(out, f)));

  test('a failing MDA: exit 9, that message not delivered, NOTHING deleted; the rerun hands over only the rest', async () => {
    const out = tmp('mda-out');
    fs.mkdirSync(out);
    const state = tmp('mda-state.json');
    const cmd = `${mdaScript} ${out} %F`;
    const r = await run([...base, 'fetch', '--mda', cmd, '--state', state, '--delete'], { env: { ...env(), FAIL_AT: '3' } });
    assert.equal(r.code, 9, r.err);
    assert.match(r.err, new RegExp(`^pop3: the MDA failed with exit status 75 for message ${expected[2].uid}, which was not delivered; it said: mda: mailbox over quota$`, 'm'));
    assert.match(r.err, /^pop3: 2 new messages were handed to the MDA .* and recorded in .*; nothing was deleted on the server/m);
    assert.equal(delivered(out).length, 2);
    assert.equal(await serverCount(stack), expected.length, 'nothing deleted');
    const recorded = loadSyncState(fs.existsSync(state) ? fs.readFileSync(state, 'utf8') : null,
      fs.existsSync(`${state}.journal`) ? fs.readFileSync(`${state}.journal`, 'utf8') : null, `alice@${stack.host}`);
    assert.deepEqual(Object.keys(recorded.toJSON().messages).sort(), [expected[0].uid, expected[1].uid].sort(), 'the failed message is not recorded');

    // The MDA works again: the rest, each once, then the server is emptied.
    fs.writeFileSync(path.join(out, 'count'), '3');
    const rerun = await run([...base, '--json', 'fetch', '--mda', cmd, '--state', state, '--delete'], { env: env() });
    assert.equal(rerun.code, 0, rerun.err);
    const summary = JSON.parse(rerun.out);
    assert.equal(summary.messages, expected.length - 2);
    assert.equal(summary.alreadyFetched, 2);
    assert.equal(summary.mda, cmd);
    const got = delivered(out);
    assert.equal(got.length, expected.length, 'every message handed over exactly once');
    got.forEach((bytes, i) => assert.ok(bytes.equals(lf(expected[i].bytes)), `message ${i + 1}: the MDA got its bytes with LF line ends`));
    assert.equal(fs.readFileSync(path.join(out, '1.sender'), 'utf8'), 'bounce+list@example.org\n');
    assert.equal(fs.readFileSync(path.join(out, '2.sender'), 'utf8'), 'bob@example.org\n');
    assert.equal(fs.readFileSync(path.join(out, '4.sender'), 'utf8'), 'MAILER-DAEMON\n', 'the null sender (message 3, handed over in the rerun)');
    assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.password')), [], 'the MDA never sees POP3_PASSWORD');
    assert.equal(await serverCount(stack), 0, '--delete after every message was delivered');
    const nothing = await run([...base, 'fetch', '--mda', cmd, '--state', state], { env: env() });
    assert.equal(nothing.code, 1, nothing.err);
  });

  test('an MDA that cannot run (exit 127) and one killed by a signal: exit 9, nothing recorded', async () => {
    deliver(stack.maildir(), [writeEml(tmp('mda2'), 'one.eml', 'From: a@example.org\nSubject: one\n\nbody\n')]);
    const state = tmp('mda2-state.json');
    const missing = await run([...base, 'fetch', '--mda', '/nonexistent/procmail', '--state', state], { env: env() });
    assert.equal(missing.code, 9, missing.err);
    assert.match(missing.err, /the MDA failed with exit status 127/);
    const killed = await run([...base, 'fetch', '--mda', 'kill -TERM $$', '--state', state], { env: env() });
    assert.equal(killed.code, 9, killed.err);
    assert.match(killed.err, /the MDA was killed by SIGTERM/);
    assert.ok(!fs.existsSync(state) || !JSON.parse(fs.readFileSync(state, 'utf8')).messages || Object.keys(JSON.parse(fs.readFileSync(state, 'utf8')).messages).length === 0);
    assert.equal(await serverCount(stack), 1);
  });
});

describe('accounts from a config file, --state, exit codes, the state lock', () => {
  let stack;
  before(async () => {
    const dir = tmp('accounts-mail');
    stack = await startStack(['--tls', '--user', 'alice:wonderland', '--user', 'bob:builder',
      '--mail-for', `alice=${writeEml(dir, 'a.eml', 'From: x@example.org\nSubject: for alice\n\nhello alice\n')}`,
      '--mail-for', `bob=${writeEml(dir, 'b.eml', 'From: y@example.org\nSubject: for bob\n\nhello bob\n')}`]);
  });
  after(async () => { await stack?.stop(); });

  function writeConfig(dir, text) {
    fs.mkdirSync(path.join(dir, 'pop3'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pop3', 'config.toml'), text);
    return path.join(dir, 'pop3', 'config.toml');
  }

  test('two accounts in one run: per-account TLS, auth, password-command, destination and --state; then exit 1', async () => {
    const home = tmp('home');
    fs.mkdirSync(home);
    const pwFile = path.join(home, 'bob.pw');
    fs.writeFileSync(pwFile, 'builder\n');
    writeConfig(path.join(home, '.config'), `# pop3 accounts
[defaults]
host = "${stack.host}"
password-command = "echo wrong-password"

[accounts.alice]
port = ${stack.pop3s_port}
tls = "implicit"
ca = "${stack.ca_cert}"
server-name = "localhost"
user = "alice"
password-env = "ALICE_PW"
maildir = "~/Mail/alice"
state = "~/state/alice.json"

[accounts.bob]
port = ${stack.pop3_port}
tls = "none"
auth = "user"
allow-cleartext = true
user = "bob"
password-command = "cat ${pwFile}"
mbox = "Mail/bob.mbox"
delete = true
`);
    const env = { HOME: home, ALICE_PW: 'wonderland' };
    const r = await run(['fetch'], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out + r.err, '', 'quiet');
    // alice: into the Maildir, the state outside it.
    const alice = path.join(home, 'Mail', 'alice');
    assert.equal(fs.readdirSync(path.join(alice, 'new')).length, 1);
    assert.ok(!fs.existsSync(path.join(alice, 'pop3-state.json')), 'the state is where --state says');
    const aliceState = JSON.parse(fs.readFileSync(path.join(home, 'state', 'alice.json'), 'utf8'));
    assert.equal(aliceState.account, `alice@${stack.host}`);
    assert.equal(Object.keys(aliceState.messages).length, 1);
    // bob: a relative mbox path is taken from the config file's directory; his default state.
    const bobMbox = path.join(home, '.config', 'pop3', 'Mail', 'bob.mbox');
    assert.equal(readMboxWithPython(bobMbox)[0].subject, 'for bob');
    assert.ok(fs.existsSync(path.join(home, '.local', 'state', 'pop3', `bob@${stack.host}.json`)));
    assert.equal(await serverCount(stack, 'bob'), 0, 'bob: delete = true');
    assert.equal(await serverCount(stack, 'alice'), 1, 'alice: kept');

    // Nothing new for either: 1. -v: one summary line per account, with its name.
    const again = await run(['-v', 'fetch'], { env });
    assert.equal(again.code, 1, again.err);
    assert.match(again.out, /^alice: fetched 0 new messages, .*; 1 already fetched earlier; 0 deleted on the server$/m);
    assert.match(again.out, /^bob: fetched 0 new messages, .*; 0 already fetched earlier; 0 deleted on the server$/m);
    assert.match(again.err, /TLS: TLSv1\.[23]/);

    // One account named; the command line overrides the file (--keep over delete = true).
    deliver(stack.maildir('bob'), [writeEml(tmp('bob2'), 'b2.eml', 'From: y@example.org\nSubject: bob again\n\nagain\n')]);
    const one = await run(['--json', 'fetch', 'bob', '--keep'], { env });
    assert.equal(one.code, 0, one.err);
    const summaries = JSON.parse(one.out);
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0].name, 'bob');
    assert.equal(summaries[0].messages, 1);
    assert.equal(await serverCount(stack, 'bob'), 1, '--keep: nothing deleted');

    // One account failing does not stop the other; the exit code is the failure's.
    deliver(stack.maildir('alice'), [writeEml(tmp('alice2'), 'a2.eml', 'From: x@example.org\nSubject: alice again\n\nagain\n')]);
    const failing = await run(['fetch', 'bob', 'alice'], { env: { HOME: home, ALICE_PW: 'not-her-password' } });
    assert.equal(failing.code, 3, failing.err);
    assert.match(failing.err, /^pop3: alice: authentication failed \[AUTH\]/m);
    assert.ok(!failing.err.includes('not-her-password'));
    assert.equal(fs.readdirSync(path.join(alice, 'new')).length, 1);

    // One account with new mail and one without: 0 (something was fetched), each its own code.
    const mixed = await run(['--json', 'fetch'], { env });
    assert.equal(mixed.code, 0, mixed.err);
    assert.deepEqual(JSON.parse(mixed.out).map((s) => [s.name, s.messages, s.exitCode]), [['alice', 1, 0], ['bob', 0, 1]]);
    assert.equal(fs.readdirSync(path.join(alice, 'new')).length, 2);

    // --account for the other commands; list with the file's TLS settings.
    const list = await run(['--account', 'alice', 'list', '--json'], { env });
    assert.equal(list.code, 0, list.err);
    assert.equal(JSON.parse(list.out).length, 2);
    const choose = await run(['list'], { env });
    assert.equal(choose.code, 2);
    assert.match(choose.err, /choose an account with --account NAME \(the accounts in .*config\.toml: alice, bob\)/);
    // server-name is checked by Node's TLS too (the certificate names localhost).
    const wrongName = await run(['--account', 'alice', '--server-name', 'nothere.example', 'list'], { env });
    assert.equal(wrongName.code, 6, wrongName.err);
    const unknown = await run(['fetch', 'carol'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no account "carol"/);
  });

  test('config errors exit 2 before connecting: unknown key, a password, bad values, TOML syntax; JSON works too', async () => {
    const dir = tmp('badconfig');
    const cases = [
      ['[accounts.a]\nhost = "h"\nfrobnicate = 1\n', /accounts\.a: unknown key "frobnicate"/],
      ['[accounts.a]\nhost = "h"\npassword = "hunter2"\n', /accounts\.a\.password is refused: a password is never read from the config file/],
      ['[accounts.a]\nhost = "h"\nport = 99999\n', /port must be from 1 to 65535/],
      ['[accounts.a]\nhost = "h"\ntls = "yes"\n', /tls must be one of none, implicit, starttls/],
      ['[accounts.a]\nhost = "h"\ndelete = "yes"\n', /accounts\.a\.delete must be true or false/],
      ['[accounts.a\nhost = "h"\n', /config\.toml: /],
      ['[account.a]\nhost = "h"\n', /unknown section "account"/],
    ];
    for (const [text, pattern] of cases) {
      const file = writeConfig(dir, text);
      const r = await run(['--config', file, 'fetch']);
      assert.equal(r.code, 2, `${text}: ${r.err}`);
      assert.match(r.err, pattern);
      assert.ok(!r.err.includes('hunter2'));
    }
    const json = path.join(dir, 'config.json');
    const target = tmp('json-maildir');
    fs.writeFileSync(json, JSON.stringify({ accounts: { a: { host: stack.host, port: stack.pop3_port, user: 'alice', maildir: target } } }));
    const r = await run(['--config', json, 'fetch', '--json'], { env: { POP3_PASSWORD: 'wonderland' } });
    assert.ok(r.code === 0, r.err);
    assert.equal(JSON.parse(r.out)[0].maildir, target);
  });

  test('another run holding the state: exit 10; a lock left by a dead process is taken over', async () => {
    const dir = tmp('locked-maildir');
    const base = ['--host', stack.host, '--port', String(stack.pop3_port), '--user', 'alice', 'fetch', '--maildir', dir];
    const env = { POP3_PASSWORD: 'wonderland' };
    fs.mkdirSync(dir);
    const lock = path.join(dir, 'pop3-state.json.lock');
    fs.writeFileSync(lock, `${process.pid} ${os.hostname()}\n`); // this test process: alive
    const busy = await run(base, { env });
    assert.equal(busy.code, 10, busy.err);
    assert.match(busy.err, new RegExp(`another pop3 run \\(pid ${process.pid}\\) is using the state`));
    assert.ok(!fs.existsSync(path.join(dir, 'new')) || fs.readdirSync(path.join(dir, 'new')).length === 0);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('close', resolve));
    fs.writeFileSync(lock, `${dead.pid} ${os.hostname()}\n`);
    const ok = await run(base, { env });
    assert.ok(ok.code === 0, ok.err);
    assert.ok(!fs.existsSync(lock), 'released at the end');
  });
});

describe('--ws against a proxy that refuses the WebSocket', () => {
  const procs = [];
  after(() => { for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM'); });

  test("websockify's ExpectOrigin answers 403 Invalid Origin: exit 11, and the message says so", async () => {
    const port = await freePort();
    const proxy = spawn('websockify', ['--auth-plugin', 'ExpectOrigin', '--auth-source', 'https://mail.example.org',
      `127.0.0.1:${port}`, '127.0.0.1:9'], { stdio: 'ignore' });
    procs.push(proxy);
    await waitForPort(port);
    const r = await run(['--ws', `ws://127.0.0.1:${port}`, '--user', 'alice', '-v', 'list'], { env: { POP3_PASSWORD: 'x' } });
    assert.equal(r.code, 11, r.err);
    assert.match(r.err, new RegExp(`^pop3: the WebSocket proxy at ws://127\\.0\\.0\\.1:${port} refused the connection: HTTP 403 Invalid Origin; `
      + '.*Origin check \\(websockify --auth-plugin ExpectOrigin', 'm'));
    assert.doesNotMatch(r.err, /^pop3: cannot reach/m);
    assert.match(r.err, /^\* probed ws:\/\/127\.0\.0\.1:\d+ with an HTTP upgrade request: HTTP 403 Invalid Origin$/m);
  });

  test('nothing listening: still "cannot reach the WebSocket proxy" (exit 5)', async () => {
    const port = await freePort();
    const r = await run(['--ws', `ws://127.0.0.1:${port}`, '--user', 'alice', 'list'], { env: { POP3_PASSWORD: 'x' } });
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, /^pop3: cannot reach the WebSocket proxy/m);
  });
});
