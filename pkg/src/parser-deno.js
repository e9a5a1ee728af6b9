// `pop3-wasm/mime` in Deno: the MIME parser module alone, read beside this file and compiled
// on the first call (needs --allow-read); from a remote copy of the package, `await init()`.

import * as glue from '../wasm-mime/pop3_wasm.js';
import { checkSource, wasmModule } from './load.js';
import { makeMime } from './mime.js';

const url = new URL('../wasm-mime/pop3_wasm_bg.wasm', import.meta.url);
const parser = wasmModule(glue, {
  what: 'the pop3-wasm MIME parser module',
  defaultUrl: () => new URL('../wasm-mime/pop3_wasm_bg.wasm', import.meta.url),
  syncSource: url.protocol === 'file:' ? () => Deno.readFileSync(url) : undefined,
});

/** Loads the parser module now (optional when the package is on disk). */
export async function init(source) {
  await parser.init(checkSource(source, 'the parser module'));
}

export const { parseMessage, attachmentContent } = makeMime(parser);
