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
subscribe('deletions', updateDeletionNote);
subscribe('session', updateDeletionNote);

$('undo-all').addEventListener('click', undoAll);
$('undo-inline').addEventListener('click', undoAll);
$('delete').addEventListener('click', () => state.open && deleteMessage(state.open.m));

window.addEventListener('beforeunload', (event) => {
  if (state.session && deletedCount() > 0) {
    event.preventDefault(); // "Leave site?": the deletions would be dropped
    event.returnValue = '';
  }
});
