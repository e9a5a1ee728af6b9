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
/** Moving the selection over a larger message shows its headers, not a long download. */
const FOLLOW_DOWNLOAD_LIMIT = 1024 * 1024;
/** Long To and Cc lists show this many addresses, then "and N more". */
const RECIPIENTS_SHOWN = 5;

let openSeq = 0;
let pushedHistory = false;

/** 'list' or 'message': which of the two a phone shows. */
export function setView(name) {
  $('mailbox-view').dataset.view = name;
}

/**
 * Shows message `msg` in the pane: at once what the list knows (sender, date, size), then
 * the whole message once RETR has brought it. `follow`: opened because the selection moved
 * (j/k); a large message then waits for a click instead of starting a long download.
 */
export async function openMessage(msg, { fromHistory = false, follow = false } = {}) {
  if (!state.session) return;
  const m = state.byMsg.get(msg);
  if (!m) return;
  closeMessage();
  const key = `${state.generation}:${msg}:${++openSeq}`;
  const open = { msg, key, abort: new AbortController(), m, parsed: null, raw: null, inline: {}, urls: [], tab: 'html', showRaw: false };
  state.open = open;
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
  $('message').dataset.msg = String(msg);
  $('msg-subject').textContent = m.loaded ? (m.subject || '(no subject)') : `Message ${msg}`;
  fillFields([
    ['From', addressNodes(m.from)],
    ['Date', m.dateMs === null ? '' : fullDate(new Date(m.dateMs).toISOString())],
    ['Size', sizeOnServer(m.size)],
  ]);
  for (const id of ['attachments', 'remote-banner', 'body-tabs', 'html-body', 'text-body', 'raw-view', 'message-error',
    'message-held', 'raw-toggle', 'download-eml']) $(id).hidden = true;
  clearFrame();
  $('raw-toggle').setAttribute('aria-pressed', 'false');
  $('message-progress').hidden = true;
  showMessageState();
  if (m.deleted) return; // the server refuses to retrieve a message marked for deletion
  if (follow && m.size > FOLLOW_DOWNLOAD_LIMIT) { hold(open, `This message is ${humanSize(m.size)}.`, `Download ${humanSize(m.size)}`); return; }
  await download(open);
}

