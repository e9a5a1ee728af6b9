// Shared pieces of the edge tests: real Dovecot stacks (tests/support/mailstack.py, through
// the package's test helpers), a local webhook receiver, wrangler's bundler, and workerd.

import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export { startStack, deliver, repo, cuttingProxy } from '../../pkg/test/helpers.js';

export const edgeDir = fileURLToPath(new URL('../', import.meta.url));
export const bin = (name) => join(edgeDir, 'node_modules', '.bin', name);

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a command; resolves to { code, stdout, stderr, ms }. */
export function run(cmd, args, options = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Files in a maildir (new/ and cur/): how many messages it holds. */
export function maildirCount(maildir) {
  return ['new', 'cur'].reduce((n, d) => n + readdirSync(join(maildir, d)).filter((f) => !f.startsWith('.')).length, 0);
}

/** A small RFC 5322 message with a unique Message-ID. */
export function makeMessage(dir, name, { subject, body, from = 'Newcomer <new@example.org>' }) {
  const id = `${name}.${Date.now()}.${Math.random().toString(36).slice(2)}@edge.test`;
  const text = [
    `From: ${from}`,
    'To: Alex Morgan <alex.morgan@bramblewood.example>',
    `Subject: ${subject}`,
    'Date: Thu, 02 Apr 2026 10:00:00 +0000',
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\n');
  const file = join(dir, `${name}.eml`);
  writeFileSync(file, text);
  return { file, messageId: id };
}

/**
 * A webhook receiver on a free loopback port. POST /hook/<scenario>: records the JSON body
 * and headers; answers with `statusFor(scenario, n)` (n: the scenario's 0-based post count),
 * 200 by default.
 */
export async function startWebhook() {
  const posts = [];
  const behaviour = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/hook\/([\w-]+)$/.exec(req.url);
      if (!m || req.method !== 'POST') { res.writeHead(404).end(); return; }
      const scenario = m[1];
      const n = posts.filter((p) => p.scenario === scenario).length;
      const status = behaviour.get(scenario)?.(n) ?? 200;
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = null; }
      posts.push({ scenario, status, headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ received: status < 300 }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: (scenario) => `http://127.0.0.1:${port}/hook/${scenario}`,
    posts,
    /** Posts the receiver accepted (2xx) for a scenario. */
    accepted: (scenario) => posts.filter((p) => p.scenario === scenario && p.status < 300).map((p) => p.body),
    attempts: (scenario) => posts.filter((p) => p.scenario === scenario),
    setStatus: (scenario, fn) => (fn ? behaviour.set(scenario, fn) : behaviour.delete(scenario)),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/**
 * Bundles an entry the way `wrangler deploy` does (wrangler's own esbuild setup, export
 * conditions workerd/worker/browser, .wasm imports as CompiledWasm modules) without
 * uploading: `wrangler deploy --dry-run --outdir`. Resolves to the output's modules and sizes.
 */
export async function wranglerBundle(env, outdir, { config } = {}) {
  const result = await run(process.execPath, [join(edgeDir, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run',
    '--outdir', outdir, `--env=${env}`, ...(config ? ['-c', config] : [])], {
    cwd: edgeDir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', WRANGLER_LOG_PATH: join(outdir, '..', `wrangler-${env || 'default'}.log`) },
  });
  if (result.code !== 0) throw new Error(`wrangler failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  const files = readdirSync(outdir).filter((f) => f.endsWith('.js') || f.endsWith('.wasm'));
  const main = files.find((f) => f.endsWith('.js'));
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  const bytes = (f) => readFileSync(join(outdir, f));
  const all = Buffer.concat(files.map(bytes));
  const wasmAll = Buffer.concat(wasm.map(bytes));
  const reported = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(result.stdout);
  return {
    outdir,
    main,
    wasm,
    ms: result.ms,
    // As wrangler measures it: all modules together, gzip with zlib's default level.
    size: all.length,
    gzip: gzipSync(all).length,
    wasmSize: wasmAll.length,
    wasmGzip: gzipSync(wasmAll).length,
    jsSize: bytes(main).length,
    jsGzip: gzipSync(bytes(main)).length,
    wranglerReport: reported ? `${reported[1]} / gzip ${reported[2]}` : null,
  };
}

/** A capnp string literal. */
const str = (s) => JSON.stringify(String(s));

/**
 * Writes a workerd config and starts workerd. `workers`: { name: { bundle, vars, secrets,
 * files: { BINDING: path } (text bindings from files), kv: bool } }. Every worker gets the
 * network service (loopback allowed, `cas` trusted) as globalOutbound. A router on one port
 * forwards /w/<name>/... to the worker (/w/<name>/scheduled runs its scheduled handler), and
 * /kv/... to the KV emulation.
 */
export async function startWorkerd({ dir, workers, cas, compatibilityDate = '2025-09-01' }) {
  const embed = (src, name) => {
    const dest = join(dir, name);
    mkdirSync(join(dest, '..'), { recursive: true });
    copyFileSync(src, dest);
    return `embed ${str(name)}`;
  };
  const caRefs = cas.map((ca, i) => embed(ca, `ca/${i}.pem`));
  writeFileSync(join(dir, 'kv.js'), KV_WORKER);
  writeFileSync(join(dir, 'router.js'), ROUTER_WORKER);
  const bundles = new Map();
  const services = [];
  const routerBindings = ['(name = "KV", service = "kv")'];
  for (const [name, w] of Object.entries(workers)) {
    if (!bundles.has(w.bundle.outdir)) {
      const tag = `b${bundles.size}`;
      const modules = [`(name = ${str(w.bundle.main)}, esModule = ${embed(join(w.bundle.outdir, w.bundle.main), `${tag}/${w.bundle.main}`)})`];
      for (const f of w.bundle.wasm) modules.push(`(name = ${str(f)}, wasm = ${embed(join(w.bundle.outdir, f), `${tag}/${f}`)})`);
      bundles.set(w.bundle.outdir, modules.join(', '));
    }
    const bindings = [];
    for (const [k, v] of Object.entries({ ...w.vars, ...w.secrets })) {
      if (v !== undefined && v !== null) bindings.push(`(name = ${str(k)}, text = ${str(v)})`);
    }
    for (const [k, path] of Object.entries(w.files ?? {})) bindings.push(`(name = ${str(k)}, text = ${embed(path, `files/${name}-${k}`)})`);
    if (w.kv) bindings.push('(name = "STATE", kvNamespace = "kv")');
    services.push(`(name = ${str(`w-${name}`)}, worker = (modules = [${bundles.get(w.bundle.outdir)}], `
      + `compatibilityDate = ${str(compatibilityDate)}, bindings = [${bindings.join(', ')}], globalOutbound = "net"))`);
    routerBindings.push(`(name = ${str(`w_${name}`)}, service = ${str(`w-${name}`)})`);
  }
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "router", worker = (modules = [(name = "router.js", esModule = embed "router.js")], compatibilityDate = ${str(compatibilityDate)},
      compatibilityFlags = ["service_binding_extra_handlers"], bindings = [${routerBindings.join(', ')}])),
    (name = "kv", worker = (modules = [(name = "kv.js", esModule = embed "kv.js")], compatibilityDate = ${str(compatibilityDate)})),
    (name = "net", network = (allow = ["public", "local"], tlsOptions = (trustedCertificates = [${caRefs.join(', ')}]))),
    ${services.join(',\n    ')}
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "router") ],
);
`;
  writeFileSync(join(dir, 'config.capnp'), config);
  const started = Date.now();
  // --experimental: for service_binding_extra_handlers (calling scheduled() from the router).
  const child = spawn(bin('workerd'), ['serve', join(dir, 'config.capnp'), '--experimental', '--control-fd=3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const port = await new Promise((resolve, reject) => {
    let control = '';
    child.stdio[3].on('data', (d) => {
      control += d;
      for (const line of control.split('\n')) {
        try {
          const msg = JSON.parse(line);
          if (msg.event === 'listen' && msg.socket === 'http') resolve(msg.port);
        } catch { /* partial line */ }
      }
    });
    child.once('exit', (code) => reject(new Error(`workerd exited with ${code}:\n${output}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    startMs: Date.now() - started,
    get output() { return output; },
    /** POST /run on a worker, with the trigger token (or `token`). */
    async run(name, { token, method = 'POST', path = '/run' } = {}) {
      const headers = token === null ? {} : { authorization: `Bearer ${token ?? workers[name].secrets?.TRIGGER_TOKEN}` };
      const res = await fetch(`${base}/w/${name}${path}`, { method, headers });
      const text = await res.text();
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: res.status, body };
    },
    /** Runs the worker's scheduled handler; resolves to { outcome, noRetry }. */
    async scheduled(name) {
      const res = await fetch(`${base}/w/${name}/scheduled`, { method: 'POST' });
      return res.json();
    },
    async kvGet(key) {
      const res = await fetch(`${base}/kv/${encodeURIComponent(key)}?urlencoded=true`);
      return res.status === 404 ? null : res.text();
    },
    async kvPut(key, value) {
      const res = await fetch(`${base}/kv/${encodeURIComponent(key)}?urlencoded=true`, { method: 'PUT', body: value });
      if (!res.ok) throw new Error(`KV put: ${res.status}`);
    },
    async kvLog() {
      return (await fetch(`${base}/kv-log`)).json();
    },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}

// Workers KV for workerd: a `kvNamespace` binding talks HTTP to a service (GET/PUT/DELETE
// /<key>?urlencoded=true, GET /?prefix= lists), the protocol miniflare implements. This one
// keeps the values in memory and logs each write with its time.
const KV_WORKER = `
const store = new Map();
const writes = [];
export default {
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === '/__log') return Response.json(writes);
    const raw = url.pathname.slice(1);
    const key = url.searchParams.get('urlencoded') === 'true' ? decodeURIComponent(raw) : raw;
    if (req.method === 'GET' && key === '') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = [...store.keys()].filter((k) => k.startsWith(prefix)).sort().map((name) => ({ name }));
      return Response.json({ keys, list_complete: true, cacheStatus: null });
    }
    if (req.method === 'GET') {
      return store.has(key) ? new Response(store.get(key)) : new Response('Not Found', { status: 404 });
    }
    if (req.method === 'PUT') {
      const value = await req.text();
      store.set(key, value);
      writes.push({ key, at: Date.now(), bytes: value.length });
      return new Response('');
    }
    if (req.method === 'DELETE') { store.delete(key); return new Response(''); }
    return new Response('method not allowed', { status: 405 });
  },
};
`;

const ROUTER_WORKER = `
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === '/kv-log') return env.KV.fetch('http://kv/__log');
    if (url.pathname.startsWith('/kv/')) return env.KV.fetch(new Request('http://kv/' + url.pathname.slice(4) + url.search, req));
    const m = /^\\/w\\/([\\w-]+)(\\/.*)$/.exec(url.pathname);
    const worker = m && env['w_' + m[1]];
    if (!worker) return new Response('no such worker', { status: 404 });
    if (m[2] === '/scheduled') {
      const result = await worker.scheduled({ cron: '*/10 * * * *', scheduledTime: new Date() });
      return Response.json(result);
    }
    return worker.fetch(new Request('https://edge-worker.test' + m[2] + url.search, req));
  },
};
`;
