// Replies checked as strictly as the best clients check them (issue 20) through the npm
// package: listOne()/uidlOne() answered about another message, list()/uidl() listings with
// lines that cannot be read or entries above stat()'s count (err.detail), and utf8(),
// languages(), setLanguage() against scripted servers and against Dovecot (which offers
// neither UTF8 nor LANG).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { connect, Pop3Client, Pop3Error } from '../src/node.js';
import { scriptedServer, startStack } from './helpers.js';

const servers = [];
after(async () => { for (const s of servers) await s.close(); });

/** A scripted server answering each command line from `answers` (verb or whole line -> reply). */
async function serve(answers, options) {
  const server = await scriptedServer((line, socket) => {
    const reply = answers[line] ?? answers[line.split(' ')[0].toUpperCase()];
    if (reply === undefined) return false;
    socket.write(typeof reply === 'function' ? reply(line) : reply);
    return true;
  }, options);
  servers.push(server);
  return server;
}

async function loggedIn(port) {
  const client = await connect({ host: '127.0.0.1', port });
  await client.login('alice', 'wonderland', { mechanism: 'user', allowCleartext: true });
  return client;
}

/** The rejection of `promise` (fails when it resolves). */
async function rejection(promise) {
  return promise.then((value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`), (e) => e);
}

describe('single-message LIST and UIDL', () => {
  test('listOne()/uidlOne() answered about another message reject with code protocol; the session goes on', async () => {
    const server = await serve({
      'LIST 1': '+OK 99 1024\r\n',
      'UIDL 1': '+OK 99 uid-99\r\n',
      'LIST 2': '+OK 2 200\r\n',
      'UIDL 2': '+OK 2 uid-2\r\n',
    });
    const client = await loggedIn(server.port);
    let e = await rejection(client.listOne(1));
    assert.ok(e instanceof Pop3Error, String(e));
    assert.equal(e.code, 'protocol');
    assert.match(e.message, /LIST 1.*99/);
    e = await rejection(client.uidlOne(1));
    assert.equal(e.code, 'protocol');
    assert.match(e.message, /UIDL 1.*99/);
    assert.deepEqual(await client.listOne(2), { msg: 2, size: 200 });
    assert.deepEqual(await client.uidlOne(2), { msg: 2, uid: 'uid-2' });
    await client.noop();
    await client.quit();
    assert.deepEqual(server.connections[0].commands.slice(-6), ['LIST 1', 'UIDL 1', 'LIST 2', 'UIDL 2', 'NOOP', 'QUIT']);
  });
});

describe('listings with lines that cannot be read', () => {
  test('list() rejects, with the readable entries and the malformed lines in detail; sizes read are kept', async () => {
    const server = await serve({
      LIST: '+OK 4 messages\r\n1 100\r\n6\r\n7 ten-twenty-four\r\n9 300\r\n.\r\n',
      'RETR 1': '+OK\r\nSubject: one\r\n\r\nbody\r\n.\r\n',
    });
    const client = await loggedIn(server.port);
    const e = await rejection(client.list());
    assert.ok(e instanceof Pop3Error, String(e));
    assert.equal(e.code, 'protocol');
    assert.match(e.message, /LIST/);
    assert.deepEqual(e.detail, {
      type: 'listing',
      entries: [{ msg: 1, size: 100 }, { msg: 9, size: 300 }],
      malformed: ['6', '7 ten-twenty-four'],
      beyondCount: [],
    });
    // The session's size table holds what could be read: progress expects LIST's 100 octets.
    const progress = [];
    await client.retrieve(1, { onProgress: (p) => progress.push(p) });
    assert.ok(progress.length > 0);
    assert.equal(progress.at(-1).expected, 100);
    await client.quit();
  });

  test('uidl() rejects on a line without an id, with what could be read in detail', async () => {
    const server = await serve({ UIDL: '+OK\r\n1 uid-1\r\n3\r\n4 uid-4\r\n.\r\n' });
    const client = await loggedIn(server.port);
    const e = await rejection(client.uidl());
    assert.equal(e.code, 'protocol');
    assert.deepEqual(e.detail, {
      type: 'listing',
      entries: [{ msg: 1, uid: 'uid-1' }, { msg: 4, uid: 'uid-4' }],
      malformed: ['3'],
      beyondCount: [],
    });
    await client.noop();
    await client.quit();
  });

  test('entries numbered above the count stat() reported reject the same way', async () => {
    const server = await serve({
      STAT: '+OK 2 300\r\n',
      LIST: '+OK\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n',
      UIDL: '+OK\r\n1 uid-1\r\n2 uid-2\r\n5 uid-5\r\nbad\r\n.\r\n',
    });
    const client = await loggedIn(server.port);
    assert.deepEqual(await client.stat(), { count: 2, size: 300 });
    let e = await rejection(client.list());
    assert.equal(e.code, 'protocol');
    assert.match(e.message, /above the count STAT reported/);
    assert.deepEqual(e.detail, {
      type: 'listing',
      entries: [{ msg: 1, size: 100 }, { msg: 2, size: 200 }, { msg: 3, size: 300 }],
      malformed: [],
      beyondCount: [3],
    });
    e = await rejection(client.uidl());
    assert.deepEqual(e.detail, {
      type: 'listing',
      entries: [{ msg: 1, uid: 'uid-1' }, { msg: 2, uid: 'uid-2' }, { msg: 5, uid: 'uid-5' }],
      malformed: ['bad'],
      beyondCount: [5],
    });
    await client.noop();
    await client.quit();
  });

  test('without stat() in the session, a listing is not held to a count', async () => {
    const server = await serve({ LIST: '+OK\r\n1 100\r\n3 300\r\n.\r\n' });
    const client = await loggedIn(server.port);
    assert.deepEqual(await client.list(), [{ msg: 1, size: 100 }, { msg: 3, size: 300 }]);
    await client.quit();
  });
});

describe('UTF8 and LANG (RFC 6856)', () => {
  test('utf8(), languages() and setLanguage() are methods, declared in the types', () => {
    const dts = readFileSync(new URL('../types/index.d.ts', import.meta.url), 'utf8');
    for (const name of ['utf8', 'languages', 'setLanguage']) {
      assert.equal(typeof Pop3Client.prototype[name], 'function', name);
      assert.match(dts, new RegExp(`^\\s+${name}\\(`, 'm'), `${name} in types/index.d.ts`);
    }
  });

  test('against a scripted server: the replies Dovecot does not give', async () => {
    let loggedInYet = false;
    const server = await serve({
      CAPA: () => (loggedInYet ? '+OK\r\nUSER\r\nLANG\r\n.\r\n' : '+OK\r\nUSER\r\nUTF8 USER\r\nLANG\r\n.\r\n'),
      UTF8: '+OK UTF8 enabled\r\n',
      LANG: () => (loggedInYet
        ? '-ERR LANG nicht verfügbar\r\n'
        : '+OK Language listing follows:\r\nen English\r\nfr Français\r\ni-default Default language\r\n.\r\n'),
      'LANG de': '+OK de Sprache geändert\r\n',
      'LANG tlh': '-ERR [?] unsupported language\r\n',
      PASS: () => { loggedInYet = true; return '+OK angemeldet\r\n'; },
      STAT: '+OK 0 0\r\n',
    });
    const client = await connect({ host: '127.0.0.1', port: server.port });
    const caps = await client.capa();
    assert.equal(caps.utf8, true);
    assert.equal(caps.utf8User, true);
    assert.equal(caps.lang, true);
    assert.equal(await client.utf8(), undefined);
    assert.deepEqual(await client.languages(), [
      { tag: 'en', description: 'English' },
      { tag: 'fr', description: 'Français' },
      { tag: 'i-default', description: 'Default language' },
    ]);
    // Resolves to the +OK text, which names the language chosen (UTF-8).
    assert.equal(await client.setLanguage('de'), 'de Sprache geändert');
    let e = await rejection(client.setLanguage('tlh'));
    assert.equal(e.code, 'server');
    assert.equal(e.serverText, 'unsupported language');
    // Refused before anything is sent: no tag, or one that would break the command line.
    for (const bad of ['', 'de\r\nDELE 1', undefined]) {
      e = await rejection(client.setLanguage(bad));
      assert.equal(e.code, 'usage', String(bad));
    }
    await client.login('alice', 'wonderland', { mechanism: 'user', allowCleartext: true });
    // UTF8 only before login (RFC 6856): refused without being sent.
    e = await rejection(client.utf8());
    assert.equal(e.code, 'usage');
    e = await rejection(client.languages());
    assert.equal(e.code, 'server');
    assert.equal(e.serverText, 'LANG nicht verfügbar');
    assert.deepEqual(await client.stat(), { count: 0, size: 0 });
    await client.quit();
    const sent = server.connections[0].commands.filter((c) => !c.startsWith('PASS'));
    assert.deepEqual(sent, ['CAPA', 'UTF8', 'LANG', 'LANG de', 'LANG tlh', 'USER alice', 'CAPA', 'LANG', 'STAT', 'QUIT']);
  });

  test('against Dovecot, which offers neither: CAPA lists neither, and each call rejects with its -ERR', async () => {
    const stack = await startStack([]);
    try {
      const client = await connect({ host: stack.host, port: stack.pop3_port });
      const caps = await client.capa();
      assert.equal(caps.utf8, false);
      assert.equal(caps.lang, false);
      // Before login (Dovecot hangs up after three unknown commands there).
      let e = await rejection(client.utf8());
      assert.equal(e.code, 'server');
      assert.match(e.serverText, /Unknown command/);
      e = await rejection(client.languages());
      assert.equal(e.code, 'server');
      await client.login('alice', stack.password(), { mechanism: 'user', allowCleartext: true });
      e = await rejection(client.setLanguage('en'));
      assert.equal(e.code, 'server');
      assert.match(e.serverText, /Unknown command/);
      e = await rejection(client.languages());
      assert.equal(e.code, 'server');
      assert.deepEqual(await client.stat(), { count: 0, size: 0 });
      await client.quit();
    } finally {
      await stack.stop();
    }
  });
});
