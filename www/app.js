// The demo mail reader: log in through a WebSocket proxy, list the mailbox (headers with
// TOP n 0, pipelined), read, delete and undo, log out. The POP3 session runs on this thread
// (it is I/O); MIME parsing runs in a module worker (parser.js).

import * as pkg from './pkg/src/index.js';
import { createParser } from './parser.js';
import { VirtualList } from './vlist.js';
import { prepareHtml } from './html-view.js';
import { describeError, showAlert } from './errors.js';
import { recordVisit } from './visits.js';
import { senderLabel, addressNodes, shortDate, fullDate, humanSize } from './format.js';

const $ = (id) => document.getElementById(id);
const HEADER_BATCH = 250;
const RAW_DISPLAY_LIMIT = 512 * 1024;
const SHOW_PROGRESS_FROM = 64 * 1024;
const KEEPALIVE_MS = 60_000;
const FATAL = new Set(['closed', 'transport', 'timeout', 'protocol', 'tls']);

const build = pkg.buildInfo();
const parserReady = createParser(pkg);

// ---------------------------------------------------------------- state
let session = null;      // { client, user, proxyUrl, mechanism, keepalive }
let generation = 0;      // bumped at every login and logout; stale async work checks it
let messages = [];       // [{ msg, size, uid, from, fromText, subject, dateMs, loaded, error, deleted }]
let byMsg = new Map();
let view = [];           // indices into messages: filtered and sorted
let useTop = true;
let headersDone = false;
let open = null;         // the open message, see openMessage()
let openSeq = 0;
let pushedHistory = false;
const remoteAllowed = new Set(); // uids (or numbers) whose remote content the reader allowed

const list = new VirtualList($('list'), {
  rowId: (i) => `row-${messages[view[i]].msg}`,
  renderRow,
  onClick: (index) => {
    list.setActive(index, { scroll: false });
    openMessage(messages[view[index]].msg);
  },
});

// ---------------------------------------------------------------- login form

/** Proxy URLs from demo-config.json: one for plain/STLS, one for implicit TLS (POP3S). */
const configProxies = { plain: '', implicit: '' };

async function initLogin() {
  const tlsSelect = $('tls');
  // The demo writes demo-config.json next to the page to pre-fill the form. Nothing is ever
  // written back: the page stores no credentials (and nothing else) anywhere.
  let config = null;
  try {
    const response = await fetch('demo-config.json', { cache: 'no-store' });
    if (response.ok) config = await response.json();
  } catch { /* no config: not the demo */ }
  configProxies.plain = resolveProxy(config && config.proxyUrl) || defaultProxy();
  configProxies.implicit = resolveProxy(config && config.proxyUrlImplicitTls);
  $('proxy').value = configProxies.plain;
  if (config) {
    if (config.user) $('user').value = config.user;
    if (config.password) $('password').value = config.password;
    if (config.serverName) $('server-name').value = config.serverName;
    if (config.ca) $('ca').value = config.ca;
  }

  if (!build.tls) {
    tlsSelect.value = 'none';
    tlsSelect.disabled = true;
    $('tls-help').textContent = 'This build has no TLS inside the browser, so the proxy sees the password and '
      + 'the mail. wss:// protects only the hop from the browser to the proxy.';
  } else {
    if (config && ['none', 'implicit', 'starttls'].includes(config.tls)) tlsSelect.value = config.tls;
    $('tls-help').textContent = 'TLS runs inside this page (WebAssembly), end to end: the proxy relays only ciphertext.';
  }
  tlsSelect.addEventListener('change', tlsChanged);
  tlsChanged();
  parserReady.then((p) => {
    $('build-info').textContent = `pop3-wasm ${build.version} · ${build.fullEncoding || build.hostCharsets ? 'all charsets' : 'common charsets'}`
      + ` · TLS in wasm: ${build.tls ? 'yes' : 'no'} · parsing ${p.mode === 'worker' ? 'in a Web Worker' : 'on the main thread'}`;
    document.documentElement.dataset.parser = p.mode;
  });
  ($('user').value ? ($('password').value ? $('connect') : $('password')) : $('user')).focus();
}

