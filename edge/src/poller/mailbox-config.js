// One mailbox's configuration, as the admin API receives it: checked, split into the public
// part (stored as is) and the secrets (stored encrypted, see secrets.js).

/** Mailbox ids: they name the Durable Object and appear in URLs and logs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

/** A request the admin API refuses (HTTP 400). Its message never repeats a secret. */
export class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputError';
    this.code = 'input';
  }
}

const FIELDS = new Set(['host', 'port', 'tls', 'user', 'password', 'accessToken', 'mechanism', 'allowCleartext',
  'intervalSeconds', 'retention', 'maxMessagesPerRun', 'webhook', 'r2']);
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/;
const PRINTABLE = /^[^\x00-\x1f\x7f]+$/;

function text(value, name, { max = 255, pattern = PRINTABLE } = {}) {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !pattern.test(value)) {
    throw new InputError(`${name} must be a non-empty string of at most ${max} characters without control characters`);
  }
  return value;
}

function secret(value, name) {
  // The value itself is never part of the message.
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192 || /[\r\n\0]/.test(value)) {
    throw new InputError(`${name} must be a non-empty string without line breaks (at most 8192 characters)`);
  }
  return value;
}

function integer(value, name, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function webhookUrl(value, settings) {
  let u;
  try { u = new URL(text(value, 'webhook.url', { max: 2048 })); } catch (e) {
    throw e instanceof InputError ? e : new InputError('webhook.url is not a URL');
  }
  if (u.protocol === 'https:') return u.href;
  if (u.protocol === 'http:' && settings.allowHttpWebhooks) return u.href;
  throw new InputError(settings.allowHttpWebhooks ? 'webhook.url must be http(s)' : 'webhook.url must be https (ALLOW_HTTP_WEBHOOKS=true permits http)');
}

/**
 * Checks a PUT (`replace`) or PATCH body against the mailbox as stored (`existing`, or null
 * when it is new). Returns { config, secrets } where `secrets` holds only what the request
 * sets: { password | accessToken, webhookToken } (undefined fields keep the stored ones).
 * The account (user and host) cannot change: its sync state and stored mail belong to it.
 */
export function checkMailboxInput(id, input, existing, { replace, settings, hasBucket }) {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new InputError('the body must be a JSON object');
  for (const key of Object.keys(input)) if (!FIELDS.has(key)) throw new InputError(`unknown field ${JSON.stringify(key)}`);
  const base = existing && !replace ? existing : {};
  const pick = (key) => (key in input ? input[key] : base[key]);

  const host = text(pick('host'), 'host', { max: 253, pattern: HOST });
  const user = text(pick('user'), 'user');
  if (existing && (host !== existing.host || user !== existing.user)) {
    throw new InputError('host and user cannot change (they name the account whose mail was delivered); add a new mailbox instead');
  }
  const tls = pick('tls') ?? 'implicit';
  if (!['implicit', 'starttls', 'none'].includes(tls)) throw new InputError('tls must be implicit, starttls or none');
  const port = integer(pick('port') ?? (tls === 'implicit' ? 995 : 110), 'port', 1, 65535);
  const mechanism = text(pick('mechanism') ?? 'auto', 'mechanism', { max: 32, pattern: /^[A-Za-z0-9-]+$/ }).toLowerCase();
  const allowCleartext = pick('allowCleartext') ?? false;
  if (typeof allowCleartext !== 'boolean') throw new InputError('allowCleartext must be true or false');
  const intervalSeconds = integer(pick('intervalSeconds') ?? settings.defaultIntervalSeconds, 'intervalSeconds', settings.minIntervalSeconds, 86400);
  const maxMessagesPerRun = integer(pick('maxMessagesPerRun') ?? settings.maxMessagesPerRun, 'maxMessagesPerRun', 1, settings.maxMessagesPerRun);

  let retention = pick('retention') ?? 'keep';
  if (typeof retention === 'object' && retention !== null && !Array.isArray(retention)) {
    retention = { olderThanDays: integer(retention.olderThanDays, 'retention.olderThanDays', 1, 3650) };
  } else if (retention !== 'keep' && retention !== 'delete') {
    throw new InputError("retention must be 'keep', 'delete' or { olderThanDays }");
  }

  const secrets = {};
  if (input.password !== undefined && input.accessToken !== undefined) throw new InputError('give password or accessToken, not both');
  if (input.password !== undefined) secrets.password = secret(input.password, 'password');
  if (input.accessToken !== undefined) secrets.accessToken = secret(input.accessToken, 'accessToken');
  if (!existing && !secrets.password && !secrets.accessToken) throw new InputError('a new mailbox needs password or accessToken');

  // The webhook token is kept only while the URL stays the same: it is never sent to a
  // receiver it was not given for.
  let webhook = null;
  if ('webhook' in input && input.webhook !== null) {
    const w = input.webhook;
    if (typeof w !== 'object' || Array.isArray(w)) throw new InputError('webhook must be { url, token? } or null');
    for (const key of Object.keys(w)) if (key !== 'url' && key !== 'token') throw new InputError(`unknown field webhook.${key}`);
    const url = webhookUrl(w.url, settings);
    let hasToken;
    if (w.token === undefined) hasToken = Boolean(existing?.webhook?.hasToken && existing.webhook.url === url);
    else if (w.token === null) hasToken = false;
    else {
      secrets.webhookToken = secret(w.token, 'webhook.token');
      hasToken = true;
    }
    webhook = { url, hasToken };
  } else if (!('webhook' in input) && !replace && existing?.webhook) {
    webhook = existing.webhook;
  }
  if (!webhook?.hasToken && existing?.webhook?.hasToken) secrets.webhookToken = null;

  let r2 = pick('r2') ?? null;
  if (r2 === true) r2 = { prefix: 'mail/' };
  if (r2 === false) r2 = null;
  if (r2 !== null) {
    if (typeof r2 !== 'object' || Array.isArray(r2)) throw new InputError('r2 must be true, { prefix } or null');
    for (const key of Object.keys(r2)) if (key !== 'prefix') throw new InputError(`unknown field r2.${key}`);
    const prefix = r2.prefix ?? 'mail/';
    if (typeof prefix !== 'string' || prefix.length > 200 || !/^[A-Za-z0-9!_.*'()/-]*$/.test(prefix)) {
      throw new InputError("r2.prefix must be at most 200 characters of letters, digits and !_.*'()/-");
    }
    if (!hasBucket) throw new InputError('r2 delivery needs the MAIL_BUCKET binding (an R2 bucket) in wrangler.poller.toml');
    r2 = { prefix };
  }
  if (!webhook && !r2) throw new InputError('give webhook, r2, or both: a mailbox needs somewhere to deliver to');

  return {
    config: {
      id,
      account: `${user}@${host}`,
      host,
      port,
      tls,
      user,
      mechanism,
      allowCleartext,
      intervalSeconds,
      retention,
      maxMessagesPerRun,
      webhook,
      r2,
    },
    secrets,
  };
}
