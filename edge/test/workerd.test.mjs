// The edge worker in REAL workerd (the npm `workerd` binary), bundled the way `wrangler
// deploy` bundles it (wrangler's --dry-run --outdir), against real Dovecot servers from
// tests/support/mailstack.py, posting to a local webhook receiver.
//
// One workerd process serves a worker per scenario (each its own bindings, as a deployment
// would have them). The STATE binding is a real `kvNamespace` binding backed by a small
// in-memory service speaking the KV protocol (workerd has no KV storage of its own); one
// scenario runs without the binding (the in-memory state path). A router worker forwards
// HTTP requests and runs `scheduled()` through a service binding (workerd --experimental).
//
// Run: cd edge && node --test test/workerd.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import {
  cuttingProxy, deliver, maildirCount, makeMessage, repo, run, startStack, startWebhook, startWorkerd, tempDir, wranglerBundle,
} from './support.mjs';

const MiB = 1024 * 1024;
/** wrangler 4.86 src/deployment-bundle/bundle-reporter.ts: MAX_GZIP_SIZE_BYTES = 3 MiB (Workers Free). */
const FREE_PLAN_GZIP_LIMIT = 3 * MiB;

const BASE = ['001-welcome.eml', '003-all-hands-agenda.eml', '004-invoice-copperleaf.eml', '012-gruesse-muenchen.eml'];
const SCENARIO_USERS = ['plain', 'implicit', 'stls', 'wasm', 'wasmstls', 'del', 'fail', 'mem', 'cron', 'nohook', 'oauth', 'spacing'];

let tmp;
let sample;
let manifest;
let main;
let wronghost;
let expired;
let hook;
let bundles;
let wd;
let resetServer;
let closedPort;
const cutProxies = {};
const passwords = {};
const timings = {};

const account = (user) => `${user}@127.0.0.1`;
const stateKey = (user, port) => `pop3-sync/${user}@127.0.0.1:${port}`;
const summaryBySubject = (list, subject) => list.find((s) => s.subject === subject);