/** RETR with a progress bar and a Cancel button, then parsing in the worker. */
async function download(open) {
  const { m, msg, key, abort } = open;
  const gen = state.generation;
  $('message').dataset.state = 'loading';
  $('message-held').hidden = true;
  const progress = $('message-progress');
  const bar = $('message-bar');
  const label = $('message-progress-label');
  // After a Cancel the server still sends the rest of that message, and this RETR waits for it.
  let skipping = state.skipping;
  progress.hidden = m.size < SHOW_PROGRESS_FROM && !skipping;
  $('cancel-download').hidden = false;
  bar.max = m.size || 1;
  if (skipping) { bar.removeAttribute('value'); label.textContent = 'Skipping the rest of the cancelled message…'; } else { bar.value = 0; label.textContent = ''; }
  try {
    const raw = await state.session.client.retrieve(msg, {
      signal: abort.signal,
      onProgress: ({ received, expected }) => {
        if (skipping) { skipping = false; state.skipping = false; }
        const total = expected || m.size || received;
        bar.max = Math.max(total, received);
        bar.value = received;
        label.textContent = `${humanSize(received)} of ${humanSize(total)}`;
      },
    });
    state.skipping = false;
    if (state.open !== open) return;
    label.textContent = 'Decoding…';
    $('cancel-download').hidden = true;
    const parser = await parserReady;
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

/** Stops the download of the open message; the session goes on. */
function cancelDownload() {
  const { open } = state;
  if (!open || open.parsed || $('message').dataset.state !== 'loading') return;
  const received = Number($('message-bar').value) || 0;
  open.abort.abort();
  state.skipping = true;
  open.abort = new AbortController(); // for "Download again"
  $('message-progress').hidden = true;
  hold(open, `Download cancelled after ${humanSize(received)} of ${humanSize(open.m.size)}. POP3 cannot stop a message `
    + 'half-way: the server still sends the rest, which is skipped, so the next message may take a moment to start.', 'Download again');
  $('message').dataset.state = 'cancelled';
}

/** The header card without the body, and a button to download it. */
function hold(open, text, action) {
  $('message-progress').hidden = true;
  $('message-held-text').textContent = text;
  $('retry-download').textContent = action;
  $('message-held').hidden = false;
  $('message').dataset.state = 'held';
}

/** "12.3 KB on the server", with the exact count on hover: what LIST says, before decoding. */
function sizeOnServer(n) {
  const span = document.createElement('span');
  span.textContent = `${humanSize(n)} on the server`;
  span.title = `The message as stored on the server, attachments encoded: ${n.toLocaleString()} bytes`;
  return span;
}

/** The header card's fields: [[name, text or nodes]], empty ones left out. */
function fillFields(entries) {
  const dl = $('msg-fields');
  dl.replaceChildren();
  for (const [name, value] of entries) {
    if (!value || (value instanceof DocumentFragment && !value.childNodes.length)) continue;
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.append(value);
    dd.dataset.field = name.toLowerCase();
    dl.append(dt, dd);
  }
}

/** The "marked for deletion" note and the Delete button, for the open message. */
function showMessageState() {
  const { open } = state;
  const deleted = Boolean(open && open.m.deleted);
  $('message-deleted').hidden = !deleted;
  $('delete').disabled = deleted;
  if (deleted && !open.parsed) $('message').dataset.state = 'deleted'; // the header card stays; RETR would be refused
}
subscribe('deletions', () => { if (state.open) showMessageState(); });

async function renderMessage(open) {
  const { parsed, raw } = open;
  $('msg-subject').textContent = parsed.subject || '(no subject)';
  const sender = parsed.sender.length && parsed.sender[0].address !== (parsed.from[0] && parsed.from[0].address);
  fillFields([
    ['From', addressNodes(parsed.from)],
    ['Sender', sender ? addressNodes(parsed.sender) : ''],
    ['To', addressNodes(parsed.to, { shown: RECIPIENTS_SHOWN })],
    ['Cc', addressNodes(parsed.cc, { shown: RECIPIENTS_SHOWN })],
    ['Reply-To', addressNodes(parsed.replyTo)],
    ['Date', fullDate(parsed.date, parsed.dateRaw)],
    ['Size', sizeOnServer(open.m.size)],
  ]);

  const referenced = new Set();
  if (parsed.html) for (const match of parsed.html.matchAll(/cid:([^"'\s)>]+)/gi)) referenced.add(safeDecode(match[1]));
  const files = parsed.attachments.filter((a) => !(a.inline && a.contentId && referenced.has(a.contentId)));
  const ul = $('attachments');
  ul.replaceChildren(...files.map((a) => attachmentChip(open, a)));
  ul.hidden = files.length === 0;

  const eml = $('download-eml');
  const emlUrl = URL.createObjectURL(new Blob([raw], { type: 'application/octet-stream' }));
  open.urls.push(emlUrl);
  eml.href = emlUrl;
  eml.download = `${(parsed.subject || `message-${open.msg}`).replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 80)}.eml`;
  eml.hidden = false;
  $('raw-toggle').hidden = false;

  const hasHtml = Boolean(parsed.html);
  const hasText = Boolean(parsed.text);
  $('body-tabs').hidden = !(hasHtml && hasText);
  open.tab = hasHtml ? 'html' : 'text';
  showBody();
  $('message').dataset.state = 'ready';
  showMessageState();
}

/**
 * One attachment: a link that saves it (a Blob typed application/octet-stream, so that
 * opening one can never render it: an HTML attachment as a blob: URL would run in this
 * page's origin). PNG, JPEG, GIF and WebP whose bytes are what they claim get a thumbnail (an
 * <img> never runs script); a real PDF gets "Open", in a new tab with no way back to this one.
 */
function attachmentChip(open, a) {
  const li = document.createElement('li');
  const link = document.createElement('a');
  link.className = 'file';
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
  meta.title = `Attachment size, decoded: ${a.size.toLocaleString()} bytes`;
  const label = document.createElement('span');
  label.className = 'label';
  label.append(nameEl, meta);
  link.append(label);
  li.append(link);
  parserReady.then((parser) => parser.attachment(open.key, a.index)).then((bytes) => {
    if (state.open !== open || !bytes) return;
    const url = (type) => {
      const u = URL.createObjectURL(new Blob([bytes], { type }));
      open.urls.push(u);
      return u;
    };
    link.href = url('application/octet-stream');
    link.dataset.ready = 'true';
    const image = THUMBNAIL_TYPES[a.contentType.toLowerCase()];
    if (image && a.size <= THUMBNAIL_MAX_BYTES && image(bytes)) {
      const img = document.createElement('img');
      img.className = 'thumb';
      img.alt = name;
      img.decoding = 'async';
      img.src = url(a.contentType.toLowerCase());
      link.prepend(img);
    }
    if (isPdf(a, bytes)) {
      const view = document.createElement('a');
      view.className = 'open button';
      view.textContent = 'Open';
      view.setAttribute('aria-label', `Open ${name}`);
      view.title = `Open ${name} in a new tab`;
      view.target = '_blank';
      view.rel = 'noopener noreferrer';
      view.href = url('application/pdf');
      li.append(view);
    }
  }, () => { link.removeAttribute('href'); meta.textContent += ' · cannot be decoded'; });
  return li;
}

const THUMBNAIL_MAX_BYTES = 16 * 1024 * 1024;
const startsWith = (bytes, ...sig) => sig.every((b, i) => b === null || bytes[i] === b);
/** Image types shown as thumbnails, each with a check of its signature (no SVG: it is a document). */
const THUMBNAIL_TYPES = {
  'image/png': (b) => startsWith(b, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
  'image/jpeg': (b) => startsWith(b, 0xff, 0xd8, 0xff),
  'image/gif': (b) => startsWith(b, 0x47, 0x49, 0x46, 0x38),
  'image/webp': (b) => startsWith(b, 0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50),
};
THUMBNAIL_TYPES['image/jpg'] = THUMBNAIL_TYPES['image/jpeg'];

function isPdf(a, bytes) {
  const named = a.contentType.toLowerCase() === 'application/pdf' || /\.pdf$/i.test(a.filename || '');
  return named && startsWith(bytes, 0x25, 0x50, 0x44, 0x46, 0x2d); // "%PDF-"
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
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    $('remote-text').textContent = allow
      ? `Remote content is shown: ${plural(remoteCount, 'image')} or style sheets from other servers, which now know that you read this message.`
      : `Remote content blocked: ${plural(remoteCount, 'image')} or style sheets from other servers. `
        + 'Loading them tells the sender that, when and where you read this message.';
    banner.hidden = remoteCount === 0;
    banner.dataset.count = String(remoteCount);
    $('show-remote').hidden = allow;
    $('block-remote').hidden = !allow;
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
subscribe('session', () => { state.skipping = false; });
$('raw-toggle').addEventListener('click', toggleRaw);
$('back').addEventListener('click', () => showList());
$('show-remote').addEventListener('click', () => {
  if (!state.open) return;
  state.remoteAllowed.add(remoteKey(state.open));
  showBody();
  $('block-remote').focus();
});
$('block-remote').addEventListener('click', () => {
  if (!state.open) return;
  state.remoteAllowed.delete(remoteKey(state.open));
  showBody();
  $('show-remote').focus();
});
$('cancel-download').addEventListener('click', cancelDownload);
$('retry-download').addEventListener('click', () => { if (state.open) download(state.open); });
for (const [id, tab] of [['tab-html', 'html'], ['tab-text', 'text']]) {
  $(id).addEventListener('click', () => { if (state.open) { state.open.tab = tab; showBody(); } });
}
$('attachments').addEventListener('click', (event) => {
  const link = event.target.closest('a.file');
  if (link && !link.dataset.ready) event.preventDefault(); // still decoding
});
$('download-eml').addEventListener('click', (event) => { if (!state.open || !state.open.raw) event.preventDefault(); });
