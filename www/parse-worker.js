// MIME parsing off the main thread: a module worker that loads the package's parser module
// only (pop3-wasm/mime: no client, no TLS) and answers requests from parser.js. Message bytes
// come in (transferred), plain data goes out.

import { init, parseMessage, attachmentContent } from './pkg/src/parser.js';

await init();

/** The open message's bytes, kept so attachments can be decoded without sending it again. */
let open = { key: null, bytes: null };

/** What the list needs from a message's headers (TOP n 0). */
function summary(msg, bytes) {
  try {
    const p = parseMessage(bytes);
    return { msg, from: p.from, subject: p.subject, date: p.date, dateRaw: p.dateRaw };
  } catch (e) {
    return { msg, error: String(e && e.message || e) };
  }
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const handlers = {
  headers({ items }) {
    return { result: items.map(({ msg, bytes }) => summary(msg, bytes)) };
  },
  open({ key, bytes }) {
    open = { key, bytes };
    const parsed = parseMessage(bytes);
    // Inline images become data: URLs here, so the sandboxed (opaque-origin) iframe can load
    // them: it may not load the page's blob: URLs.
    const inline = {};
    for (const a of parsed.attachments) {
      if (a.contentId && a.contentType.startsWith('image/') && a.size <= 8 * 1024 * 1024) {
        const data = attachmentContent(bytes, a.index);
        if (data) inline[a.contentId] = `data:${a.contentType};base64,${base64(data)}`;
      }
    }
    return { result: { parsed, inline } };
  },
  attachment({ key, index }) {
    if (open.key !== key) throw Object.assign(new Error('that message is no longer open'), { code: 'usage' });
    const data = attachmentContent(open.bytes, index);
    return { result: data, transfer: data ? [data.buffer] : [] };
  },
  close({ key }) {
    if (open.key === key) open = { key: null, bytes: null };
    return { result: null };
  },
};

self.onmessage = (event) => {
  const { id, type } = event.data;
  try {
    const { result, transfer = [] } = handlers[type](event.data);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: { message: String(e && e.message || e), code: e && e.code || 'protocol' } });
  }
};

self.postMessage({ ready: true });
