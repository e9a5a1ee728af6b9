// Types of `pop3-wasm/mime`: the MIME parser module alone (no client), for a Web Worker or
// anywhere messages are parsed apart from where they are retrieved.

import type { ParsedMessage, WasmSource } from './index.js';

export type { AttachmentInfo, Address, ParsedMessage, WasmSource } from './index.js';

/**
 * Loads the parser module, once: from `source`, or by default where your bundler put it (next
 * to the package's files). Needed before the first parseMessage() in a browser; optional in
 * Node, Deno and Workers (the module loads itself on first use there).
 */
export declare function init(source?: WasmSource): Promise<void>;

/** Parses message bytes (as retrieved) into plain data (it can cross postMessage). */
export declare function parseMessage(raw: Uint8Array | ArrayBuffer): ParsedMessage;

/** The decoded bytes of attachment `index` (from parseMessage), or null. */
export declare function attachmentContent(raw: Uint8Array | ArrayBuffer, index: number): Uint8Array | null;
