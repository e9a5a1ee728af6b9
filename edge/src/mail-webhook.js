// The mailbox-to-webhook worker, shared by both entry files (worker.js: the runtime's TLS,
// the small wasm module; worker-wasm-tls.js: TLS inside the wasm module). It is handed the
// pop3-wasm module the entry imported, so it never imports one itself and each bundle holds
// exactly one wasm module.
//
// A run: log in, client.sync() (only messages the stored state does not record), parse each
// message and POST a JSON summary to WEBHOOK_URL (or collect it for the HTTP response when
// there is no webhook); a message counts as delivered only once the webhook answered 2xx,
// and only then is it recorded in the state. Optionally delete delivered messages.

import { bearerMatches, postWebhook, summarize } from './delivery.js';

/** Cloudflare KV accepts one write per second to the same key. */
const DEFAULT_STATE_WRITE_INTERVAL_MS = 1000;
const DEFAULT_MAX_MESSAGES = 50;

/** State kept in the isolate's memory when there is no STATE binding (lost on restart). */
const memoryState = new Map();

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
    this.code = 'config';
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const flag = (v) => TRUE.has(String(v ?? '').trim().toLowerCase());

function intVar(env, name, fallback, min = 0) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}`);
  return n;
}

/** Reads and checks the configuration. Secrets stay in the returned object only. */
export function readConfig(env, { wasmTlsAvailable }) {
  const host = env.POP3_HOST;
  if (!host) throw new ConfigError('POP3_HOST is not set');
  const user = env.POP3_USER;
  if (!user) throw new ConfigError('POP3_USER is not set');
  const tls = (env.POP3_TLS || 'implicit').toLowerCase();
  if (!['implicit', 'starttls', 'none'].includes(tls)) throw new ConfigError('POP3_TLS must be implicit, starttls or none');
  const port = intVar(env, 'POP3_PORT', tls === 'implicit' ? 995 : 110, 1);
  const tlsProvider = (env.TLS_PROVIDER || 'host').toLowerCase();
  if (!['host', 'wasm'].includes(tlsProvider)) throw new ConfigError('TLS_PROVIDER must be host or wasm');
  if (tlsProvider === 'wasm' && !wasmTlsAvailable) {
    throw new ConfigError('TLS_PROVIDER=wasm needs the worker built with TLS inside: deploy worker-wasm-tls.js (wrangler deploy --env wasm-tls)');
  }
  if (env.POP3_CA && tlsProvider !== 'wasm') {
    throw new ConfigError('POP3_CA needs TLS_PROVIDER=wasm: the Workers runtime cannot be told to trust a private CA');
  }
  const password = env.POP3_PASSWORD;
  const accessToken = env.POP3_ACCESS_TOKEN;
  const accessTokenKvKey = env.POP3_ACCESS_TOKEN_KV_KEY || null;
  if (accessTokenKvKey && !(env.STATE && typeof env.STATE.get === 'function')) {
    throw new ConfigError('POP3_ACCESS_TOKEN_KV_KEY needs the STATE KV binding');
  }
  if (!password && !accessToken && !accessTokenKvKey) {
    throw new ConfigError('set POP3_PASSWORD or POP3_ACCESS_TOKEN (as a secret), or POP3_ACCESS_TOKEN_KV_KEY');
  }
  const webhookUrl = env.WEBHOOK_URL || null;
  if (webhookUrl) {
    let u;
    try { u = new URL(webhookUrl); } catch { throw new ConfigError('WEBHOOK_URL is not a URL'); }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError('WEBHOOK_URL must be http(s)');
  }
  return {
    host,
    port,
    user,
    tls,
    tlsProvider,
    ca: env.POP3_CA || undefined,
    serverName: env.POP3_SERVER_NAME || undefined,
    password,
    accessToken,
    accessTokenKvKey,
    mechanism: env.POP3_AUTH_MECHANISM || 'auto',
    allowCleartext: flag(env.POP3_ALLOW_CLEARTEXT),
    webhookUrl,
    webhookToken: env.WEBHOOK_TOKEN || null,
    deleteAfterDelivery: flag(env.DELETE_AFTER_DELIVERY),
    maxMessages: intVar(env, 'MAX_MESSAGES_PER_RUN', DEFAULT_MAX_MESSAGES, 1),
    stateWriteIntervalMs: intVar(env, 'STATE_WRITE_INTERVAL_MS', DEFAULT_STATE_WRITE_INTERVAL_MS, 0),
    account: `${user}@${host}`,
    stateKey: `pop3-sync/${user}@${host}:${port}`,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Where the sync state lives: Workers KV under one key per account when the STATE binding
 * exists, else this isolate's memory. Writes of an unchanged state are skipped, and writes
 * are spaced by `intervalMs` (KV takes at most one write per second to a key).
 */
function stateStore(env, cfg, pop3) {
  const kv = env.STATE && typeof env.STATE.get === 'function' ? env.STATE : null;
  let lastJson = null;
  let lastWrite = 0;
  let writes = 0;
  return {
    kind: kv ? 'kv' : 'memory',
    get writes() { return writes; },
    async load() {
      const text = kv ? await kv.get(cfg.stateKey) : memoryState.get(cfg.stateKey) ?? null;
      lastJson = text;
      // A corrupt or foreign state is an error, never a fresh start (that would deliver
      // everything again).
      return text === null ? pop3.newSyncState(cfg.account) : pop3.checkSyncState(text, cfg.account);
    },
    async save(state) {
      const json = JSON.stringify(state);
      if (json === lastJson) return;
      const wait = lastWrite + cfg.stateWriteIntervalMs - Date.now();
      if (kv && wait > 0) await sleep(wait);
      if (kv) await kv.put(cfg.stateKey, json);
      else memoryState.set(cfg.stateKey, json);
      lastJson = json;
      lastWrite = Date.now();
      writes += 1;
    },
  };
}

/**
 * One run: connect, log in, sync, deliver. Resolves to a report (plain JSON). Errors are
 * thrown with a `code` (a Pop3Error code, 'webhook' or 'config').
 */
export async function runOnce(pop3, env, { wasmTlsAvailable, trigger }) {
  const cfg = readConfig(env, { wasmTlsAvailable });
  const store = stateStore(env, cfg, pop3);
  const started = Date.now();
  const state = await store.load();
  // An access token kept fresh in KV by something outside the worker (tokens live ~1 hour).
  let accessToken = cfg.accessToken;
  if (cfg.accessTokenKvKey) {
    accessToken = (await env.STATE.get(cfg.accessTokenKvKey))?.trim();
    if (!accessToken) throw new ConfigError(`no access token in KV under ${cfg.accessTokenKvKey}`);
  }
  const collected = [];
  const client = await pop3.connect({
    host: cfg.host,
    port: cfg.port,
    tls: cfg.tls,
    tlsProvider: cfg.tlsProvider,
    ...(cfg.tlsProvider === 'wasm' ? { serverName: cfg.serverName ?? cfg.host, ca: cfg.ca } : {}),
    connectTimeoutMs: 15000,
    replyTimeoutMs: 60000,
  });
  let report;
  try {
    const loginOptions = { mechanism: cfg.mechanism, allowCleartext: cfg.allowCleartext };
    if (accessToken) await client.loginWithToken(cfg.user, accessToken, loginOptions);
    else await client.login(cfg.user, cfg.password, loginOptions);
    report = await client.sync({
      state,
      retention: cfg.deleteAfterDelivery ? 'delete' : 'keep',
      maxMessages: cfg.maxMessages,
      // A webhook post is not idempotent: record each message before posting the next.
      recordEvery: 1,
      save: async ({ uid, bytes }) => {
        const summary = summarize(pop3, cfg, uid, bytes);
        if (cfg.webhookUrl) await postWebhook({ url: cfg.webhookUrl, token: cfg.webhookToken }, summary);
        else collected.push(summary);
      },
      saveState: (s) => store.save(s),
    });
  } catch (e) {
    // sync() ends the session itself; after a failed login the connection is still open.
    await client.close().catch(() => {});
    throw e;
  }
  const result = {
    ok: true,
    trigger,
    account: cfg.account,
    tlsProvider: cfg.tlsProvider,
    tls: client.tlsInfo,
    state: store.kind,
    stateWrites: store.writes,
    onServer: report.onServer,
    delivered: report.saved,
    deliveredUids: report.savedUids,
    alreadyDelivered: report.alreadySaved,
    deleted: report.deleted,
    warnings: report.warnings,
    ms: Date.now() - started,
  };
  if (!cfg.webhookUrl) result.messages = collected;
  return result;
}

/** What a failed run reports: never a password or token (the library's errors hold none). */
function failure(e, trigger) {
  const code = typeof e?.code === 'string' ? e.code : 'internal';
  return {
    ok: false,
    trigger,
    error: { code, message: String(e?.message ?? e), transient: Boolean(e?.transient), ...(e?.status ? { status: e.status } : {}) },
  };
}

function log(result) {
  // Counts and ids only: no credentials, no message content.
  const { messages, ...rest } = result;
  console.log(JSON.stringify({ pop3Worker: rest }));
}

const json = (body, status = 200) => new Response(JSON.stringify(body, null, 2), {
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
});

/** The Worker: `scheduled` (cron) and `fetch` (POST /run with the trigger token, for testing). */
export function makeWorker(pop3, { wasmTlsAvailable }) {
  return {
    async scheduled(controller, env) {
      let result;
      try {
        if (!env.WEBHOOK_URL) throw new ConfigError('WEBHOOK_URL is not set: a scheduled run has nowhere to deliver to');
        result = await runOnce(pop3, env, { wasmTlsAvailable, trigger: `cron ${controller?.cron ?? ''}`.trim() });
      } catch (e) {
        result = failure(e, 'cron');
        log(result);
        // Marks the invocation as failed (visible in the dashboard and `wrangler tail`).
        throw new Error(`${result.error.code}: ${result.error.message}`);
      }
      log(result);
    },

    async fetch(request, env) {
      const url = new URL(request.url);
      // Without a TRIGGER_TOKEN the endpoint does not exist: it is not an open trigger.
      if (!env.TRIGGER_TOKEN) return json({ ok: false, error: { code: 'disabled', message: 'not found' } }, 404);
      if (!(await bearerMatches(request, env.TRIGGER_TOKEN))) {
        return new Response(JSON.stringify({ ok: false, error: { code: 'unauthorized', message: 'a valid Authorization: Bearer token is required' } }), {
          status: 401,
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
        });
      }
      if (url.pathname !== '/run') return json({ ok: false, error: { code: 'not-found', message: 'POST /run' } }, 404);
      if (request.method !== 'POST') return json({ ok: false, error: { code: 'method', message: 'POST /run' } }, 405);
      let result;
      try {
        result = await runOnce(pop3, env, { wasmTlsAvailable, trigger: 'fetch' });
      } catch (e) {
        result = failure(e, 'fetch');
        log(result);
        const status = result.error.code === 'config' || result.error.code === 'usage' ? 500 : 502;
        return json(result, status);
      }
      log(result);
      return json(result);
    },
  };
}
