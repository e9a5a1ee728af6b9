// The poller's pure parts, in Node: what a mailbox configuration may be, how failures are
// classified, how credentials are sealed, and the retry and back-off arithmetic. The whole
// poller runs in workerd in poller.test.mjs.
//
// Run: cd edge && node --test test/poller-unit.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { checkMailboxInput, InputError } from '../src/poller/mailbox-config.js';
import { classify } from '../src/poller/errors.js';
import { open, seal } from '../src/poller/secrets.js';
import { backoffSeconds, hash32, readSettings, retryDelaySeconds } from '../src/poller/settings.js';
import { WebhookError } from '../src/delivery.js';

const settings = readSettings({});
const good = { host: 'pop.example.org', user: 'alice@example.org', password: 'secret-pw-1', webhook: { url: 'https://hooks.example.org/mail' } };
const check = (input, existing = null, extra = {}) => checkMailboxInput('alice', input, existing, { replace: true, settings, hasBucket: true, ...extra });

test('a mailbox configuration: defaults, and the secrets kept apart', () => {
  const { config, secrets } = check(good);
  assert.deepEqual(config, {
    id: 'alice', account: 'alice@example.org@pop.example.org', host: 'pop.example.org', port: 995, tls: 'implicit',
    user: 'alice@example.org', mechanism: 'auto', allowCleartext: false, intervalSeconds: 300, retention: 'keep',
    maxMessagesPerRun: 50, webhook: { url: 'https://hooks.example.org/mail', hasToken: false }, r2: null,
  });
  assert.deepEqual(secrets, { password: 'secret-pw-1' });
  assert.ok(!JSON.stringify(config).includes('secret-pw-1'));
  assert.equal(check({ ...good, tls: 'starttls' }).config.port, 110);
  assert.deepEqual(check({ ...good, r2: true }).config.r2, { prefix: 'mail/' });
  assert.deepEqual(check({ ...good, retention: { olderThanDays: 30 } }).config.retention, { olderThanDays: 30 });
});

test('refused configurations say why, and never repeat a secret', () => {
  const refused = [
    [{ ...good, webhook: null }, /webhook, r2, or both/],
    [{ ...good, webhook: { url: 'http://hooks.example.org/' } }, /must be https/],
    [{ ...good, webhook: { url: 'not a url' } }, /not a URL/],
    [{ ...good, password: undefined }, /needs password or accessToken/],
    [{ ...good, accessToken: 'tok' }, /not both/],
    [{ ...good, password: 'line\r\nbreak-secret' }, /without line breaks/],
    [{ ...good, host: 'pop example.org' }, /host/],
    [{ ...good, port: 0 }, /port/],
    [{ ...good, tls: 'maybe' }, /tls/],
    [{ ...good, intervalSeconds: 10 }, /intervalSeconds must be an integer from 60/],
    [{ ...good, maxMessagesPerRun: 51 }, /maxMessagesPerRun/],
    [{ ...good, retention: 'sometimes' }, /retention/],
    [{ ...good, colour: 'blue' }, /unknown field "colour"/],
    [{ ...good, r2: { prefix: '../x\n' } }, /r2.prefix/],
  ];
  for (const [input, why] of refused) {
    assert.throws(() => check(input), (e) => e instanceof InputError && why.test(e.message) && !e.message.includes('break-secret'), why.source);
  }
  assert.throws(() => check({ ...good, r2: true }, null, { hasBucket: false }), /MAIL_BUCKET/);
  assert.equal(check({ ...good, webhook: { url: 'http://127.0.0.1:1/' } }, null,
    { settings: readSettings({ ALLOW_HTTP_WEBHOOKS: 'true' }) }).config.webhook.url, 'http://127.0.0.1:1/');
});

test('updates: the account cannot change; a webhook token is dropped when the URL changes', () => {
  const stored = check({ ...good, webhook: { url: 'https://a.example/hook', token: 'hook-secret' } });
  assert.deepEqual(stored.secrets, { password: 'secret-pw-1', webhookToken: 'hook-secret' });
  const existing = stored.config;
  const patch = (input) => checkMailboxInput('alice', input, existing, { replace: false, settings, hasBucket: true });
  assert.throws(() => patch({ host: 'other.example.org' }), /cannot change/);
  assert.throws(() => patch({ user: 'bob' }), /cannot change/);
  // Nothing secret in the request: nothing secret changes, the token stays.
  const same = patch({ intervalSeconds: 600 });
  assert.deepEqual(same.secrets, {});
  assert.equal(same.config.webhook.hasToken, true);
  assert.equal(same.config.intervalSeconds, 600);
  // Same URL, no token given: kept. Another URL: the token is not sent there.
  assert.equal(patch({ webhook: { url: 'https://a.example/hook' } }).config.webhook.hasToken, true);
  const moved = patch({ webhook: { url: 'https://b.example/hook' } });
  assert.equal(moved.config.webhook.hasToken, false);
  assert.equal(moved.secrets.webhookToken, null);
  // A replacement (PUT) without webhook removes it, token included.
  const replaced = checkMailboxInput('alice', { host: good.host, user: good.user, r2: true }, existing, { replace: true, settings, hasBucket: true });
  assert.equal(replaced.config.webhook, null);
  assert.equal(replaced.secrets.webhookToken, null);
  assert.equal(patch({ password: 'new-pw' }).secrets.password, 'new-pw');
});

