// The multi-mailbox poller in Miniflare (real workerd; Queues, Durable Objects and R2
// simulated), configured from wrangler.poller.toml and bundled as `wrangler deploy` bundles
// it, against a real Dovecot with 200 mailboxes of 20 messages each.
//
// Every mailbox reaches Dovecot through its own port of a counting proxy (test/poller-
// support.mjs), which sees every session and can cut or stall one in the middle of RETR.
// Every mailbox delivers to R2 and to a webhook receiver that counts acknowledged receipts
// per Idempotency-Key. Half the mailboxes delete what they delivered, half keep it.
//
// 1. All 4,000 messages are delivered exactly once (messages/s and CPU measured).
// 2. An empty round: one session per mailbox (mailboxes/s and CPU per empty poll measured).
// 3. 1,000 new messages with faults: the webhook failing (500) and hanging (timeouts) for a
//    while, sessions cut mid-RETR, queue messages delivered twice, four cron runs at once.
// 4. 200 more, with 40 sessions stalled mid-RETR while workerd (every Durable Object) restarts.
// 5. A clean round. Then: every message acknowledged exactly once, stored once in R2, none
//    lost, deleted where asked; never two sessions of one mailbox at once (the proxy and
//    Dovecot's log); no password in the output or in the stored data.
// Also: the admin API's authentication, and permanent failures (wrong password, a webhook
// that answers 410) that stop a mailbox until it is updated.
//
// Scale with POLLER_MAILBOXES and POLLER_MESSAGES (defaults 200 and 20).
// Run: cd edge && node --test test/poller.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { maildirCount, repo, startStack, tempDir } from './support.mjs';
import { dovecotSessions, startPoller, startPop3Proxy, startReceiver } from './poller-support.mjs';

const MAILBOXES = Number(process.env.POLLER_MAILBOXES ?? 200);
const MESSAGES = Number(process.env.POLLER_MESSAGES ?? 20);
const INTERVAL_SECONDS = 5; // with 1-second ticks: a round is five ticks
// Generous: on a loaded machine a receiver can take a second to answer, and a 2xx that
// arrives after the timeout is (rightly) delivered again.
const WEBHOOK_TIMEOUT_MS = 5000;
const ADMIN_TOKEN = `admin-${Math.random().toString(36).slice(2)}`;
const CREDENTIALS_KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

const names = Array.from({ length: MAILBOXES }, (_, i) => `m${String(i).padStart(3, '0')}`);
const EXTRA = ['badpass', 'gone'];
const group = (from, to) => names.slice(Math.floor(MAILBOXES * from), Math.floor(MAILBOXES * to));
// Fault groups for round 3 (the rest have no fault) and round 4.
const HOOK_FAILS = group(0, 0.2);
const HOOK_HANGS = group(0.2, 0.4);
const CUT = group(0.4, 0.6);
const DUPLICATED = group(0.6, 0.8);
const CALM = group(0.8, 1);
const RESTARTED = CALM;

let tmp;
let stack;
let hook;
let proxy;
let poller;
const passwords = {};
const expected = new Map(); // mailbox -> Set of subjects it must deliver
const figures = {};
let lastRoundAt = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const retention = (name) => (Number(name.slice(1)) % 2 === 0 ? 'delete' : 'keep');

