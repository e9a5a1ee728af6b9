// MIME parsing, a separate step from retrieval so it can run anywhere (a Web Worker too). The
// parser is its own wasm module (wasm-mime/): the client modules carry no MIME code.

import { toPop3Error, Pop3Error } from './api.js';

/** parseMessage and attachmentContent on `parser` (a wasmModule() from load.js). */
export function makeMime(parser) {
  function bytesOf(raw) {
    if (raw instanceof Uint8Array) return raw;
    if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
    throw new Pop3Error('message must be a Uint8Array or ArrayBuffer', { code: 'usage' });
  }

  /** Parses message bytes into plain data: { subject, from, to, cc, date, text, html, attachments, headers, ... }. */
  function parseMessage(raw) {
    try {
      return parser.get().parseMessage(bytesOf(raw));
    } catch (e) {
      throw toPop3Error(e);
    }
  }

  /** The decoded content of attachment `index` of a parsed message, or null. */
  function attachmentContent(raw, index) {
    if (!Number.isInteger(index) || index < 0) throw new Pop3Error('index must be a non-negative integer', { code: 'usage' });
    return parser.get().attachmentContent(bytesOf(raw), index) ?? null;
  }

  return { parseMessage, attachmentContent };
}
