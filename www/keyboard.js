// Keyboard use of the mailbox: j/k or the arrows move, Enter opens, Delete or # deletes,
// u undoes every deletion, r shows the raw source, Esc goes back, / filters.

import { state, isNarrow } from './store.js';
import { list, activeMessage, recomputeView, applyFilterNow } from './list-view.js';
import { openMessage, showList, toggleRaw } from './reader.js';
import { deleteMessage, undoAll } from './deletion.js';

const $ = (id) => document.getElementById(id);

/** The pane follows the selection after this pause, so key repeat does not download every message passed. */
const FOLLOW_DELAY_MS = 150;
let followTimer = 0;

/**
 * Moves the selection; the reading pane follows it (desktop, or a phone that shows a
 * message), so the message shown is always the selected one.
 */
function move(delta) {
  const { view, messages } = state;
  if (view.length === 0) return;
  const next = Math.max(0, Math.min(view.length - 1, (list.active < 0 ? 0 : list.active) + delta));
  list.setActive(next);
  clearTimeout(followTimer);
  if (isNarrow() && $('mailbox-view').dataset.view !== 'message') return;
  const msg = messages[view[next]].msg;
  followTimer = setTimeout(() => {
    if (activeMessage()?.msg === msg && state.open?.msg !== msg) openMessage(msg, { follow: true });
  }, FOLLOW_DELAY_MS);
}

/** Keys typed in the filter box: Esc clears it (then leaves it), Enter or ↓ go to the list. */
function filterKey(event, input) {
  const listEl = $('list');
  if (event.key === 'Escape') {
    applyFilterNow();
    const pending = listEl.dataset.filter !== input.value.trim().toLowerCase();
    if (input.value) input.value = '';
    else listEl.focus();
    if (pending || input.value === '') { recomputeView({ keepActive: true }); if (list.active < 0) list.setActive(0); }
    event.preventDefault();
  } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
    applyFilterNow();
    recomputeView();
    list.setActive(0);
    listEl.focus();
    event.preventDefault();
  }
}

document.addEventListener('keydown', (event) => {
  if (!state.session || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const listEl = $('list');
  if (target.matches('input, textarea, select, [contenteditable]')) {
    if (target === $('filter')) filterKey(event, target);
    return;
  }
  const inList = target === listEl || target === document.body || listEl.contains(target);
  const active = activeMessage();
  const { view, open } = state;
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
    case 'Delete': case '#': deleteMessage(active || (open && open.m)); break; // the selected one, which the pane shows
    case 'u': undoAll(); break;
    case 'r': toggleRaw(); break;
    case 'Escape': showList(); break;
    case '/': $('filter').focus(); $('filter').select(); break;
    default: return;
  }
  event.preventDefault();
});
