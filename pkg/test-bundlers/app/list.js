// The page every bundler builds: connect through websockify (the address and password come in
// the query string), log in, list the mailbox, and parse each message's headers (TOP n 0).

export async function listSubjects({ connect, parseMessage }) {
  const params = new URLSearchParams(location.search);
  const client = await connect({ url: params.get('ws') });
  try {
    await client.login('alice', params.get('password'));
    const subjects = [];
    for (const { msg } of await client.list()) subjects.push(parseMessage(await client.top(msg, 0)).subject);
    return subjects;
  } finally {
    await client.quit().catch(() => {});
  }
}

/** Shows the outcome where the test reads it: #out's text, then the title 'done'. */
export function report(promise) {
  const out = document.getElementById('out');
  promise.then(
    (subjects) => { out.textContent = JSON.stringify({ ok: true, subjects }); },
    (e) => { out.textContent = JSON.stringify({ ok: false, error: `${e && e.name}: ${e && e.message}`, code: e && e.code }); },
  ).finally(() => { document.title = 'done'; });
}
