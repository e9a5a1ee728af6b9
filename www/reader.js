// The reading pane: downloads a message (RETR, with progress), has the worker parse it, and
// shows its headers, attachments and body (HTML in a sandboxed iframe, see html-view.js),
// or its raw source. On a phone it is a view of its own, with the browser's Back button.

import { state, emit, subscribe, isNarrow } from './store.js';
import { parserReady, FATAL } from './services.js';
import { list, indexOf } from './list-view.js';
import { prepareHtml } from './html-view.js';
import { describeError, showAlert } from './errors.js';
import { addressNodes, fullDate, humanSize } from './format.js';

const $ = (id) => document.getElementById(id);
const RAW_DISPLAY_LIMIT = 512 * 1024;
const SHOW_PROGRESS_FROM = 64 * 1024;

let openSeq = 0;
let pushedHistory = false;

/** 'list' or 'message': which of the two a phone shows. */
export function setView(name) {
  $('mailbox-view').dataset.view = name;
}

export async function openMessage(msg, { fromHistory = false } = {}) {
  if (!state.session) return;
  const m = state.byMsg.get(msg);
  if (!m) return;
  closeMessage();
  const parser = await parserReady;
  const key = `${state.generation}:${msg}:${++openSeq}`;
  const abort = new AbortController();
  const open = { msg, key, abort, m, parsed: null, raw: null, inline: {}, urls: [], tab: 'html', showRaw: false };
  state.open = open;
  const gen = state.generation;
  if (!fromHistory) {
    const hash = `#/message/${msg}`;
    if ($('mailbox-view').dataset.view === 'message') history.replaceState(null, '', hash);
    else { history.pushState(null, '', hash); pushedHistory = true; }
  }
  setView('message');
  const index = indexOf(msg);
  if (index >= 0) list.setActive(index);
  emit('open', open);

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
    const raw = await state.session.client.retrieve(msg, {
      signal: abort.signal,
      onProgress: ({ received, expected }) => {
        const total = expected || m.size || received;
        bar.max = Math.max(total, received);
        bar.value = received;
        label.textContent = `${humanSize(received)} of ${humanSize(total)}`;
      },
    });
    if (state.open !== open) return;
    label.textContent = 'Decoding…';
    const { parsed, inline } = await parser.open(key, raw);
    if (state.open !== open) { parser.close(key); return; }
    progress.hidden = true;
    open.parsed = parsed;
    open.raw = raw;
    open.inline = inline;
    await renderMessage(open);
  } catch (error) {
    if (error.code === 'aborted' || state.open !== open || gen !== state.generation) return;
    progress.hidden = true;
    showAlert($('message-error'), describeError(error, { context: 'session' }));
    $('message').dataset.state = 'error';
    if (FATAL.has(error.code)) emit('failed', error);
  }
}

/** The "marked for deletion" note and the Delete button, for the open message. */
function showMessageState() {
  const { open } = state;
  const deleted = Boolean(open && open.m.deleted);
  $('message-deleted').hidden = !deleted;
  $('delete').disabled = deleted;
  if (deleted && !open.parsed) {
    $('message').dataset.state = 'deleted';
    $('msg-fields').replaceChildren();
  }
}
subscribe('deletions', () => { if (state.open) showMessageState(); });

async function renderMessage(open) {
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
      if (state.open !== open || !bytes) return;
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
  const { open } = state;
  const { parsed } = open;
  const textBody = $('text-body');
  const rawView = $('raw-view');
  $('raw-toggle').setAttribute('aria-pressed', String(open.showRaw));
  if (open.showRaw) {
    $('html-body').hidden = true;
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
    const allow = state.remoteAllowed.has(remoteKey(open));
    const { srcdoc, remoteCount } = prepareHtml(parsed.html, { inline: open.inline, allowRemote: allow });
    const frame = mountFrame(srcdoc);
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
    frame.dataset.remote = allow ? 'allowed' : 'blocked';
  } else {
    clearFrame();
    $('remote-banner').hidden = true;
    textBody.textContent = parsed.text ? parsed.text.replace(/\r\n/g, '\n') : '(This message has no text.)';
    textBody.hidden = false;
  }
}

function remoteKey(open) {
  return open.m.uid || `#${open.msg}`;
}

/** Empties the reading pane; a download still running is aborted. */
export function closeMessage() {
  const { open } = state;
  if (!open) return;
  open.abort.abort();
  for (const url of open.urls) URL.revokeObjectURL(url);
  parserReady.then((p) => p.close(open.key)).catch(() => {});
  state.open = null;
  clearFrame();
  $('raw-body').textContent = '';
  $('text-body').textContent = '';
  $('message').hidden = true;
  $('message-empty').hidden = false;
  $('message-progress').hidden = true;
}

/** Back to the list (Esc, "← Messages", the browser's Back on a phone). */
export function showList({ fromHistory = false } = {}) {
  if (!fromHistory && $('mailbox-view').dataset.view === 'message' && location.hash.startsWith('#/message/')) {
    if (pushedHistory) { pushedHistory = false; history.back(); } else history.replaceState(null, '', location.pathname + location.search);
  }
  setView('list');
  if (isNarrow()) { closeMessage(); list.refresh(); }
  list.scrollToIndex(Math.max(0, list.active));
  $('list').focus();
}

/** Forgets the history entry of an open message (at logout). */
export function resetHistory() {
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  pushedHistory = false;
}

window.addEventListener('popstate', () => {
  if (!state.session) return;
  const match = /^#\/message\/(\d+)$/.exec(location.hash);
  if (match && state.byMsg.has(Number(match[1]))) {
    if (!state.open || state.open.msg !== Number(match[1])) openMessage(Number(match[1]), { fromHistory: true });
    else setView('message');
  } else {
    pushedHistory = false;
    showList({ fromHistory: true });
  }
});

export function toggleRaw() {
  const { open } = state;
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

subscribe('choose', ({ msg }) => openMessage(msg));
$('raw-toggle').addEventListener('click', toggleRaw);
$('back').addEventListener('click', () => showList());
$('show-remote').addEventListener('click', () => {
  if (!state.open) return;
  state.remoteAllowed.add(remoteKey(state.open));
  showBody();
});
for (const [id, tab] of [['tab-html', 'html'], ['tab-text', 'text']]) {
  $(id).addEventListener('click', () => { if (state.open) { state.open.tab = tab; showBody(); } });
}
$('attachments').addEventListener('click', (event) => {
  const link = event.target.closest('a');
  if (link && !link.dataset.ready) event.preventDefault(); // still decoding
});
$('download-eml').addEventListener('click', (event) => { if (!state.open || !state.open.raw) event.preventDefault(); });
