// Leftovers in a Maildir's tmp/ (issue 19, item 4) through the `pop3` CLI: a delivery killed
// between fsync and rename leaves a complete copy in tmp/. `pop3 fetch` and `pop3 watch`
// remove tmp/ entries older than 36 hours when they open the Maildir, and keep younger ones.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { scriptedServer } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/pop3.js', import.meta.url));
const HOUR_S = 60 * 60;

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

/** The environment for the CLI: POP3_PASSWORD and none of the caller's other POP3_* variables. */
function cliEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('POP3_')) delete env[k];
  return { ...env, POP3_PASSWORD: 'secret' };
}

/** Runs the CLI; resolves to { code, out, err }. */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pop3 timed out: ${err}`)); }, 30_000);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

/** A file in `dir` last modified `ageSeconds` ago. */
function fileAged(dir, name, ageSeconds) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'Subject: left over\r\n\r\nbody\r\n');
  const when = Date.now() / 1000 - ageSeconds;
  fs.utimesSync(file, when, when);
}

const names = (dir) => fs.readdirSync(dir).sort();

test('pop3 fetch removes tmp/ entries older than 36 hours, keeps younger ones and delivered mail', async () => {
  const server = await scriptedServer((line, socket) => {
    const verb = line.split(' ')[0].toUpperCase();
    if (verb === 'LIST' || verb === 'UIDL') { socket.write('+OK\r\n.\r\n'); return true; }
    return false;
  });
  cleanups.push(server.close);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-tmp-clean-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(dir, sub));
  const tmp = path.join(dir, 'tmp');
  fileAged(tmp, 'killed-a-week-ago', 7 * 24 * HOUR_S);
  fileAged(tmp, 'killed-37-hours-ago', 37 * HOUR_S);
  fileAged(tmp, '35-hours-old', 35 * HOUR_S);
  fileAged(tmp, 'being-written', 0);
  fileAged(path.join(dir, 'new'), 'old-but-delivered', 7 * 24 * HOUR_S);
  fileAged(path.join(dir, 'cur'), 'old-and-read:2,S', 7 * 24 * HOUR_S);

  const r = await run(['--host', '127.0.0.1', '--port', String(server.port), '--user', 'u', '--auth', 'user',
    '--allow-cleartext', 'fetch', '--maildir', dir]);
  assert.equal(r.code, 1, `an empty mailbox: nothing new (exit 1); ${r.err}`);
  assert.deepEqual(names(tmp), ['35-hours-old', 'being-written']);
  assert.deepEqual(names(path.join(dir, 'new')), ['old-but-delivered']);
  assert.deepEqual(names(path.join(dir, 'cur')), ['old-and-read:2,S']);

  // pop3 watch opens the Maildir the same way.
  fileAged(tmp, 'killed-40-hours-ago', 40 * HOUR_S);
  const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', String(server.port), '--user', 'u',
    '--auth', 'user', '--allow-cleartext', '-v', 'watch', '--maildir', dir, '--interval', '60'],
  { env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise((resolve) => child.once('close', resolve));
  await new Promise((resolve) => {
    child.stderr.on('data', (d) => { err += d; if (/round 1 at /.test(err)) resolve(); });
    child.once('close', resolve);
  });
  child.kill('SIGINT');
  assert.equal(await exited, 0, err);
  assert.deepEqual(names(tmp), ['35-hours-old', 'being-written']);
});