test('failures: transient ones are retried, permanent ones stop the mailbox', () => {
  const pop3Error = (code, extra = {}) => Object.assign(new Error(`a ${code} error`), { code, transient: false, responseCode: null, ...extra });
  const kinds = [
    [pop3Error('transport', { transient: true }), 'transient'],
    [pop3Error('timeout', { transient: true }), 'transient'],
    [pop3Error('closed', { transient: true }), 'transient'],
    [pop3Error('server', { transient: true, responseCode: 'SYS/TEMP' }), 'transient'],
    [pop3Error('server', { transient: true, responseCode: 'IN-USE' }), 'transient'],
    [pop3Error('server', { transient: true, responseCode: 'LOGIN-DELAY' }), 'transient'],
    [pop3Error('protocol'), 'transient'],
    [pop3Error('auth', { responseCode: 'AUTH' }), 'permanent'],
    [pop3Error('server', { responseCode: 'SYS/PERM' }), 'permanent'],
    [pop3Error('tls'), 'permanent'],
    [pop3Error('usage'), 'permanent'],
    [pop3Error('closed', { transient: true, deletionsUncertain: true }), 'deletions-uncertain'],
    [new WebhookError('the webhook answered 500', 500), 'transient'],
    [new WebhookError('the webhook answered 503', 503), 'transient'],
    [new WebhookError('the webhook answered 429', 429), 'transient'],
    [new WebhookError('the webhook could not be reached: no answer within 15000 ms'), 'transient'],
    [new WebhookError('the webhook answered 410', 410), 'permanent'],
    [new WebhookError('the webhook answered 401', 401), 'permanent'],
    [new TypeError('something unexpected'), 'transient'],
  ];
  for (const [error, kind] of kinds) assert.equal(classify(error).kind, kind, `${error.code}/${error.responseCode ?? error.status}: ${error.message}`);
  assert.deepEqual(classify(pop3Error('auth', { responseCode: 'AUTH' })),
    { kind: 'permanent', code: 'auth', message: 'a auth error', responseCode: 'AUTH' });
});

test('credentials: AES-GCM bound to the mailbox id; key rotation; a missing key is an error', async () => {
  const key = Buffer.alloc(32, 1).toString('base64');
  const other = Buffer.alloc(32, 2).toString('base64');
  const env = { CREDENTIALS_KEY: key };
  const sealed = await seal(env, 'alice', { password: 'p4ss-w0rd' });
  assert.ok(!JSON.stringify(sealed).includes('p4ss-w0rd'));
  assert.deepEqual(await open(env, 'alice', sealed), { secrets: { password: 'p4ss-w0rd' }, stale: false });
  // Each seal uses a fresh IV.
  assert.notEqual((await seal(env, 'alice', { password: 'p4ss-w0rd' })).data, sealed.data);
  await assert.rejects(open(env, 'bob', sealed), /do not open/);
  await assert.rejects(open({ CREDENTIALS_KEY: other }, 'alice', sealed), /no longer configured/);
  assert.deepEqual(await open({ CREDENTIALS_KEY: other, CREDENTIALS_KEY_PREVIOUS: key }, 'alice', sealed),
    { secrets: { password: 'p4ss-w0rd' }, stale: true });
  // The deployment's key setup at fault: transient (every mailbox resumes once it is fixed).
  await assert.rejects(seal({}, 'alice', {}), (e) => /CREDENTIALS_KEY secret is not set/.test(e.message) && classify(e).kind === 'transient');
  await assert.rejects(seal({ CREDENTIALS_KEY: 'c2hvcnQ=' }, 'alice', {}), (e) => /32 random bytes/.test(e.message) && classify(e).kind === 'transient');
  await assert.rejects(open({ CREDENTIALS_KEY: other }, 'alice', sealed), (e) => classify(e).kind === 'transient');
  // This mailbox's blob at fault: permanent (it needs its password again).
  const tampered = { ...sealed, data: sealed.data.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
  await assert.rejects(open(env, 'alice', tampered), (e) => e.code === 'credentials' && classify(e).kind === 'permanent');
  await assert.rejects(open(env, 'bob', sealed), (e) => classify(e).kind === 'permanent');
});

test('retry delays and schedule back-off grow, and stop growing at their caps', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelaySeconds(settings, n)), [30, 60, 120, 240, 480, 960, 1920, 3600]);
  assert.deepEqual([1, 2, 3, 5, 10].map((n) => backoffSeconds(settings, 300, n)), [300, 600, 1200, 4800, 21600]);
  assert.equal(backoffSeconds(settings, 86400, 3), 86400, 'never below the interval');
  assert.equal(hash32('alice'), hash32('alice'));
  assert.notEqual(hash32('alice'), hash32('alicf'));
  assert.throws(() => readSettings({ DIRECTORY_SHARDS: '0' }), /DIRECTORY_SHARDS/);
});
