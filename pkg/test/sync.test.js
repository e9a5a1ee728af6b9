// The sync engine through the JavaScript API (client.sync, newSyncState, checkSyncState,
// watch) against real Dovecot mailboxes (tests/support/mailstack.py), and against
// tests/support/fake_pop3.py for what Dovecot does not do on demand ([IN-USE], [AUTH]).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Pop3Error, checkSyncState, connect, loadSyncState, newSyncState, watch } from '../src/node.js';
import { deliver, repo, stallingServer, startStack } from './helpers.js';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const DAY_MS = 86_400_000;

let stack;
let mailRoot;
/** user -> [{ file, bytes (what RETR returns: CRLF) }] in mailbox order */
const sources = {};

/** A small message with LF line ends, as a file would hold it. */
function message(user, i) {
  return `From: Sender ${i} <s${i}@example.org>\nTo: ${user}@example.org\nSubject: sync ${user} ${i}\n`
    + `Message-ID: <sync-${user}-${i}@example.org>\n\nbody ${i}\n.a line starting with a dot\nlast line\n`;
}

const crlf = (text) => Buffer.from(text.replace(/\n/g, '\r\n'), 'utf8');

/** Writes message(user, i) for each i into a fresh directory; returns the file paths. */
function writeMessages(user, numbers) {
  const dir = fs.mkdtempSync(path.join(mailRoot, `${user}-`));
  return numbers.map((i) => {
    const file = path.join(dir, `${String(i).padStart(3, '0')}.eml`);
    fs.writeFileSync(file, message(user, i));
    sources[user] ??= [];
    sources[user].push({ file, bytes: crlf(message(user, i)) });
    return file;
  });
}

/** Delivers new messages into a user's mailbox on the running stack. */
function deliverNew(user, numbers) {
  deliver(stack.maildir(user), writeMessages(user, numbers));
}