async function waitFor(what, check, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Nothing in flight (no session open, no webhook call) for `quietMs`. */
async function settle(quietMs = 2500) {
  let quietSince = Date.now();
  let lastReceipts = hook.receipts.length;
  await waitFor('the poller to go quiet', () => {
    const busy = proxy.open > 0 || hook.inFlight > 0 || hook.receipts.length !== lastReceipts;
    lastReceipts = hook.receipts.length;
    if (busy) quietSince = Date.now();
    return Date.now() - quietSince >= quietMs;
  }, 120000);
}

/** Writes `count` small messages for `name` (numbered from `first`) into a new directory. */
function writeMail(name, first, count) {
  const dir = join(tmp.dir, 'mail', `${name}-${first}`);
  mkdirSync(dir, { recursive: true });
  const set = expected.get(name) ?? new Set();
  expected.set(name, set);
  for (let j = first; j < first + count; j++) {
    const subject = `${name} message ${j}`;
    set.add(subject);
    writeFileSync(join(dir, `${String(j).padStart(4, '0')}.eml`), [
      `From: Sender ${j} <sender${j}@example.org>`,
      `To: ${name} <${name}@edge.test>`,
      `Subject: ${subject}`,
      'Date: Thu, 02 Apr 2026 10:00:00 +0000',
      `Message-ID: <${name}.${j}.${Math.random().toString(36).slice(2)}@edge.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Message ${j} for ${name}. ${'All work and no play. '.repeat(20)}`,
      '',
    ].join('\n'));
  }
  return dir;
}

/** Delivers new mail into running mailboxes: { name: count } (one Python process for all). */
function deliverMore(counts) {
  const plan = Object.entries(counts).map(([name, count]) => [stack.maildir(name), [writeMail(name, expected.get(name).size, count)]]);
  execFileSync('python3', ['-c', 'import json, sys; sys.path.insert(0, sys.argv[1]); import mailstack\n'
    + 'for maildir, paths in json.load(sys.stdin): mailstack.deliver(maildir, paths)', join(repo, 'tests/support')],
  { input: JSON.stringify(plan) });
}

const mailboxConfig = (name) => ({
  host: '127.0.0.1',
  port: proxy.port(name),
  tls: 'none', // loopback only; TLS is covered by workerd.test.mjs
  allowCleartext: true,
  user: name,
  password: passwords[name],
  mechanism: 'plain',
  intervalSeconds: INTERVAL_SECONDS,
  retention: retention(name),
  webhook: { url: hook.url },
  r2: true,
});

/** Acknowledged receipts by mailbox and subject, indexed as receipts come in. */
const acked = new Map();
let indexed = 0;
function ackedSubjects(name) {
  for (; indexed < hook.receipts.length; indexed++) {
    const r = hook.receipts[indexed];
    if (!r.acked) continue;
    const box = r.account?.split('@')[0];
    const m = acked.get(box) ?? new Map();
    m.set(r.subject, (m.get(r.subject) ?? 0) + 1);
    acked.set(box, m);
  }
  return acked.get(name) ?? new Map();
}

const allDelivered = () => names.every((n) => {
  const got = ackedSubjects(n);
  return [...expected.get(n)].every((s) => got.has(s));
});

/** Starts a round of the schedule: cron as for now, once every mailbox is due again. */
async function round(ticks = [0]) {
  await sleep(Math.max(0, lastRoundAt + INTERVAL_SECONDS * 1000 + 100 - Date.now()));
  const now = Date.now();
  lastRoundAt = now;
  await Promise.all(ticks.map((offset) => poller.tick(now + offset)));
}

const sessions = () => Object.fromEntries(names.map((n) => [n, proxy.sessions(n)]));
const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

before(async () => {
  tmp = tempDir('pop3-edge-poller-');
  const args = [];
  for (const name of [...names, ...EXTRA]) {
    passwords[name] = `pw-${name}-${Math.random().toString(36).slice(2, 12)}`;
    args.push('--user', `${name}:${passwords[name]}`, '--mail-for', `${name}=${writeMail(name, 0, name === 'gone' ? 2 : EXTRA.includes(name) ? 1 : MESSAGES)}`);
  }
  const started = Date.now();
  hook = await startReceiver({ hangMs: WEBHOOK_TIMEOUT_MS + 2000 });
  stack = await startStack(['--process-limit', String(2 * MAILBOXES + 50), ...args]);
  proxy = await startPop3Proxy({ host: '127.0.0.1', port: stack.pop3_port }, [...names, ...EXTRA]);
  poller = await startPoller({
    dir: tmp.dir,
    vars: {
      DIRECTORY_SHARDS: '4',
      TICK_SECONDS: '1',
      CATCH_UP_TICKS: String(INTERVAL_SECONDS),
      MIN_INTERVAL_SECONDS: '1',
      DEFAULT_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '2',
      WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
      ALLOW_HTTP_WEBHOOKS: 'true',
    },
    secrets: { ADMIN_TOKEN, CREDENTIALS_KEY },
    queue: { maxBatchTimeout: 0.1, maxRetries: 20 },
  });
  figures.setupMs = Date.now() - started;
});

after(async () => {
  // POLLER_LOG=FILE keeps workerd's output (the workers' log lines) for a look afterwards.
  if (process.env.POLLER_LOG && poller) writeFileSync(process.env.POLLER_LOG, poller.output);
  if (process.env.POLLER_LOG && stack) writeFileSync(`${process.env.POLLER_LOG}.dovecot`, readFileSync(stack.dovecot_log));
  await poller?.stop();
  await Promise.all([proxy?.close(), hook?.close(), stack?.stop()]);
  tmp?.remove();
  console.log(`poller figures: ${JSON.stringify(figures)}`);
});

describe('the admin API', () => {
  test('needs the bearer token; refuses bad input; never shows a secret', async () => {
    assert.equal((await poller.admin('GET', '/mailboxes', undefined, null)).status, 401);
    assert.equal((await poller.admin('GET', '/mailboxes', undefined, 'wrong')).status, 401);
    assert.equal((await poller.admin('GET', `/mailboxes/${names[0]}`)).status, 404);
    assert.equal((await poller.admin('PATCH', `/mailboxes/${names[0]}`, { intervalSeconds: 60 })).status, 404);
    const bad = await poller.admin('PUT', `/mailboxes/${names[0]}`, { ...mailboxConfig(names[0]), webhook: null, r2: null });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /somewhere to deliver/);
    assert.equal((await poller.admin('PUT', '/mailboxes/bad%2Fid', mailboxConfig(names[0]))).status, 400);
    assert.equal(hook.receipts.length, 0);
  });
});

