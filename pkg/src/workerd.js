// Entry point for Cloudflare Workers and workerd (export condition "workerd"/"worker"): the
// smaller wasm module without TLS inside, since the runtime does TLS (`secureTransport`).
// Workers cannot compile wasm from bytes at run time, so the module is imported (bundlers
// for Workers, such as wrangler, turn a `.wasm` import into a WebAssembly.Module) and
// initialised synchronously. For TLS inside the module (a private CA, pinning), import
// 'pop3-wasm/tls' instead.

import * as clientGlue from '../wasm/pop3_wasm.js';
import clientWasm from '../wasm/pop3_wasm_bg.wasm';
import * as parserGlue from '../wasm-mime/pop3_wasm.js';
import parserWasm from '../wasm-mime/pop3_wasm_bg.wasm';
import { Pop3Error, toPop3Error } from './api.js';
import { makeEntry } from './entry.js';
import { wasmModule } from './load.js';
import { makeConnect, openCloudflareStream, CloudflareSocketStream } from './cloudflare.js';

// Both modules arrive compiled (the runtime compiles a worker's wasm modules when it loads the
// script); each is instantiated on first use.
const client = wasmModule(clientGlue, { what: 'the pop3-wasm client module', syncSource: () => clientWasm });
const parser = wasmModule(parserGlue, { what: 'the pop3-wasm MIME parser module', syncSource: () => parserWasm });
const entry = makeEntry(client, parser);

export { Pop3Error, toPop3Error, openCloudflareStream, CloudflareSocketStream };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = entry.api;
/** init() is optional here: the modules are instantiated on first use. */
export const { init, watch, parseMessage, attachmentContent } = entry;

/**
 * Connects to a POP3 server: with `host` (and `port`, `tls`: 'none' | 'implicit' |
 * 'starttls') over the runtime's TCP sockets and TLS; otherwise through `url` or `transport`.
 */
export const connect = makeConnect(entry.api, entry.loader);
