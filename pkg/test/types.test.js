// TypeScript in every module resolution mode: the packed tarball in a fresh project, a
// Node-style program (connect({ host, port }), login, list, parseMessage, the sync state, and
// the parser-only entry), type-checked with --strict under module/moduleResolution node16,
// nodenext, bundler, and the tsconfig `tsc --init` writes, in ESM projects and (where
// TypeScript allows requiring an ES module: nodenext) CommonJS ones.
// Also what `require('pop3-wasm')` does on this Node.
// Run: cd pkg && node --test test/types.test.js (after scripts/build-pkg.sh).
// POP3_PKG_TARBALL=/path/to/pop3-wasm-x.tgz checks that tarball instead of packing this one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(pkgDir, 'node_modules/typescript/bin/tsc');

let work;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pop3-types-'));
  let tarball = process.env.POP3_PKG_TARBALL;
  if (!tarball) {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: pkgDir });
    tarball = join(work, JSON.parse(stdout)[0].filename);
  }
  // The tarball unpacked as an installed dependency, shared by every project below (they are
  // folders of `work`, so resolution finds work/node_modules/pop3-wasm).
  mkdirSync(join(work, 'node_modules'));
  await run('tar', ['xzf', tarball, '-C', work]);
  renameSync(join(work, 'package'), join(work, 'node_modules/pop3-wasm'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A Node-style program: what a user of the package writes first. */
const PROGRAM = `
import { connect, parseMessage, newSyncState, Pop3Error, type Pop3Client, type ParsedMessage } from 'pop3-wasm';
import { parseMessage as parseOnly, init as initParser } from 'pop3-wasm/mime';

export async function subjects(host: string, port: number, password: string): Promise<string[]> {
  const client: Pop3Client = await connect({ host, port, tls: 'implicit', timeoutMs: 5000 });
  await client.login('alice', password);
  const out: string[] = [];
  for (const { msg } of await client.list()) {
    const parsed: ParsedMessage = parseMessage(await client.top(msg, 0));
    out.push(parsed.subject ?? '');
  }
  const state = newSyncState('alice@example.org');
  state.has('uid-1');
  await client.quit();
  await initParser();
  out.push(parseOnly(new Uint8Array(0)).subject ?? '');
  return out;
}

export function isPop3Error(e: unknown): boolean {
  return e instanceof Pop3Error && e.code === 'auth';
}
`;

/**
 * The projects: name, package.json "type", the source file's name, and tsconfig.json (null:
 * the one `tsc --init` writes).
 */
const strict = { strict: true, noEmit: true, target: 'es2022', skipLibCheck: false };
const MODES = [
  { name: 'node16 (ESM project)', type: 'module', file: 'check.ts', config: { ...strict, module: 'node16', moduleResolution: 'node16' } },
  { name: 'nodenext (ESM project)', type: 'module', file: 'check.ts', config: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' } },
  { name: 'nodenext (CommonJS project)', type: 'commonjs', file: 'check.ts', config: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' } },
  { name: 'bundler (module esnext)', type: 'module', file: 'check.ts', config: { ...strict, module: 'esnext', moduleResolution: 'bundler' } },
  { name: 'bundler (module preserve)', type: 'module', file: 'check.ts', config: { ...strict, module: 'preserve', moduleResolution: 'bundler' } },
  { name: 'tsc --init (ESM project)', type: 'module', file: 'check.ts', config: null },
];

/** Type-checks one project; resolves to tsc's diagnostics ('' when it passed). */
async function check(mode) {
  const dir = join(work, mode.name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: mode.type }));
  writeFileSync(join(dir, mode.file), PROGRAM);
  const args = [tsc, '-p', dir, '--pretty', 'false'];
  if (mode.config) {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: mode.config, files: [mode.file] }, null, 2));
  } else {
    await run(process.execPath, [tsc, '--init'], { cwd: dir });
    // As written: --strict and the rest are on; only emitting is left out.
    args.push('--noEmit', '--strict');
  }
  try {
    await run(process.execPath, args, { cwd: dir, timeout: 120_000 });
    return '';
  } catch (e) {
    if (e.stdout === undefined) throw e;
    return (e.stdout + e.stderr).trim();
  }
}

test('TypeScript node16 in a CommonJS project: rejected by TypeScript itself (TS1479), use nodenext or import()', async (t) => {
  // node16 predates require(esm): TypeScript refuses any ES-module-only package there. Under
  // nodenext (TypeScript 5.8+) the same project checks (above).
  const diagnostics = await check({
    name: 'node16 (CommonJS project)', type: 'commonjs', file: 'check.ts',
    config: { ...strict, module: 'node16', moduleResolution: 'node16' },
  });
  t.diagnostic(diagnostics || 'passed');
  const codes = new Set([...diagnostics.matchAll(/error (TS\d+)/g)].map((m) => m[1]));
  assert.deepEqual([...codes], ['TS1479']);
});

for (const mode of MODES) {
  test(`TypeScript --strict, ${mode.name}: connect({ host, port }) and the rest type-check`, async (t) => {
    const diagnostics = await check(mode);
    t.diagnostic(diagnostics ? `FAILED\n${diagnostics}` : 'passed');
    assert.equal(diagnostics, '', `tsc reported errors for ${mode.name}`);
  });
}

test('tsc --init still writes what the tsc --init project above checks with', async () => {
  const dir = mkdtempSync(join(work, 'init-'));
  await run(process.execPath, [tsc, '--init'], { cwd: dir });
  const text = readFileSync(join(dir, 'tsconfig.json'), 'utf8');
  // The options that matter here (TypeScript 5.9's defaults): module nodenext, strict.
  assert.match(text, /^\s*"module": "nodenext"/m);
  assert.match(text, /^\s*"strict": true/m);
});

test(`require('pop3-wasm') on Node ${process.versions.node}: the Node entry, loaded without top-level await`, async () => {
  const dir = join(work, 'require');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-app', private: true, type: 'commonjs' }));
  writeFileSync(join(dir, 'main.js'), `
const pop3 = require('pop3-wasm');
const mime = require('pop3-wasm/mime');
const subject = pop3.parseMessage(new TextEncoder().encode('Subject: hi\\r\\n\\r\\nbody')).subject;
console.log(JSON.stringify({
  connect: typeof pop3.connect, subject, mime: Object.keys(mime).sort(), version: pop3.buildInfo().version,
}));
`);
  // require(esm) is on by default from Node 20.19 and 22.12; older releases need the flag.
  const [major, minor] = process.versions.node.split('.').map(Number);
  const unflagged = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23;
  const flags = unflagged ? [] : ['--experimental-require-module'];
  const { stdout } = await run(process.execPath, [...flags, 'main.js'], { cwd: dir, timeout: 30_000 });
  const out = JSON.parse(stdout.trim());
  assert.deepEqual(out, {
    connect: 'function', subject: 'hi', mime: ['attachmentContent', 'init', 'parseMessage'], version: out.version,
  });
  // With require(esm) turned off, Node says so plainly (ERR_REQUIRE_ESM), as on older releases.
  if (major < 23) {
    const failed = await run(process.execPath, ['--no-experimental-require-module', 'main.js'], { cwd: dir, timeout: 30_000 })
      .then(() => null, (e) => e);
    assert.ok(failed, 'require() of the ES module failed with require(esm) off');
    assert.match(failed.stderr, /ERR_REQUIRE_ESM/);
  }
});