describe(`${MAILBOXES} mailboxes × ${MESSAGES} messages`, () => {
  test('each message is delivered once: acknowledged by the webhook, stored in R2', async (t) => {
    const cpu0 = poller.cpuSeconds();
    const t0 = Date.now();
    for (let i = 0; i < names.length; i += 25) {
      const replies = await Promise.all(names.slice(i, i + 25).map((n) => poller.admin('PUT', `/mailboxes/${n}`, mailboxConfig(n))));
      for (const r of replies) assert.equal(r.status, 201, JSON.stringify(r.body));
      for (const r of replies) assert.ok(!JSON.stringify(r.body).includes('pw-'), 'no password in the answer');
    }
    await waitFor('every message', allDelivered, 120000);
    const ms = Date.now() - t0;
    const cpu = poller.cpuSeconds() - cpu0;
    await settle();
    const total = MAILBOXES * MESSAGES;
    figures.firstRound = { messages: total, ms, messagesPerSecond: Math.round(total / (ms / 1000)), workerdCpuMs: Math.round(cpu * 1000) };
    t.diagnostic(JSON.stringify(figures.firstRound));
    for (const n of names) {
      const got = ackedSubjects(n);
      assert.equal(got.size, MESSAGES, `${n}: every message`);
      for (const [subject, count] of got) assert.equal(count, 1, `${n}: "${subject}" acknowledged once`);
    }
    const keys = await poller.r2Keys();
    assert.equal(keys.filter((k) => k.endsWith('.eml')).length, total);
    assert.equal(keys.filter((k) => k.endsWith('.json')).length, total);
    for (const r of hook.receipts.slice(0, 20)) {
      assert.equal(r.key, `${r.account}/${r.uid}`);
      assert.equal(r.r2Key, `mail/${r.account}/${r.uid}.eml`);
      const raw = new TextDecoder().decode(await poller.r2Get(r.r2Key));
      assert.match(raw, new RegExp(`^Subject: ${r.subject}\r$`, 'm'));
      const summary = JSON.parse(new TextDecoder().decode(await poller.r2Get(r.r2Key.replace(/\.eml$/, '.json'))));
      assert.equal(summary.subject, r.subject);
      assert.equal(summary.uid, r.uid);
    }
    for (const n of names) assert.equal(maildirCount(stack.maildir(n)), retention(n) === 'delete' ? 0 : MESSAGES, `${n}: retention ${retention(n)}`);
  });

  test('an empty round polls each mailbox once and delivers nothing', async (t) => {
    const before = sessions();
    const receipts = hook.receipts.length;
    const cpu0 = poller.cpuSeconds();
    await round();
    const t0 = lastRoundAt;
    await waitFor('a session per mailbox', () => names.every((n) => proxy.sessions(n) > before[n]) && proxy.open === 0);
    const ms = Date.now() - t0;
    const cpu = poller.cpuSeconds() - cpu0;
    await settle();
    assert.deepEqual(Object.values(diff(before, sessions())).filter((d) => d !== 1), [], 'exactly one session each');
    assert.equal(hook.receipts.length, receipts);
    figures.emptyRound = { mailboxes: MAILBOXES, ms, mailboxesPerSecond: Math.round(MAILBOXES / (ms / 1000)), cpuMsPerEmptyPoll: +(cpu * 1000 / MAILBOXES).toFixed(2) };
    figures.cpuMsPerMessage = +((figures.firstRound.workerdCpuMs - figures.emptyRound.cpuMsPerEmptyPoll * MAILBOXES) / figures.firstRound.messages).toFixed(2);
    t.diagnostic(JSON.stringify({ ...figures.emptyRound, cpuMsPerMessage: figures.cpuMsPerMessage }));
  });

  test('faults: webhook 500s and timeouts, cuts mid-RETR, duplicate queue messages, overlapping cron runs', async () => {
    deliverMore(Object.fromEntries(names.map((n) => [n, 5])));
    const before = sessions();
    // For 3 s from a mailbox's first post, the webhook fails (500) for one group and hangs
    // past the timeout for another. (Per mailbox: Miniflare runs one consumer batch at a
    // time, so a group's mailboxes do not all post at once.)
    const firstPost = new Map();
    hook.setBehaviour((r) => {
      const name = r.account?.split('@')[0];
      if (!firstPost.has(name)) firstPost.set(name, r.at);
      if (r.at - firstPost.get(name) > 3000) return 'ok';
      return HOOK_FAILS.includes(name) ? 500 : HOOK_HANGS.includes(name) ? 'hang' : 'ok';
    });
    for (const n of CUT) proxy.setRule(n, { cutAtRetr: 3 });
    // Four cron runs at once: a repeated one and two for the previous ticks.
    await round([0, 0, -1000, -2000]);
    // Each mailbox of a group gets its poll message twice more, as a redelivery would.
    const duplicate = DUPLICATED.map((id) => ({ id, claimedAt: lastRoundAt }));
    await poller.enqueue([...duplicate, ...duplicate]);
    await waitFor('every message', allDelivered, 120000);
    hook.setBehaviour(null);
    await settle();
    await poller.enqueue(duplicate);
    await settle();

    const added = diff(before, sessions());
    for (const n of [...DUPLICATED, ...CALM]) assert.equal(added[n], 1, `${n}: one session despite duplicates and overlapping cron runs`);
    for (const n of CUT) {
      assert.equal(proxy.mailboxes.get(n).cuts, 1, `${n}: cut once`);
      assert.ok(added[n] >= 2, `${n}: a new session after the cut`);
    }
    const failed = hook.receipts.filter((r) => r.status === 500).length;
    const hung = hook.receipts.filter((r) => r.status === 'hang').length;
    assert.ok(failed >= HOOK_FAILS.length, `the webhook refused ${failed} posts`);
    assert.ok(hung >= HOOK_HANGS.length, `the webhook let ${hung} posts time out`);
    for (const n of [...HOOK_FAILS, ...HOOK_HANGS]) assert.ok(added[n] >= 2, `${n}: retried`);
    figures.faults = { webhook500: failed, webhookTimeouts: hung, cuts: CUT.length, duplicates: 3 * DUPLICATED.length };
  });

  test('a restart of every Durable Object in the middle of its sync loses nothing and repeats nothing', async () => {
    deliverMore(Object.fromEntries(RESTARTED.map((n) => [n, 5])));
    for (const n of RESTARTED) proxy.setRule(n, { stallAtRetr: 3 });
    const ackedCount = (n) => ackedSubjects(n).size;
    const before = Object.fromEntries(RESTARTED.map((n) => [n, ackedCount(n)]));
    // Their poll messages, in one consumer batch (Miniflare runs one batch at a time, and a
    // stalled session holds its batch).
    await poller.enqueue(RESTARTED.map((id) => ({ id, claimedAt: Date.now() })));
    // Two new messages delivered and recorded, the third held back by the proxy.
    await waitFor('the sessions to stall at the third message', () => proxy.stalledCount === RESTARTED.length
      && RESTARTED.every((n) => ackedCount(n) === before[n] + 2) && hook.inFlight === 0);
    await sleep(500);
    const receiptsAtRestart = hook.receipts.length;
    await poller.restart();
    await waitFor('the cut sessions to close', () => RESTARTED.every((n) => proxy.mailboxes.get(n).open === 0));
    proxy.releaseAll();
    await settle();
    // The queue's messages died with workerd; the next round of the schedule polls again.
    await round();
    await waitFor('every message', allDelivered, 60000);
    await settle();
    const after = hook.receipts.slice(receiptsAtRestart);
    for (const n of RESTARTED) {
      const mine = after.filter((r) => r.account === `${n}@127.0.0.1`);
      assert.equal(mine.length, 3, `${n}: only the three undelivered messages came after the restart`);
    }
  });

  test('a clean round finds nothing new; every message went out exactly once', async () => {
    const receipts = hook.receipts.length;
    const before = sessions();
    await round();
    await waitFor('a session per mailbox', () => names.every((n) => proxy.sessions(n) > before[n]));
    await settle();
    assert.equal(hook.receipts.length, receipts, 'nothing new');
    assert.deepEqual(Object.values(diff(before, sessions())).filter((d) => d !== 1), []);

    let total = 0;
    for (const n of names) {
      const got = ackedSubjects(n);
      assert.deepEqual([...got.keys()].sort(), [...expected.get(n)].sort(), `${n}: every message, nothing else`);
      for (const [subject, count] of got) assert.equal(count, 1, `${n}: "${subject}" acknowledged once`);
      total += got.size;
    }
    const byKey = hook.ackedByKey();
    assert.equal(byKey.size, total);
    assert.ok([...byKey.values()].every((c) => c === 1));
    const keys = await poller.r2Keys();
    assert.equal(keys.filter((k) => k.endsWith('.eml')).length, total, 'one raw message per delivery in R2');
    assert.equal(keys.filter((k) => k.endsWith('.json')).length, total, 'one summary per delivery in R2');
    assert.deepEqual(new Set(keys.filter((k) => k.endsWith('.eml'))), new Set([...byKey.keys()].map((k) => `mail/${k}.eml`)));
    for (const n of names) {
      assert.equal(maildirCount(stack.maildir(n)), retention(n) === 'delete' ? 0 : expected.get(n).size, `${n}: retention ${retention(n)}`);
    }
    const statuses = await Promise.all(names.map((n) => poller.admin('GET', `/mailboxes/${n}`)));
    for (const [i, s] of statuses.entries()) {
      assert.equal(s.body.mailbox.state, 'active');
      assert.equal(s.body.mailbox.consecutiveFailures, 0);
      assert.equal(s.body.mailbox.counts.delivered, expected.get(names[i]).size, `${names[i]}: delivered count`);
    }
    figures.delivered = total;
  });

  test('never two sessions of one mailbox at once (the proxy; Dovecot logged the same sessions)', () => {
    // The proxy sees each connection open and close, in real time. Dovecot's log is the
    // cross-check of what reached the server: the same number of logins per mailbox. (Its
    // order is no clock: logins and session ends are logged by different processes through
    // one log process, which a busy machine can hold back by seconds.)
    assert.deepEqual(proxy.overlapping(), []);
    const { logins } = dovecotSessions(stack.dovecot_log);
    for (const n of names) assert.equal(logins.get(n), proxy.sessions(n), `${n}: Dovecot saw every session the proxy saw`);
    figures.sessions = [...logins.values()].reduce((a, b) => a + b, 0);
  });
});