async function login(user) {
  const client = await connect({ host: stack.host, port: stack.pop3_port });
  try {
    await client.login(user, stack.password(user));
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
  return client;
}

async function serverCount(user) {
  const client = await login(user);
  const { count } = await client.stat();
  await client.quit();
  return count;
}

/** An in-memory sink: idempotent per uid, like the Maildir sinks; counts every call. */
function memorySink() {
  const sink = {
    stored: new Map(),
    saves: [],
    states: [],
    save: ({ uid, bytes }) => {
      assert.ok(bytes instanceof Uint8Array);
      sink.saves.push(uid);
      if (!sink.stored.has(uid)) sink.stored.set(uid, Buffer.from(bytes));
    },
    saveState: (state) => { sink.states.push(state.toJSON()); },
    get lastState() { return sink.states.at(-1); },
  };
  return sink;
}

before(async () => {
  mailRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-sync-'));
  const initial = { alice: [1, 2, 3, 4, 5], bob: [1, 2, 3], carol: [1, 2, 3, 4, 5], dave: [1, 2, 3, 4, 5], erin: [1], frank: [1, 2, 3, 4] };
  const args = [];
  for (const user of USERS) {
    args.push('--user', `${user}:pw-${user}-1234`);
    const files = writeMessages(user, initial[user]);
    args.push(user === USERS[0] ? '--mail' : '--mail-for', user === USERS[0] ? path.dirname(files[0]) : `${user}=${path.dirname(files[0])}`);
  }
  stack = await startStack(args);
});

after(async () => {
  await stack?.stop();
  if (mailRoot) fs.rmSync(mailRoot, { recursive: true, force: true });
});

describe('client.sync against Dovecot', () => {
  test('first sync gets everything (CRLF bytes), the second nothing, then only new mail; delete empties the server', async () => {
    const account = `alice@${stack.host}`;
    const sink = memorySink();
    const progress = [];
    const client = await login('alice');
    const first = await client.sync({ state: newSyncState(account), save: sink.save, saveState: sink.saveState, onProgress: (p) => progress.push(p) });
    assert.equal(client.state, 'closed', 'sync ends the session');
    assert.equal(first.onServer, 5);
    assert.equal(first.saved, 5);
    assert.equal(first.alreadySaved, 0);
    assert.equal(first.deleted, 0);
    assert.deepEqual(first.warnings, []);
    assert.equal(first.savedUids.length, 5);
    assert.deepEqual([...sink.stored.keys()], first.savedUids, 'saved in mailbox order');
    first.savedUids.forEach((uid, i) => {
      assert.ok(sink.stored.get(uid).equals(sources.alice[i].bytes), `bytes of message ${i + 1}`);
    });
    assert.equal(first.bytes, sources.alice.reduce((n, s) => n + s.bytes.length, 0));
    assert.deepEqual(Object.keys(first.state.messages).sort(), [...first.savedUids].sort());
    assert.deepEqual(sink.lastState, first.state.toJSON(), 'the report state is the one persisted last');
    assert.equal(first.state.account, account);
    // Without `record`, the whole state is persisted after each batch of records and at the
    // end: never fewer messages than before, never more than were saved.
    const counts = sink.states.map((s) => Object.keys(s.messages).length);
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b), `non-decreasing: ${counts}`);
    assert.equal(counts.at(-1), 5);
    assert.ok(counts.length <= 6, `${counts.length} saves for 5 messages`);
    assert.deepEqual(progress.at(-1), { messagesDone: 5, messagesTotal: 5, bytesDone: first.bytes, bytesTotal: first.bytes });
    assert.equal(progress[0].messagesDone, 0);

    const second = await (await login('alice')).sync({ state: first.state, save: sink.save, saveState: sink.saveState });
    assert.equal(second.saved, 0);
    assert.equal(second.alreadySaved, 5);
    assert.equal(sink.saves.length, 5, 'save is not called again');

    deliverNew('alice', [6, 7]);
    const third = await (await login('alice')).sync({ state: second.state, save: sink.save, saveState: sink.saveState });
    assert.equal(third.saved, 2);
    assert.equal(third.alreadySaved, 5);
    assert.equal(sink.saves.length, 7);
    assert.ok(sink.stored.get(third.savedUids[0]).equals(sources.alice[5].bytes));
    assert.ok(sink.stored.get(third.savedUids[1]).equals(sources.alice[6].bytes));

    const fourth = await (await login('alice')).sync({ state: third.state, save: sink.save, saveState: sink.saveState, retention: 'delete' });
    assert.equal(fourth.saved, 0);
    assert.equal(fourth.deleted, 7);
    assert.equal(await serverCount('alice'), 0);
    // Ids of messages no longer on the server are forgotten on the next run.
    const fifth = await (await login('alice')).sync({ state: fourth.state, save: sink.save, saveState: sink.saveState });
    assert.equal(fifth.onServer, 0);
    assert.deepEqual(fifth.state.messages, {});
  });

  test('retention { olderThanDays } deletes what was saved that long ago, by `now`', async () => {
    const sink = memorySink();
    const t0 = Date.now();
    const retention = { olderThanDays: 2 };
    const first = await (await login('bob')).sync({ state: newSyncState('bob'), save: sink.save, saveState: sink.saveState, retention, now: t0 });
    assert.equal(first.saved, 3);
    assert.equal(first.deleted, 0);
    for (const saved of Object.values(first.state.messages)) assert.equal(saved.savedAt, Math.floor(t0 / 1000));
    deliverNew('bob', [4]);
    // Three days later: the first three are old enough; the new one is saved now.
    const later = await (await login('bob')).sync({ state: first.state, save: sink.save, saveState: sink.saveState, retention, now: t0 + 3 * DAY_MS });
    assert.equal(later.saved, 1);
    assert.equal(later.deleted, 3);
    assert.equal(await serverCount('bob'), 1);
    const dayAfter = await (await login('bob')).sync({ state: later.state, save: sink.save, saveState: sink.saveState, retention, now: t0 + 4 * DAY_MS });
    assert.equal(dayAfter.deleted, 0, 'saved only a day ago');
    assert.deepEqual(Object.keys(dayAfter.state.messages), later.savedUids, 'the deleted ones are forgotten');
    const end = await (await login('bob')).sync({ state: dayAfter.state, save: sink.save, saveState: sink.saveState, retention, now: t0 + 5 * DAY_MS });
    assert.equal(end.deleted, 1);
    assert.equal(await serverCount('bob'), 0);
  });

  test('a save that rejects: it and the later messages stay unrecorded, nothing is deleted, the next sync gets them', async () => {
    const sink = memorySink();
    const boom = new Error('disk full (from the test)');
    let calls = 0;
    const failing = async (m) => {
      calls += 1;
      if (calls === 3) throw boom;
      sink.save(m);
    };
    const client = await login('carol');
    await assert.rejects(client.sync({ state: newSyncState('carol'), save: failing, saveState: sink.saveState, retention: 'delete' }),
      (e) => e === boom, 'rejects with the caller\'s own error');
    assert.equal(calls, 3, 'no save after the failure');
    assert.equal(client.state, 'closed');
    assert.equal(Object.keys(sink.lastState.messages).length, 2, 'only the two saved are recorded');
    assert.equal(await serverCount('carol'), 5, 'nothing deleted: no QUIT');
    // A save that throws (rather than rejects) is the same.
    const thrown = new TypeError('thrown synchronously');
    await assert.rejects((await login('carol')).sync({ state: sink.lastState, save: () => { throw thrown; }, saveState: sink.saveState }),
      (e) => e === thrown);
    assert.equal(Object.keys(sink.lastState.messages).length, 2);

    const next = await (await login('carol')).sync({ state: sink.lastState, save: sink.save, saveState: sink.saveState, retention: 'delete' });
    assert.equal(next.saved, 3);
    assert.equal(next.alreadySaved, 2);
    assert.equal(next.deleted, 5);
    assert.equal(sink.stored.size, 5);
    [...sink.stored.values()].forEach((bytes, i) => assert.ok(bytes.equals(sources.carol[i].bytes), `message ${i + 1}`));
    assert.equal(await serverCount('carol'), 0);
  });

  test('a saveState that rejects: the messages are saved but not recorded, and saved again (idempotently) next time', async () => {
    const sink = memorySink();
    const boom = new Error('state not written (from the test)');
    const failing = () => Promise.reject(boom);
    await assert.rejects((await login('dave')).sync({ state: newSyncState('dave'), save: sink.save, saveState: failing, retention: 'delete' }),
      (e) => e === boom);
    const handed = sink.saves.length;
    assert.ok(handed >= 1, 'messages were saved before their record failed');
    assert.equal(sink.states.length, 0, 'nothing recorded');
    assert.equal(await serverCount('dave'), 5, 'nothing deleted: no record, no DELE');
    const next = await (await login('dave')).sync({ state: newSyncState('dave'), save: sink.save, saveState: sink.saveState, retention: 'delete' });
    assert.equal(next.saved, 5);
    assert.equal(sink.saves.length, handed + 5, 'the unrecorded messages are handed over again');
    assert.equal(sink.stored.size, 5, 'and the idempotent sink keeps one copy of each');
    assert.equal(next.deleted, 5);
  });

  test('an onProgress that throws stops the sync with that error; nothing is deleted', async () => {
    const sink = memorySink();
    const oops = new RangeError('progress bar bug (from the test)');
    await assert.rejects((await login('frank')).sync({
      state: newSyncState('frank'),
      save: sink.save,
      saveState: sink.saveState,
      retention: 'delete',
      onProgress: (p) => { if (p.messagesDone === 1) throw oops; },
    }), (e) => e === oops);
    // It stops where the sync next waits (here, messages already received may still be
    // saved), and in any case before QUIT.
    assert.equal(await serverCount('frank'), 4);
    // And it does not hide a failure that comes later.
    const boom = new Error('disk full (from the test)');
    await assert.rejects((await login('frank')).sync({
      state: newSyncState('frank'),
      save: () => { throw boom; },
      saveState: sink.saveState,
      onProgress: (p) => { if (p.messagesDone === 1) throw oops; },
    }), (e) => e === boom);
  });

  test('checkSyncState reads strictly: every malformed shape is refused with a reason', () => {
    const state = newSyncState('erin@example.org');
    assert.deepEqual(state.toJSON(), { format: 'pop3-wasm-sync', version: 1, account: 'erin@example.org', messages: {} });
    const stored = { ...state.toJSON(), messages: { 'uid-1': { savedAt: 1_700_000_000, size: 42 } } };
    assert.deepEqual(checkSyncState(JSON.stringify(stored), 'erin@example.org').toJSON(), stored);
    assert.deepEqual(checkSyncState(stored).toJSON(), stored);
    assert.deepEqual(JSON.parse(String(checkSyncState(stored))), stored, 'String(state) is its JSON');
    const refused = (input, account, pattern) => {
      assert.throws(() => checkSyncState(input, account), (e) => {
        assert.ok(e instanceof Pop3Error, String(e));
        assert.equal(e.code, 'usage');
        assert.match(e.message, pattern);
        return true;
      }, JSON.stringify(input));
    };
    const header = '"format":"pop3-wasm-sync","version":1,"account":"a"';
    refused('{"format": "pop3-wasm-sync", "vers', undefined, /corrupt \(not JSON/);
    refused('', undefined, /corrupt/);
    refused('{"format":"something-else","version":1,"account":"a","messages":{}}', undefined, /not a pop3-wasm sync state/);
    refused('[]', undefined, /not a pop3-wasm sync state/);
    refused('null', undefined, /not a pop3-wasm sync state/);
    refused({ ...stored, version: 2 }, undefined, /newer version/);
    refused(JSON.stringify({ ...stored, version: undefined }), undefined, /no version/);
    refused({ ...stored, messages: { x: { savedAt: 'soon', size: 1 } } }, undefined, /savedAt/);
    // What used to be taken for an empty state (issue 19): messages as an array, or null.
    refused({ ...stored, messages: [] }, undefined, /messages is an array/);
    refused({ ...stored, messages: null }, undefined, /messages is null/);
    refused({ ...stored, extra: true }, undefined, /unknown field "extra"/);
    refused({ ...stored, messages: { x: { savedAt: 1, size: 1, flag: 1 } } }, undefined, /unknown field "flag"/);
    refused({ ...stored, messages: { x: { savedAt: 1 } } }, undefined, /no size/);
    refused({ ...stored, messages: { x: [] } }, undefined, /is an array, not an object/);
    refused(`{${header},"messages":{"x":{"savedAt":1,"size":1},"x":{"savedAt":2,"size":1}}}`, undefined, /appears twice/);
    refused({ ...stored, messages: { 'a\u0007b': { savedAt: 1, size: 1 } } }, undefined, /not a unique id/);
    refused({ ...stored, messages: { [`${'x'.repeat(71)}`]: { savedAt: 1, size: 1 } } }, undefined, /not a unique id/);
    refused(stored, 'mallory@example.org', /belongs to "erin@example\.org", not "mallory@example\.org"/);
    assert.throws(() => newSyncState(''), (e) => e instanceof Pop3Error && e.code === 'usage');
  });

  test('with record(), persisting costs the change: a journal per batch, the whole state once', async () => {
    const user = 'frank';
    // A clean mailbox of 150 messages for this test (frank's first ones are used above).
    const client0 = await login(user);
    await client0.deleteMany((await client0.list()).map((e) => e.msg));
    await client0.quit();
    deliverNew(user, Array.from({ length: 150 }, (_, i) => 100 + i));
    const records = [];
    const saves = [];
    const stored = new Map();
    const client = await login(user);
    const report = await client.sync({
      state: newSyncState(user),
      save: ({ uid, bytes }) => { stored.set(uid, bytes.length); },
      record: (batch) => { records.push(batch); },
      saveState: (state) => { saves.push(state.size); },
    });
    assert.equal(report.saved, 150);
    assert.deepEqual(saves, [150], 'the whole state is written once, at the end');
    const recorded = records.flatMap((b) => b.entries.map((e) => e.uid));
    assert.deepEqual(recorded, report.savedUids, 'every saved message recorded once, in order');
    assert.ok(records.every((b) => b.entries.length <= 64), 'batches of at most 64');
    // The journal text is what loadSyncState reads back.
    const journal = records.map((b) => b.journal).join('');
    assert.equal(journal.split('\n').filter(Boolean).length, 150);
    const reloaded = loadSyncState(null, journal, user);
    assert.equal(reloaded.size, 150);
    assert.ok(report.savedUids.every((uid) => reloaded.has(uid)));
    assert.ok(client.stats.commands >= 150, 'stats are fresh after sync');
  });
});

