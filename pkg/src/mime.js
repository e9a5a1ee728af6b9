// MIME parsing, a separate step from retrieval so it can run anywhere (a Web Worker too).

import { toPop3Error, Pop3Error } from './api.js';

export function makeMime(wasm) {
  function bytesOf(raw) {
    if (raw instanceof Uint8Array) return raw;
    if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
    throw new Pop3Error('message must be a Uint8Array or ArrayBuffer', { code: 'usage' });
  }

  /** Parses message bytes into plain data: { subject, from, to, cc, date, text, html, attachments, headers, ... }. */
  function parseMessage(raw) {
    try {
      return wasm.parseMessage(bytesOf(raw));
    } catch (e) {
      throw toPop3Error(e);
    }
  }

  /** The decoded content of attachment `index` of a parsed message, or null. */
  function attachmentContent(raw, index) {
    if (!Number.isInteger(index) || index < 0) throw new Pop3Error('index must be a non-negative integer', { code: 'usage' });
    return wasm.attachmentContent(bytesOf(raw), index) ?? null;
  }

  return { parseMessage, attachmentContent };
}
