// Parsing, in a module worker when the browser allows it, else on the main thread with the
// same functions. Either way the API is the same and asynchronous.

const WORKER_START_MS = 10000;

/**
 * Returns { mode: 'worker' | 'main-thread', headers(items), open(key, bytes), attachment(key,
 * index), close(key) }. `pkg` is the already imported package (used for the fallback).
 */
export async function createParser(pkg) {
  try {
    return await workerParser();
  } catch (e) {
    console.warn('parsing on the main thread:', e && e.message || e);
    await pkg.init();   // the parser module, which the page did not load so far
    return mainThreadParser(pkg);
  }
}

function workerParser() {
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = new Worker(new URL('./parse-worker.js', import.meta.url), { type: 'module', name: 'mime-parser' });
    } catch (e) {
      reject(e);
      return;
    }
    const pending = new Map();
    let nextId = 1;
    let ready = false;
    const timer = setTimeout(() => { worker.terminate(); reject(new Error('the parser worker did not start')); }, WORKER_START_MS);
    worker.onerror = (event) => {
      const error = new Error(event.message || 'the parser worker failed');
      if (!ready) { clearTimeout(timer); worker.terminate(); reject(error); return; }
      for (const { reject: r } of pending.values()) r(error);
      pending.clear();
    };
    worker.onmessage = (event) => {
      const data = event.data;
      if (data.ready) {
        ready = true;
        clearTimeout(timer);
        resolve(api);
        return;
      }
      const call = pending.get(data.id);
      if (!call) return;
      pending.delete(data.id);
      if (data.ok) call.resolve(data.result);
      else call.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
    };
    function request(type, payload, transfer = []) {
      return new Promise((res, rej) => {
        const id = nextId++;
        pending.set(id, { resolve: res, reject: rej });
        worker.postMessage({ id, type, ...payload }, transfer);
      });
    }
    const api = {
      mode: 'worker',
      /** items: [{ msg, bytes }]; the bytes are transferred (unusable here afterwards). */
      headers: (items) => request('headers', { items }, [...new Set(items.map((i) => i.bytes.buffer))]),
      /** The bytes are copied: the page keeps them for the raw view. */
      open: (key, bytes) => request('open', { key, bytes }),
      attachment: (key, index) => request('attachment', { key, index }),
      close: (key) => request('close', { key }),
    };
  });
}

function mainThreadParser(pkg) {
  let open = { key: null, bytes: null };
  const toDataUrl = (type, data) => new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.readAsDataURL(new Blob([data], { type }));
  });
  return {
    mode: 'main-thread',
    async headers(items) {
      return items.map(({ msg, bytes }) => {
        try {
          const p = pkg.parseMessage(bytes);
          return { msg, from: p.from, subject: p.subject, date: p.date, dateRaw: p.dateRaw };
        } catch (e) {
          return { msg, error: String(e.message || e) };
        }
      });
    },
    async open(key, bytes) {
      open = { key, bytes };
      const parsed = pkg.parseMessage(bytes);
      const inline = {};
      for (const a of parsed.attachments) {
        if (a.contentId && a.contentType.startsWith('image/')) {
          const data = pkg.attachmentContent(bytes, a.index);
          if (data) inline[a.contentId] = await toDataUrl(a.contentType, data);
        }
      }
      return { parsed, inline };
    },
    async attachment(key, index) {
      if (open.key !== key) throw new Error('that message is no longer open');
      return pkg.attachmentContent(open.bytes, index);
    },
    async close(key) {
      if (open.key === key) open = { key: null, bytes: null };
    },
  };
}
