// The page every bundler builds: connect through websockify (the address and password come in
// the query string), log in, list the mailbox, and parse each message's headers (TOP n 0).

export async function listSubjects({ connect, parseMessage }, mime) {
  const params = new URLSearchParams(location.search);
  const client = await connect({ url: params.get('ws') });
  try {
    await client.login('alice', params.get('password'));
    const subjects = [];
    let first;
    for (const { msg } of await client.list()) {
      const header = await client.top(msg, 0);
      first ??= header;
      subjects.push(parseMessage(header).subject);
    }
    // pop3-wasm/mime, the parser-only entry (what a Web Worker imports), parses the same.
    if (mime) {
      await mime.init(mime.source);
      if (mime.parseMessage(first).subject !== subjects[0]) throw new Error('pop3-wasm/mime parsed another subject');
    }
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
