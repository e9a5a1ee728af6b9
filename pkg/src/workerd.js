// Entry point for Cloudflare Workers and workerd (export condition "workerd"/"worker"): the
// smaller wasm module without TLS inside, since the runtime does TLS (`secureTransport`).
// Workers cannot compile wasm from bytes at run time, so the module is imported (bundlers
// for Workers, such as wrangler, turn a `.wasm` import into a WebAssembly.Module) and
// initialised synchronously. For TLS inside the module (a private CA, pinning), import
// 'pop3-wasm/tls' instead.

import * as wasm from '../wasm/pop3_wasm.js';
import wasmModule from '../wasm/pop3_wasm_bg.wasm';
import { makeApi, Pop3Error, toPop3Error, watch } from './api.js';
import { makeMime } from './mime.js';
import { makeConnect, openCloudflareStream, CloudflareSocketStream } from './cloudflare.js';

wasm.initSync({ module: wasmModule });

const api = makeApi(wasm);

export { Pop3Error, toPop3Error, watch, openCloudflareStream, CloudflareSocketStream };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);

/**
 * Connects to a POP3 server: with `host` (and `port`, `tls`: 'none' | 'implicit' |
 * 'starttls') over the runtime's TCP sockets and TLS; otherwise through `url` or `transport`.
 */
export const connect = makeConnect(api);
