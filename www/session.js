// A logged-in session: the list of messages (LIST, UIDL, then every header with TOP n 0,
// pipelined in batches and parsed in the worker), a NOOP now and then, errors that end the
// session, and logging out (QUIT, when the server deletes what was marked).

import { state, emit, subscribe } from './store.js';
import { pkg, parserReady, FATAL } from './services.js';
import { list, recomputeView, scheduleRefresh, indexOf, assignSortTimes } from './list-view.js';
import { closeMessage, setView, resetHistory } from './reader.js';
import { deletedCount } from './deletion.js';
import { describeError, showAlert } from './errors.js';
import { recordVisit } from './visits.js';
import { senderLabel } from './format.js';

const $ = (id) => document.getElementById(id);
const HEADER_BATCH = 250;
const KEEPALIVE_MS = 60_000;

/** After login: shows the mailbox and loads the list. `meta`: { user, proxyUrl, mechanism }. */
export async function startSession(client, meta) {
  const gen = ++state.generation;
  state.session = { client, ...meta, keepalive: setInterval(keepalive, KEEPALIVE_MS) };
  state.messages = [];
  state.byMsg = new Map();
  state.view = [];
  state.headersDone = false;
  state.remoteAllowed.clear();
  $('filter').value = '';
  $('session-error').hidden = true;
  closeMessage();
  let host = meta.proxyUrl;
  try { host = new URL(meta.proxyUrl).host; } catch { /* keep the text */ }
  showAccount(meta, client.tlsInfo);
  $('login-view').hidden = true;
  $('mailbox-view').hidden = false;
  setView('list');
  emit('session', state.session);
  $('count').textContent = 'Loading…';

  try {
    const entries = await client.list();
    let uids = new Map();
    if (!client.capabilities || client.capabilities.uidl) {
      try {
        uids = new Map((await client.uidl()).map((e) => [e.msg, e.uid]));
      } catch (error) {
        if (FATAL.has(error.code)) throw error; // else: no UIDL, numbers will do
      }
    }
    if (gen !== state.generation) return;
    state.messages = entries.map((e) => ({
      msg: e.msg, size: e.size, uid: uids.get(e.msg) ?? null,
      from: [], fromText: '', subject: '', dateMs: null, sortMs: -Infinity, loaded: false, error: null, deleted: false, isNew: false,
    }));
    // What is new since the last visit (by UIDL); the first visit has nothing to compare with.
    const visit = await recordVisit(pkg, `${meta.user}@${host}`, state.messages);
    if (gen !== state.generation) return;
    for (const m of state.messages) m.isNew = Boolean(visit.previous && m.uid && !visit.previous.has(m.uid));
    const fresh = state.messages.filter((m) => m.isNew).length;
    $('only-new-count').textContent = visit.previous ? `(${fresh.toLocaleString()})` : '(first visit)';
    $('only-new').disabled = !visit.previous;
    $('only-new').checked = false;
    $('visit-note').textContent = visit.note;
    $('visit-note').hidden = !visit.note;
    state.byMsg = new Map(state.messages.map((m) => [m.msg, m]));
    state.useTop = !client.capabilities || client.capabilities.top;
    recomputeView();
    list.setActive(0);
    $('list').focus();
    await loadHeaders(gen);
  } catch (error) {
    if (gen === state.generation) sessionFailed(error);
  }
}

/**
 * The top bar: the mailbox (user@server; the proxy and mechanism on hover) and whether the
 * connection is encrypted end to end. The badge's second half is dropped on a phone.
 */
function showAccount({ user, serverName, proxyUrl, mechanism }, tlsInfo) {
  let proxyHost = proxyUrl;
  try { proxyHost = new URL(proxyUrl).hostname; } catch { /* keep the text */ }
  const mailbox = user.includes('@') ? user : `${user}@${serverName || proxyHost}`;
  $('account-name').textContent = mailbox;
  $('account-name').title = `Logged in as ${user} on ${serverName || 'the mail server'} through the proxy ${proxyUrl} with ${mechanism}`;
  const security = $('security');
  const badge = (short, rest) => {
    const more = document.createElement('span');
    more.className = 'wide-only';
    more.textContent = rest;
    security.replaceChildren(short, more);
  };
  if (tlsInfo) {
    const endToEnd = tlsInfo.terminatedBy === 'wasm';
    badge(tlsInfo.version.replace(/^TLSv/, 'TLS '), endToEnd ? ' end to end' : '');
    security.className = 'badge ok';
    security.title = endToEnd
      ? `Encrypted from this tab to the mail server (${tlsInfo.cipher}); the proxy relays only ciphertext.`
      : `Encrypted (${tlsInfo.cipher})`;
  } else {
    badge('Not encrypted', ' end to end');
    security.className = 'badge warn';
    security.title = 'The WebSocket proxy sees the password exchange and the mail in clear text.';
  }
}