before(async () => {
  const t0 = Date.now();
  tmp = tempDir('pop3-edge-workerd-');
  // The sample mailbox (30 messages, one of about 1.4 MB), and a 4-message subset.
  sample = join(tmp.dir, 'sample');
  mkdirSync(sample);
  await run('python3', [join(repo, 'tests/fixtures/make_sample_mail.py'), sample, '--large-mb', '1']);
  manifest = JSON.parse(readFileSync(join(sample, 'manifest.json'), 'utf8'));
  const base = join(tmp.dir, 'base');
  mkdirSync(base);
  for (const f of BASE) copyFileSync(join(sample, f), join(base, f));
  const three = join(tmp.dir, 'three');
  mkdirSync(three);
  for (const f of BASE.slice(0, 3)) copyFileSync(join(sample, f), join(three, f));

  const userArgs = [];
  for (const u of SCENARIO_USERS) {
    passwords[u] = `pw-${u}-${Math.random().toString(36).slice(2, 12)}`;
    userArgs.push('--user', `${u}:${passwords[u]}`);
    userArgs.push('--mail-for', `${u}=${u === 'plain' ? sample : u === 'spacing' ? three : base}`);
  }
  // A server that greets, then resets the connection at the first command; and a port
  // nothing listens on.
  resetServer = createServer((s) => {
    s.on('error', () => {});
    s.write('+OK reset test\r\n');
    s.once('data', () => setTimeout(() => s.resetAndDestroy(), 20));
  });
  await new Promise((resolve) => resetServer.listen(0, '127.0.0.1', resolve));
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));

  const outHost = join(tmp.dir, 'dist-host');
  const outTls = join(tmp.dir, 'dist-tls');
  // Stacks and bundles in parallel.
  [main, wronghost, expired, hook, bundles] = await Promise.all([
    startStack(['--tls', '--oauth2', ...userArgs]),
    startStack(['--tls', '--cert-variant', 'wronghost']),
    startStack(['--tls', '--cert-variant', 'expired']),
    startWebhook(),
    (async () => {
      const t = Date.now();
      const host = await wranglerBundle('', outHost);
      const tls = await wranglerBundle('wasm-tls', outTls);
      timings.bundleMs = Date.now() - t;
      return { host, tls };
    })(),
  ]);
  timings.setupMs = Date.now() - t0;

  const P = main.pop3_port;
  const S = main.pop3s_port;
  const token = `trigger-${Math.random().toString(36).slice(2)}`;
  const common = (user, extra = {}) => ({
    bundle: bundles.host,
    kv: true,
    vars: {
      POP3_HOST: '127.0.0.1',
      POP3_USER: user,
      WEBHOOK_URL: hook.url(user),
      STATE_WRITE_INTERVAL_MS: '0',
      ...extra.vars,
    },
    secrets: { POP3_PASSWORD: passwords[user], TRIGGER_TOKEN: token, ...extra.secrets },
    ...extra.rest,
  });
  // A proxy per scenario that cuts its first connection during the TLS handshake, when the
  // ClientHello arrives, with a FIN or an RST; the connections after it pass.
  const cut = async (name, how, port) => {
    cutProxies[name] = await cuttingProxy(port, (n) => (n === 0 ? { serverBytes: 0, how } : null));
    return String(cutProxies[name].port);
  };
  const cutWorkers = {};
  for (const how of ['fin', 'rst']) {
    const vars = { POP3_TLS: 'implicit', POP3_PORT: await cut(`cut${how}`, how, S), WEBHOOK_URL: hook.url('cut') };
    const stlsVars = { POP3_TLS: 'starttls', POP3_PORT: await cut(`cut${how}stls`, how, P), WEBHOOK_URL: hook.url('cut') };
    const wasmVars = { ...vars, POP3_PORT: await cut(`cut${how}wasm`, how, S), TLS_PROVIDER: 'wasm' };
    const wasmStlsVars = { ...stlsVars, POP3_PORT: await cut(`cut${how}wasmstls`, how, P), TLS_PROVIDER: 'wasm' };
    // The user's mail is left on the server; the worker fails before it gets to it.
    cutWorkers[`cut${how}`] = common('implicit', { vars });
    cutWorkers[`cut${how}stls`] = common('implicit', { vars: stlsVars });
    cutWorkers[`cut${how}wasm`] = { ...common('implicit', { vars: wasmVars }), bundle: bundles.tls, files: { POP3_CA: main.ca_cert } };
    cutWorkers[`cut${how}wasmstls`] = { ...common('implicit', { vars: wasmStlsVars }), bundle: bundles.tls, files: { POP3_CA: main.ca_cert } };
  }
  const workers = {
    plain: common('plain', { vars: { POP3_TLS: 'none', POP3_PORT: String(P) } }),
    implicit: common('implicit', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S) } }),
    stls: common('stls', { vars: { POP3_TLS: 'starttls', POP3_PORT: String(P) } }),
    wasm: { ...common('wasm', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), TLS_PROVIDER: 'wasm' } }), bundle: bundles.tls, files: { POP3_CA: main.ca_cert } },
    wasmstls: { ...common('wasmstls', { vars: { POP3_TLS: 'starttls', POP3_PORT: String(P), TLS_PROVIDER: 'wasm' } }), bundle: bundles.tls, files: { POP3_CA: main.ca_cert } },
    misconf: common('implicit', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), TLS_PROVIDER: 'wasm' } }),
    del: common('del', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), DELETE_AFTER_DELIVERY: 'true' } }),
    fail: common('fail', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S) } }),
    mem: { ...common('mem', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S) } }), kv: false },
    cron: common('cron', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S) } }),
    nohook: common('nohook', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), WEBHOOK_URL: '' } }),
    oauth: common('oauth', {
      vars: { POP3_TLS: 'starttls', POP3_PORT: String(P), POP3_AUTH_MECHANISM: 'xoauth2' },
      secrets: { POP3_PASSWORD: '', POP3_ACCESS_TOKEN: main.oauth2.tokens.oauth },
    }),
    oauthkv: common('oauth', {
      vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), POP3_ACCESS_TOKEN_KV_KEY: 'oauth-token/oauth' },
      secrets: { POP3_PASSWORD: '' },
    }),
    spacing: common('spacing', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S), STATE_WRITE_INTERVAL_MS: '' } }),
    notoken: common('implicit', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(S) }, secrets: { TRIGGER_TOKEN: '' } }),
    wronghost: { ...common('alice', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(wronghost.pop3s_port), WEBHOOK_URL: hook.url('wronghost') } }), secrets: { POP3_PASSWORD: wronghost.password(), TRIGGER_TOKEN: token } },
    wronghoststls: { ...common('alice', { vars: { POP3_TLS: 'starttls', POP3_PORT: String(wronghost.pop3_port), WEBHOOK_URL: hook.url('wronghost') } }), secrets: { POP3_PASSWORD: wronghost.password(), TRIGGER_TOKEN: token } },
    wronghostwasm: {
      ...common('alice', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(wronghost.pop3s_port), TLS_PROVIDER: 'wasm', WEBHOOK_URL: hook.url('wronghost') } }),
      bundle: bundles.tls, files: { POP3_CA: wronghost.ca_cert }, secrets: { POP3_PASSWORD: wronghost.password(), TRIGGER_TOKEN: token },
    },
    reset: common('alice', { vars: { POP3_TLS: 'none', POP3_PORT: String(resetServer.address().port), WEBHOOK_URL: hook.url('reset') }, secrets: { POP3_PASSWORD: 'not-used' } }),
    refused: common('alice', { vars: { POP3_TLS: 'none', POP3_PORT: String(closedPort), WEBHOOK_URL: hook.url('refused') }, secrets: { POP3_PASSWORD: 'not-used' } }),
    refusedtls: common('alice', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(closedPort), WEBHOOK_URL: hook.url('refused') }, secrets: { POP3_PASSWORD: 'not-used' } }),
    ...cutWorkers,
    expiredstls: { ...common('alice', { vars: { POP3_TLS: 'starttls', POP3_PORT: String(expired.pop3_port), WEBHOOK_URL: hook.url('expired') } }), secrets: { POP3_PASSWORD: expired.password(), TRIGGER_TOKEN: token } },
    expiredwasm: {
      ...common('alice', { vars: { POP3_TLS: 'implicit', POP3_PORT: String(expired.pop3s_port), TLS_PROVIDER: 'wasm', WEBHOOK_URL: hook.url('expired') } }),
      bundle: bundles.tls, files: { POP3_CA: expired.ca_cert }, secrets: { POP3_PASSWORD: expired.password(), TRIGGER_TOKEN: token },
    },
  };
  const wdDir = join(tmp.dir, 'workerd');
  mkdirSync(wdDir);
  // Each stack has its own test CA; the network service trusts all three (the wrong-name
  // and expired leaves are signed by a trusted CA, so only the name or the date is wrong).
  wd = await startWorkerd({ dir: wdDir, workers, cas: [main.ca_cert, wronghost.ca_cert, expired.ca_cert] });
  wd.workers = workers;
  timings.workerdStartMs = wd.startMs;
});

