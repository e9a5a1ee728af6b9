// Entry point for browsers, bundlers and Deno: the wasm module is fetched next to this file
// (bundlers understand `new URL(..., import.meta.url)`), then the API is ready.

import init, * as wasm from '../wasm/pop3_wasm.js';
import { makeApi, Pop3Error, toPop3Error } from './api.js';
import { makeMime } from './mime.js';

await init({ module_or_path: new URL('../wasm/pop3_wasm_bg.wasm', import.meta.url) });

const api = makeApi(wasm);

export { Pop3Error, toPop3Error };
export const { Pop3Client, buildInfo } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);

/** Connects through a WebSocket proxy (`url`) or any byte stream (`transport`). */
export function connect(options) {
  return api.connectWith(options);
}
