// The Deno transport (pop3-wasm's "deno" export condition: src/deno.js) against real Dovecot
// servers. Run by test/deno.test.mjs, which starts the servers and passes their description
// in POP3_EDGE_STACKS; directly: npx deno test -A deno/transport.deno.js (with that variable).

import { assert, assertEquals, assertMatch, assertRejects } from './assert.js';
import * as pop3 from 'pop3-wasm';

const { connect, openDenoStream, newSyncState, parseMessage, Pop3Error } = pop3;
const info = JSON.parse(await Deno.readTextFile(Deno.env.get('POP3_EDGE_STACKS')));
const { main, wronghost, expired, repo, freshMail } = info;
const ca = await Deno.readTextFile(main.ca_cert);
const BASE_SUBJECTS = info.baseSubjects;

async function loginAndList(options, user = 'alice') {
  const client = await connect({ host: '127.0.0.1', ...options });
  await client.login(user, main.users[user].password);
  const list = await client.list();
  const subjects = [];
  for (const { msg } of list) subjects.push(parseMessage(await client.retrieve(msg)).subject);
  const tlsInfo = client.tlsInfo;
  await client.quit();
  return { subjects: subjects.sort(), tlsInfo };
}

async function rejectsWithCode(fn, code) {
  const e = await assertRejects(fn);
  assert(e instanceof Pop3Error, `a Pop3Error (got ${e})`);
  assertEquals(e.code, code, e.message);
  return e;
}

Deno.test('the deno export condition resolves to the Deno entry', () => {
  assertEquals(typeof openDenoStream, 'function');
  assertEquals(pop3.buildInfo().tls, true);
});

Deno.test("legacy charsets are decoded by Deno's TextDecoder", () => {
  const latin1 = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const raw = latin1('From: =?ISO-2022-JP?B?GyRCN29MPhsoQg==?= <jp@example.jp>\r\nSubject: =?GB2312?Q?=C4=E3=BA=C3?=\r\n'
    + 'Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\ngrGC8YLJgr+CzYFBkKKKRQ==\r\n');
  const p = parseMessage(raw);
  assertEquals([p.subject, p.from[0].name, p.text.trim()], ['你好', '件名', 'こんにちは、世界']);
});

Deno.test('plain TCP', async () => {
  const r = await loginAndList({ port: main.pop3_port, tls: 'none' });
  assertEquals(r.subjects, BASE_SUBJECTS);
  assertEquals(r.tlsInfo, null);
});

Deno.test('implicit TLS (Deno.startTls) trusting the test CA via caCerts', async () => {
  const r = await loginAndList({ port: main.pop3s_port, tls: 'implicit', ca });
  assertEquals(r.subjects, BASE_SUBJECTS);
  assertEquals(r.tlsInfo, { version: '', cipher: '', terminatedBy: 'host' });
});

Deno.test('STLS trusting the test CA via caCerts', async () => {
  const r = await loginAndList({ port: main.pop3_port, tls: 'starttls', ca });
  assertEquals(r.subjects, BASE_SUBJECTS);
  assertEquals(r.tlsInfo.terminatedBy, 'host');
});

Deno.test('TLS inside the wasm module over a Deno TCP connection', async () => {
  const r = await loginAndList({ port: main.pop3s_port, tls: 'implicit', tlsProvider: 'wasm', ca });
  assertEquals(r.subjects, BASE_SUBJECTS);
  assertEquals(r.tlsInfo.terminatedBy, 'wasm');
  assertMatch(r.tlsInfo.version, /^TLSv1\.[23]$/);
});

Deno.test('without the private CA the certificate is refused', async () => {
  const e = await rejectsWithCode(() => connect({ host: '127.0.0.1', port: main.pop3s_port, tls: 'implicit' }), 'tls');
  assertMatch(e.message, /UnknownIssuer|issuer/i);
});

Deno.test('a certificate for another name is refused (POP3S and STLS)', async () => {
  const whCa = await Deno.readTextFile(wronghost.ca_cert);
  const e1 = await rejectsWithCode(() => connect({ host: '127.0.0.1', port: wronghost.pop3s_port, tls: 'implicit', ca: whCa }), 'tls');
  assertMatch(e1.message, /NotValidForName|not valid for name/i);
  await rejectsWithCode(() => connect({ host: '127.0.0.1', port: wronghost.pop3_port, tls: 'starttls', ca: whCa }), 'tls');
  // serverName: the name the certificate does carry is accepted.
  const c = await connect({ host: '127.0.0.1', port: wronghost.pop3s_port, tls: 'implicit', ca: whCa, serverName: 'wrong.example' });
  await c.quit();
});