after(async () => {
  await wd?.stop();
  await Promise.all([main?.stop(), wronghost?.stop(), expired?.stop(), hook?.close(), ...Object.values(cutProxies).map((p) => p.close()),
    resetServer && new Promise((resolve) => resetServer.close(resolve))]);
  // Credentials never show up in workerd's output (the workers' logs).
  if (wd) {
    for (const [u, pw] of Object.entries(passwords)) assert.ok(!wd.output.includes(pw), `the password of ${u} is not logged`);
    for (const tok of [main.oauth2.tokens.oauth, main.oauth2.long_tokens.oauth]) assert.ok(!wd.output.includes(tok), 'the access token is not logged');
  }
  tmp?.remove();
  console.log(`timings: ${JSON.stringify(timings)}`);
});

describe('bundles (wrangler deploy --dry-run)', () => {
  test('both TLS choices bundle their client module and the parser module, under the Workers free-plan size limit', (t) => {
    const size = (dir) => readFileSync(join(repo, `pkg/${dir}/pop3_wasm_bg.wasm`)).length;
    const parser = size('wasm-mime');
    for (const [name, b, client] of [['host TLS (worker.js)', bundles.host, size('wasm')], ['wasm TLS (worker-wasm-tls.js)', bundles.tls, size('wasm-tls')]]) {
      const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
      const line = `${name}: total ${kib(b.size)} raw / ${kib(b.gzip)} gzip (wrangler: ${b.wranglerReport}); `
        + `wasm ${kib(b.wasmSize)} raw / ${kib(b.wasmGzip)} gzip; js ${kib(b.jsSize)} raw / ${kib(b.jsGzip)} gzip; `
        + `${(100 * b.gzip / FREE_PLAN_GZIP_LIMIT).toFixed(1)}% of the 3 MiB free-plan limit; bundled in ${b.ms} ms`;
      t.diagnostic(line);
      console.log(line);
      // The worker parses messages (the delivery summary), so the parser module is in too.
      assert.equal(b.wasm.length, 2, `${name}: two wasm modules, the client and the parser`);
      const sizes = b.wasm.map((f) => readFileSync(join(b.outdir, f)).length).sort((x, y) => x - y);
      assert.deepEqual(sizes, [client, parser].sort((x, y) => x - y), `${name}: the expected wasm modules`);
      assert.ok(b.gzip < FREE_PLAN_GZIP_LIMIT, `${name}: under 3 MiB gzip`);
    }
    assert.ok(bundles.host.gzip < bundles.tls.gzip * 0.6, 'the host-TLS bundle is much smaller');
    const hostJs = readFileSync(join(bundles.host.outdir, bundles.host.main), 'utf8');
    assert.match(hostJs, /from "cloudflare:sockets"/, 'the Cloudflare transport is in');
    // The .wasm files are module imports (CompiledWasm modules), instantiated synchronously on
    // first use.
    assert.equal([...hostJs.matchAll(/import \w+ from "\.\/[0-9a-f]+-pop3_wasm_bg\.wasm"/g)].length, 2);
    assert.match(hostJs, /initSync\(\{ module: \w+\(\) \}\)/);
  });
});

