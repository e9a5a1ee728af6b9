// Entry point for Node: the wasm module is read from disk and instantiated synchronously,
// and connect() can also open TCP/TLS connections itself (host, port, tls).
//
// Node does TLS itself (the default), so the entry loads the module without TLS inside: half
// the size, half the compile time at start-up. The module with TLS inside is loaded only when
// a connection asks for it (tlsProvider 'wasm', or TLS through a WebSocket proxy).

import { readFileSync } from 'node:fs';

import * as wasm from '../wasm/pop3_wasm.js';
import { makeApi, Pop3Error, toPop3Error, watch } from './api.js';
import { makeMime } from './mime.js';
import { openNodeStream, NodeSocketStream } from './node-transport.js';

wasm.initSync({ module: readFileSync(new URL('../wasm/pop3_wasm_bg.wasm', import.meta.url)) });

const api = makeApi(wasm);
let tlsApi = null;

/** The API on the module with TLS inside, loaded on first use. */
async function withTls() {
  if (!tlsApi) {
    const tlsWasm = await import('../wasm-tls/pop3_wasm.js');
    tlsWasm.initSync({ module: readFileSync(new URL('../wasm-tls/pop3_wasm_bg.wasm', import.meta.url)) });
    tlsApi = makeApi(tlsWasm);
  }
  return tlsApi;
}

export { Pop3Error, toPop3Error, watch, openNodeStream, NodeSocketStream };
export const { Pop3Client, newSyncState, checkSyncState, loadSyncState } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);
/** The Rust rules the CLI shares with the native tools (Maildir naming). */
export const { maildirStem, maildirFileName, maildirHostPart, maildirStemOf, maildirIsStaleTmp, maildirNames } = wasm;

/**
 * What this package can do: `tls` is true (TLS inside the module is loaded when a connection
 * asks for it), with the build's other features.
 */
export function buildInfo() {
  return { ...api.buildInfo(), tls: true };
}

/**
 * Connects to a POP3 server. With `host` (and `port`, `tls`: 'none' | 'implicit' |
 * 'starttls', `ca`, `serverName`) over Node's net/tls; otherwise through `url` (a WebSocket
 * proxy; needs a global WebSocket, Node 22+ or --experimental-websocket) or `transport`.
 */
export async function connect(options = {}) {
  if (options === null || typeof options !== 'object') throw new Pop3Error('options must be an object', { code: 'usage' });
  if (options.host === undefined && options.url === undefined && options.transport === undefined) {
    throw new Pop3Error('connect() needs host (TCP), url (a WebSocket proxy) or transport (a byte stream)', { code: 'usage' });
  }
  if (options.host === undefined) {
    const wasmTls = options.url !== undefined && (options.tls ?? 'none') !== 'none' && options.tlsProvider !== 'host';
    return (wasmTls || options.tlsProvider === 'wasm' ? await withTls() : api).connectWith(options);
  }
  const mode = options.tls ?? 'none';
  // TLS by Node (default), or inside the wasm module over a plain socket (tlsProvider 'wasm').
  const wasmTls = options.tlsProvider === 'wasm';
  // `serverName` is the option's one spelling; `servername` (Node's own) is its deprecated
  // alias, accepted until the next release.
  const transport = await openNodeStream({ ...options, serverName: options.serverName ?? options.servername, tls: wasmTls ? 'none' : mode });
  try {
    const tls = wasmTls || mode === 'starttls' ? mode : 'none';
    const serverName = options.serverName ?? options.servername ?? options.host;
    const use = wasmTls && mode !== 'none' ? await withTls() : api;
    return await use.connectWith({ ...options, transport, tls, tlsProvider: wasmTls ? 'wasm' : 'host', serverName });
  } catch (e) {
    await transport.close().catch(() => {});
    throw e;
  }
}
