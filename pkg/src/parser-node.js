// `pop3-wasm/mime` in Node: the MIME parser module alone, read from disk and compiled on the
// first call (init() is optional).

import * as glue from '../wasm-mime/pop3_wasm.js';
import { checkSource, wasmModule } from './load.js';
import { makeMime } from './mime.js';
import { read, wasmFile } from './node-files.js';

const parser = wasmModule(glue, {
  what: 'the pop3-wasm MIME parser module',
  syncSource: wasmFile('wasm-mime'),
  read,
});

/** Loads the parser module now (optional: it loads on first use). */
export async function init(source) {
  await parser.init(checkSource(source, 'the parser module'));
}

export const { parseMessage, attachmentContent } = makeMime(parser);