describe('the fetch trigger', () => {
  test('needs the bearer token; without TRIGGER_TOKEN it does not exist', async () => {
    assert.equal((await wd.run('implicit', { token: null })).status, 401);
    assert.equal((await wd.run('implicit', { token: 'wrong' })).status, 401);
    assert.equal((await wd.run('implicit', { method: 'GET' })).status, 405);
    assert.equal((await wd.run('implicit', { path: '/other' })).status, 404);
    assert.equal((await wd.run('notoken', { token: '' })).status, 404);
    assert.equal((await wd.run('notoken', { token: null })).status, 404);
    assert.equal(hook.attempts('implicit').length, 0, 'nothing ran');
    assert.equal(await wd.kvGet(stateKey('implicit', main.pop3s_port)), null);
  });
});

describe('sync through the runtime TLS and the wasm TLS', () => {
  test('plain: the whole sample mailbox, summaries as expected; a second run fetches nothing; new mail only', async (t) => {
    const t0 = Date.now();
    const first = await wd.run('plain');
    timings.plainFirstRunMs = Date.now() - t0;
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.delivered, 30);
    assert.equal(first.body.tls, null);
    assert.equal(first.body.state, 'kv');
    const posts = hook.accepted('plain');
    assert.equal(posts.length, 30);
    // The idempotency key and the JSON of every message, checked against the generator's manifest.
    const attempts = hook.attempts('plain');
    for (const a of attempts) {
      assert.equal(a.headers['content-type'], 'application/json');
      assert.equal(a.headers['idempotency-key'], `${account('plain')}/${a.body.uid}`);
    }
    for (const entry of manifest) {
      const s = posts.find((p) => p.messageId === entry.message_id.replace(/^<|>$/g, ''));
      assert.ok(s, `${entry.file}: posted`);
      assert.equal(s.account, account('plain'));
      assert.equal(typeof s.uid, 'string');
      assert.equal(s.from[0].address, entry.from_address, `${entry.file}: from`);
      assert.deepEqual(s.to.map((a) => a.address), entry.to.map(([, a]) => a), `${entry.file}: to`);
      // ISO-2022-JP included: workerd's TextDecoder decodes it (the module has no tables for it).
      assert.equal(s.subject, entry.subject, `${entry.file}: subject`);
      if (entry.date_iso) assert.equal(new Date(s.date).getTime(), new Date(entry.date_iso).getTime(), `${entry.file}: date`);
      assert.deepEqual(s.attachments.map((a) => [a.filename, a.contentType]), entry.attachments.map((a) => [a.filename, a.content_type]), `${entry.file}: attachments`);
      for (const a of s.attachments) assert.ok(Number.isInteger(a.size) && a.size > 0, `${entry.file}: attachment size`);
      assert.ok(Array.from(s.text).length <= 500, `${entry.file}: snippet at most 500 characters`);
      // Dovecot serves LF files with CRLF line ends.
      const lines = readFileSync(join(sample, entry.file), 'latin1').replace(/\r\n/g, '\n').split('\n');
      assert.ok(Math.abs(s.size - entry.file_size) <= lines.length + 2, `${entry.file}: size ${s.size} ~ ${entry.file_size}`);
    }
    const html = summaryBySubject(posts, 'Quarterly all-hands: agenda & RSVP');
    assert.equal(html.textFromHtml, true);
    assert.ok(html.text.includes('RSVP by Thursday, 12 March'), html.text);
    assert.doesNotMatch(html.text, /</);
    const invoice = summaryBySubject(posts, 'Invoice INV-2026-0142 from Copperleaf Components');
    assert.ok(invoice.text.includes('Amount due: EUR 1,284.00'));
    const large = posts.find((p) => p.subject.startsWith('Raw logger dump'));
    assert.ok(large.size > 1_000_000);
    assert.equal(large.attachments[0].filename, 'site7-logger-dump.bin');

    const state = JSON.parse(await wd.kvGet(stateKey('plain', main.pop3_port)));
    assert.equal(state.format, 'pop3-wasm-sync');
    assert.equal(state.account, account('plain'));
    assert.deepEqual(Object.keys(state.messages).sort(), posts.map((p) => p.uid).sort());

    const second = await wd.run('plain');
    assert.equal(second.status, 200);
    assert.equal(second.body.delivered, 0);
    assert.equal(second.body.alreadyDelivered, 30);
    assert.equal(second.body.stateWrites, 0, 'an unchanged state is not written again');
    assert.equal(hook.attempts('plain').length, 30, 'nothing posted');

    const fresh = makeMessage(tmp.dir, 'between-runs', { subject: 'Delivered between runs', body: 'Only this one is new.' });
    deliver(main.maildir('plain'), [fresh.file]);
    const third = await wd.run('plain');
    assert.equal(third.body.delivered, 1);
    assert.equal(third.body.alreadyDelivered, 30);
    const newPosts = hook.accepted('plain').slice(30);
    assert.equal(newPosts.length, 1);
    assert.equal(newPosts[0].subject, 'Delivered between runs');
    assert.equal(newPosts[0].messageId, fresh.messageId);
    assert.equal(newPosts[0].text, 'Only this one is new.');
    t.diagnostic(`first run (30 messages, 1.5 MB): ${timings.plainFirstRunMs} ms`);
  });

  for (const [name, terminatedBy] of [['implicit', 'host'], ['stls', 'host'], ['wasm', 'wasm'], ['wasmstls', 'wasm']]) {
    test(`${name}: TLS by ${terminatedBy}, four messages, then nothing new`, async () => {
      const t0 = Date.now();
      const first = await wd.run(name);
      timings[`${name}FirstRunMs`] = Date.now() - t0;
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.delivered, 4);
      assert.equal(first.body.tls.terminatedBy, terminatedBy);
      if (terminatedBy === 'wasm') assert.match(first.body.tls.version, /^TLSv1\.[23]$/);
      else assert.deepEqual(first.body.tls, { version: '', cipher: '', terminatedBy: 'host' });
      assert.deepEqual(hook.accepted(name).map((s) => s.subject).sort(), manifest.filter((e) => BASE.includes(e.file)).map((e) => e.subject).sort());
      const second = await wd.run(name);
      assert.equal(second.body.delivered, 0);
      assert.equal(second.body.alreadyDelivered, 4);
      assert.equal(hook.attempts(name).length, 4);
    });
  }

  test('an access token (XOAUTH2) instead of a password', async () => {
    const r = await wd.run('oauth');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.delivered, 4);
    assert.ok(!JSON.stringify(r.body).includes(main.oauth2.tokens.oauth));
  });

  test('an access token kept fresh in KV (POP3_ACCESS_TOKEN_KV_KEY): missing, valid, rotated, revoked', async () => {
    const missing = await wd.run('oauthkv');
    assert.equal(missing.status, 500);
    assert.equal(missing.body.error.code, 'config');
    await wd.kvPut('oauth-token/oauth', `${main.oauth2.tokens.oauth}\n`);
    const r1 = await wd.run('oauthkv');
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.equal(r1.body.delivered, 4);
    // A new token (1200 characters, JWT-shaped like Google's and Microsoft's) is picked up.
    await wd.kvPut('oauth-token/oauth', main.oauth2.long_tokens.oauth);
    const r2 = await wd.run('oauthkv');
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.delivered, 0);
    await wd.kvPut('oauth-token/oauth', main.oauth2.revoked_token);
    const r3 = await wd.run('oauthkv');
    assert.equal(r3.status, 502);
    assert.equal(r3.body.error.code, 'auth', r3.body.error.message);
  });

  test('the worker without TLS inside refuses TLS_PROVIDER=wasm with a configuration error', async () => {
    const r = await wd.run('misconf');
    assert.equal(r.status, 500);
    assert.equal(r.body.error.code, 'config');
    assert.match(r.body.error.message, /worker-wasm-tls/);
  });
});