function tlsChanged() {
  const mode = $('tls').value;
  $('tls-fields').hidden = mode === 'none';
  // POP3S needs the relay to the POP3S port; switch between the demo's two, never over a URL
  // the reader typed.
  const proxy = $('proxy');
  if (configProxies.implicit) {
    if (mode === 'implicit' && proxy.value === configProxies.plain) proxy.value = configProxies.implicit;
    if (mode !== 'implicit' && proxy.value === configProxies.implicit) proxy.value = configProxies.plain;
  }
}

function defaultProxy() {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return '';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
}

/** "/path" means the page's own host and port. */
function resolveProxy(url) {
  if (!url) return '';
  if (url.startsWith('/')) {
    const base = defaultProxy();
    return base ? base.replace(/\/$/, '') + url : '';
  }
  return url;
}

let connecting = false;
$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (connecting) return;
  const errorBox = $('login-error');
  errorBox.hidden = true;
  const proxyUrl = $('proxy').value.trim();
  const user = $('user').value.trim();
  let password = $('password').value;
  if (!/^wss?:\/\/[^/\s]+/i.test(proxyUrl)) {
    showAlert(errorBox, { title: 'That is not a WebSocket URL', hint: 'Use ws://host:port/ or wss://host:port/.' });
    $('proxy').focus();
    return;
  }
  if (!user) {
    showAlert(errorBox, { title: 'Enter a user name' });
    $('user').focus();
    return;
  }
  const tls = $('tls').value;
  const serverName = $('server-name').value.trim();
  if (tls !== 'none' && !serverName) {
    showAlert(errorBox, { title: 'Enter the mail server’s name', hint: 'TLS checks that the mail server’s certificate carries this name.' });
    $('server-name').focus();
    return;
  }
  connecting = true;
  $('connect').disabled = true;
  const status = $('login-status');
  let client = null;
  try {
    status.textContent = 'Connecting to the proxy…';
    const options = { url: proxyUrl, connectTimeoutMs: 15_000 };
    if (tls !== 'none') {
      options.tls = tls;
      options.serverName = serverName;
      const ca = $('ca').value.trim();
      if (ca) {
        options.ca = ca;
        options.caOnly = $('ca-only').checked;
      }
    }
    client = await pkg.connect(options);
    status.textContent = 'Logging in…';
    const mechanism = await client.login(user, password, {
      mechanism: $('mechanism').value,
      allowCleartext: $('cleartext').checked,
      timeoutMs: 30_000,
    });
    password = null;
    $('password').value = '';
    status.textContent = '';
    await startSession(client, { user, proxyUrl, mechanism });
  } catch (error) {
    status.textContent = '';
    showAlert(errorBox, describeError(error, { context: client ? 'login' : 'connect', proxyUrl }), password);
    errorBox.scrollIntoView({ block: 'nearest' });
    if (client && !session) client.close().catch(() => {});
    if (error.code === 'auth' || error.code === 'server') {
      $('password').focus();
      $('password').select();
    }
  } finally {
    password = null;
    connecting = false;
    $('connect').disabled = false;
  }
});

// ---------------------------------------------------------------- session

