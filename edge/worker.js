// The edge worker (default build): TLS by the Workers runtime (`secureTransport`), so the
// bundle carries the small wasm module without TLS. For a private CA or TLS inside the
// module, deploy worker-wasm-tls.js instead (`wrangler deploy --env wasm-tls`).
// Configuration, deployment and testing: README.md.

import * as pop3 from 'pop3-wasm';
import { makeWorker } from './src/mail-webhook.js';

export default makeWorker(pop3, { wasmTlsAvailable: false });
