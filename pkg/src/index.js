// Entry point for browsers and bundlers: the client module with TLS inside (so a WebSocket
// proxy relays only ciphertext) and the MIME parser module, each loaded on first use.
//
// Importing this file loads nothing: connect() and watch() load the modules first (both, in
// parallel), and `await init()` does it explicitly, after which the synchronous functions
// (parseMessage, buildInfo, newSyncState, ...) work. `init({ url | module | bytes })` says
// where the client module is when the bundler did not emit it; `parser: false` leaves the
// parser out (a page that parses in a Web Worker with 'pop3-wasm/mime'). `pop3-wasm/lite` is
// the same without TLS inside.

import * as clientGlue from '../wasm-tls/pop3_wasm.js';
import * as parserGlue from '../wasm-mime/pop3_wasm.js';
import { Pop3Error, toPop3Error } from './api.js';
import { connectWithoutTcp, makeEntry } from './entry.js';
import { wasmModule } from './load.js';

const client = wasmModule(clientGlue, {
  what: 'the pop3-wasm client module (wasm-tls/pop3_wasm_bg.wasm)',
  defaultUrl: () => new URL('../wasm-tls/pop3_wasm_bg.wasm', import.meta.url),
});
const parser = wasmModule(parserGlue, {
  what: 'the pop3-wasm MIME parser module (wasm-mime/pop3_wasm_bg.wasm)',
  defaultUrl: () => new URL('../wasm-mime/pop3_wasm_bg.wasm', import.meta.url),
});
const entry = makeEntry(client, parser);

export { Pop3Error, toPop3Error };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = entry.api;
/**
 * init() loads the wasm modules (once): `{ url }`, `{ module }` or `{ bytes }` for the client
 * module (default: where the bundler put it, next to this package's files), and `parser`:
 * true (default), false, or its own `{ url | module | bytes }`.
 */
export const { init, watch, parseMessage, attachmentContent } = entry;
export const connect = connectWithoutTcp(entry);