/** Headers of every message with TOP n 0, newest first, pipelined in batches; parsed in the worker. */
async function loadHeaders(gen) {
  const client = state.session.client;
  const order = state.messages.map((m) => m.msg).sort((a, b) => b - a);
  const started = performance.now();
  if (order.length === 0) { finishHeaders(started); return; }
  const parser = await parserReady;

  if (!client.capabilities) {
    // No CAPA: find out whether TOP works on the first message.
    try {
      const bytes = await client.top(order[0], 0);
      apply(await parser.headers([{ msg: order[0], bytes }]));
      state.useTop = true;
    } catch (error) {
      if (error.code !== 'server') throw error;
      state.useTop = false;
    }
  }
  if (!state.useTop) {
    $('headers-progress').hidden = false;
    $('headers-bar').hidden = true;
    $('headers-label').textContent = 'This server has no TOP command: the list shows sizes only. Open a message to read it.';
    state.headersDone = true;
    recomputeView();
    return;
  }

  const progress = $('headers-progress');
  const bar = $('headers-bar');
  const label = $('headers-label');
  const total = order.length;
  progress.hidden = total <= HEADER_BATCH / 2; // a bar that flashes for a few ms helps nobody
  bar.hidden = false;
  bar.max = total;
  const parses = [];
  for (let i = 0; i < total; i += HEADER_BATCH) {
    if (gen !== state.generation) return;
    const batch = order.slice(i, i + HEADER_BATCH).filter((n) => !state.byMsg.get(n).loaded);
    const items = [];
    await client.retrieveMany(batch, {
      lines: 0,
      onMessage: (msg, bytes) => items.push({ msg, bytes }),
      onError: (msg, error) => {
        const m = state.byMsg.get(msg);
        if (m) { m.error = error.message; m.loaded = true; }
      },
    });
    // Parse while the next batch downloads.
    parses.push(parser.headers(items).then((results) => {
      if (gen !== state.generation) return;
      apply(results);
      scheduleRefresh();
    }));
    const fetched = Math.min(total, i + HEADER_BATCH);
    bar.value = fetched;
    label.textContent = `Headers ${fetched.toLocaleString()} of ${total.toLocaleString()}`;
  }
  await Promise.all(parses);
  if (gen !== state.generation) return;
  finishHeaders(started);
}

function finishHeaders(started) {
  state.headersDone = true;
  $('headers-progress').hidden = true;
  assignSortTimes(state.messages);
  recomputeView();
  // The list opens at the newest message, at the top, unless the reader is already reading one.
  const index = state.open ? indexOf(state.open.msg) : -1;
  if (index >= 0) list.setActive(index);
  else {
    list.setActive(0);
    $('list').scrollTop = 0;
  }
  document.documentElement.dataset.headersMs = String(Math.round(performance.now() - started));
  $('list').dataset.state = 'ready';
}

function apply(results) {
  for (const r of results) {
    const m = state.byMsg.get(r.msg);
    if (!m) continue;
    m.loaded = true;
    if (r.error) { m.error = r.error; continue; }
    m.from = r.from || [];
    m.fromText = senderLabel(m.from);
    m.subject = r.subject ?? '';
    const ms = r.date ? Date.parse(r.date) : NaN;
    m.dateMs = Number.isNaN(ms) ? null : ms;
    m.search = `${m.fromText} ${m.from.map((a) => a.address || '').join(' ')} ${m.subject}`.toLowerCase();
  }
}

function keepalive() {
  if (!state.session) return;
  const gen = state.generation;
  state.session.client.noop({ timeoutMs: 30_000 }).catch((error) => { if (gen === state.generation) sessionFailed(error); });
}

/** Explains an error above the panes; one that ended the session offers to log in again. */
function sessionFailed(error) {
  const { session } = state;
  const box = $('session-error');
  showAlert(box, describeError(error, { context: 'session', proxyUrl: session && session.proxyUrl }));
  if (FATAL.has(error.code) || (session && session.client.state === 'closed')) {
    const again = document.createElement('button');
    again.type = 'button';
    again.textContent = 'Log in again';
    again.addEventListener('click', () => endSession(''));
    box.append(again);
    box.focus(); // nothing else works now
  }
}
subscribe('failed', sessionFailed);

export async function logout() {
  if (!state.session) return;
  const { client } = state.session;
  const deleted = deletedCount();
  const button = $('logout');
  button.disabled = true;
  let note;
  try {
    await client.quit({ timeoutMs: 15_000 });
    note = deleted
      ? `Logged out. ${deleted} message${deleted === 1 ? ' was' : 's were'} deleted from the server.`
      : 'Logged out.';
  } catch (error) {
    client.close().catch(() => {});
    note = `The session did not end cleanly (${describeError(error).title.toLowerCase()}), so the server deleted nothing.`;
  } finally {
    button.disabled = false;
  }
  endSession(note);
}

function endSession(note) {
  state.generation++;
  const { session } = state;
  if (session) {
    clearInterval(session.keepalive);
    if (session.client.state !== 'closed') session.client.close().catch(() => {});
  }
  state.session = null;
  closeMessage();
  state.messages = [];
  state.byMsg = new Map();
  state.view = [];
  list.setCount(0);
  $('list').dataset.state = '';
  $('mailbox-view').hidden = true;
  emit('session', null);
  emit('logged-out', note || '');
  resetHistory();
}

$('logout').addEventListener('click', logout);
