// The library and the MIME parser (a Web Worker), started once for every module.

import * as pkg from './pkg/src/index.js';
import { createParser } from './parser.js';

export { pkg };
export const build = pkg.buildInfo();
export const parserReady = createParser(pkg);

/** Error codes after which the session cannot go on. */
export const FATAL = new Set(['closed', 'transport', 'timeout', 'protocol', 'tls']);
