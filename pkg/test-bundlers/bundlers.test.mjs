// Every common bundler builds a page on the packed npm package (npm pack, unpacked into a
// fresh project): Vite, esbuild, webpack 5, Rollup and Parcel, each with its defaults. Each
// page is loaded in headless Chromium, connects through websockify to Dovecot, lists the
// mailbox and parses each message's headers; the subjects must be the sample's. The page also
// imports pop3-wasm/mime (the parser-only entry a Web Worker would use) and parses with it.
// Run: cd pkg/test-bundlers && npm ci && npm test (after scripts/build-pkg.sh).
// POP3_PKG_TARBALL=/path/to/pop3-wasm-x.tgz tests that tarball instead of packing ../.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

import { sampleMail, startStack } from '../test/helpers.js';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const pkgDir = join(here, '..');
// Inside this folder, so the projects resolve the bundlers from ./node_modules.
const work = join(here, '.work');
const bin = (name) => join(here, 'node_modules/.bin', name);

const page = (script, type = 'module') => `<!doctype html>
<html><head><meta charset="utf-8"><title>running</title></head>
<body><pre id="out">running</pre><script ${type === 'module' ? 'type="module" ' : ''}src="${script}"></script></body></html>
`;

/**
 * Each bundler: how to build the app in `dir` into dir/dist, with its defaults. `html`: the
 * page to write next to the app (the bundler's HTML entry) or into dist (JavaScript entries).
 */
const BUNDLERS = [
  {
    name: 'vite',
    note: 'vite build, index.html as the entry, no config file',
    setup: (dir) => writeFileSync(join(dir, 'index.html'), page('./main.js')),
    build: (dir) => run(bin('vite'), ['build', '--logLevel', 'warn'], { cwd: dir }),
  },
  {
    name: 'webpack',
    note: 'webpack --mode production, its default entry src/index.js',
    setup: (dir) => {
      mkdirSync(join(dir, 'src'));
      renameSync(join(dir, 'main.js'), join(dir, 'src/index.js'));
      writeFileSync(join(dir, 'src/index.js'), readFileSync(join(dir, 'src/index.js'), 'utf8').replace('./list.js', '../list.js'));
    },
    build: async (dir) => {
      await run(bin('webpack'), ['--mode', 'production'], { cwd: dir });
      writeFileSync(join(dir, 'dist/index.html'), page('main.js', 'classic'));
    },
  },
  {
    name: 'parcel',
    note: 'parcel build index.html (--no-cache: a test run must not reuse an earlier one)',
    setup: (dir) => writeFileSync(join(dir, 'index.html'), page('./main.js')),
    build: (dir) => run(bin('parcel'), ['build', 'index.html', '--no-cache', '--cache-dir', join(dir, '.parcel-cache'), '--no-source-maps', '--log-level', 'warn'], { cwd: dir }),
  },
  {
    name: 'rollup',
    note: 'rollup -c with @rollup/plugin-node-resolve and @web/rollup-plugin-import-meta-assets',
    build: async (dir) => {
      await run(bin('rollup'), ['-c', '--silent'], { cwd: dir });
      writeFileSync(join(dir, 'dist/index.html'), page('main.js'));
    },
  },
  {
    name: 'esbuild',
    note: 'esbuild --bundle (its default format: an IIFE); it copies no .wasm file, so the page '
      + 'copies them and calls init({ url })',
    setup: (dir) => renameSync(join(dir, 'main-init.js'), join(dir, 'main.js')),
    build: async (dir) => {
      await run(bin('esbuild'), ['main.js', '--bundle', '--outfile=dist/main.js', '--log-level=warning'], { cwd: dir });
      mkdirSync(join(dir, 'dist/wasm'));
      const pkg = join(work, 'node_modules/pop3-wasm');
      copyFileSync(join(pkg, 'wasm-tls/pop3_wasm_bg.wasm'), join(dir, 'dist/wasm/client.wasm'));
      copyFileSync(join(pkg, 'wasm-mime/pop3_wasm_bg.wasm'), join(dir, 'dist/wasm/parser.wasm'));
      writeFileSync(join(dir, 'dist/index.html'), page('main.js', 'classic'));
    },
  },
  {
    name: 'esbuild-no-init',
    note: 'esbuild --bundle with nothing else: the build works, and the page says how to give the .wasm files',
    expectFailure: /init\(\{ url \}\)/,
    build: async (dir) => {
      await run(bin('esbuild'), ['main.js', '--bundle', '--outfile=dist/main.js', '--log-level=error'], { cwd: dir });
      writeFileSync(join(dir, 'dist/index.html'), page('main.js', 'classic'));
    },
  },
];

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.map': 'application/json',
};