describe('wrong certificates are refused', () => {
  for (const [name, what] of [
    ['wronghost', 'a certificate for another name, POP3S, runtime TLS'],
    ['wronghoststls', 'a certificate for another name, STLS, runtime TLS'],
    ['wronghostwasm', 'a certificate for another name, POP3S, wasm TLS'],
    ['expiredstls', 'an expired certificate, STLS, runtime TLS'],
    ['expiredwasm', 'an expired certificate, POP3S, wasm TLS'],
  ]) {
    test(what, async () => {
      const r = await wd.run(name);
      assert.equal(r.status, 502, JSON.stringify(r.body));
      assert.equal(r.body.ok, false);
      assert.equal(r.body.error.code, 'tls', r.body.error.message);
      if (name.endsWith('wasm')) assert.match(r.body.error.message, name.startsWith('expired') ? /expired/ : /not valid for the name 127\.0\.0\.1/);
    });
  }
  test('nothing was delivered from them', () => {
    assert.equal(hook.attempts('wronghost').length + hook.attempts('expired').length, 0);
  });
});

describe('network failures map to error codes', () => {
  test('a reset connection is "closed"; a refused one is "transport" (plain and POP3S)', async () => {
    const reset = await wd.run('reset');
    assert.equal(reset.status, 502);
    assert.equal(reset.body.error.code, 'closed', reset.body.error.message);
    assert.equal(reset.body.error.transient, true);
    for (const name of ['refused', 'refusedtls']) {
      const r = await wd.run(name);
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'transport', r.body.error.message);
      assert.equal(r.body.error.transient, true);
    }
  });
});

