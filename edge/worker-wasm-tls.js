// The edge worker with TLS inside the wasm module ('pop3-wasm/tls'): set TLS_PROVIDER=wasm
// to run TLS in the module over a plain socket (needed for POP3_CA, a private CA, which the
// Workers runtime's TLS cannot trust). TLS_PROVIDER=host still uses the runtime's TLS.
// The bundle is about twice as large as worker.js's. See README.md.

import * as pop3 from 'pop3-wasm/tls';
import { makeWorker } from './src/mail-webhook.js';

export default makeWorker(pop3, { wasmTlsAvailable: true });
