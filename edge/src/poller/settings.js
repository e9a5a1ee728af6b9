// Deployment-wide settings of the poller (wrangler.poller.toml [vars]), read and checked in
// one place. Per-mailbox settings are in mailbox-config.js.

export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
    this.code = 'config';
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
export const flag = (v) => TRUE.has(String(v ?? '').trim().toLowerCase());

function int(env, name, fallback, min, max = Number.MAX_SAFE_INTEGER) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

const cache = new WeakMap();

/** The settings from the environment (cached per env object: they do not change while it lives). */
export function readSettings(env) {
  let s = cache.get(env);
  if (s) return s;
  s = {
    // Mailboxes are spread over this many Directory objects by a hash of their id. Choose
    // it once: changing it later moves mailboxes to shards that do not know them.
    shards: int(env, 'DIRECTORY_SHARDS', 16, 1, 1024),
    // The cron trigger's period: one tick per cron run.
    tickSeconds: int(env, 'TICK_SECONDS', 60, 1, 3600),
    // Ticks a late cron run makes up for (Cron Triggers can be skipped or delayed).
    catchUpTicks: int(env, 'CATCH_UP_TICKS', 10, 1, 1440),
    defaultIntervalSeconds: int(env, 'DEFAULT_INTERVAL_SECONDS', 300, 1, 86400),
    minIntervalSeconds: int(env, 'MIN_INTERVAL_SECONDS', 60, 1, 86400),
    // Queue retries: base * 2^(attempt-1), at most max (Queues' delaySeconds allows 12 h).
    retryBaseSeconds: int(env, 'RETRY_BASE_SECONDS', 30, 0, 43200),
    retryMaxSeconds: int(env, 'RETRY_MAX_SECONDS', 3600, 0, 43200),
    // After consecutive failures the schedule backs off as well, up to this.
    backoffMaxSeconds: int(env, 'BACKOFF_MAX_SECONDS', 6 * 3600, 0, 7 * 86400),
    maxMessagesPerRun: int(env, 'MAX_MESSAGES_PER_RUN', 50, 1, 10000),
    // A Durable Object has 128 MB; a larger message is left on the server (with a warning).
    maxMessageBytes: int(env, 'MAX_MESSAGE_BYTES', 25 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 15000, 100, 300000),
    connectTimeoutMs: int(env, 'CONNECT_TIMEOUT_MS', 15000, 100, 300000),
    replyTimeoutMs: int(env, 'REPLY_TIMEOUT_MS', 60000, 100, 600000),
    // An empty poll writes nothing; its "last run" is persisted at most this often.
    statusPersistSeconds: int(env, 'STATUS_PERSIST_SECONDS', 3600, 0, 7 * 86400),
    allowHttpWebhooks: flag(env.ALLOW_HTTP_WEBHOOKS),
    logEmptyPolls: flag(env.LOG_EMPTY_POLLS),
  };
  if (s.minIntervalSeconds > s.defaultIntervalSeconds) throw new ConfigError('MIN_INTERVAL_SECONDS is above DEFAULT_INTERVAL_SECONDS');
  cache.set(env, s);
  return s;
}

/** FNV-1a, 32 bits: a stable hash of a mailbox id, for its shard and its phase. */
export function hash32(text) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Delay before the queue retries a message for the `attempt`-th time (1-based). */
export function retryDelaySeconds(settings, attempt) {
  const exp = Math.min(Math.max(attempt, 1) - 1, 20);
  return Math.min(settings.retryBaseSeconds * 2 ** exp, settings.retryMaxSeconds);
}

/** How far the schedule moves a mailbox out after `failures` consecutive failed runs. */
export function backoffSeconds(settings, intervalSeconds, failures) {
  const exp = Math.min(Math.max(failures, 1) - 1, 20);
  return Math.min(intervalSeconds * 2 ** exp, Math.max(settings.backoffMaxSeconds, intervalSeconds));
}
