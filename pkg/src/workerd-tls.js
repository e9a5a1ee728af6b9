// Entry point "pop3-wasm/tls" for Cloudflare Workers and workerd: the wasm module WITH TLS
// inside (rustls and Mozilla's roots), for connecting with `tlsProvider: 'wasm'` over a
// plain socket, which can trust a private CA (`ca`) or pin a certificate (`pin`), things the
// runtime's own TLS cannot do. It is about twice the size of the default workerd entry; use
// that one when the runtime's TLS is enough. Host TLS (`secureTransport`) works here too.

import * as wasm from '../wasm-tls/pop3_wasm.js';
import wasmModule from '../wasm-tls/pop3_wasm_bg.wasm';
import { makeApi, Pop3Error, toPop3Error, watch } from './api.js';
import { makeMime } from './mime.js';
import { makeConnect, openCloudflareStream, CloudflareSocketStream } from './cloudflare.js';

wasm.initSync({ module: wasmModule });

const api = makeApi(wasm);

export { Pop3Error, toPop3Error, watch, openCloudflareStream, CloudflareSocketStream };
export const { Pop3Client, buildInfo, newSyncState, checkSyncState, loadSyncState } = api;
export const { parseMessage, attachmentContent } = makeMime(wasm);

/**
 * Connects to a POP3 server: with `host` (and `port`, `tls`, `tlsProvider`: 'host' | 'wasm',
 * `serverName`, `ca`, `pin`) over the runtime's TCP sockets; otherwise through `url` or `transport`.
 */
export const connect = makeConnect(api);