describe('permanent failures stop a mailbox until it is updated', () => {
  test('a wrong password: failing (auth), left alone by the schedule, active again after PATCH', async () => {
    const put = await poller.admin('PUT', '/mailboxes/badpass', { ...mailboxConfig('badpass'), password: 'not-the-password' });
    assert.equal(put.status, 201);
    await waitFor('the first poll', async () => (await poller.admin('GET', '/mailboxes/badpass')).body.mailbox.state === 'failing');
    const { mailbox } = (await poller.admin('GET', '/mailboxes/badpass')).body;
    assert.equal(mailbox.failing.code, 'auth');
    assert.equal(mailbox.counts.failures, 1);
    const sessionsThen = proxy.sessions('badpass');
    await round();
    await settle(1500);
    assert.equal(proxy.sessions('badpass'), sessionsThen, 'not polled while failing');
    // Two changes at once, the password and the interval: both stick.
    const [patched, other] = await Promise.all([
      poller.admin('PATCH', '/mailboxes/badpass', { password: passwords.badpass }),
      poller.admin('PATCH', '/mailboxes/badpass', { intervalSeconds: 7 }),
    ]);
    assert.equal(patched.status, 200);
    assert.equal(other.status, 200);
    assert.equal(patched.body.mailbox.state, 'active');
    assert.equal((await poller.admin('GET', '/mailboxes/badpass')).body.mailbox.intervalSeconds, 7);
    await waitFor('delivery', () => ackedSubjects('badpass').size === 1);
  });

  test('a webhook that answers 410: failing (webhook), nothing recorded; after an update, delivered', async () => {
    hook.setBehaviour((r) => (r.account === 'gone@127.0.0.1' ? 410 : 'ok'));
    await poller.admin('PUT', '/mailboxes/gone', mailboxConfig('gone'));
    await waitFor('failing', async () => (await poller.admin('GET', '/mailboxes/gone')).body.mailbox.state === 'failing');
    const { mailbox } = (await poller.admin('GET', '/mailboxes/gone')).body;
    assert.equal(mailbox.failing.code, 'webhook');
    assert.equal(mailbox.lastError.status, 410);
    assert.equal(mailbox.counts.delivered, 0);
    hook.setBehaviour(null);
    const run = await poller.admin('POST', '/mailboxes/gone/run');
    assert.equal(run.status, 502, 'a run now reports the mailbox failing');
    assert.equal(run.body.outcome, 'failing');
    // One message per run: the first run says there is more, and the next is queued at once.
    const sessionsBefore = proxy.sessions('gone');
    await poller.admin('PATCH', '/mailboxes/gone', { maxMessagesPerRun: 1 });
    await waitFor('both messages', () => ackedSubjects('gone').size === 2);
    await settle(1000);
    assert.equal(proxy.sessions('gone') - sessionsBefore, 2, 'a run per message, no more');
    const again = await poller.admin('POST', '/mailboxes/gone/run');
    assert.equal(again.status, 200);
    assert.equal(again.body.delivered, 0);
    assert.equal(again.body.more, false);
    assert.equal((await poller.admin('DELETE', '/mailboxes/gone')).status, 200);
    assert.equal((await poller.admin('GET', '/mailboxes/gone')).status, 404);
    assert.equal((await poller.admin('GET', '/mailboxes')).body.mailboxes.some((m) => m.id === 'gone'), false);
  });
});

