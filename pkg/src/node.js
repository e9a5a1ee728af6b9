// Entry point for Node: the wasm modules are read from disk and instantiated synchronously on
// first use (no top-level await, so `require('pop3-wasm')` works where Node can require ES
// modules), and connect() can also open TCP/TLS connections itself (host, port, tls).
//
// Node does TLS itself (the default), so connections use the client module without TLS
// inside: a third of the size and of the compile time. The module with TLS inside is loaded
// only when a connection asks for it (tlsProvider 'wasm', or TLS through a WebSocket proxy).

import * as clientGlue from '../wasm/pop3_wasm.js';
import * as tlsGlue from '../wasm-tls/pop3_wasm.js';
import * as parserGlue from '../wasm-mime/pop3_wasm.js';
import { makeApi, Pop3Error, toPop3Error } from './api.js';
import { makeEntry } from './entry.js';
import { wasmModule } from './load.js';
import { read, wasmFile } from './node-files.js';
import { openNodeStream, NodeSocketStream } from './node-transport.js';

// Each module is read from disk and compiled synchronously on first use: the client without
// TLS (Node does TLS) when a connection or a sync state needs it, the one with TLS inside
// only when a connection asks for it (tlsProvider 'wasm', or TLS through a WebSocket proxy),
// the MIME parser at the first parseMessage().
const client = wasmModule(clientGlue, { what: 'the pop3-wasm client module', syncSource: wasmFile('wasm'), read });
const tlsClient = wasmModule(tlsGlue, { what: 'the pop3-wasm client module with TLS', syncSource: wasmFile('wasm-tls'), read });
const parser = wasmModule(parserGlue, { what: 'the pop3-wasm MIME parser module', syncSource: wasmFile('wasm-mime'), read });
const { api, loader, ...entry } = makeEntry(client, parser);
const tlsApi = makeApi(tlsClient);

export { Pop3Error, toPop3Error, openNodeStream, NodeSocketStream };
export const { Pop3Client, newSyncState, checkSyncState, loadSyncState } = api;
/**
 * init() is optional in Node (every module loads itself on first use): it loads the client
 * module (from `{ url | module | bytes }`, default the package's file) and, unless
 * `parser: false`, the MIME parser module.
 */
export const { init, watch, parseMessage, attachmentContent } = entry;

/** The Rust rules the CLI shares with the native tools (Maildir naming). */
const maildir = (name) => (...args) => client.get()[name](...args);
export const maildirStem = maildir('maildirStem');
export const maildirFileName = maildir('maildirFileName');
export const maildirHostPart = maildir('maildirHostPart');
export const maildirStemOf = maildir('maildirStemOf');
export const maildirIsStaleTmp = maildir('maildirIsStaleTmp');
export const maildirNames = maildir('maildirNames');

/** The API on the module with TLS inside, loaded on first use. */
async function withTls() {
  await tlsClient.init();
  return tlsApi;
}

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
  await loader.ensure();
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
