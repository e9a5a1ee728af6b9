// What both edge workers share: the JSON summary of a message, the webhook POST, and the
// constant-time bearer check of their HTTP endpoints. No pop3-wasm import here: the summary
// is given the library the entry file imported.

/** Longest text snippet, in characters. */
const SNIPPET_CHARS = 500;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 15000;

/**
 * The webhook did not take a message. `transient`: worth retrying later (no answer, a
 * timeout, 5xx, 408, 429); otherwise the receiver refused it for good (other 4xx), which a
 * retry will not change.
 */
export class WebhookError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'WebhookError';
    this.code = 'webhook';
    this.status = status;
    this.transient = status === undefined || status >= 500 || status === 408 || status === 429;
  }
}

const addresses = (list) => (list ?? []).map((a) => ({ name: a.name, address: a.address }));

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** A rough plain-text rendering of HTML, for the snippet of an HTML-only message. */
function htmlToText(html) {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+\d*);/gi, (m, name) => {
      const key = name.toLowerCase();
      if (ENTITIES[key]) return ENTITIES[key];
      if (key.startsWith('#x')) return String.fromCodePoint(parseInt(key.slice(2), 16) || 32);
      if (key.startsWith('#')) return String.fromCodePoint(parseInt(key.slice(1), 10) || 32);
      return m;
    });
}

function snippet(text) {
  const clean = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  return chars.length > SNIPPET_CHARS ? chars.slice(0, SNIPPET_CHARS).join('') : clean;
}

/** The JSON summary of one message (what the webhook receives). */
export function summarize(pop3, { account }, uid, bytes) {
  const summary = { account, uid, size: bytes.length };
  let m;
  try {
    m = pop3.parseMessage(bytes);
  } catch (e) {
    return { ...summary, parseError: String(e?.message ?? e) };
  }
  const fromHtml = m.text == null && m.html != null;
  return {
    ...summary,
    from: addresses(m.from),
    to: addresses(m.to),
    cc: addresses(m.cc),
    subject: m.subject,
    date: m.date ?? m.dateRaw,
    messageId: m.messageId,
    text: snippet(fromHtml ? htmlToText(m.html) : m.text ?? ''),
    textFromHtml: fromHtml,
    attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, inline: a.inline })),
  };
}

/**
 * POSTs a summary; resolves only when the webhook answered 2xx. The Idempotency-Key is the
 * same for the same message forever, so a receiver can drop a repeated delivery.
 */
export async function postWebhook({ url, token, timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS }, summary) {
  const headers = {
    'content-type': 'application/json',
    'idempotency-key': `${summary.account}/${summary.uid}`,
    'user-agent': 'pop3-wasm-edge-worker',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(summary),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const why = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(e?.message ?? e);
    throw new WebhookError(`the webhook could not be reached: ${why}`);
  }
  // Read the body so the connection can be reused; its content does not matter.
  await res.arrayBuffer().catch(() => {});
  if (res.status < 200 || res.status > 299) {
    throw new WebhookError(`the webhook answered ${res.status} for message ${summary.uid}`, res.status);
  }
}

async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * Whether the request carries `Authorization: Bearer <expected>`. Both sides are hashed
 * first, so the comparison takes the same time whatever the lengths, and compared in
 * constant time. An empty or missing `expected` never matches.
 */
export async function bearerMatches(request, expected) {
  if (!expected) return false;
  const header = request.headers.get('authorization') ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  if (crypto.subtle.timingSafeEqual) return crypto.subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
