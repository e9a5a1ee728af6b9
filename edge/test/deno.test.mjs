// Runs the Deno transport tests (deno/transport.deno.js) with Deno's own test runner (the npm
// `deno` binary), against real Dovecot servers this wrapper starts.
//
// Run: cd edge && node --test test/deno.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { bin, cuttingProxy, edgeDir, makeMessage, repo, run, startStack, tempDir } from './support.mjs';

const BASE = ['001-welcome.eml', '003-all-hands-agenda.eml', '004-invoice-copperleaf.eml', '012-gruesse-muenchen.eml'];
let tmp;
let stacks = [];
let infoFile;
let resetServer;
let cutProxies = [];

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  tmp = tempDir('pop3-edge-deno-');
  const sample = join(tmp.dir, 'sample');
  mkdirSync(sample);
  await run('python3', [join(repo, 'tests/fixtures/make_sample_mail.py'), sample, '--large-mb', '1']);
  const manifest = JSON.parse(readFileSync(join(sample, 'manifest.json'), 'utf8'));
  const base = join(tmp.dir, 'base');
  mkdirSync(base);
  for (const f of BASE) copyFileSync(join(sample, f), join(base, f));
  const syncerPw = `pw-${Math.random().toString(36).slice(2)}`;
  const [main, wronghost, expired] = stacks = await Promise.all([
    startStack(['--tls', '--user', 'alice:wonderland', '--user', `syncer:${syncerPw}`, '--mail-for', `alice=${base}`, '--mail-for', `syncer=${base}`]),
    startStack(['--tls', '--cert-variant', 'wronghost']),
    startStack(['--tls', '--cert-variant', 'expired']),
  ]);
  // Greets, then resets the connection at the first command.
  resetServer = createServer((sock) => {
    sock.on('error', () => {});
    sock.write('+OK reset test\r\n');
    sock.once('data', () => setTimeout(() => sock.resetAndDestroy(), 20));
  });
  await new Promise((resolve) => resetServer.listen(0, '127.0.0.1', resolve));
  // Proxies to the main stack that cut every connection during the TLS handshake, with a FIN
  // and with an RST, in front of POP3S and of the STLS port: when the ClientHello arrives, or
  // after 300 octets of the server's answer (in its encrypted flight).
  const cuts = [];
  for (const how of ['fin', 'rst']) {
    for (const serverBytes of [0, 300]) {
      for (const [tls, port] of [['implicit', main.pop3s_port], ['starttls', main.pop3_port]]) {
        const proxy = await cuttingProxy(port, () => ({ serverBytes, how }));
        cutProxies.push(proxy);
        cuts.push({ how, serverBytes, tls, port: proxy.port });
      }
    }
  }
  const fresh = makeMessage(tmp.dir, 'deno-new', { subject: 'New in Deno', body: 'delivered between two syncs' });
  infoFile = join(tmp.dir, 'stacks.json');
  writeFileSync(infoFile, JSON.stringify({
    main, wronghost, expired, repo, freshMail: fresh.file, closedPort: await closedPort(), resetPort: resetServer.address().port, cuts,
    baseSubjects: manifest.filter((e) => BASE.includes(e.file)).map((e) => e.subject).sort(),
  }));
});

after(async () => {
  await Promise.all([...stacks.map((s) => s.stop()), ...cutProxies.map((p) => p.close()),
    resetServer && new Promise((resolve) => resetServer.close(resolve))]);
  tmp?.remove();
});

test('Deno: plain, POP3S, STLS with caCerts, wasm TLS, wrong certificates, sync (deno test)', async (t) => {
  // -A: net for the servers, read for the stack info and the package's .wasm, run for
  // mailstack's deliver, env for POP3_EDGE_STACKS.
  const r = await run(bin('deno'), ['test', '-A', '--no-check', 'deno/transport.deno.js'], {
    cwd: edgeDir,
    env: { ...process.env, POP3_EDGE_STACKS: infoFile, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  for (const line of r.stdout.split('\n').filter((l) => / \.\.\. (ok|FAILED)|^(ok|FAILED) \|/.test(l))) t.diagnostic(line.trim());
  t.diagnostic(`deno test took ${r.ms} ms`);
  assert.equal(r.code, 0, `deno test failed:\n${r.stdout}\n${r.stderr}`);
  const summary = /ok \| (\d+) passed \| (\d+) failed/.exec(r.stdout);
  assert.ok(summary, r.stdout);
  assert.equal(Number(summary[2]), 0);
  assert.ok(Number(summary[1]) >= 10, `ran ${summary[1]} Deno tests`);
});
