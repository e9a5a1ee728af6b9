// A byte stream over Cloudflare Workers' TCP sockets (`connect()` from `cloudflare:sockets`,
// also in workerd), in the { read, write, close, startTls, tlsInfo } shape the client takes.
//
// TLS is done by the runtime: `secureTransport: 'on'` for POP3S, `'starttls'` for STLS (then
// `socket.startTls()` hands back a new socket). The runtime verifies the certificate against
// its roots and the host name given to connect(); it cannot be told to trust a private CA.
// For that (or for pinning), run TLS inside the wasm module over a plain socket
// (`tlsProvider: 'wasm'` with the 'pop3-wasm/tls' entry).

import { connect as socketConnect } from 'cloudflare:sockets';

import { Pop3Error } from './api.js';

/**
 * The runtime's socket errors carry only a message. A closed or reset connection is 'closed'
 * (transient) wherever it happens, the TLS handshake included, even when the message also
 * speaks of TLS; a refused one is 'transport'. For a failed handshake the runtime often says
 * only "internal error" or "proxy request failed", the same for an untrusted certificate and
 * for a connection cut in the handshake: a second handshake tells them apart (see
 * `handshakeSucceeds`).
 */
const TLS_MESSAGE = /\bTLS\b|\bSSL\b|certificate|handshake|x509|self[- ]signed/i;
// workerd says "Network connection lost." when the peer resets the connection.
const CLOSED_MESSAGE = /reset|broken pipe|closed|disconnected|connection lost|\bEOF\b|cancel/i;
const REFUSED_MESSAGE = /refused|unreachable|not permitted|proxy request failed|cannot connect|DNS|lookup|no such host/i;

/** Maps a runtime error to a Pop3Error with `pop3Kind` set (as the client expects). */
function socketError(e, context, { duringTls = false } = {}) {
  if (e instanceof Pop3Error) return e;
  const message = e && e.message ? String(e.message) : String(e);
  let kind;
  if (REFUSED_MESSAGE.test(message)) kind = 'transport';
  else if (CLOSED_MESSAGE.test(message)) kind = 'closed';
  else if (TLS_MESSAGE.test(message) || duringTls) kind = 'tls';
  else kind = 'transport';
  const transient = kind !== 'tls';
  const err = new Pop3Error(`${context}: ${message}`, { code: kind, transient, cause: e });
  err.pop3Kind = kind;
  return err;
}

/** The error for a handshake that failed where a second one succeeded: the first was cut. */
function cutHandshake(e, where) {
  const err = new Pop3Error(`the TLS handshake with ${where} was cut (a second handshake succeeded; `
    + `the runtime says only: ${e?.message ?? e})`, { code: 'closed', transient: true, cause: e });
  err.pop3Kind = 'closed';
  return err;
}

function fail(kind, message, transient = false) {
  const err = new Pop3Error(message, { code: kind, transient });
  err.pop3Kind = kind;
  return err;
}