/** A static server for one folder, on its own port (so absolute asset paths work too). */
async function serve(root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) { res.writeHead(403); res.end(); return; }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

let sample;
let stack;
let browser;
let subjects;
const servers = [];
const results = [];

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'node_modules'), { recursive: true });
  let tarball = process.env.POP3_PKG_TARBALL;
  if (!tarball) {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: pkgDir });
    tarball = join(work, JSON.parse(stdout)[0].filename);
  }
  await run('tar', ['xzf', tarball, '-C', work]);
  renameSync(join(work, 'package'), join(work, 'node_modules/pop3-wasm'));

  sample = sampleMail(0);
  subjects = JSON.parse(readFileSync(join(sample.dir, 'manifest.json'), 'utf8')).map((m) => m.subject);
  [stack, browser] = await Promise.all([
    startStack(['--mail', sample.dir, '--websockify']),
    chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await Promise.all(servers.map((s) => s.close()));
  sample?.remove();
  console.log(results.map((r) => `${r.name}: ${r.outcome}`).join('\n'));
  if (!process.env.POP3_KEEP_WORK) rmSync(work, { recursive: true, force: true });
});

/** The sizes of what the bundler emitted: [file, bytes] of the .js and .wasm files. */
function emitted(dist) {
  const out = [];
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|wasm)$/.test(f)) out.push(`${p.slice(dist.length + 1)} ${statSync(p).size}`);
    }
  };
  walk(dist);
  return out.sort();
}

for (const bundler of BUNDLERS) {
  const what = bundler.expectFailure ? 'the page tells what to do' : 'the page lists the subjects through websockify';
  test(`${bundler.name}: builds the page with its defaults, and ${what}`, async (t) => {
    const dir = join(work, bundler.name);
    cpSync(join(here, 'app'), dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `app-${bundler.name}`, private: true, type: 'module' }));
    bundler.setup?.(dir);
    const t0 = Date.now();
    try {
      await bundler.build(dir);
    } catch (e) {
      results.push({ name: bundler.name, outcome: 'build failed' });
      throw new Error(`${bundler.name} build failed (${bundler.note}):\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`);
    }
    const buildMs = Date.now() - t0;
    const dist = join(dir, 'dist');
    const files = emitted(dist);
    t.diagnostic(`${bundler.note}; built in ${buildMs} ms: ${files.join(', ')}`);

    const server = await serve(dist);
    servers.push(server);
    const ws = `ws://127.0.0.1:${stack.websockify_port}/`;
    const tab = await browser.newPage();
    const console_ = [];
    tab.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
    try {
      await tab.goto(`${server.url}?ws=${encodeURIComponent(ws)}&password=${encodeURIComponent(stack.password())}`);
      await tab.waitForFunction(() => document.title === 'done', null, { timeout: 30_000 }).catch(() => {});
      const text = await tab.textContent('#out');
      let out;
      try { out = JSON.parse(text); } catch { out = { ok: false, error: `the page says: ${text}` }; }
      results.push({ name: bundler.name, outcome: out.ok ? `ok, ${out.subjects.length} subjects` : `page failed: ${out.error}` });
      if (bundler.expectFailure) {
        assert.equal(out.ok, false, `${bundler.name}: expected to fail`);
        assert.match(out.error, bundler.expectFailure);
        assert.equal(out.code, 'usage');
        return;
      }
      assert.ok(out.ok, `${bundler.name}: ${out.error}\n${console_.join('\n')}`);
      assert.deepEqual(out.subjects, subjects);
      assert.ok(files.filter((f) => f.includes('.wasm')).length >= 2, `${bundler.name}: the client and parser modules are served from dist`);
    } finally {
      await tab.close();
    }
  });
}
