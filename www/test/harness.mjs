// Shared by the browser tests: runs the one-command demo (scripts/demo.sh) on free ports, a
// small HTTP server that records requests (the sample mail's "remote" content points at it),
// and Debian's Chromium through playwright-core.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TITLE = 'pop3-wasm mail reader';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// 1x1 PNG, so that allowed remote images really render.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** An HTTP server that records every request path and answers with a tiny image or style sheet. */
export async function startRecorder() {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, path: req.url, at: Date.now() });
    if (/\.png(\?|$)/.test(req.url)) {
      res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-store' });
      res.end(PNG);
    } else if (/\.css(\?|$)/.test(req.url)) {
      res.writeHead(200, { 'Content-Type': 'text/css', 'Cache-Control': 'no-store' });
      res.end('h1 { letter-spacing: .02em; }');
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' });
      res.end('<!doctype html><title>another site</title><p>another site</p>');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    requests,
    paths: () => requests.map((r) => r.path),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/**
 * Starts scripts/demo.sh with `args` (plus --port, --info-file) and resolves once it is
 * serving: { info, process, stop(signal), output() }. The first run may build the wasm package.
 */
export async function startDemo(args = [], { timeoutMs = 900_000 } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pop3-demo-test-'));
  const infoFile = join(work, 'info.json');
  const port = await freePort();
  // --stop-on-eof: should this process die without cleaning up, demo.sh sees its stdin close.
  const child = spawn(join(ROOT, 'scripts/demo.sh'), ['--port', String(port), '--info-file', infoFile, '--stop-on-eof', ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let exit = null;
  exited.then((e) => { exit = e; });
  const stopOnExit = () => { try { child.kill('SIGTERM'); } catch { /* gone */ } };
  process.on('exit', stopOnExit);

  const deadline = Date.now() + timeoutMs;
  while (!existsSync(infoFile)) {
    if (exit) throw new Error(`demo.sh exited (${JSON.stringify(exit)}) before it was ready:\n${out}`);
    if (Date.now() > deadline) { child.kill('SIGTERM'); throw new Error(`demo.sh not ready in time:\n${out}`); }
    await sleep(100);
  }
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  for (const k of ['web_port', 'pop3_port', 'messages', 'websockify_pid', 'mailstack_pid', 'dovecot_pid']) info[k] = Number(info[k]);
  return {
    info,
    process: child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      process.off('exit', stopOnExit);
      if (!exit) child.kill(signal);
      const result = await Promise.race([exited, sleep(20_000).then(() => null)]);
      rmSync(work, { recursive: true, force: true });
      return result;
    },
  };
}

/** Whether a process is still alive (and not a zombie). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until none of `pids` is alive; returns the ones still alive after `ms`. */
export async function waitGone(pids, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  return pids.filter(alive);
}

/** Messages in a maildir (new/ and cur/). */
export function maildirCount(maildir) {
  return ['new', 'cur'].reduce((n, sub) => n + readdirSync(join(maildir, sub)).length, 0);
}

export function maildirHas(maildir, needle) {
  for (const sub of ['new', 'cur']) {
    for (const f of readdirSync(join(maildir, sub))) {
      if (readFileSync(join(maildir, sub, f), 'latin1').includes(needle)) return true;
    }
  }
  return false;
}

/** Debian's Chromium, headless, kept off the network. Playwright gives it a fresh --user-data-dir. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function screenshotPath(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

/** Logs in with the pre-filled demo form; resolves when the list is complete. */
export async function login(page, url, { timeout = 30_000 } = {}) {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('password').value !== '');
  await page.click('#connect');
  await page.waitForSelector('#list[data-state=ready]', { timeout });
}

/** Starts a websockify that relays to a port where nothing listens (the 1011 case). */
export async function startDeadEndProxy() {
  const port = await freePort();
  const target = await freePort();
  const child = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${target}`], {
    stdio: 'ignore',
    detached: true, // its own process group: its per-connection children go with it
  });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) break;
    await sleep(100);
  }
  return {
    url: `ws://127.0.0.1:${port}/`,
    stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    },
  };
}

/** Runs scripts/demo.sh to completion (for --smoke and error cases). */
export function runDemoSync(args, timeoutMs = 900_000) {
  const r = spawnSync(join(ROOT, 'scripts/demo.sh'), args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const AXE = readFileSync(join(ROOT, 'www/test/node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the page's own CSP
 * stays on) and returns the serious and critical violations as readable lines. The mail's
 * own HTML (the sandboxed iframe) is the sender's, not the page's, and is not checked.
 */
export async function axeCheck(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      iframes: false,
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.filter((n) => ['serious', 'critical'].includes(n.impact)).map((n) => n.target.join(' ')),
    }));
  });
  return violations.filter((v) => v.nodes.length).map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).join(', ')}`);
}
