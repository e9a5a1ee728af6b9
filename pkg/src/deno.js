// Entry point for Deno (export condition "deno"): the client module with TLS inside, the MIME
// parser module, and connect() that can open TCP/TLS connections itself with Deno.connect and
// Deno.startTls (host, port, tls, ca, serverName). Needs --allow-net for the server, and
// --allow-read for this package's .wasm files: each is read next to this module and compiled
// on first use (from a remote copy of the package, `await init()` fetches them instead).

import * as clientGlue from '../wasm-tls/pop3_wasm.js';
import * as parserGlue from '../wasm-mime/pop3_wasm.js';
import { Pop3Error, toPop3Error } from './api.js';
import { makeEntry } from './entry.js';
import { wasmModule } from './load.js';

/** Reads a .wasm file beside this package synchronously, when the package is on disk. */
function localFile(url) {
  return url.protocol === 'file:' ? () => Deno.readFileSync(url) : undefined;
}

const clientUrl = () => new URL('../wasm-tls/pop3_wasm_bg.wasm', import.meta.url);
const parserUrl = () => new URL('../wasm-mime/pop3_wasm_bg.wasm', import.meta.url);
const client = wasmModule(clientGlue, {
  what: 'the pop3-wasm client module', defaultUrl: clientUrl, syncSource: localFile(clientUrl()),
});
const parser = wasmModule(parserGlue, {
  what: 'the pop3-wasm MIME parser module', defaultUrl: parserUrl, syncSource: localFile(parserUrl()),
});
const { api, loader, ...entry } = makeEntry(client, parser);

export { Pop3Error, toPop3Error };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = api;
/** init() loads the modules now (optional when the package is on disk: they load on first use). */
export const { init, watch, parseMessage, attachmentContent } = entry;

/**
 * Maps a Deno error to a Pop3Error with `pop3Kind` set (as the client expects), by its cause
 * (the error's class) first: a connection closed or reset during the TLS handshake is
 * 'closed' and transient like anywhere else, although Deno's message ("tls handshake eof")
 * speaks of TLS. Deno reports a certificate or protocol failure of its TLS as InvalidData.
 */
function denoError(e, context, { duringTls = false } = {}) {
  if (e instanceof Pop3Error) return e;
  const D = globalThis.Deno?.errors ?? {};
  const is = (...names) => names.some((n) => D[n] && e instanceof D[n]);
  const message = e && e.message ? String(e.message) : String(e);
  let kind = 'transport';
  if (is('ConnectionReset', 'BrokenPipe', 'UnexpectedEof', 'ConnectionAborted', 'NotConnected', 'BadResource', 'Interrupted')) {
    kind = 'closed';
  } else if (is('TimedOut')) kind = 'timeout';
  else if (is('NotCapable')) kind = 'usage';
  else if (is('PermissionDenied') && /net access|--allow-net/.test(message)) kind = 'usage';
  else if (is('ConnectionRefused', 'AddrNotAvailable', 'AddrInUse', 'NotFound')) kind = 'transport';
  else if (duringTls || is('InvalidData')
    || /certificate|CaUsedAsEndEntity|UnknownIssuer|NotValidForName|BadSignature|alert/i.test(message)) kind = 'tls';
  const transient = kind === 'transport' || kind === 'closed' || kind === 'timeout';
  const err = new Pop3Error(`${context}: ${message}`, { code: kind, transient, cause: e });
  err.pop3Kind = kind;
  return err;
}

function fail(kind, message, transient = false) {
  const err = new Pop3Error(message, { code: kind, transient });
  err.pop3Kind = kind;
  return err;
}

const READ_SIZE = 64 * 1024;

/** A connected Deno.Conn (TCP or TLS) as a byte stream. */
export class DenoConnStream {
  #conn;
  #where;
  #tlsOptions;
  #secure;
  #reading = false;
  #closed = false;

  constructor(conn, { where, secure = false, tlsOptions }) {
    this.#conn = conn;
    this.#where = where;
    this.#secure = secure;
    this.#tlsOptions = tlsOptions;
  }