async function startSession(client, meta) {
  const gen = ++generation;
  session = { client, ...meta, keepalive: setInterval(keepalive, KEEPALIVE_MS) };
  messages = [];
  byMsg = new Map();
  view = [];
  headersDone = false;
  remoteAllowed.clear();
  $('filter').value = '';
  $('session-error').hidden = true;
  closeMessage();
  let host = meta.proxyUrl;
  try { host = new URL(meta.proxyUrl).host; } catch { /* keep the text */ }
  $('account-name').textContent = `${meta.user} · ${host}`;
  $('account-name').title = `Logged in as ${meta.user} through ${meta.proxyUrl} with ${meta.mechanism}`;
  const security = $('security');
  const tlsInfo = client.tlsInfo;
  if (tlsInfo) {
    const endToEnd = tlsInfo.terminatedBy === 'wasm';
    security.textContent = `${tlsInfo.version.replace(/^TLSv/, 'TLS ')}${endToEnd ? ' end to end' : ''}`;
    security.className = 'badge ok';
    security.title = endToEnd
      ? `Encrypted from this tab to the mail server (${tlsInfo.cipher}); the proxy relays only ciphertext.`
      : `Encrypted (${tlsInfo.cipher})`;
  } else {
    security.textContent = 'Not encrypted end to end';
    security.className = 'badge warn';
    security.title = 'The WebSocket proxy sees the password exchange and the mail in clear text.';
  }
  $('login-view').hidden = true;
  $('mailbox-view').hidden = false;
  setView('list');
  updateDeletionNote();
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
    if (gen !== generation) return;
    messages = entries.map((e) => ({
      msg: e.msg, size: e.size, uid: uids.get(e.msg) ?? null,
      from: [], fromText: '', subject: '', dateMs: null, loaded: false, error: null, deleted: false, isNew: false,
    }));
    // What is new since the last visit (by UIDL); the first visit has nothing to compare with.
    const visit = await recordVisit(pkg, `${meta.user}@${host}`, messages);
    if (gen !== generation) return;
    for (const m of messages) m.isNew = Boolean(visit.previous && m.uid && !visit.previous.has(m.uid));
    const fresh = messages.filter((m) => m.isNew).length;
    $('only-new-count').textContent = visit.previous ? `(${fresh.toLocaleString()})` : '(first visit)';
    $('only-new').disabled = !visit.previous;
    $('only-new').checked = false;
    $('visit-note').textContent = visit.note;
    $('visit-note').hidden = !visit.note;
    byMsg = new Map(messages.map((m) => [m.msg, m]));
    useTop = !client.capabilities || client.capabilities.top;
    recomputeView();
    list.setActive(0);
    $('list').focus();
    await loadHeaders(gen);
  } catch (error) {
    if (gen === generation) sessionFailed(error);
  }
}

/** Headers of every message with TOP n 0, newest first, pipelined in batches; parsed in the worker. */
async function loadHeaders(gen) {
  const client = session.client;
  const order = messages.map((m) => m.msg).sort((a, b) => b - a);
  const started = performance.now();
  if (order.length === 0) { finishHeaders(started); return; }
  const parser = await parserReady;

  if (!client.capabilities) {
    // No CAPA: find out whether TOP works on the first message.
    try {
      const bytes = await client.top(order[0], 0);
      apply(await parser.headers([{ msg: order[0], bytes }]));
      useTop = true;
    } catch (error) {
      if (error.code !== 'server') throw error;
      useTop = false;
    }
  }
  if (!useTop) {
    $('headers-progress').hidden = false;
    $('headers-bar').hidden = true;
    $('headers-label').textContent = 'This server has no TOP command: the list shows sizes only. Open a message to read it.';
    headersDone = true;
    recomputeView();
    return;
  }

  const progress = $('headers-progress');
  const bar = $('headers-bar');
  const label = $('headers-label');
  const total = order.length;
  let fetched = 0;
  progress.hidden = total <= HEADER_BATCH / 2; // a bar that flashes for a few ms helps nobody
  bar.hidden = false;
  bar.max = total;
  const parses = [];
  for (let i = 0; i < total; i += HEADER_BATCH) {
    if (gen !== generation) return;
    const batch = order.slice(i, i + HEADER_BATCH).filter((n) => !byMsg.get(n).loaded);
    const items = [];
    await client.retrieveMany(batch, {
      lines: 0,
      onMessage: (msg, bytes) => items.push({ msg, bytes }),
      onError: (msg, error) => {
        const m = byMsg.get(msg);
        if (m) { m.error = error.message; m.loaded = true; }
      },
    });
    // Parse while the next batch downloads.
    parses.push(parser.headers(items).then((results) => {
      if (gen !== generation) return;
      apply(results);
      scheduleRefresh();
    }));
    fetched = Math.min(total, i + HEADER_BATCH);
    bar.value = fetched;
    label.textContent = `Headers ${fetched.toLocaleString()} of ${total.toLocaleString()}`;
  }
  await Promise.all(parses);
  if (gen !== generation) return;
  finishHeaders(started);
}

function finishHeaders(started) {
  headersDone = true;
  $('headers-progress').hidden = true;
  const activeMsg = activeMessage();
  recomputeView();
  const index = activeMsg ? view.findIndex((i) => messages[i].msg === activeMsg.msg) : 0;
  list.setActive(index >= 0 ? index : 0);
  const ms = Math.round(performance.now() - started);
  document.documentElement.dataset.headersMs = String(ms);
  $('list').dataset.state = 'ready';
}