describe('client.sync aborted (stalling server)', () => {
  test('aborting mid-message rejects with aborted, closes the connection without QUIT, records only what was saved', async () => {
    const { port, commands, connectionClosed, close } = await stallingServer();
    try {
      const client = await connect({ host: '127.0.0.1', port });
      await client.login('u', 'p', { mechanism: 'user', allowCleartext: true });
      const sink = memorySink();
      const controller = new AbortController();
      const saveAndStop = (m) => { sink.save(m); setTimeout(() => controller.abort(), 100); };
      await assert.rejects(client.sync({ state: newSyncState('u'), save: saveAndStop, saveState: sink.saveState, retention: 'delete', signal: controller.signal }),
        (e) => e instanceof Pop3Error && e.code === 'aborted');
      assert.equal(client.state, 'closed');
      await connectionClosed; // without the fix in api.js, the socket stayed open
      assert.deepEqual(Object.keys(sink.lastState.messages), ['uid-1']);
      assert.ok(!commands.some((c) => /^(DELE|QUIT)/i.test(c)), commands.join(', '));
    } finally {
      close();
    }
  });
});

describe('watch', () => {
  test('picks up a message delivered while it runs; abort resolves with the latest state', async () => {
    const sink = memorySink();
    const controller = new AbortController();
    const messages = [];
    const rounds = [];
    const final = await watch(() => login('erin'), {
      state: newSyncState('erin'),
      save: sink.save,
      saveState: sink.saveState,
      intervalMs: 100,
      signal: controller.signal,
      onMessage: (m) => messages.push(m),
      onSync: (report) => {
        rounds.push(report);
        if (rounds.length === 1) deliverNew('erin', [2]);
        if (report.saved > 0 && rounds.length > 1) controller.abort();
      },
      onRetry: ({ error }) => assert.fail(`no retry expected: ${error.message}`),
    });
    assert.equal(rounds[0].saved, 1);
    assert.equal(rounds.at(-1).saved, 1);
    assert.equal(messages.length, 2);
    assert.ok(Buffer.from(messages[1].bytes).equals(sources.erin[1].bytes));
    assert.equal(Object.keys(final.messages).length, 2);
    assert.deepEqual(final.toJSON(), sink.lastState);
  });

  test("a failing save ends the watch with the caller's own error", async () => {
    const boom = new Error('disk full (from the test)');
    const retries = [];
    await assert.rejects(watch(() => login('erin'), {
      state: newSyncState('erin'),
      save: () => { throw boom; },
      saveState: () => {},
      intervalMs: 100,
      onRetry: (r) => retries.push(r),
    }), (e) => e === boom);
    assert.deepEqual(retries, []);
  });

  test('an abort while waiting resolves at once', async () => {
    const controller = new AbortController();
    const sink = memorySink();
    let started;
    const done = watch(() => login('erin'), {
      state: newSyncState('erin'),
      save: sink.save,
      saveState: sink.saveState,
      intervalMs: 60_000,
      signal: controller.signal,
      onSync: () => { started = Date.now(); setTimeout(() => controller.abort(), 50); },
    });
    const state = await done;
    assert.ok(Date.now() - started < 2000);
    assert.equal(Object.keys(state.messages).length, 2);
  });
});