describe('a cut during the TLS handshake is transient', () => {
  for (const how of ['fin', 'rst']) {
    for (const [suffix, what] of [['', 'POP3S, runtime TLS'], ['stls', 'STLS, runtime TLS'], ['wasm', 'POP3S, wasm TLS'], ['wasmstls', 'STLS, wasm TLS']]) {
      test(`${how.toUpperCase()}, ${what}`, async () => {
        const r = await wd.run(`cut${how}${suffix}`);
        assert.equal(r.status, 502, JSON.stringify(r.body));
        assert.ok(['closed', 'transport'].includes(r.body.error.code), `${r.body.error.code}: ${r.body.error.message}`);
        assert.equal(r.body.error.transient, true, r.body.error.message);
      });
    }
  }
});

describe('delivery guarantees', () => {
  test('DELETE_AFTER_DELIVERY empties the mailbox; the state forgets deleted messages', async () => {
    assert.equal(maildirCount(main.maildir('del')), 4);
    const r = await wd.run('del');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.delivered, 4);
    assert.equal(r.body.deleted, 4);
    assert.equal(maildirCount(main.maildir('del')), 0);
    assert.equal(hook.accepted('del').length, 4);
    const again = await wd.run('del');
    assert.equal(again.body.onServer, 0);
    assert.equal(again.body.delivered, 0);
    const state = JSON.parse(await wd.kvGet(stateKey('del', main.pop3s_port)));
    assert.deepEqual(state.messages, {});
  });

  test('a failing webhook: nothing recorded, nothing deleted; the next run delivers again', async () => {
    hook.setStatus('fail', () => 500);
    const r1 = await wd.run('fail');
    assert.equal(r1.status, 502);
    assert.equal(r1.body.error.code, 'webhook');
    assert.equal(r1.body.error.status, 500);
    assert.equal(hook.attempts('fail').length, 1, 'stopped at the first refusal');
    const key = stateKey('fail', main.pop3s_port);
    const s1 = await wd.kvGet(key);
    assert.ok(s1 === null || Object.keys(JSON.parse(s1).messages).length === 0, 'nothing recorded');

    // Accepts the first post of this run, refuses the second: one message recorded.
    const before = hook.attempts('fail').length;
    hook.setStatus('fail', (n) => (n === before ? 200 : 503));
    const r2 = await wd.run('fail');
    assert.equal(r2.status, 502);
    assert.equal(r2.body.error.status, 503);
    assert.equal(Object.keys(JSON.parse(await wd.kvGet(key)).messages).length, 1);

    hook.setStatus('fail', null);
    const r3 = await wd.run('fail');
    assert.equal(r3.status, 200, JSON.stringify(r3.body));
    assert.equal(r3.body.delivered, 3);
    assert.equal(r3.body.alreadyDelivered, 1);
    const r4 = await wd.run('fail');
    assert.equal(r4.body.delivered, 0);
    // Every message reached the webhook once with a 2xx; the refused one was re-posted.
    const accepted = hook.accepted('fail').map((s) => s.uid);
    assert.equal(accepted.length, 4);
    assert.equal(new Set(accepted).size, 4);
    assert.equal(maildirCount(main.maildir('fail')), 4, 'retention keep: still on the server');
  });

  test('state writes to KV are at least a second apart (the KV limit per key)', async () => {
    const r = await wd.run('spacing');
    assert.equal(r.body.delivered, 3);
    const writes = (await wd.kvLog()).filter((w) => w.key === stateKey('spacing', main.pop3s_port));
    assert.equal(writes.length, 3, 'one per message (the final unchanged state is skipped)');
    for (let i = 1; i < writes.length; i++) assert.ok(writes[i].at - writes[i - 1].at >= 990, `gap ${writes[i].at - writes[i - 1].at} ms`);
  });

  test('without a STATE binding the state lives in the isolate: a second run fetches nothing', async () => {
    const r1 = await wd.run('mem');
    assert.equal(r1.body.state, 'memory');
    assert.equal(r1.body.delivered, 4);
    const r2 = await wd.run('mem');
    assert.equal(r2.body.delivered, 0);
    assert.equal(r2.body.alreadyDelivered, 4);
  });

  test('without WEBHOOK_URL the summaries come back in the response; a scheduled run refuses', async () => {
    const r = await wd.run('nohook');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.messages.length, 4);
    assert.deepEqual(r.body.messages.map((m) => m.subject).sort(), manifest.filter((e) => BASE.includes(e.file)).map((e) => e.subject).sort());
    const munich = r.body.messages.find((m) => m.subject.startsWith('Grüße'));
    assert.deepEqual(munich.attachments.map((a) => a.filename), ['Präsentation Übersicht März.pdf']);
    const s = await wd.scheduled('nohook');
    assert.equal(s.outcome, 'exception');
  });

  test('the scheduled (cron) handler delivers, then finds nothing new', async () => {
    const s1 = await wd.scheduled('cron');
    assert.equal(s1.outcome, 'ok');
    assert.equal(hook.accepted('cron').length, 4);
    const s2 = await wd.scheduled('cron');
    assert.equal(s2.outcome, 'ok');
    assert.equal(hook.attempts('cron').length, 4);
    assert.match(wd.output, /"trigger":"cron \*\/10 \* \* \* \*"/);
  });
});
