// The packed tarball works in a fresh project: `npm pack`, `npm install <tarball>` into a new
// ESM project, then a Node script and a strict TypeScript check against it.
// Run: cd pkg && node --test test/pack.test.js

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { sampleMail, startStack } from './helpers.js';

const run = promisify(execFile);
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const tsc = join(pkgDir, 'node_modules/typescript/bin/tsc');

let work;
let project;
let tarball;
let packInfo;
let sample;
let stack;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pop3-pack-'));
  // --ignore-scripts: the lead builds the wasm; packing must not try to rebuild it.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: pkgDir });
  packInfo = JSON.parse(stdout)[0];
  tarball = join(work, packInfo.filename);

  project = join(work, 'app');
  await run('mkdir', ['-p', project]);
  await run('npm', ['init', '-y'], { cwd: project });
  const pj = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  pj.type = 'module';
  writeFileSync(join(project, 'package.json'), JSON.stringify(pj, null, 2));
  await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--offline'], { cwd: project });

  sample = sampleMail(0);
  stack = await startStack(['--mail', sample.dir]);
});

after(async () => {
  await stack?.stop();
  sample?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball: size, and no tests, Rust sources or build leftovers', (t) => {
  const files = packInfo.files.map((f) => f.path);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const wasms = packInfo.files.filter((f) => f.path.endsWith('.wasm')).map((f) => `${f.path} ${f.size} bytes`);
  const report = `tarball ${packInfo.filename}: ${packInfo.size} bytes (${kb(packInfo.size)}) packed, `
    + `${packInfo.unpackedSize} bytes (${kb(packInfo.unpackedSize)}) unpacked, ${files.length} files; `
    + `${wasms.join(', ') || 'NO .wasm'}`;
  console.log(report);
  t.diagnostic(report);

  const bad = files.filter((f) => /^test\/|\.test\.[cm]?js$|(^|\/)tests?\//.test(f)
    || /\.rs$|(^|\/)Cargo\.(toml|lock)$|(^|\/)target\//.test(f)
    || /(^|\/)node_modules\/|\.tgz$|(^|\/)\.|\.map$/.test(f)
    || /^bench\//.test(f));
  assert.deepEqual(bad, [], 'files that do not belong in the tarball');
  const allowed = /^(src\/|types\/|wasm\/|wasm-tls\/|wasm-mime\/|mime\/package\.json$|bin\/|package\.json$|README(\.md)?$|LICENSE)/i;
  assert.deepEqual(files.filter((f) => !allowed.test(f)), [], 'files outside the published directories');
  assert.ok(packInfo.size < 1024 * 1024, 'the packed tarball is under 1 MiB');
});

test('the licenses: both texts in the tarball, the same as the repository\'s, and one license field', () => {
  const files = new Set(packInfo.files.map((f) => f.path));
  for (const name of ['LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.ok(files.has(name), `${name} is in the tarball`);
    const text = readFileSync(join(pkgDir, name), 'utf8');
    assert.equal(text, readFileSync(join(pkgDir, '..', name), 'utf8'), `pkg/${name} is the repository's ${name}`);
  }
  assert.match(readFileSync(join(pkgDir, 'LICENSE-MIT'), 'utf8'), /^MIT License\n\nCopyright \(c\) .+\n\nPermission is hereby granted, free of charge/);
  const apache = readFileSync(join(pkgDir, 'LICENSE-APACHE'), 'utf8');
  assert.match(apache, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  assert.match(apache, /END OF TERMS AND CONDITIONS/);
  assert.match(apache, /APPENDIX: How to apply the Apache License to your work\./);
  assert.equal(PKG.license, 'MIT OR Apache-2.0');
  const cargo = readFileSync(join(pkgDir, '..', 'Cargo.toml'), 'utf8');
  assert.equal(/^license = "(.*)"$/m.exec(cargo)[1], PKG.license, 'Cargo.toml and package.json name the same licenses');
});

test('every file the manifest points at is in the tarball', () => {
  const files = new Set(packInfo.files.map((f) => f.path));
  const targets = new Set();
  const walk = (v) => {
    if (typeof v === 'string') targets.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(PKG.exports);
  walk(PKG.bin);
  for (const k of ['main', 'module', 'types']) if (PKG[k]) walk(PKG[k]);
  const missing = [...targets].filter((f) => !files.has(f));
  assert.deepEqual(missing, [], 'export, bin, main, module or types targets missing from the tarball');
  // And files the published sources load at run time (relative imports and new URL(...)).
  const loaded = new Set();
  for (const f of [...files].filter((x) => x.endsWith('.js') && !x.startsWith('wasm'))) {
    const text = readFileSync(join(pkgDir, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*|new URL\(\s*)'(\.\.?\/[^']+)'/g)) {
      loaded.add(join(f, '..', m[1]).replace(/\\/g, '/'));
    }
  }
  assert.ok(loaded.size > 5, `found ${loaded.size} relative references`);
  assert.deepEqual([...loaded].filter((f) => !files.has(f)).sort(), [], 'loaded at run time but not in the tarball');
});

test('a Node ESM script in a fresh project logs in and retrieves a message', async () => {
  const script = `
import { connect, parseMessage, buildInfo, Pop3Error } from 'pop3-wasm';
import { createHash } from 'node:crypto';
const client = await connect({ host: process.env.HOST, port: Number(process.env.PORT) });
const mechanism = await client.login(process.env.USER_NAME, process.env.PASSWORD);
const { count } = await client.stat();
const bytes = await client.retrieve(1);
const parsed = parseMessage(bytes);
let missing;
try { await client.retrieve(count + 1); } catch (e) { missing = { pop3: e instanceof Pop3Error, code: e.code }; }
await client.quit();
console.log(JSON.stringify({
  mechanism, count, length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'),
  subject: parsed.subject, version: buildInfo().version, missing, state: client.state,
}));
`;
  writeFileSync(join(project, 'fetch.mjs'), script);
  const env = { ...process.env, HOST: stack.host, PORT: String(stack.pop3_port), USER_NAME: 'alice', PASSWORD: stack.password() };
  const { stdout } = await run(process.execPath, ['fetch.mjs'], { cwd: project, env, timeout: 30_000 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1));

  const manifest = JSON.parse(readFileSync(join(sample.dir, 'manifest.json'), 'utf8'));
  const file = readFileSync(join(sample.dir, manifest[0].file));
  assert.equal(out.count, manifest.length);
  assert.equal(out.length, file.length);
  assert.equal(out.sha256, createHash('sha256').update(file).digest('hex'));
  assert.equal(out.subject, manifest[0].subject);
  assert.equal(out.version, PKG.version);
  assert.deepEqual(out.missing, { pop3: true, code: 'server' });
  assert.equal(out.state, 'closed');
  assert.equal(typeof out.mechanism, 'string');
  // It really is the installed copy, not this checkout.
  assert.ok(existsSync(join(project, 'node_modules/pop3-wasm/wasm/pop3_wasm_bg.wasm')));
  assert.ok(!existsSync(join(project, 'node_modules/pop3-wasm/test')));
  assert.ok(existsSync(join(project, 'node_modules/pop3-wasm/LICENSE-MIT')));
  assert.ok(existsSync(join(project, 'node_modules/pop3-wasm/LICENSE-APACHE')));
});

test('the "./node" subpath and package.json export resolve in the installed copy', async () => {
  const script = `
import * as node from 'pop3-wasm/node';
import * as root from 'pop3-wasm';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const pj = require('pop3-wasm/package.json');
console.log(JSON.stringify({ same: node.connect === root.connect, openNodeStream: typeof node.openNodeStream, name: pj.name }));
`;
  writeFileSync(join(project, 'subpaths.mjs'), script);
  const { stdout } = await run(process.execPath, ['subpaths.mjs'], { cwd: project, timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout.trim()), { same: true, openNodeStream: 'function', name: 'pop3-wasm' });
});

test('TypeScript (nodenext, --strict --noImplicitAny) compiles a program against the types, with no any', async () => {
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['ES2022', 'DOM', 'DOM.Iterable', 'DOM.AsyncIterable'],
      strict: true,
      noImplicitAny: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
    },
    files: ['check.ts'],
  }, null, 2));
  writeFileSync(join(project, 'check.ts'), `
import {
  connect, parseMessage, attachmentContent, buildInfo, Pop3Error, toPop3Error, openNodeStream, NodeSocketStream,
  type Pop3Client, type ParsedMessage, type ErrorCode, type Capabilities, type ByteStream, type ListEntry,
} from 'pop3-wasm';

// Fails to compile when T is any.
type IsAny<T> = 0 extends 1 & T ? true : false;
function notAny<T>(value: T, ..._proof: IsAny<T> extends true ? [never] : []): T { return value; }
function exact<A, B>(_: (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : never): void {}

export async function main(host: string, port: number, ca: string): Promise<void> {
  const client: Pop3Client = notAny(await connect({ host, port, tls: 'implicit', ca, serverName: 'localhost', timeoutMs: 5000 }));
  // The deprecated spelling still type-checks (until the next release).
  const legacy = await connect({ host, port, tls: 'implicit', ca, servername: 'localhost' });
  notAny(legacy.tlsInfo);
  const starttls = await connect({ host, port, tls: 'starttls', ca: [new Uint8Array(0), ca] });
  notAny(starttls.tlsInfo);
  const mechanism = notAny(await client.login('alice', 'secret', { mechanism: 'cram-md5', allowCleartext: false }));
  exact<typeof mechanism, string>(true);
  const stat = notAny(await client.stat());
  exact<typeof stat, { count: number; size: number }>(true);
  const list: ListEntry[] = notAny(await client.list());
  notAny(list[0].size);
  const uid = notAny(await client.uidlOne(1));
  exact<typeof uid.uid, string>(true);
  const caps = notAny(await client.capa());
  exact<typeof caps, Capabilities | null>(true);
  notAny(client.greeting.apopTimestamp);
  notAny(client.stats.roundTrips);
  exact<typeof client.state, 'greeting' | 'authorization' | 'transaction' | 'update' | 'closed'>(true);

  const bytes = notAny(await client.retrieve(1, {
    signal: AbortSignal.timeout(1000),
    onProgress: (p) => { notAny(p.received); exact<typeof p.expected, number | undefined>(true); },
  }));
  exact<typeof bytes, Uint8Array>(true);
  const stream = notAny(client.retrieveStream(2, { lines: 10 }));
  exact<typeof stream, ReadableStream<Uint8Array>>(true);
  for await (const chunk of stream) exact<typeof chunk, Uint8Array>(true);
  await client.retrieveMany([1, 2], {
    onMessage: (msg, data) => { notAny(msg); exact<typeof data, Uint8Array>(true); },
    onError: (msg, error) => { notAny(error.code); exact<typeof error, Pop3Error>(true); },
  });
  exact<Awaited<ReturnType<Pop3Client['delete']>>, void>(true);

  const parsed: ParsedMessage = notAny(parseMessage(bytes));
  exact<typeof parsed.subject, string | null>(true);
  notAny(parsed.from[0].address);
  notAny(parsed.attachments[0].contentId);
  const content = notAny(attachmentContent(bytes.buffer as ArrayBuffer, parsed.attachments[0].index));
  exact<typeof content, Uint8Array | null>(true);
  notAny(buildInfo().version);

  try {
    await client.quit();
  } catch (e: unknown) {
    const err = toPop3Error(e);
    exact<typeof err, Pop3Error>(true);
    const code: ErrorCode = notAny(err.code);
    exact<typeof err.responseCode, string | null>(true);
    if (err instanceof Error) notAny(err.message);
    void code;
  }
  const s: NodeSocketStream = await openNodeStream({ host, port });
  const asStream: ByteStream = s;
  notAny(await asStream.read());
  await client.close();

  // @ts-expect-error: message numbers are numbers
  void client.retrieve('1');
  // @ts-expect-error: not a tls mode
  void connect({ host, tls: 'sometimes' });
  // @ts-expect-error: onMessage is a function
  void client.retrieveMany([1], { onMessage: 'x' });
  // Without onMessage: an async iterator of { msg, bytes, error }.
  for await (const m of client.retrieveMany([1, 2])) {
    const n: number = m.msg;
    void n;
    if (m.bytes) notAny(m.bytes);
  }
  // What "await using" calls (that syntax needs lib esnext.disposable in the calling project).
  const disposable = await connect({ host });
  const dispose: () => Promise<void> = disposable[Symbol.asyncDispose];
  void dispose;
  // @ts-expect-error: no such error code
  const bad: ErrorCode = 'oops';
  void bad;
}
`);
  let result;
  try {
    result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noImplicitAny', '--strict'], { cwd: project, timeout: 60_000 });
  } catch (e) {
    assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
  }
  assert.equal(result.stdout.trim(), '', 'no tsc output');
});

test('the published .d.ts files declare no any', () => {
  for (const f of packInfo.files.map((x) => x.path).filter((p) => p.startsWith('types/'))) {
    const text = readFileSync(join(project, 'node_modules/pop3-wasm', f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const hits = text.split('\n').filter((l) => /\bany\b/.test(l));
    assert.deepEqual(hits, [], `${f} uses any`);
  }
});