function apply(results) {
  for (const r of results) {
    const m = byMsg.get(r.msg);
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

let refreshScheduled = false;
function scheduleRefresh() {
  if (refreshScheduled) return;
  refreshScheduled = true;
  requestAnimationFrame(() => {
    refreshScheduled = false;
    if ($('filter').value.trim()) recomputeView({ keepActive: true });
    else list.refresh();
  });
}

/** Sorts (newest first once dates are known) and filters into `view`. */
function recomputeView({ keepActive = false } = {}) {
  const activeMsg = keepActive ? activeMessage() : null;
  const query = $('filter').value.trim().toLowerCase();
  let indices = messages.map((_, i) => i);
  if (query) indices = indices.filter((i) => (messages[i].search || '').includes(query));
  const onlyNew = $('only-new').checked;
  if (onlyNew) indices = indices.filter((i) => messages[i].isNew);
  if (headersDone) {
    indices.sort((a, b) => {
      const x = messages[a];
      const y = messages[b];
      if (x.dateMs !== y.dateMs) {
        if (x.dateMs === null) return 1;
        if (y.dateMs === null) return -1;
        return y.dateMs - x.dateMs;
      }
      return y.msg - x.msg;
    });
  } else {
    indices.sort((a, b) => messages[b].msg - messages[a].msg);
  }
  view = indices;
  const total = messages.length;
  $('count').textContent = query || onlyNew
    ? `${view.length.toLocaleString()} of ${total.toLocaleString()}`
    : `${total.toLocaleString()} message${total === 1 ? '' : 's'}`;
  $('list').dataset.filter = query;
  $('list').dataset.count = String(view.length);
  $('list').dataset.total = String(total);
  list.setCount(view.length, query ? 'No message matches the filter.'
    : onlyNew ? 'No new message since your last visit.' : 'The mailbox is empty.');
  if (activeMsg) {
    const index = view.findIndex((i) => messages[i].msg === activeMsg.msg);
    if (index >= 0) list.setActive(index, { scroll: false });
  }
}

function activeMessage() {
  return list.active >= 0 && list.active < view.length ? messages[view[list.active]] : null;
}

function renderRow(el, index) {
  const m = messages[view[index]];
  el.dataset.msg = String(m.msg);
  el.classList.toggle('deleted', m.deleted);
  el.classList.toggle('new', m.isNew);
  el.classList.toggle('pending', !m.loaded && useTop);
  el.classList.toggle('open', Boolean(open && open.msg === m.msg));
  const from = document.createElement('span');
  from.className = 'from';
  if (m.deleted) {
    const flag = document.createElement('span');
    flag.className = 'flag';
    flag.textContent = 'Deleted';
    from.append(flag);
  }
  if (m.isNew) {
    const flag = document.createElement('span');
    flag.className = 'flag new';
    flag.textContent = 'New';
    from.append(flag);
  }
  from.append(m.loaded ? (m.fromText || m.error && 'Unreadable headers' || '(no sender)') : (useTop ? 'Loading…' : `Message ${m.msg}`));
  const date = document.createElement('span');
  date.className = 'date';
  date.textContent = shortDate(m.dateMs);
  const subject = document.createElement('span');
  subject.className = 'subject';
  subject.textContent = m.loaded ? (m.subject || '(no subject)') : '';
  const size = document.createElement('span');
  size.className = 'size';
  size.textContent = humanSize(m.size);
  el.replaceChildren(from, date, subject, size);
}

function keepalive() {
  if (!session) return;
  const gen = generation;
  session.client.noop({ timeoutMs: 30_000 }).catch((error) => { if (gen === generation) sessionFailed(error); });
}

function sessionFailed(error) {
  const box = $('session-error');
  const described = describeError(error, { context: 'session', proxyUrl: session && session.proxyUrl });
  showAlert(box, described);
  if (FATAL.has(error.code) || (session && session.client.state === 'closed')) {
    const again = document.createElement('button');
    again.type = 'button';
    again.textContent = 'Log in again';
    again.addEventListener('click', () => endSession(''));
    box.append(again);
  }
}

async function logout() {
  if (!session) return;
  const { client } = session;
  const deleted = messages.filter((m) => m.deleted).length;
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
  generation++;
  if (session) {
    clearInterval(session.keepalive);
    if (session.client.state !== 'closed') session.client.close().catch(() => {});
  }
  session = null;
  closeMessage();
  messages = [];
  byMsg = new Map();
  view = [];
  list.setCount(0);
  $('list').dataset.state = '';
  $('mailbox-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').hidden = true;
  $('login-status').textContent = note || '';
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  pushedHistory = false;
  $('password').focus();
}

// ---------------------------------------------------------------- deletion

async function deleteMessage(m) {
  if (!session || !m || m.deleted) return;
  try {
    await session.client.delete(m.msg);
    m.deleted = true;
    refreshMessage(m);
  } catch (error) {
    sessionFailed(error);
  }
}

async function undoAll() {
  if (!session || !messages.some((m) => m.deleted)) return;
  try {
    await session.client.reset();
    for (const m of messages) m.deleted = false;
    list.refresh();
    updateDeletionNote();
    if (open) showMessageState();
  } catch (error) {
    sessionFailed(error);
  }
}

function refreshMessage(m) {
  const index = view.findIndex((i) => messages[i] === m);
  if (index >= 0) list.update(index);
  updateDeletionNote();
  if (open && open.msg === m.msg) showMessageState();
}

function updateDeletionNote() {
  const n = messages.filter((m) => m.deleted).length;
  const note = $('deletion-note');
  $('undo-all').disabled = n === 0;
  $('mailbox-view').classList.toggle('has-deletions', n > 0);
  if (n === 0) { note.hidden = true; return; }
  note.replaceChildren(
    `${n} message${n === 1 ? '' : 's'} marked for deletion. They are deleted from the server when you log out; `
    + 'closing this tab without logging out deletes nothing. ',
  );
  const undo = document.createElement('button');
  undo.type = 'button';
  undo.textContent = 'Undo all deletions';
  undo.addEventListener('click', undoAll);
  note.append(undo);
  note.hidden = false;
}

window.addEventListener('beforeunload', (event) => {
  if (session && messages.some((m) => m.deleted)) {
    event.preventDefault(); // "Leave site?": the deletions would be dropped
    event.returnValue = '';
  }
});

// ---------------------------------------------------------------- reading

function setView(name) {
  $('mailbox-view').dataset.view = name;
}

const isNarrow = () => matchMedia('(max-width: 760px)').matches;

async function openMessage(msg, { fromHistory = false } = {}) {
  if (!session) return;
  const m = byMsg.get(msg);
  if (!m) return;
  closeMessage();
  const parser = await parserReady;
  const key = `${generation}:${msg}:${++openSeq}`;
  const abort = new AbortController();
  open = { msg, key, abort, m, parsed: null, raw: null, inline: {}, urls: [], tab: 'html', showRaw: false };
  const gen = generation;
  if (!fromHistory) {
    const hash = `#/message/${msg}`;
    if ($('mailbox-view').dataset.view === 'message') history.replaceState(null, '', hash);
    else { history.pushState(null, '', hash); pushedHistory = true; }
  }
  setView('message');
  const index = view.findIndex((i) => messages[i] === m);
  if (index >= 0) { list.setActive(index); }
  list.refresh();

  $('message-empty').hidden = true;
  $('message').hidden = false;
  $('message').dataset.state = 'loading';
  $('message').dataset.msg = String(msg);
  $('msg-subject').textContent = m.loaded ? (m.subject || '(no subject)') : `Message ${msg}`;
  $('msg-fields').replaceChildren();
  for (const id of ['attachments', 'remote-banner', 'body-tabs', 'html-body', 'text-body', 'raw-view', 'message-error']) $(id).hidden = true;
  clearFrame();
  $('raw-toggle').setAttribute('aria-pressed', 'false');
  $('download-eml').hidden = true;
  showMessageState();
  if (m.deleted) return; // the server refuses to retrieve a message marked for deletion

  const progress = $('message-progress');
  const bar = $('message-bar');
  const label = $('message-progress-label');
  progress.hidden = m.size < SHOW_PROGRESS_FROM;
  bar.max = m.size || 1;
  bar.value = 0;
  label.textContent = '';
  try {
    const raw = await session.client.retrieve(msg, {
      signal: abort.signal,
      onProgress: ({ received, expected }) => {
        const total = expected || m.size || received;
        bar.max = Math.max(total, received);
        bar.value = received;
        label.textContent = `${humanSize(received)} of ${humanSize(total)}`;
      },
    });
    if (!open || open.key !== key) return;
    label.textContent = 'Decoding…';
    const { parsed, inline } = await parser.open(key, raw);
    if (!open || open.key !== key) { parser.close(key); return; }
    progress.hidden = true;
    open.parsed = parsed;
    open.raw = raw;
    open.inline = inline;
    await renderMessage();
  } catch (error) {
    if (error.code === 'aborted' || !open || open.key !== key || gen !== generation) return;
    progress.hidden = true;
    showAlert($('message-error'), describeError(error, { context: 'session' }));
    $('message').dataset.state = 'error';
    if (FATAL.has(error.code)) sessionFailed(error);
  }
}

function showMessageState() {
  const deleted = Boolean(open && open.m.deleted);
  $('message-deleted').hidden = !deleted;
  $('delete').disabled = deleted;
  if (deleted && !open.parsed) {
    $('message').dataset.state = 'deleted';
    $('msg-fields').replaceChildren();
  }
}

async function renderMessage() {
  const { parsed, raw, key } = open;
  const parser = await parserReady;
  $('msg-subject').textContent = parsed.subject || '(no subject)';
  const dl = $('msg-fields');
  dl.replaceChildren();
  const field = (name, value) => {
    if (!value || (value instanceof DocumentFragment && !value.childNodes.length)) return;
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.append(value);
    dd.dataset.field = name.toLowerCase();
    dl.append(dt, dd);
  };
  field('From', addressNodes(parsed.from));
  if (parsed.sender.length && parsed.sender[0].address !== (parsed.from[0] && parsed.from[0].address)) field('Sender', addressNodes(parsed.sender));
  field('To', addressNodes(parsed.to));
  field('Cc', addressNodes(parsed.cc));
  field('Reply-To', addressNodes(parsed.replyTo));
  field('Date', fullDate(parsed.date, parsed.dateRaw));

  // Attachments: real links to Blobs, typed application/octet-stream so that opening one can
  // never render it (an HTML attachment as a blob: URL would run in this page's origin).
  const referenced = new Set();
  if (parsed.html) for (const match of parsed.html.matchAll(/cid:([^"'\s)>]+)/gi)) referenced.add(safeDecode(match[1]));
  const files = parsed.attachments.filter((a) => !(a.inline && a.contentId && referenced.has(a.contentId)));
  const ul = $('attachments');
  ul.replaceChildren();
  for (const a of files) {
    const li = document.createElement('li');
    const link = document.createElement('a');
    const name = a.filename || `attachment-${a.index + 1}${extensionFor(a.contentType)}`;
    link.download = name;
    link.href = '#';
    link.dataset.index = String(a.index);
    link.title = `Save ${name}`;
    const nameEl = document.createElement('span');
    nameEl.className = 'name';
    nameEl.textContent = name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${humanSize(a.size)} · ${a.contentType}`;
    link.append(nameEl, meta);
    li.append(link);
    ul.append(li);
    parser.attachment(key, a.index).then((bytes) => {
      if (!open || open.key !== key || !bytes) return;
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      open.urls.push(url);
      link.href = url;
      link.dataset.ready = 'true';
    }, () => { link.removeAttribute('href'); meta.textContent += ' · cannot be decoded'; });
  }
  ul.hidden = files.length === 0;

  const eml = $('download-eml');
  const emlUrl = URL.createObjectURL(new Blob([raw], { type: 'application/octet-stream' }));
  open.urls.push(emlUrl);
  eml.href = emlUrl;
  eml.download = `${(parsed.subject || `message-${open.msg}`).replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 80)}.eml`;
  eml.hidden = false;

  const hasHtml = Boolean(parsed.html);
  const hasText = Boolean(parsed.text);
  $('body-tabs').hidden = !(hasHtml && hasText);
  open.tab = hasHtml ? 'html' : 'text';
  showBody();
  $('message').dataset.state = 'ready';
  showMessageState();
}

/**
 * A new iframe for every document shown: a fresh browsing context each time (nothing of the
 * previous message survives in it, not even history), instead of re-navigating one frame.
 */
function mountFrame(srcdoc) {
  const old = $('html-body');
  const frame = old.cloneNode(false); // same id, class, title, sandbox, referrerpolicy
  frame.removeAttribute('srcdoc');
  frame.srcdoc = srcdoc;
  frame.hidden = false;
  old.replaceWith(frame);
  return frame;
}

function clearFrame() {
  const old = $('html-body');
  if (!old.hasAttribute('srcdoc')) { old.hidden = true; return; }
  const frame = old.cloneNode(false);
  frame.removeAttribute('srcdoc');
  frame.hidden = true;
  old.replaceWith(frame);
}

function showBody() {
  const { parsed } = open;
  let htmlFrame = $('html-body');
  const textBody = $('text-body');
  const rawView = $('raw-view');
  $('raw-toggle').setAttribute('aria-pressed', String(open.showRaw));
  if (open.showRaw) {
    htmlFrame.hidden = true;
    textBody.hidden = true;
    $('remote-banner').hidden = true;
    $('body-tabs').hidden = true;
    const shown = open.raw.subarray(0, RAW_DISPLAY_LIMIT);
    $('raw-body').textContent = new TextDecoder('utf-8', { fatal: false }).decode(shown);
    $('raw-note').textContent = open.raw.length > RAW_DISPLAY_LIMIT
      ? `Raw source: the first ${humanSize(RAW_DISPLAY_LIMIT)} of ${humanSize(open.raw.length)}, decoded as UTF-8. “Save .eml” has all of it.`
      : `Raw source, ${humanSize(open.raw.length)}, decoded as UTF-8 (invalid bytes show as �).`;
    rawView.hidden = false;
    return;
  }
  rawView.hidden = true;
  $('raw-body').textContent = '';
  $('body-tabs').hidden = !(parsed.html && parsed.text);
  $('tab-html').setAttribute('aria-selected', String(open.tab === 'html'));
  $('tab-text').setAttribute('aria-selected', String(open.tab === 'text'));
  if (open.tab === 'html' && parsed.html) {
    const allow = remoteAllowed.has(remoteKey(open));
    const { srcdoc, remoteCount } = prepareHtml(parsed.html, { inline: open.inline, allowRemote: allow });
    htmlFrame = mountFrame(srcdoc);
    textBody.hidden = true;
    const banner = $('remote-banner');
    if (remoteCount > 0 && !allow) {
      $('remote-text').textContent = `Remote content blocked: ${remoteCount} image${remoteCount === 1 ? '' : 's'} or style sheet${remoteCount === 1 ? '' : 's'} `
        + 'from other servers. Loading them tells the sender that, when and where you read this message.';
      banner.hidden = false;
      banner.dataset.count = String(remoteCount);
    } else {
      banner.hidden = true;
    }
    htmlFrame.dataset.remote = allow ? 'allowed' : 'blocked';
  } else {
    clearFrame();
    $('remote-banner').hidden = true;
    textBody.textContent = parsed.text ? parsed.text.replace(/\r\n/g, '\n') : '(This message has no text.)';
    textBody.hidden = false;
  }
}

function remoteKey(o) {
  return o.m.uid || `#${o.msg}`;
}

function closeMessage() {
  if (!open) return;
  open.abort.abort();
  for (const url of open.urls) URL.revokeObjectURL(url);
  const { key } = open;
  parserReady.then((p) => p.close(key)).catch(() => {});
  open = null;
  clearFrame();
  $('raw-body').textContent = '';
  $('text-body').textContent = '';
  $('message').hidden = true;
  $('message-empty').hidden = false;
  $('message-progress').hidden = true;
}

function showList({ fromHistory = false } = {}) {
  if (!fromHistory && $('mailbox-view').dataset.view === 'message' && location.hash.startsWith('#/message/')) {
    if (pushedHistory) { pushedHistory = false; history.back(); } else history.replaceState(null, '', location.pathname + location.search);
  }
  setView('list');
  if (isNarrow()) { closeMessage(); list.refresh(); }
  list.scrollToIndex(Math.max(0, list.active));
  $('list').focus();
}

window.addEventListener('popstate', () => {
  if (!session) return;
  const match = /^#\/message\/(\d+)$/.exec(location.hash);
  if (match && byMsg.has(Number(match[1]))) {
    if (!open || open.msg !== Number(match[1])) openMessage(Number(match[1]), { fromHistory: true });
    else setView('message');
  } else {
    pushedHistory = false;
    showList({ fromHistory: true });
  }
});

function toggleRaw() {
  if (!open || !open.raw) return;
  open.showRaw = !open.showRaw;
  showBody();
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

function extensionFor(type) {
  return { 'application/pdf': '.pdf', 'image/png': '.png', 'image/jpeg': '.jpg', 'image/gif': '.gif', 'text/plain': '.txt',
    'text/csv': '.csv', 'text/html': '.html', 'message/rfc822': '.eml' }[type] || '.bin';
}

// ---------------------------------------------------------------- controls

$('logout').addEventListener('click', logout);
$('undo-all').addEventListener('click', undoAll);
$('undo-inline').addEventListener('click', undoAll);
$('delete').addEventListener('click', () => open && deleteMessage(open.m));
$('raw-toggle').addEventListener('click', toggleRaw);
$('back').addEventListener('click', () => showList());
$('show-remote').addEventListener('click', () => {
  if (!open) return;
  remoteAllowed.add(remoteKey(open));
  showBody();
});
for (const [id, tab] of [['tab-html', 'html'], ['tab-text', 'text']]) {
  $(id).addEventListener('click', () => { if (open) { open.tab = tab; showBody(); } });
}
$('attachments').addEventListener('click', (event) => {
  const link = event.target.closest('a');
  if (link && !link.dataset.ready) event.preventDefault(); // still decoding
});
$('download-eml').addEventListener('click', (event) => { if (!open || !open.raw) event.preventDefault(); });

$('only-new').addEventListener('change', () => { recomputeView(); list.setActive(0); });

let filterTimer = 0;
$('filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => { recomputeView(); list.setActive(0); }, 90);
});

function move(delta) {
  if (view.length === 0) return;
  const next = Math.max(0, Math.min(view.length - 1, (list.active < 0 ? 0 : list.active) + delta));
  list.setActive(next);
  // On a phone the list is hidden while reading: moving means reading the next one.
  if ($('mailbox-view').dataset.view === 'message' && isNarrow()) openMessage(messages[view[next]].msg);
}

document.addEventListener('keydown', (event) => {
  if (!session || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const listEl = $('list');
  if (target.matches('input, textarea, select, [contenteditable]')) {
    if (target === $('filter')) {
      if (event.key === 'Escape') {
        // First Esc clears the filter, the next one returns to the list.
        clearTimeout(filterTimer);
        const pending = listEl.dataset.filter !== target.value.trim().toLowerCase();
        if (target.value) target.value = '';
        else listEl.focus();
        if (pending || target.value === '') { recomputeView({ keepActive: true }); if (list.active < 0) list.setActive(0); }
        event.preventDefault();
      } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
        clearTimeout(filterTimer);
        recomputeView();
        list.setActive(0);
        listEl.focus();
        event.preventDefault();
      }
    }
    return;
  }
  const inList = target === listEl || target === document.body || listEl.contains(target);
  const active = activeMessage();
  switch (event.key) {
    case 'j': move(1); break;
    case 'k': move(-1); break;
    case 'ArrowDown': if (!inList) return; move(1); break;
    case 'ArrowUp': if (!inList) return; move(-1); break;
    case 'PageDown': if (!inList) return; move(list.pageSize()); break;
    case 'PageUp': if (!inList) return; move(-list.pageSize()); break;
    case 'Home': if (!inList) return; move(-view.length); break;
    case 'End': if (!inList) return; move(view.length); break;
    case 'Enter': if (!inList || !active) return; openMessage(active.msg); break;
    case 'Delete': case '#': {
      const m = $('mailbox-view').dataset.view === 'message' && open ? open.m : (active || (open && open.m));
      deleteMessage(m);
      break;
    }
    case 'u': undoAll(); break;
    case 'r': toggleRaw(); break;
    case 'Escape': showList(); break;
    case '/': $('filter').focus(); $('filter').select(); break;
    default: return;
  }
  event.preventDefault();
});

initLogin();