/** Starts tests/support/fake_pop3.py with `scenario`; resolves to { port, sessions(), stop() }. */
function fakeServer(scenario) {
  const child = spawn('python3', [path.join(repo, 'tests/support/fake_pop3.py'), '--scenario', scenario], { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = [];
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    let nl;
    while ((nl = err.indexOf('\n')) >= 0) {
      const line = err.slice(0, nl);
      err = err.slice(nl + 1);
      try { log.push(JSON.parse(line)); } catch { /* not a log line */ }
    }
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      const { port } = JSON.parse(out.slice(0, out.indexOf('\n')));
      resolve({
        port,
        log,
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', done);
          child.stdin.end();
        }),
      });
    });
    child.once('exit', (code) => reject(new Error(`fake_pop3.py exited with ${code}`)));
  });
}

describe('watch against a scripted server', () => {
  const servers = [];
  after(async () => { for (const s of servers) await s.stop(); });

  async function fakeLogin(port) {
    const client = await connect({ host: '127.0.0.1', port });
    try {
      await client.login('u', 'secret-pw', { mechanism: 'user', allowCleartext: true });
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    return client;
  }

  test('backs off on -ERR [IN-USE], then syncs', async () => {
    const server = await fakeServer('in-use-then-ok');
    servers.push(server);
    const controller = new AbortController();
    const retries = [];
    const reports = [];
    const sink = memorySink();
    const state = await watch(() => fakeLogin(server.port), {
      state: newSyncState('u@127.0.0.1'),
      save: sink.save,
      saveState: sink.saveState,
      intervalMs: 100,
      retries: { baseMs: 80, maxMs: 200 },
      signal: controller.signal,
      onRetry: (r) => retries.push({ ...r, at: Date.now() }),
      onSync: (report) => { reports.push({ report, at: Date.now() }); controller.abort(); },
    });
    assert.equal(retries.length, 1);
    const { error, attempt, delayMs } = retries[0];
    assert.ok(error instanceof Pop3Error);
    assert.equal(error.responseCode, 'IN-USE');
    assert.equal(error.transient, true);
    assert.equal(attempt, 1);
    assert.equal(delayMs, 80);
    assert.ok(reports[0].at - retries[0].at >= 70, 'it waited before trying again');
    assert.equal(reports.length, 1);
    assert.equal(reports[0].report.onServer, 0);
    assert.deepEqual(state.toJSON(), newSyncState('u@127.0.0.1').toJSON());
    const sessions = new Set(server.log.map((l) => l.session));
    assert.equal(sessions.size, 2);
    assert.ok(!server.log.some((l) => l.session === 1 && /^(LIST|UIDL|RETR|DELE|QUIT)/.test(l.command)), 'nothing after the refused login');
  });

  test('stops at once on -ERR [AUTH], with that error', async () => {
    const server = await fakeServer('auth-fail');
    servers.push(server);
    const retries = [];
    const started = Date.now();
    const sink = memorySink();
    await assert.rejects(watch(() => fakeLogin(server.port), {
      state: newSyncState('u@127.0.0.1'),
      save: sink.save,
      saveState: sink.saveState,
      intervalMs: 100,
      retries: { baseMs: 80 },
      onRetry: (r) => retries.push(r),
    }), (e) => {
      assert.ok(e instanceof Pop3Error, String(e));
      assert.equal(e.code, 'auth');
      assert.equal(e.responseCode, 'AUTH');
      assert.equal(e.transient, false);
      assert.ok(!e.message.includes('secret-pw'));
      return true;
    });
    assert.deepEqual(retries, []);
    assert.ok(Date.now() - started < 3000);
    assert.equal(new Set(server.log.map((l) => l.session)).size, 1);
  });
});
