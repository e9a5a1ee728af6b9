// `pop3-wasm/mime` in Cloudflare Workers and workerd: the MIME parser module alone, imported
// compiled (wrangler turns a .wasm import into a WebAssembly.Module) and instantiated on the
// first call.

import * as glue from '../wasm-mime/pop3_wasm.js';
import parserWasm from '../wasm-mime/pop3_wasm_bg.wasm';
import { checkSource, wasmModule } from './load.js';
import { makeMime } from './mime.js';

const parser = wasmModule(glue, { what: 'the pop3-wasm MIME parser module', syncSource: () => parserWasm });

/** Optional here: the module is instantiated on first use. */
export async function init(source) {
  await parser.init(checkSource(source, 'the parser module'));
}

export const { parseMessage, attachmentContent } = makeMime(parser);
