// What a failed run means for the schedule: retry later (transient) or stop polling the
// mailbox until someone updates it (permanent). Errors come from pop3-wasm (Pop3Error: code,
// responseCode, transient), from delivery (webhook, R2) and from this worker (credentials,
// configuration).

/** Delivery to R2 failed; R2 errors are treated as passing. */
export class StoreError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StoreError';
    this.code = 'r2';
    this.transient = true;
  }
}

const PERMANENT_CODES = new Set([
  'auth', // wrong password, revoked token, no acceptable mechanism
  'tls', // certificate refused, or a STARTTLS the server does not offer
  'usage', // e.g. a sync state that does not check (never replaced by an empty one)
  'credentials', // the stored secrets do not open with the configured key
  'config',
]);

/**
 * { kind: 'transient' | 'permanent' | 'deletions-uncertain', code, message, ... } for an
 * error thrown by a run. The message is the error's own: the library and this worker never
 * put a password or token into one.
 */
export function classify(e) {
  const code = typeof e?.code === 'string' ? e.code : 'internal';
  const info = { code, message: String(e?.message ?? e).slice(0, 1000) };
  if (e?.responseCode) info.responseCode = e.responseCode;
  if (e?.status) info.status = e.status;
  // Every message was delivered and recorded; only QUIT's outcome is unknown (pop3-wasm
  // marks such errors deletionsUncertain). The next run deletes or forgets them.
  if (e?.deletionsUncertain === true) return { kind: 'deletions-uncertain', ...info };
  if (e?.responseCode === 'SYS/PERM') return { kind: 'permanent', ...info };
  if (code === 'webhook') return { kind: e.transient ? 'transient' : 'permanent', ...info };
  if (PERMANENT_CODES.has(code) && !e?.transient) return { kind: 'permanent', ...info };
  // Network, timeouts, [SYS/TEMP], [IN-USE], [LOGIN-DELAY], R2, and what is not understood
  // (a protocol error from a flaky server): retried with back-off, never dropped silently.
  return { kind: 'transient', ...info };
}
