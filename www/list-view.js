// The message list: a virtual list (vlist.js) over state.view, the filter and "only new",
// and the sort order. Clicking a row emits 'choose'; the reader opens it.

import { state, emit, subscribe } from './store.js';
import { VirtualList } from './vlist.js';
import { shortDate, humanSize } from './format.js';

const $ = (id) => document.getElementById(id);

export const list = new VirtualList($('list'), {
  rowId: (i) => `row-${state.messages[state.view[i]].msg}`,
  renderRow,
  onClick: (index) => {
    list.setActive(index, { scroll: false });
    emit('choose', { msg: state.messages[state.view[index]].msg });
  },
});

/** The message of the highlighted row, or null. */
export function activeMessage() {
  const { view, messages } = state;
  return list.active >= 0 && list.active < view.length ? messages[view[list.active]] : null;
}

/** The row index of message `msg` in the list as shown, or -1. */
export function indexOf(msg) {
  return state.view.findIndex((i) => state.messages[i].msg === msg);
}

const FUTURE_SLACK_MS = 24 * 3600_000;

/**
 * Gives every message the time it sorts by: its Date:, or, when that is missing or
 * unreadable (common in spam), the latest date among the messages that arrived before it
 * (lower numbers), so it sorts by arrival order instead of falling to the end. A date far in
 * the future does not drag the undated mail after it to the top.
 */
export function assignSortTimes(messages) {
  const limit = Date.now() + FUTURE_SLACK_MS;
  let arrivedBy = -Infinity;
  for (const m of [...messages].sort((a, b) => a.msg - b.msg)) {
    m.sortMs = m.dateMs ?? arrivedBy;
    if (m.dateMs !== null && m.dateMs <= limit) arrivedBy = Math.max(arrivedBy, m.dateMs);
  }
}

/** Sorts (newest first once dates are known) and filters into state.view. */
export function recomputeView({ keepActive = false } = {}) {
  const { messages } = state;
  const activeMsg = keepActive ? activeMessage() : null;
  const query = $('filter').value.trim().toLowerCase();
  let indices = messages.map((_, i) => i);
  if (query) indices = indices.filter((i) => (messages[i].search || '').includes(query));
  const onlyNew = $('only-new').checked;
  if (onlyNew) indices = indices.filter((i) => messages[i].isNew);
  if (state.headersDone) {
    indices.sort((a, b) => messages[b].sortMs - messages[a].sortMs || messages[b].msg - messages[a].msg);
  } else {
    indices.sort((a, b) => messages[b].msg - messages[a].msg);
  }
  state.view = indices;
  const total = messages.length;
  $('count').textContent = query || onlyNew
    ? `${indices.length.toLocaleString()} of ${total.toLocaleString()}`
    : `${total.toLocaleString()} message${total === 1 ? '' : 's'}`;
  $('list').dataset.filter = query;
  $('list').dataset.count = String(indices.length);
  $('list').dataset.total = String(total);
  list.setCount(indices.length, query ? 'No message matches the filter.'
    : onlyNew ? 'No new message since your last visit.' : 'The mailbox is empty.');
  if (activeMsg) {
    const index = indexOf(activeMsg.msg);
    if (index >= 0) list.setActive(index, { scroll: false });
  }
}

let refreshScheduled = false;
/** Re-renders once per frame while headers arrive. */
export function scheduleRefresh() {
  if (refreshScheduled) return;
  refreshScheduled = true;
  requestAnimationFrame(() => {
    refreshScheduled = false;
    if ($('filter').value.trim()) recomputeView({ keepActive: true });
    else list.refresh();
  });
}

/** Re-renders the row of `m`, if it is in view. */
export function updateRow(m) {
  const index = state.view.findIndex((i) => state.messages[i] === m);
  if (index >= 0) list.update(index);
}

function renderRow(el, index) {
  const { messages, view, open, useTop } = state;
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
  size.title = `Size on the server: ${m.size.toLocaleString()} bytes`;
  el.replaceChildren(from, date, subject, size);
}

$('only-new').addEventListener('change', () => { recomputeView(); list.setActive(0); });

let filterTimer = 0;
$('filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => { recomputeView(); list.setActive(0); }, 90);
});
/** Applies a typed filter now (Enter, Esc, arrow down) instead of after the typing pause. */
export function applyFilterNow() {
  clearTimeout(filterTimer);
}

subscribe('deletions', (m) => { if (m) updateRow(m); else list.refresh(); });
subscribe('open', () => list.refresh());
