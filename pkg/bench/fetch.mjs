#!/usr/bin/env node
// Benchmark: fetch 500 messages of about 4 KB from a real Dovecot (tests/support/mailstack.py)
// with this package (connect + login + retrieveMany of all + quit, what the CLI does), with
// Python's poplib (benches/poplib_fetch.py) and with the npm package node-pop3. Each run is
// its own child process under /usr/bin/time -v; best of 5 wall times, peak RSS.
//
//   node bench/fetch.mjs [--runs N] [--messages N]
//
// The bytes every client returns are checked against what the server must send (CRLF line
// ends, dot-stuffing undone); a client that gets them wrong is reported, not hidden.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { repo, startStack } from '../test/helpers.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    messages: { type: 'string', default: '500' },
    child: { type: 'string' },
  },
});

const here = fileURLToPath(new URL('.', import.meta.url));
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------
// Children: one client, one run; print one JSON line.

if (args.child) {
  const { host, port, user, password } = JSON.parse(process.env.BENCH_SERVER);
  const started = performance.now();
  let result;
  if (args.child === 'pop3-wasm' || args.child === 'pop3-wasm-nopipe' || args.child === 'pop3-wasm-auto') {
    const { connect } = await import('../src/node.js');
    const loaded = performance.now();
    const t0 = performance.now();
    const client = await connect({ host, port, pipelining: args.child !== 'pop3-wasm-nopipe' });
    const mechanism = await client.login(user, password,
      args.child === 'pop3-wasm-auto' ? {} : { mechanism: 'user', allowCleartext: true });
    const { count } = await client.stat();
    const hashes = [];
    let octets = 0;
    await client.retrieveMany(Array.from({ length: count }, (_, i) => i + 1), {
      onMessage: (msg, bytes) => { hashes.push(sha256(bytes)); octets += bytes.length; },
    });
    const stats = client.stats;
    await client.quit();
    const t1 = performance.now();
    result = { seconds: (t1 - t0) / 1000, loadSeconds: (loaded - started) / 1000, count, octets, hashes, mechanism,
      roundTrips: stats.roundTrips, commands: stats.commands };
  } else if (args.child === 'node-pop3') {
    const { default: Pop3Command } = await import('node-pop3');
    const loaded = performance.now();
    const t0 = performance.now();
    const pop3 = new Pop3Command({ user, password, host, port, timeout: 30_000 });
    const stat = await pop3.STAT(); // connects and logs in (USER/PASS) first
    const count = Number(stat.split(' ')[0]);
    const hashes = [];
    let octets = 0;
    const notes = [];
    for (let i = 1; i <= count; i++) {
      const text = await pop3.RETR(i);
      // node-pop3 returns a string without the final CRLF; give it back for comparison.
      const bytes = Buffer.from(`${text}\r\n`, 'utf8');
      hashes.push(sha256(bytes));
      octets += bytes.length;
    }
    await pop3.QUIT();
    const t1 = performance.now();
    notes.push('RETR returns a string (UTF-8 decoded) without the final CRLF; CRLF re-added before comparing');
    result = { seconds: (t1 - t0) / 1000, loadSeconds: (loaded - started) / 1000, count, octets, hashes, mechanism: 'USER',
      roundTrips: count + 4, commands: count + 4, notes };
  } else {
    throw new Error(`unknown child ${args.child}`);
  }
  result.maxRssKb = process.resourceUsage().maxRSS;
  console.log(JSON.stringify(result));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Parent.

const RUNS = Number(args.runs);
const COUNT = Number(args.messages);

/** About 4 KB of deterministic text; every 7th message has lines starting with dots. */
function makeMessage(i) {
  const lines = [
    `From: Sender ${i} <sender${i}@bench.example>`,
    'To: Alice <alice@bench.example>',
    `Subject: Benchmark message ${i}`,
    `Date: Mon, 02 Mar 2026 08:${String(i % 60).padStart(2, '0')}:00 +0000`,
    `Message-ID: <bench-${i}@bench.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
  ];
  let n = 0;
  const seed = createHash('sha256').update(`seed ${i}`).digest('hex');
  while (lines.join('\n').length < 4000) {
    n += 1;
    if (i % 7 === 0 && n % 9 === 0) {
      lines.push(n % 2 ? '.' : `..dot-leading line ${n} of message ${i}`);
    } else {
      lines.push(`Line ${String(n).padStart(3, '0')} of message ${i}: ${seed.slice(0, 20)} lorem ipsum dolor sit amet.`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** RETR bytes of a file delivered with LF line ends: CRLF line ends. */
const retrBytes = (text) => Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1');

function runChild(argv, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-v', ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const wall = (performance.now() - started) / 1000;
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      const line = out.trim().split('\n').filter(Boolean).at(-1);
      if (code !== 0 || !line) {
        reject(new Error(`${argv.join(' ')} exited with ${code ?? signal}:\n${err.split('\n').slice(0, 30).join('\n')}`));
        return;
      }
      try {
        resolve({ ...JSON.parse(line), processSeconds: wall, timeRssKb: rss ? Number(rss[1]) : null });
      } catch (e) {
        reject(new Error(`${argv.join(' ')}: bad output ${line}: ${e.message}`));
      }
    });
  });
}

if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed (apt-get install time)');

const dir = mkdtempSync(join(tmpdir(), 'pop3-bench-fetch-'));
const expected = [];
for (let i = 1; i <= COUNT; i++) {
  const text = makeMessage(i);
  writeFileSync(join(dir, `${String(i).padStart(4, '0')}.eml`), text);
  expected.push(retrBytes(text));
}
const expectedOctets = expected.reduce((a, b) => a + b.length, 0);
const expectedHashes = expected.map(sha256);
const dotMessages = expected.filter((_, i) => (i + 1) % 7 === 0).length;

const stack = await startStack(['--mail', dir]);
const server = { host: stack.host, port: stack.pop3_port, user: 'alice', password: stack.password() };
const env = { BENCH_SERVER: JSON.stringify(server) };

const clients = [
  { name: 'pop3-wasm (pipelined, USER/PASS)', argv: [process.execPath, join(here, 'fetch.mjs'), '--child', 'pop3-wasm'] },
  { name: 'pop3-wasm (pipelined, auto login)', argv: [process.execPath, join(here, 'fetch.mjs'), '--child', 'pop3-wasm-auto'] },
  { name: 'pop3-wasm (pipelining off)', argv: [process.execPath, join(here, 'fetch.mjs'), '--child', 'pop3-wasm-nopipe'] },
  { name: 'python poplib', argv: ['python3', join(repo, 'benches/poplib_fetch.py'), server.host, String(server.port), server.user, server.password, '1'], poplib: true },
  { name: 'node-pop3 0.11 (npm)', argv: [process.execPath, join(here, 'fetch.mjs'), '--child', 'node-pop3'] },
];

console.log(`fetch benchmark: ${COUNT} messages, ${expectedOctets} octets (avg ${Math.round(expectedOctets / COUNT)} B), `
  + `${dotMessages} with dot-leading lines; Dovecot on 127.0.0.1; best of ${RUNS} runs, each in its own process`);

const rows = [];
try {
  for (const c of clients) {
    const runs = [];
    let failure = null;
    for (let r = 0; r < RUNS; r++) {
      try {
        runs.push(await runChild(c.argv, env));
      } catch (e) {
        failure = e.message;
        break;
      }
    }
    const row = { name: c.name, runs, failure };
    if (runs.length) {
      const best = runs.reduce((a, b) => ((c.poplib ? a.best_s : a.seconds) <= (c.poplib ? b.best_s : b.seconds) ? a : b));
      row.seconds = c.poplib ? best.best_s : best.seconds;
      row.processSeconds = Math.min(...runs.map((x) => x.processSeconds));
      row.rssMb = Math.max(...runs.map((x) => x.timeRssKb)) / 1024;
      row.rssMbMin = Math.min(...runs.map((x) => x.timeRssKb)) / 1024;
      row.count = best.count ?? best.messages;
      row.octets = best.octets;
      row.commands = best.commands;
      row.roundTrips = best.roundTrips ?? (c.poplib ? best.commands : undefined);
      if (best.hashes) {
        const wrong = best.hashes.map((h, i) => (h === expectedHashes[i] ? null : i + 1)).filter((x) => x !== null);
        row.correct = `${best.hashes.length - wrong.length}/${COUNT} exact`;
        row.wrong = wrong;
        if (wrong.length) {
          const dotWrong = wrong.filter((m) => m % 7 === 0).length;
          row.correct += ` (${wrong.length} wrong, ${dotWrong} of them with dot-leading lines)`;
        }
      } else {
        row.correct = row.octets === expectedOctets ? 'octets match (bytes not checked)' : `octets ${row.octets} != ${expectedOctets}`;
      }
      row.notes = best.notes;
    }
    rows.push(row);
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log('');
console.log(`${pad('client', 36)}${lpad('best s', 9)}${lpad('msg/s', 9)}${lpad('process s', 11)}${lpad('peak RSS MB', 13)}${lpad('round trips', 13)}  correctness`);
for (const r of rows) {
  if (!r.runs.length) {
    console.log(`${pad(r.name, 36)}  FAILED: ${r.failure}`);
    continue;
  }
  console.log(`${pad(r.name, 36)}${lpad(r.seconds.toFixed(3), 9)}${lpad(Math.round(COUNT / r.seconds), 9)}`
    + `${lpad(r.processSeconds.toFixed(3), 11)}${lpad(`${r.rssMb.toFixed(1)}`, 13)}${lpad(r.roundTrips ?? '?', 13)}  ${r.correct}`);
  if (r.failure) console.log(`${pad('', 36)}  (a later run failed: ${r.failure})`);
}
console.log('');
console.log('best s: connect to QUIT answered, inside the process (poplib: its own timer around the same work).');
console.log('process s: the whole child process (runtime start-up, module load and wasm instantiation included).');
console.log('peak RSS: /usr/bin/time -v "Maximum resident set size", the highest of the runs.');
for (const r of rows) {
  for (const n of r.notes ?? []) console.log(`${r.name}: ${n}`);
  if (r.wrong?.length) console.log(`${r.name}: wrong messages: ${r.wrong.slice(0, 20).join(', ')}${r.wrong.length > 20 ? ', ...' : ''}`);
}
const mismatch = rows.some((r) => r.name.startsWith('pop3-wasm') && (!r.runs.length || r.wrong?.length));
if (mismatch) {
  console.error('pop3-wasm returned wrong bytes or failed');
  process.exitCode = 1;
}
