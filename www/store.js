// The reader's state, in one place. Action modules (session, deletion, keyboard) change it
// and call emit(); view modules (list, reader, top bar) subscribe to what they show.

export const state = {
  /** { client, user, mailbox, proxyUrl, mechanism, keepalive } while logged in. */
  session: null,
  /** Bumped at every login and logout: asynchronous work from an older session checks it. */
  generation: 0,
  /** [{ msg, size, uid, from, fromText, subject, dateMs, sortMs, loaded, error, deleted, isNew, search }] */
  messages: [],
  byMsg: new Map(),
  /** Indices into `messages`, filtered and sorted: what the list shows. */
  view: [],
  headersDone: false,
  /** Whether the server has TOP (else the list shows sizes only). */
  useTop: true,
  /** The message in the reading pane, see reader.js. */
  open: null,
  /** Messages (by uid, else "#number") whose remote content the reader allowed. */
  remoteAllowed: new Set(),
  /** A download was cancelled: the rest of it still arrives before the next reply. */
  skipping: false,
};

const listeners = new Map();

/**
 * Calls `fn(detail)` whenever `topic` is emitted. Topics: 'session' (login, logout),
 * 'messages' (headers or sort order), 'deletions', 'open' (the reading pane), 'failed'.
 */
export function subscribe(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
}

export function emit(topic, detail) {
  for (const fn of listeners.get(topic) || []) fn(detail);
}

/** One layout switch for the code: the phone layout shows the list and a message one at a time. */
export const isNarrow = () => matchMedia('(max-width: 760px)').matches;
