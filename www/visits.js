// "Only new since last visit": the unique ids (UIDL) seen on the last visit, per account, in
// IndexedDB, in the library's versioned sync-state format. Only ids, sizes and times are kept:
// never a password, and nothing of the mail itself.

const DB = 'pop3-demo';
const STORE = 'visits';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * Loads the last visit's state for `account` and records this visit's `uids` (a Map msg → uid
 * with sizes in `sizes`). Resolves to { previous: Set of uids or null (first visit), note }.
 * A stored state that cannot be read is reported and replaced, never silently trusted.
 */
export async function recordVisit(pkg, account, messages) {
  let previous = null;
  let note = '';
  let stored;
  try {
    stored = await transact('readonly', (s) => s.get(account));
  } catch (e) {
    return { previous: null, note: `Visits cannot be remembered here (${e.message}).` };
  }
  let state;
  if (stored !== undefined) {
    try {
      state = pkg.checkSyncState(stored, account);
      previous = new Set(Object.keys(state.messages));
    } catch (e) {
      note = `The record of your last visit could not be read (${e.message}); every message counts as seen.`;
    }
  }
  const now = Math.floor(Date.now() / 1000);
  // The state lives in the wasm module; IndexedDB stores its JSON form (a plain object), which
  // checkSyncState reads back.
  const next = pkg.newSyncState(account).toJSON();
  const seen = state?.messages;
  for (const m of messages) {
    if (!m.uid) continue;
    next.messages[m.uid] = seen?.[m.uid] ?? { savedAt: now, size: m.size };
  }
  try {
    await transact('readwrite', (s) => s.put(next, account));
  } catch (e) {
    note = `This visit could not be remembered (${e.message}).`;
  }
  return { previous, note };
}
