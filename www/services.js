// The library and the MIME parser (a Web Worker), started once for every module.

import * as pkg from './pkg/src/index.js';
import { createParser } from './parser.js';

// The client module only: messages are parsed in a Web Worker that loads the parser module
// (pop3-wasm/mime) by itself. Should the worker not start, parser.js loads it here instead.
await pkg.init({ parser: false });

export { pkg };
export const build = pkg.buildInfo();
export const parserReady = createParser(pkg);

/** Error codes after which the session cannot go on. */
export const FATAL = new Set(['closed', 'transport', 'timeout', 'protocol', 'tls']);
