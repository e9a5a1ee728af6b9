// A byte stream over Node's `net` and `tls`, in the { read, write, close, startTls, tlsInfo }
// shape the client takes. Certificates and host names are always verified; a private CA can
// be added to Node's built-in roots with `ca`.

import net from 'node:net';
import tls from 'node:tls';

import { Pop3Error } from './api.js';

// Errors are classified by their cause (Node's `code`), never by their message: Node's
// message for a connection cut during the TLS handshake ("Client network socket disconnected
// before secure TLS connection was established") speaks of TLS, but the cause is ECONNRESET.
/** A closed or reset connection, wherever it happens (the TLS handshake included). */
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ENOTCONN', 'ERR_STREAM_DESTROYED',
  'ERR_SSL_UNEXPECTED_EOF_WHILE_READING']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ERR_TLS_HANDSHAKE_TIMEOUT']);
/**
 * TLS itself failed: a certificate that does not verify (OpenSSL's verify results, Node's
 * host name check), or OpenSSL's own errors (an alert, no common version, bytes that are
 * not TLS).
 */
const TLS_CODE = /^(CERT_|CRL_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERROR_IN_C|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH|HOSTNAME_MISMATCH|ERR_TLS_|ERR_SSL_)/;

/** The Pop3Error code of a Node socket error: 'closed', 'timeout', 'tls' or 'transport'. */
function nodeErrorKind(e) {
  const code = e && e.code ? String(e.code) : '';
  if (CLOSED_CODES.has(code)) return 'closed';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (TLS_CODE.test(code)) return 'tls';
  return 'transport';
}

/** OpenSSL's verify results and Node's host name check, by what a user must do about them. */
const CERTIFICATE_PROBLEMS = new Map([
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unknownIssuer'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'unknownIssuer'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unknownIssuer'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'unknownIssuer'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'unknownIssuer'],
  ['CERT_HAS_EXPIRED', 'expired'],
  ['CERT_NOT_YET_VALID', 'notYetValid'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'nameMismatch'],
  ['HOSTNAME_MISMATCH', 'nameMismatch'],
  ['CERT_REVOKED', 'revoked'],
]);

/**
 * The names a certificate is valid for, from Node's `subjectaltname` ("DNS:localhost,
 * IP Address:127.0.0.1"); other kinds (URI, email) are not names a user could type.
 */
function certificateNames(cert) {
  const names = [];
  for (const entry of String(cert?.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) names.push(entry.slice(11));
  }
  return names;
}

/**
 * The same detail the wasm TLS gives for a refused certificate (ErrorDetail 'certificate'), or
 * null when `e` is not about the certificate.
 */
function certificateDetail(e, serverName) {
  const code = e && e.code ? String(e.code) : '';
  const problem = CERTIFICATE_PROBLEMS.get(code) ?? (/^(CERT_|UNABLE_TO_|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH)/.test(code) ? 'other' : null);
  if (!problem || serverName === undefined) return null;
  const names = problem === 'nameMismatch' ? certificateNames(e.cert) : [];
  return { type: 'certificate', problem, serverName, names };
}

/**
 * Maps a Node socket error to a Pop3Error with the right code; `serverName`, for a TLS
 * handshake, the name the certificate was checked against.
 */
function nodeError(e, context, serverName) {
  const kind = nodeErrorKind(e);
  const transient = kind !== 'tls';
  const detail = kind === 'tls' ? certificateDetail(e, serverName) : null;
  const err = new Pop3Error(`${context}: ${e && e.message ? e.message : String(e)}`, { code: kind, transient, detail, cause: e });
  err.pop3Kind = kind;
  return err;
}