describe('LOGIN-DELAY', () => {
  // Dovecot does not announce LOGIN-DELAY; Gmail does (300 s). A scripted server that
  // announces 900 s and holds an empty mailbox.
  test('the server\'s LOGIN-DELAY stretches the schedule and holds back an early run', async () => {
    const logins = [];
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.write('+OK scripted POP3 server\r\n');
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString('latin1');
        let nl;
        while ((nl = buf.indexOf('\r\n')) >= 0) {
          const verb = buf.slice(0, nl).split(' ')[0].toUpperCase();
          buf = buf.slice(nl + 2);
          if (verb === 'CAPA') socket.write('+OK\r\nUSER\r\nUIDL\r\nTOP\r\nLOGIN-DELAY 900\r\n.\r\n');
          else if (verb === 'PASS') { logins.push(Date.now()); socket.write('+OK logged in\r\n'); }
          else if (verb === 'STAT') socket.write('+OK 0 0\r\n');
          else if (verb === 'LIST' || verb === 'UIDL') socket.write('+OK\r\n.\r\n');
          else if (verb === 'QUIT') socket.end('+OK bye\r\n');
          else socket.write('+OK\r\n');
        }
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const put = await poller.admin('PUT', '/mailboxes/delayed', {
        ...mailboxConfig(names[0]), user: 'delayed', port: server.address().port, mechanism: 'user', password: 'pw-delayed',
      });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      await waitFor('the first run', async () => (await poller.admin('GET', '/mailboxes/delayed')).body.mailbox.lastRun?.ok === true);
      const { mailbox } = (await poller.admin('GET', '/mailboxes/delayed')).body;
      assert.equal(mailbox.loginDelaySeconds, 900);
      const listed = (await poller.admin('GET', '/mailboxes?limit=1000')).body.mailboxes.find((m) => m.id === 'delayed');
      assert.equal(listed.intervalSeconds, 900, 'due every 900 s, not every 5');
      const early = await poller.admin('POST', '/mailboxes/delayed/run');
      assert.equal(early.status, 429);
      assert.equal(early.body.reason, 'login-delay');
      assert.ok(early.body.retryAfterSeconds > 890 && early.body.retryAfterSeconds <= 900, String(early.body.retryAfterSeconds));
      await round();
      await settle(1000);
      assert.equal(logins.length, 1, 'one login only');
      assert.equal((await poller.admin('DELETE', '/mailboxes/delayed')).status, 200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('secrets', () => {
  test('no password in workerd\'s output or anywhere in the stored data', () => {
    const stored = [];
    const walk = (dir) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else stored.push(readFileSync(path));
      }
    };
    walk(join(tmp.dir, 'state'));
    assert.ok(stored.length > 0, 'the persisted storage was read');
    for (const [name, pw] of Object.entries(passwords)) {
      assert.ok(!poller.output.includes(pw), `${name}: the password is not logged`);
      for (const data of stored) assert.equal(data.indexOf(pw), -1, `${name}: the password is not stored in the clear`);
    }
    assert.ok(!poller.output.includes(CREDENTIALS_KEY));
  });
});

describe('a deployment without its CREDENTIALS_KEY (last: it restarts workerd without the key)', () => {
  test('adding a mailbox answers 503; a run backs off instead of marking the mailbox failing', async () => {
    await settle(500);
    await poller.restart({ CREDENTIALS_KEY: undefined });
    const put = await poller.admin('PUT', '/mailboxes/nokey', { ...mailboxConfig(names[1]), user: 'nokey' });
    assert.equal(put.status, 503);
    assert.match(put.body.error.message, /CREDENTIALS_KEY secret is not set/);
    assert.equal((await poller.admin('GET', '/mailboxes/nokey')).status, 404, 'nothing stored');
    const run = await poller.admin('POST', `/mailboxes/${names[1]}/run`);
    assert.equal(run.status, 502);
    assert.equal(run.body.outcome, 'retry');
    assert.equal(run.body.error.code, 'credentials');
    const { mailbox } = (await poller.admin('GET', `/mailboxes/${names[1]}`)).body;
    assert.equal(mailbox.state, 'active', 'fixing the one secret fixes every mailbox');
    assert.equal(mailbox.consecutiveFailures, 1);
  });
});
