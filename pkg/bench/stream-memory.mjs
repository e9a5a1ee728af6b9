#!/usr/bin/env node
// Benchmark: memory of retrieveStream() against retrieve() for a very large message.
//
// Delivers a generated 100 MB text message (many lines, some starting with dots, so the
// server dot-stuffs them) and a 10 MB one to a Dovecot stack, then in separate child
// processes (under /usr/bin/time -v):
//   - stream:   retrieveStream(), each chunk hashed (sha256) and dropped;
//   - buffered: retrieve(), the whole message hashed at the end;
//   - idle:     connect + login + quit only (the floor: Node + the wasm module).
// Every hash must equal sha256 of the source with CRLF line ends. The streaming peak must
// stay bounded: independent of the message size (100 MB vs 10 MB) and far below it.
//
//   node bench/stream-memory.mjs [--mb 100] [--small-mb 10]

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startStack } from '../test/helpers.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    'small-mb': { type: 'string', default: '10' },
    child: { type: 'string' },
    msg: { type: 'string', default: '1' },
  },
});

// ---------------------------------------------------------------------------------------
// Child: one mode, one message; prints one JSON line.

if (args.child) {
  const { host, port, password } = JSON.parse(process.env.BENCH_SERVER);
  const { connect } = await import('../src/node.js');
  // The module's exports (initSync() returns them once initialised; it throws for a build the
  // entry point did not load): to read the wasm memory size.
  const memories = [];
  for (const glue of ['../wasm/pop3_wasm.js', '../wasm-tls/pop3_wasm.js']) {
    try {
      memories.push((await import(glue)).initSync().memory);
    } catch { /* not this build */ }
  }
  const wasmBytes = () => memories.reduce((a, m) => a + m.buffer.byteLength, 0);
  const peak = { heapUsed: 0, external: 0, arrayBuffers: 0, wasm: 0, liveAfterGc: 0 };
  // With --expose-gc: collect every 5000 chunks and record the JS heap that survives (the
  // live set). ArrayBuffer backing stores are swept concurrently after a collection, so
  // memoryUsage().arrayBuffers right after gc() still counts dead chunks; it is left out.
  const collect = () => {
    if (typeof globalThis.gc !== 'function') return;
    globalThis.gc();
    peak.liveAfterGc = Math.max(peak.liveAfterGc, process.memoryUsage().heapUsed);
  };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.wasm = Math.max(peak.wasm, wasmBytes());
  };
  const sampler = setInterval(sample, 20);
  const msg = Number(args.msg);
  const client = await connect({ host, port });
  await client.login('alice', password);
  const t0 = performance.now();
  const hash = createHash('sha256');
  let octets = 0;
  let chunks = 0;
  let maxChunk = 0;
  if (args.child === 'stream') {
    for await (const chunk of client.retrieveStream(msg)) {
      hash.update(chunk);
      octets += chunk.length;
      chunks += 1;
      if (chunk.length > maxChunk) maxChunk = chunk.length;
      if (chunks % 1000 === 0) sample();
      if (chunks % 5000 === 0) collect();
    }
  } else if (args.child === 'buffered') {
    const bytes = await client.retrieve(msg);
    sample();
    hash.update(bytes);
    octets = bytes.length;
    chunks = 1;
    maxChunk = bytes.length;
  } else if (args.child !== 'idle') {
    throw new Error(`unknown mode ${args.child}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  sample();
  clearInterval(sampler);
  await client.quit();
  console.log(JSON.stringify({
    sha256: args.child === 'idle' ? null : hash.digest('hex'), octets, chunks, maxChunk, seconds,
    maxRssKb: process.resourceUsage().maxRSS, peak,
  }));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Parent.

const here = fileURLToPath(new URL('.', import.meta.url));
const MB = 1024 * 1024;

/**
 * Writes a text message of about `size` bytes with LF line ends to `path`; resolves to the
 * sha256 and length of the same message with CRLF line ends (what RETR returns).
 */
function writeMessage(path, size, tag) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path);
    const crlf = createHash('sha256');
    let written = 0;
    let crlfOctets = 0;
    let n = 0;
    const seed = createHash('sha256').update(tag).digest('hex');
    const header = [
      'From: Generator <gen@bench.example>',
      'To: Alice <alice@bench.example>',
      `Subject: A ${Math.round(size / MB)} MB text message (${tag})`,
      'Date: Mon, 02 Mar 2026 08:30:00 +0000',
      `Message-ID: <${tag}@bench.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
    ];
    const emit = (lines) => {
      const lf = `${lines.join('\n')}\n`;
      const cr = lf.replace(/\n/g, '\r\n');
      crlf.update(cr);
      crlfOctets += cr.length;
      written += lf.length;
      return out.write(lf);
    };
    emit(header);
    const more = () => {
      while (written < size) {
        const lines = [];
        for (let i = 0; i < 1000; i++) {
          n += 1;
          if (n % 50 === 0) lines.push('.');
          else if (n % 50 === 25) lines.push(`..line ${n} starts with two dots`);
          else if (n % 50 === 10) lines.push(`.line ${n} starts with one dot`);
          else lines.push(`line ${String(n).padStart(9, '0')} ${seed.slice(n % 32, (n % 32) + 24)} the quick brown fox jumps over`);
        }
        if (!emit(lines)) { out.once('drain', more); return; }
      }
      out.end(() => resolve({ sha256: crlf.digest('hex'), octets: crlfOctets, lines: n }));
    };
    out.on('error', reject);
    more();
  });
}

