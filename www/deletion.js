// Deleting: DELE marks a message, RSET undoes every mark, and only QUIT (Log out) makes the
// server delete. The note above the panes says how many are marked and offers the undo.

import { state, emit, subscribe } from './store.js';

const $ = (id) => document.getElementById(id);

export async function deleteMessage(m) {
  if (!state.session || !m || m.deleted) return;
  try {
    await state.session.client.delete(m.msg);
    m.deleted = true;
    emit('deletions', m);
  } catch (error) {
    emit('failed', error);
  }
}

export async function undoAll() {
  if (!state.session || !state.messages.some((m) => m.deleted)) return;
  try {
    await state.session.client.reset();
    for (const m of state.messages) m.deleted = false;
    emit('deletions', null);
  } catch (error) {
    emit('failed', error);
  }
}

export const deletedCount = () => state.messages.filter((m) => m.deleted).length;

function updateDeletionNote() {
  const n = deletedCount();
  $('deletion-note').hidden = n === 0;
  $('deletion-text').textContent = n === 0 ? ''
    : `${n} message${n === 1 ? '' : 's'} marked for deletion. They are deleted from the server when you log out; `
      + 'closing this tab without logging out deletes nothing.';
}
subscribe('deletions', updateDeletionNote);
subscribe('session', updateDeletionNote);

$('undo-all').addEventListener('click', undoAll);
$('delete').addEventListener('click', () => state.open && deleteMessage(state.open.m));


window.addEventListener('beforeunload', (event) => {
  if (state.session && deletedCount() > 0) {
    event.preventDefault(); // "Leave site?": the deletions would be dropped
    event.returnValue = '';
  }
});
