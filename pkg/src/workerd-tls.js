// Entry point "pop3-wasm/tls" for Cloudflare Workers and workerd: the wasm module WITH TLS
// inside (rustls and Mozilla's roots), for connecting with `tlsProvider: 'wasm'` over a
// plain socket, which can trust a private CA (`ca`) or pin a certificate (`pin`), things the
// runtime's own TLS cannot do. It is about twice the size of the default workerd entry; use
// that one when the runtime's TLS is enough. Host TLS (`secureTransport`) works here too.

import * as clientGlue from '../wasm-tls/pop3_wasm.js';
import clientWasm from '../wasm-tls/pop3_wasm_bg.wasm';
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
 * Connects to a POP3 server: with `host` (and `port`, `tls`, `tlsProvider`: 'host' | 'wasm',
 * `serverName`, `ca`, `pin`) over the runtime's TCP sockets; otherwise through `url` or `transport`.
 */
export const connect = makeConnect(entry.api, entry.loader);