Deno.test('an expired certificate is refused', async () => {
  const exCa = await Deno.readTextFile(expired.ca_cert);
  const e = await rejectsWithCode(() => connect({ host: '127.0.0.1', port: expired.pop3_port, tls: 'starttls', ca: exCa }), 'tls');
  assertMatch(e.message, /expired/i);
});

Deno.test('a refused connection is a transport error', async () => {
  await rejectsWithCode(() => connect({ host: '127.0.0.1', port: info.closedPort, tls: 'none' }), 'transport');
});

Deno.test('a connection reset by the server is "closed"', async () => {
  const client = await connect({ host: '127.0.0.1', port: info.resetPort, tls: 'none' });
  const e = await rejectsWithCode(() => client.capa(), 'closed');
  assertEquals(e.transient, true);
  await client.close();
});

Deno.test('a cut (FIN or RST) during the TLS handshake is transient, with Deno\'s TLS and the wasm TLS (POP3S and STLS)', async () => {
  for (const { how, serverBytes, tls, port } of info.cuts) {
    for (const tlsProvider of ['host', 'wasm']) {
      const what = `${how} after ${serverBytes} octets, ${tls}, ${tlsProvider} TLS`;
      const e = await assertRejects(() => connect({ host: '127.0.0.1', port, tls, tlsProvider, ca }));
      assert(e instanceof Pop3Error, `${what}: a Pop3Error (got ${e})`);
      assert(['closed', 'transport'].includes(e.code), `${what}: code ${e.code}: ${e.message}`);
      assertEquals(e.transient, true, `${what}: ${e.message}`);
    }
  }
});

Deno.test('certificate failures are permanent', async () => {
  const whCa = await Deno.readTextFile(wronghost.ca_cert);
  for (const tlsProvider of ['host', 'wasm']) {
    for (const tls of ['implicit', 'starttls']) {
      const port = tls === 'implicit' ? wronghost.pop3s_port : wronghost.pop3_port;
      const e = await rejectsWithCode(() => connect({ host: '127.0.0.1', port, tls, tlsProvider, ca: whCa, serverName: 'localhost' }), 'tls');
      assertEquals(e.transient, false, `${tls}, ${tlsProvider} TLS: ${e.message}`);
    }
  }
});

Deno.test('the transport refuses startTls() while a read is pending, and a second concurrent read', async () => {
  const stream = await openDenoStream({ host: '127.0.0.1', port: main.pop3_port, tls: 'starttls', ca });
  const greeting = new TextDecoder().decode(await stream.read());
  assertMatch(greeting, /^\+OK/);
  const pending = stream.read(); // the server says nothing until asked
  await rejectsWithCode(() => stream.read(), 'usage');
  await rejectsWithCode(() => stream.startTls(), 'usage');
  stream.close();
  assertEquals(await pending, null);
});

Deno.test('sync twice: everything, then nothing; then only new mail', async () => {
  let state = newSyncState('syncer@127.0.0.1');
  const saved = [];
  const run = async () => {
    const client = await connect({ host: '127.0.0.1', port: main.pop3_port, tls: 'starttls', ca });
    await client.login('syncer', main.users.syncer.password);
    return client.sync({
      state,
      save: ({ uid, bytes }) => { saved.push({ uid, subject: parseMessage(bytes).subject }); },
      saveState: (s) => { state = s; },
    });
  };
  const first = await run();
  assertEquals(first.saved, 4);
  assertEquals(saved.map((s) => s.subject).sort(), BASE_SUBJECTS);
  const second = await run();
  assertEquals(second.saved, 0);
  assertEquals(second.alreadySaved, 4);
  const deliver = new Deno.Command('python3', {
    args: [`${repo}/tests/support/mailstack.py`, 'deliver', '--maildir', main.users.syncer.maildir, freshMail],
    stdout: 'null',
  });
  assertEquals((await deliver.output()).code, 0);
  const third = await run();
  assertEquals(third.saved, 1);
  assertEquals(saved.at(-1).subject, 'New in Deno');
  assertEquals(Object.keys(state.messages).length, 5);
});
