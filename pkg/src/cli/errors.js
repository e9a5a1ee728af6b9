// Exit codes, the CLI's own error type, and the one-line error format.

import { Pop3Error } from '../api.js';
import { sanitizeLine } from './format.js';

/** Exit codes (documented in `pop3 --help`). */
export const EXIT = Object.freeze({
  /** Success; for pop3 fetch: new mail was delivered. */
  OK: 0,
  /** pop3 fetch: no failure, and nothing new (fetchmail's convention). */
  NOTHING_NEW: 1,
  USAGE: 2,
  AUTH: 3,
  SERVER: 4,
  NETWORK: 5,
  TLS: 6,
  PROTOCOL: 7,
  LOCAL: 8,
  /** The MDA command failed (non-zero exit status or killed): the message was not delivered. */
  MDA: 9,
  /** Busy: another pop3 run holds the state's lock, or the mbox lock was not released in time. */
  BUSY: 10,
  /** The WebSocket proxy refused the connection with an HTTP status (such as 403 Invalid Origin). */
  PROXY_REFUSED: 11,
  /** A bug: an unexpected internal error (EX_SOFTWARE). */
  UNEXPECTED: 70,
  INTERRUPTED: 130,
});

/** An error raised by the CLI itself (bad arguments, Maildir trouble, ...), with its exit code. */
export class CliError extends Error {
  constructor(message, exitCode, { hint = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export const usageError = (message, hint) => new CliError(message, EXIT.USAGE, { hint });

const BY_CODE = {
  usage: EXIT.USAGE,
  auth: EXIT.AUTH,
  server: EXIT.SERVER,
  transport: EXIT.NETWORK,
  closed: EXIT.NETWORK,
  timeout: EXIT.NETWORK,
  tls: EXIT.TLS,
  protocol: EXIT.PROTOCOL,
  limit: EXIT.PROTOCOL,
  aborted: EXIT.INTERRUPTED,
};

/** The exit code for anything thrown. */
export function exitCodeFor(err) {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof Pop3Error && BY_CODE[err.code] !== undefined) return BY_CODE[err.code];
  return EXIT.UNEXPECTED;
}

/** A hint for errors a user can fix with a flag. */
function hintFor(err) {
  if (err instanceof CliError) return err.hint;
  const msg = String(err && err.message);
  if (err && err.code === 'usage' && /cleartext/i.test(msg)) {
    return 'use --tls starttls or --tls implicit, or pass --allow-cleartext to send it anyway';
  }
  if (err && err.code === 'tls' && /certificate|verify|issuer|self.signed|CERT_/i.test(msg)) {
    return 'for a private CA pass --ca FILE; to check another name, --server-name NAME';
  }
  return null;
}

/**
 * Formats an error as one line: `pop3: <message> [CODE]: server said "..." (hint)`. Server texts
 * arrive with every credential already removed (the library redacts them, in Rust, for every
 * face), so nothing is masked here a second time.
 */
export function formatError(err) {
  let msg = err && err.message ? String(err.message) : String(err);
  if (err && err.responseCode && !msg.includes(`[${err.responseCode}]`)) msg += ` [${err.responseCode}]`;
  if (err && err.serverText && !msg.includes(err.serverText)) msg += `: server said "${err.serverText}"`;
  const hint = hintFor(err);
  if (hint) msg += ` (${hint})`;
  return `pop3: ${sanitizeLine(msg)}`;
}