/** Resolves with `promise`, or rejects after `ms` with a 'timeout' error. */
function withTimeout(promise, ms, message) {
  if (!ms) return promise;
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(fail('timeout', message, true)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** How long close() waits for the runtime: `socket.close()` does not always settle. */
const CLOSE_TIMEOUT_MS = 2000;

/** A connected Workers socket as a byte stream. */
export class CloudflareSocketStream {
  #socket;
  #reader;
  #writer;
  #where;
  #secure;
  #reading = false;
  #closed = false;
  #handshakeTimeoutMs;
  #probeStls;

  /**
   * @param socket a Socket from `connect()`; `secure`: whether it is (or will be, for 'on') TLS.
   * `probeStls`: resolves to whether a new STLS handshake with the server succeeds (to tell a
   * cut handshake from a refused certificate).
   */
  constructor(socket, { where, secure = false, handshakeTimeoutMs = 30000, probeStls = null }) {
    this.#where = where;
    this.#secure = secure;
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
    this.#probeStls = probeStls;
    this.#attach(socket);
  }

  #attach(socket) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
    // Keep an unobserved rejection of `closed` from being reported as unhandled.
    socket.closed?.catch?.(() => {});
  }

  /** The next chunk of bytes, or null at the end of the stream. */
  async read() {
    if (this.#closed) return null;
    if (this.#reading) throw fail('usage', 'read() called while another read is pending');
    this.#reading = true;
    try {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      if (value instanceof Uint8Array) return value;
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    } catch (e) {
      if (this.#closed) return null;
      throw socketError(e, `reading from ${this.#where}`);
    } finally {
      this.#reading = false;
    }
  }

  async write(bytes) {
    if (this.#closed) throw fail('closed', `the connection to ${this.#where} is closed`, true);
    // workerd may leave a write to a connection the server has dropped pending forever: the
    // socket's `closed` settling ends it. (A write pipelined behind replies being read, such
    // as DELE after its record, can meet a connection cut in the middle of a reply.)
    const socket = this.#socket;
    const dropped = Promise.resolve(socket.closed).then(
      () => { throw fail('closed', `the connection to ${this.#where} was closed by the server`, true); },
      (e) => { throw e; },
    );
    try {
      // Copy: the caller wipes its buffer (it can hold a password) once this resolves.
      await Promise.race([this.#writer.write(bytes.slice()), dropped]);
    } catch (e) {
      if (e instanceof Pop3Error) throw e;
      throw socketError(e, `writing to ${this.#where}`);
    } finally {
      dropped.catch(() => {});
    }
  }

  /** Closes the socket; resolves within a bounded time even if the runtime does not settle. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    const closing = Promise.resolve().then(() => socket.close()).catch(() => {});
    let timer;
    const bound = new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MS); });
    await Promise.race([closing, bound]);
    clearTimeout(timer);
  }

  /**
   * Upgrades to TLS (after the server accepted STLS). The socket must have been opened with
   * `secureTransport: 'starttls'`; no read may be pending (the runtime refuses to upgrade a
   * stream that is being read), and nothing may have arrived since the STLS reply.
   */
  async startTls() {
    if (this.#closed) throw fail('closed', `the connection to ${this.#where} is closed`, true);
    if (this.#secure) throw fail('usage', 'the connection is already encrypted');
    if (this.#reading) {
      throw fail('usage', 'startTls() called while a read is pending (the runtime cannot upgrade a stream being read)');
    }
    let secure;
    try {
      this.#reader.releaseLock();
      this.#writer.releaseLock();
      secure = this.#socket.startTls();
    } catch (e) {
      throw socketError(e, `TLS with ${this.#where}`, { duringTls: true });
    }
    this.#attach(secure);
    this.#secure = true;
    try {
      // The handshake: errors (a bad certificate) surface here rather than at the first read.
      await withTimeout(secure.opened, this.#handshakeTimeoutMs, `the TLS handshake with ${this.#where} took too long`);
    } catch (e) {
      await this.close();
      if (e instanceof Pop3Error) throw e;
      // workerd reports a refused certificate as an opaque "internal error; reference = ..."
      // (the reason is in its log), and a connection cut in the handshake the same way.
      const message = String(e?.message ?? e);
      if (!CLOSED_MESSAGE.test(message) && !REFUSED_MESSAGE.test(message) && this.#probeStls && await this.#probeStls()) {
        throw cutHandshake(e, this.#where);
      }
      throw socketError(e, `the TLS handshake with ${this.#where} failed (an untrusted, expired or wrong-name certificate?)`,
        { duringTls: true });
    }
  }

  /**
   * When encrypted: { version, cipher }. The Workers runtime does not tell which TLS version
   * or cipher suite it negotiated, so both are empty strings. Null on a plain connection.
   */
  get tlsInfo() {
    return this.#secure ? { version: '', cipher: '' } : null;
  }
}

/** Reads up to the end of a line (or of the stream): the text so far. */
async function readLine(reader) {
  let text = '';
  const decoder = new TextDecoder();
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/**
 * Whether a TLS handshake with host:port succeeds now, implicit ('implicit': the greeting
 * arrives over TLS) or after STLS ('starttls'): a diagnosis after a handshake failed with the
 * runtime's opaque message. Nothing is sent but STLS; the connection is closed at once.
 */
async function handshakeSucceeds(hostname, port, mode, timeoutMs) {
  const limit = Math.min(timeoutMs || 5000, 5000);
  const sockets = [];
  try {
    const socket = socketConnect({ hostname, port }, { secureTransport: mode === 'implicit' ? 'on' : 'starttls' });
    sockets.push(socket);
    socket.closed?.catch?.(() => {});
    await withTimeout(socket.opened, limit, 'probe');
    const reader = socket.readable.getReader();
    if (mode === 'starttls') {
      const writer = socket.writable.getWriter();
      if (!/^\+OK/.test(await withTimeout(readLine(reader), limit, 'probe'))) return false;
      await withTimeout(writer.write(new TextEncoder().encode('STLS\r\n')), limit, 'probe');
      if (!/^\+OK/.test(await withTimeout(readLine(reader), limit, 'probe'))) return false;
      reader.releaseLock();
      writer.releaseLock();
      const secure = socket.startTls();
      sockets.push(secure);
      secure.closed?.catch?.(() => {});
      await withTimeout(secure.opened, limit, 'probe');
      return true;
    }
    // The greeting, decrypted: the handshake is done.
    return /^\+OK/.test(await withTimeout(readLine(reader), limit, 'probe'));
  } catch {
    return false;
  } finally {
    for (const s of sockets) Promise.resolve().then(() => s.close()).catch(() => {});
  }
}

/** Whether a plain TCP connection to host:port opens (a diagnosis after a failed TLS connect). */
async function reachable(hostname, port, timeoutMs) {
  let socket;
  try {
    socket = socketConnect({ hostname, port }, { secureTransport: 'off' });
    await withTimeout(socket.opened, Math.min(timeoutMs || 5000, 5000), 'probe');
    return true;
  } catch {
    return false;
  } finally {
    if (socket) Promise.resolve().then(() => socket.close()).catch(() => {});
  }
}

/**
 * Opens a connection with the Workers runtime. `tls`: 'none' (plain), 'implicit' (POP3S,
 * port 995: `secureTransport: 'on'`), or 'starttls' (plain now, `secureTransport:
 * 'starttls'` so the client can upgrade after STLS).
 */
export async function openCloudflareStream({ host, port, tls: mode = 'none', connectTimeoutMs = 30000, signal } = {}) {
  if (typeof host !== 'string' || host === '') throw new Pop3Error('host must be a non-empty string', { code: 'usage' });
  if (!['none', 'implicit', 'starttls'].includes(mode)) {
    throw new Pop3Error(`tls must be 'none', 'implicit' or 'starttls' (got ${JSON.stringify(mode)})`, { code: 'usage' });
  }
  const p = port ?? (mode === 'implicit' ? 995 : 110);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Pop3Error(`invalid port ${String(port)}`, { code: 'usage' });
  if (signal?.aborted) throw new Pop3Error('the call was aborted', { code: 'aborted' });
  // IPv6 literals are given without brackets.
  const hostname = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const where = `${host}:${p}`;
  const secureTransport = mode === 'implicit' ? 'on' : mode === 'starttls' ? 'starttls' : 'off';
  let socket;
  try {
    socket = socketConnect({ hostname, port: p }, { secureTransport, allowHalfOpen: false });
  } catch (e) {
    throw socketError(e, `cannot connect to ${where}`);
  }
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(new Pop3Error('the call was aborted', { code: 'aborted' }));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([
      withTimeout(socket.opened, connectTimeoutMs, `connecting to ${where} took longer than ${connectTimeoutMs} ms`),
      aborted,
    ]);
  } catch (e) {
    Promise.resolve().then(() => socket.close()).catch(() => {});
    if (e instanceof Pop3Error) throw e;
    // With secureTransport 'on', workerd reports a failed handshake (an untrusted, expired or
    // wrong-name certificate, or a connection cut in the handshake) exactly like a refused
    // connection ("proxy request failed"). A second handshake tells a cut from the rest; then
    // a plain connection to the same port tells a refused connection from a TLS failure.
    const message = String(e?.message ?? e);
    if (mode === 'implicit' && !CLOSED_MESSAGE.test(message) && await handshakeSucceeds(hostname, p, 'implicit', connectTimeoutMs)) {
      throw cutHandshake(e, where);
    }
    if (mode === 'implicit' && !CLOSED_MESSAGE.test(message) && !TLS_MESSAGE.test(message) && await reachable(hostname, p, connectTimeoutMs)) {
      const err = new Pop3Error(`the TLS handshake with ${where} failed: the server's certificate is not trusted `
        + `(unknown issuer, expired, or not for ${hostname}) or it does not speak TLS on this port `
        + `(the runtime says only: ${e?.message ?? e})`, { code: 'tls', cause: e });
      err.pop3Kind = 'tls';
      throw err;
    }
    throw socketError(e, `cannot connect to ${where}`, { duringTls: mode === 'implicit' });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return new CloudflareSocketStream(socket, {
    where,
    secure: mode === 'implicit',
    handshakeTimeoutMs: connectTimeoutMs,
    probeStls: () => handshakeSucceeds(hostname, p, 'starttls', connectTimeoutMs),
  });
}

/**
 * Builds the Workers connect(): with `host` (and `port`, `tls`), over the runtime's sockets
 * and TLS; with `tlsProvider: 'wasm'` TLS runs inside the wasm module (an entry with TLS:
 * 'pop3-wasm/tls') over a plain socket, verifying `serverName` (default: host) against
 * Mozilla's roots plus `ca`. Without `host`, `url` or `transport` as everywhere.
 */
export function makeConnect(api, loader) {
  return async function connect(options = {}) {
    if (options === null || typeof options !== 'object') throw new Pop3Error('options must be an object', { code: 'usage' });
    await loader.ensure();
    if (options.host === undefined) {
      if (options.url === undefined && options.transport === undefined) {
        throw new Pop3Error('connect() needs host (TCP), url (a WebSocket proxy) or transport (a byte stream)', { code: 'usage' });
      }
      return api.connectWith(options);
    }
    const mode = options.tls ?? 'none';
    const wasmTls = options.tlsProvider === 'wasm';
    if (!wasmTls && options.tlsProvider !== undefined && options.tlsProvider !== 'host') {
      throw new Pop3Error("tlsProvider must be 'host' or 'wasm'", { code: 'usage' });
    }
    if (wasmTls && mode !== 'none' && !api.buildInfo().tls) {
      throw new Pop3Error("tlsProvider 'wasm' needs the module with TLS: import from 'pop3-wasm/tls'", { code: 'usage' });
    }
    if (!wasmTls && mode !== 'none' && (options.ca !== undefined || options.pin !== undefined)) {
      throw new Pop3Error("ca and pin need tlsProvider 'wasm': the Workers runtime's TLS trusts only its own roots", { code: 'usage' });
    }
    const transport = await openCloudflareStream({ ...options, tls: wasmTls ? 'none' : mode });
    try {
      const tls = wasmTls || mode === 'starttls' ? mode : 'none';
      const serverName = options.serverName ?? options.host;
      return await api.connectWith({ ...options, transport, tls, tlsProvider: wasmTls ? 'wasm' : 'host', serverName });
    } catch (e) {
      await transport.close().catch(() => {});
      throw e;
    }
  };
}