/** The roots to trust: Node's, plus the caller's private CA certificates (PEM). */
function trustedRoots(ca) {
  if (ca === undefined || ca === null) return undefined;
  const extra = Array.isArray(ca) ? ca : [ca];
  return [...tls.rootCertificates, ...extra.map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8')))];
}

const HIGH_WATER = 1 << 20;

/** A connected socket as a byte stream. */
export class NodeSocketStream {
  #socket;
  #chunks = [];
  #queued = 0;
  #waiter = null;
  #ended = false;
  #error = null;
  #host;
  #tlsOptions;

  constructor(socket, { host, tlsOptions, reader = null }) {
    this.#host = host;
    this.#tlsOptions = tlsOptions;
    this.#attach(socket);
    // A plain socket opened with `onread` hands its bytes to this reader instead of 'data'
    // (what arrived before this object existed first).
    if (reader) {
      for (const chunk of reader.early) this.#received(chunk, false);
      reader.deliver = (view) => this.#received(view, true);
    }
  }

  /**
   * Bytes from the socket. `shared`: a view of the socket's reused read buffer, valid only
   * until the next read: handed to a waiting reader as it is (the client copies it before it
   * asks again), copied when it has to wait in the queue.
   */
  #received(chunk, shared) {
    if (this.#waiter) {
      const { resolve } = this.#waiter;
      this.#waiter = null;
      resolve(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      return true;
    }
    this.#chunks.push(shared ? Buffer.from(chunk) : chunk);
    this.#queued += chunk.length;
    // Back-pressure: stop reading from the network while the client is behind.
    if (this.#queued > HIGH_WATER) {
      this.#socket.pause();
      return false;
    }
    return true;
  }

  #attach(socket) {
    this.#socket = socket;
    socket.on('data', (chunk) => { this.#received(chunk, false); });
    socket.on('end', () => { this.#ended = true; this.#wake(); });
    socket.on('close', () => { this.#ended = true; this.#wake(); });
    socket.on('error', (e) => { this.#error = nodeError(e, `connection to ${this.#host}`); this.#wake(); });
  }

  #wake() {
    if (!this.#waiter) return;
    const { resolve, reject } = this.#waiter;
    this.#waiter = null;
    if (this.#error) reject(this.#error);
    else resolve(null);
  }

  /** The next chunk of bytes, or null at the end of the stream. */
  read() {
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift();
      this.#queued -= chunk.length;
      if (this.#queued <= HIGH_WATER / 2 && this.#socket.isPaused()) this.#socket.resume();
      return Promise.resolve(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (this.#waiter) return Promise.reject(new Pop3Error('read() called while another read is pending', { code: 'usage' }));
    return new Promise((resolve, reject) => { this.#waiter = { resolve, reject }; });
  }

  write(bytes) {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      // Copy: the caller may wipe its buffer (it can hold a password) once this resolves.
      this.#socket.write(Buffer.from(bytes), (e) => (e ? reject(nodeError(e, `writing to ${this.#host}`)) : resolve()));
    });
  }

  close() {
    const socket = this.#socket;
    return new Promise((resolve) => {
      if (socket.destroyed) return resolve();
      const timer = setTimeout(() => { socket.destroy(); resolve(); }, 2000);
      socket.end(() => { clearTimeout(timer); socket.destroy(); resolve(); });
    });
  }

  /** Upgrades to TLS in place (after the server accepted STLS). */
  async startTls() {
    if (this.#chunks.length > 0) {
      const err = new Pop3Error('the server sent data before the TLS handshake (STARTTLS injection)', { code: 'tls' });
      err.pop3Kind = 'tls';
      throw err;
    }
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const secure = await secureConnect({ ...this.#tlsOptions, socket: plain }, this.#host);
    this.#ended = false;
    this.#attach(secure);
  }

  /** { version, cipher } when the connection is encrypted, else null. */
  get tlsInfo() {
    if (!(this.#socket instanceof tls.TLSSocket)) return null;
    const cipher = this.#socket.getCipher();
    return { version: this.#socket.getProtocol() ?? '', cipher: cipher ? (cipher.standardName || cipher.name) : '' };
  }
}

function secureConnect(options, host) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    const fail = (e) => { socket.destroy(); reject(nodeError(e, `TLS with ${host}`, options.servername ?? options.host)); };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      socket.removeListener('error', fail);
      resolve(socket);
    });
  });
}

/**
 * Opens a connection. `tls`: 'none' (plain, also for a later STLS), 'implicit' (POP3S, port
 * 995), or 'starttls' (plain now; the client upgrades after the greeting). `ca`: extra CA
 * certificates (PEM) trusted on top of Node's roots. `serverName`: the name to verify
 * (default: `host`, unless it is an IP address, which is checked against the certificate's
 * IP addresses).
 */
export async function openNodeStream({ host, port, tls: mode = 'none', ca, serverName, servername: deprecatedName, connectTimeoutMs = 30000, signal }) {
  // `serverName` is the one spelling; `servername` (Node's) is its deprecated alias.
  const servername = serverName ?? deprecatedName;
  if (typeof host !== 'string' || host === '') throw new Pop3Error('host must be a non-empty string', { code: 'usage' });
  const defaultPort = mode === 'implicit' ? 995 : 110;
  const p = port ?? defaultPort;
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Pop3Error(`invalid port ${String(port)}`, { code: 'usage' });
  if (!['none', 'implicit', 'starttls'].includes(mode)) {
    throw new Pop3Error(`tls must be 'none', 'implicit' or 'starttls' (got ${JSON.stringify(mode)})`, { code: 'usage' });
  }
  const tlsOptions = {
    host,
    port: p,
    servername: servername ?? (net.isIP(host) ? undefined : host),
    ca: trustedRoots(ca),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
  const where = `${host}:${p}`;
  // A plain connection that stays plain reads into one reused buffer: no allocation per read,
  // so streaming a large message does not leave its size in garbage behind. (An STLS upgrade
  // needs the ordinary socket, which TLS can take over.)
  const reader = mode === 'none'
    ? { early: [], deliver(view) { this.early.push(Buffer.from(view)); return true; } }
    : null;
  const onread = reader ? { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n, buf) => reader.deliver(buf.subarray(0, n)) } : undefined;
  const socket = await new Promise((resolve, reject) => {
    const s = mode === 'implicit' ? tls.connect(tlsOptions) : net.connect({ host, port: p, ...(onread ? { onread } : {}) });
    const ready = mode === 'implicit' ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      s.destroy();
      const err = new Pop3Error(`connecting to ${where} took longer than ${connectTimeoutMs} ms`, { code: 'timeout', transient: true });
      reject(err);
    }, connectTimeoutMs);
    const onAbort = () => { clearTimeout(timer); s.destroy(); reject(new Pop3Error('the call was aborted', { code: 'aborted' })); };
    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    s.once('error', (e) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); reject(nodeError(e, `cannot connect to ${where}`, mode === 'implicit' ? (tlsOptions.servername ?? host) : undefined)); });
    s.once(ready, () => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); s.removeAllListeners('error'); resolve(s); });
  });
  socket.setNoDelay(true);
  return new NodeSocketStream(socket, { host: where, tlsOptions, reader });
}
