// `pop3-wasm/mime` for browsers and bundlers (a Web Worker, say): the MIME parser module
// alone, about a fifth of the client with TLS. Nothing loads at import: `await init()` first
// (optionally `init({ url | module | bytes })`), then parseMessage and attachmentContent are
// synchronous.

import * as glue from '../wasm-mime/pop3_wasm.js';
import { checkSource, wasmModule } from './load.js';
import { makeMime } from './mime.js';

const parser = wasmModule(glue, {
  what: 'the pop3-wasm MIME parser module (wasm-mime/pop3_wasm_bg.wasm)',
  defaultUrl: () => new URL('../wasm-mime/pop3_wasm_bg.wasm', import.meta.url),
});

/** Loads the parser module (once): from `{ url | module | bytes }`, or where the bundler put it. */
export async function init(source) {
  await parser.init(checkSource(source, 'the parser module'));
}

export const { parseMessage, attachmentContent } = makeMime(parser);
