// Entry point for browsers, bundlers and Deno: the wasm module with TLS inside (so a WebSocket
// proxy relays only ciphertext) is fetched next to this file (bundlers understand
// `new URL(..., import.meta.url)`), then the API is ready. `pop3-wasm/lite` is the same
// without TLS, for runtimes whose host does TLS or proxies that terminate it.

import init, * as wasm from '../wasm-tls/pop3_wasm.js';
import { makeApi, Pop3Error, toPop3Error, watch } from './api.js';
import { makeMime } from './mime.js';

await init({ module_or_path: new URL('../wasm-tls/pop3_wasm_bg.wasm', import.meta.url) });

const api = makeApi(wasm);

export { Pop3Error, toPop3Error, watch };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);

/** Connects through a WebSocket proxy (`url`) or any byte stream (`transport`). */
export function connect(options) {
  return api.connectWith(options);
}