  /** The next chunk of bytes, or null at the end of the stream. */
  async read() {
    if (this.#closed) return null;
    if (this.#reading) throw fail('usage', 'read() called while another read is pending');
    this.#reading = true;
    try {
      // A fresh buffer each time: the caller may keep the chunk.
      const buf = new Uint8Array(READ_SIZE);
      const n = await this.#conn.read(buf);
      if (n === null) return null;
      return buf.subarray(0, n);
    } catch (e) {
      if (this.#closed) return null;
      throw denoError(e, `reading from ${this.#where}`);
    } finally {
      this.#reading = false;
    }
  }

  async write(bytes) {
    if (this.#closed) throw fail('closed', `the connection to ${this.#where} is closed`, true);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
    } catch (e) {
      throw denoError(e, `writing to ${this.#where}`);
    }
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  /**
   * Upgrades to TLS (after the server accepted STLS) with Deno.startTls. No read may be
   * pending: Deno cannot hand over a connection that is being read.
   */
  async startTls() {
    if (this.#closed) throw fail('closed', `the connection to ${this.#where} is closed`, true);
    if (this.#secure) throw fail('usage', 'the connection is already encrypted');
    if (this.#reading) throw fail('usage', 'startTls() called while a read is pending (Deno cannot upgrade a connection being read)');
    let secure;
    try {
      secure = await Deno.startTls(this.#conn, this.#tlsOptions);
      // Handshake now, so a bad certificate fails here rather than at the first read.
      await secure.handshake();
    } catch (e) {
      try { (secure ?? this.#conn).close(); } catch { /* closed */ }
      this.#closed = true;
      throw denoError(e, `TLS with ${this.#where}`, { duringTls: true });
    }
    this.#conn = secure;
    this.#secure = true;
  }

  /** { version, cipher } when encrypted (Deno does not tell which: empty strings), else null. */
  get tlsInfo() {
    return this.#secure ? { version: '', cipher: '' } : null;
  }
}

/** PEM text of the caller's CA certificates, for Deno's caCerts. */
function caCerts(ca) {
  if (ca === undefined || ca === null) return undefined;
  const list = Array.isArray(ca) ? ca : [ca];
  return list.map((c) => (typeof c === 'string' ? c : new TextDecoder().decode(c)));
}

/**
 * Opens a connection. `tls`: 'none' (plain, also for a later STLS), 'implicit' (POP3S, port
 * 995), or 'starttls' (plain now; the client upgrades after the greeting). `ca`: private CA
 * certificates (PEM), trusted besides Deno's roots. `serverName`: the name the certificate
 * must carry (default: host).
 */
export async function openDenoStream({ host, port, tls: mode = 'none', ca, serverName, connectTimeoutMs = 30000, signal } = {}) {
  if (typeof host !== 'string' || host === '') throw new Pop3Error('host must be a non-empty string', { code: 'usage' });
  if (!['none', 'implicit', 'starttls'].includes(mode)) {
    throw new Pop3Error(`tls must be 'none', 'implicit' or 'starttls' (got ${JSON.stringify(mode)})`, { code: 'usage' });
  }
  const p = port ?? (mode === 'implicit' ? 995 : 110);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Pop3Error(`invalid port ${String(port)}`, { code: 'usage' });
  if (signal?.aborted) throw new Pop3Error('the call was aborted', { code: 'aborted' });
  const hostname = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const where = `${host}:${p}`;
  const certs = caCerts(ca);
  // Deno.startTls verifies against Deno's roots (or the system's, with
  // DENO_TLS_CA_STORE) plus caCerts.
  const tlsOptions = { hostname: serverName ?? hostname, ...(certs ? { caCerts: certs } : {}) };
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), connectTimeoutMs);
  const onAbort = () => timeout.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let conn;
  try {
    const connecting = Deno.connect({ hostname, port: p, transport: 'tcp' });
    const stop = new Promise((_, reject) => {
      timeout.signal.addEventListener('abort', () => {
        connecting.then((c) => { try { c.close(); } catch { /* closed */ } }, () => {});
        reject(signal?.aborted
          ? new Pop3Error('the call was aborted', { code: 'aborted' })
          : fail('timeout', `connecting to ${where} took longer than ${connectTimeoutMs} ms`, true));
      }, { once: true });
    });
    stop.catch(() => {});
    conn = await Promise.race([connecting, stop]);
    if (typeof conn.setNoDelay === 'function') conn.setNoDelay(true);
    if (mode === 'implicit') {
      // Deno.startTls rather than Deno.connectTls: it can verify a serverName other than host.
      const plain = conn;
      try {
        conn = await Deno.startTls(plain, tlsOptions);
        await Promise.race([conn.handshake(), stop]);
      } catch (e) {
        try { conn.close(); } catch { /* closed */ }
        throw e instanceof Pop3Error ? e : denoError(e, `TLS with ${where}`, { duringTls: true });
      }
    }
  } catch (e) {
    throw denoError(e, `cannot connect to ${where}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  return new DenoConnStream(conn, { where, secure: mode === 'implicit', tlsOptions });
}

/**
 * Connects to a POP3 server. With `host` (and `port`, `tls`: 'none' | 'implicit' |
 * 'starttls', `ca`, `serverName`) over Deno's TCP and TLS; `tlsProvider: 'wasm'` runs TLS
 * inside the module over a plain connection instead. Otherwise through `url` (a WebSocket
 * proxy) or `transport`.
 */
export async function connect(options = {}) {
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
  const transport = await openDenoStream({ ...options, tls: wasmTls ? 'none' : mode });
  try {
    const tls = wasmTls || mode === 'starttls' ? mode : 'none';
    const serverName = options.serverName ?? options.host;
    return await api.connectWith({ ...options, transport, tls, tlsProvider: wasmTls ? 'wasm' : 'host', serverName });
  } catch (e) {
    await transport.close();
    throw e;
  }
}
