// `pop3-wasm/lite`: like the default entry, with the smaller wasm module that has no TLS
// inside (buildInfo().tls is false). For hosts that do TLS themselves (a transport with
// startTls()) or proxies that terminate TLS.

import init, * as wasm from '../wasm/pop3_wasm.js';
import { makeApi, Pop3Error, toPop3Error, watch } from './api.js';
import { makeMime } from './mime.js';

await init({ module_or_path: new URL('../wasm/pop3_wasm_bg.wasm', import.meta.url) });

const api = makeApi(wasm);

export { Pop3Error, toPop3Error, watch };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);

/** Connects through a WebSocket proxy (`url`) or any byte stream (`transport`). */
export function connect(options) {
  return api.connectWith(options);
}