function runChild(mode, msg, env, nodeFlags = []) {
  return new Promise((resolve, reject) => {
    const argv = ['-v', process.execPath, ...nodeFlags, join(here, 'stream-memory.mjs'), '--child', mode, '--msg', String(msg)];
    const child = spawn('/usr/bin/time', argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      const line = out.trim().split('\n').filter(Boolean).at(-1);
      if (code !== 0 || !line) return reject(new Error(`${mode} ${msg} exited with ${code}:\n${err.slice(0, 3000)}`));
      resolve({ ...JSON.parse(line), timeRssKb: rss ? Number(rss[1]) : null });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'pop3-bench-stream-'));
const bigMb = Number(args.mb);
const smallMb = Number(args['small-mb']);
console.log(`generating a ${bigMb} MB and a ${smallMb} MB message ...`);
const big = await writeMessage(join(dir, '1-big.eml'), bigMb * MB, 'big');
const small = await writeMessage(join(dir, '2-small.eml'), smallMb * MB, 'small');
const sources = { 1: big, 2: small };

let failed = false;
const rows = [];
const stack = await startStack(['--mail', dir]);
try {
  const env = { BENCH_SERVER: JSON.stringify({ host: stack.host, port: stack.pop3_port, password: stack.password() }) };
  // The last two rows force a full collection every 5000 chunks: what survives is the live
  // set, not garbage chunks waiting for V8 to get round to them.
  const SMALL_GC = ['--expose-gc'];
  const plan = [['idle', 2], ['stream', 2], ['stream', 1], ['buffered', 2], ['buffered', 1],
    ['stream', 2, SMALL_GC], ['stream', 1, SMALL_GC]];
  for (const [mode, msg, flags = []] of plan) {
    const r = await runChild(mode, msg, env, flags);
    const src = sources[msg];
    const ok = mode === 'idle' ? null : r.sha256 === src.sha256 && r.octets === src.octets;
    if (ok === false) failed = true;
    rows.push({ mode: flags.length ? `${mode}*` : mode, msg, src, r, ok });
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log('');
console.log(`${pad('mode', 10)}${lpad('message', 12)}${lpad('seconds', 9)}${lpad('MB/s', 8)}${lpad('chunks', 9)}${lpad('max chunk', 11)}`
  + `${lpad('peak RSS MB', 13)}${lpad('wasm mem MB', 13)}${lpad('JS heap MB', 12)}${lpad('ArrayBuf MB', 13)}  sha256 == source as CRLF`);
for (const { mode, msg, src, r, ok } of rows) {
  const size = mode === 'idle' ? '-' : `${(src.octets / MB).toFixed(1)} MB`;
  console.log(`${pad(mode, 10)}${lpad(size, 12)}${lpad(mode === 'idle' ? '-' : r.seconds.toFixed(2), 9)}`
    + `${lpad(mode === 'idle' ? '-' : (src.octets / MB / r.seconds).toFixed(0), 8)}${lpad(mode === 'idle' ? '-' : r.chunks, 9)}`
    + `${lpad(mode === 'idle' ? '-' : r.maxChunk, 11)}${lpad((r.timeRssKb / 1024).toFixed(1), 13)}`
    + `${lpad((r.peak.wasm / MB).toFixed(1), 13)}${lpad((r.peak.heapUsed / MB).toFixed(1), 12)}${lpad((r.peak.arrayBuffers / MB).toFixed(1), 13)}`
    + `  ${ok === null ? '-' : ok ? 'yes' : `NO (${r.octets} octets, ${r.sha256})`}`);
}
const find = (mode, msg) => rows.find((x) => x.mode === mode && x.msg === msg).r;
const rss = (mode, msg) => find(mode, msg).timeRssKb / 1024;
const idle = rss('idle', 2);
const streamBig = rss('stream', 1);
const streamSmall = rss('stream', 2);
const bufferedBig = rss('buffered', 1);
const liveBig = find('stream*', 1).peak.liveAfterGc / MB;
const liveSmall = find('stream*', 2).peak.liveAfterGc / MB;
const wasmStream = Math.max(find('stream', 1).peak.wasm, find('stream', 2).peak.wasm) / MB;
console.log('');
console.log('stream* = the same child run with node --expose-gc, collecting every 5000 chunks (slower; shows the live set).');
console.log('peak RSS: /usr/bin/time -v "Maximum resident set size" of the child. wasm mem, JS heap (heapUsed) and ArrayBuf');
console.log('(process.memoryUsage().arrayBuffers): peaks sampled every 20 ms and every 1000 chunks.');
console.log(`streaming ${(big.octets / MB).toFixed(0)} MB: ${(streamBig - idle).toFixed(1)} MB above the idle floor (${idle.toFixed(1)} MB); `
  + `${(streamSmall - idle).toFixed(1)} MB for ${(small.octets / MB).toFixed(0)} MB; buffered ${(big.octets / MB).toFixed(0)} MB: `
  + `${(bufferedBig - idle).toFixed(1)} MB above the floor.`);
console.log(`live JS heap after full collections: ${liveBig.toFixed(1)} MB while streaming ${(big.octets / MB).toFixed(0)} MB, `
  + `${liveSmall.toFixed(1)} MB for ${(small.octets / MB).toFixed(0)} MB; wasm memory while streaming: ${wasmStream.toFixed(1)} MB.`);
// Bounded: tens of MB above the floor with default flags; the live set (small young
// generation) the same for both sizes; the wasm side never holds the message.
const checks = {
  'stream peak < 100 MB above the floor': streamBig - idle < 100,
  'live JS heap independent of size (within 2 MB)': Math.abs(liveBig - liveSmall) < 2,
  'wasm memory while streaming < 8 MB': wasmStream < 8,
};
for (const [k, v] of Object.entries(checks)) console.log(`${v ? 'ok  ' : 'FAIL'} ${k}`);
const bounded = Object.values(checks).every(Boolean);
if (!bounded || failed) process.exitCode = 1;
