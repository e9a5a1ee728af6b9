// pop3 fetch --maildir DIR [--delete] [--limit N]: download into a Maildir.
//
// The steps are kept apart so that an incremental mode (a UIDL-keyed sync state) can slot in:
//   1. inventory(): LIST + UIDL -> [{ msg, size, uid }]
//   2. plan():      which of those to download (today: all, or the first --limit N;
//                   a sync state would drop the UIDs it has already seen)
//   3. download():  RETR, pipelined; each message is delivered into the Maildir as it arrives
//                   and recorded in run.delivered as { msg, uid, size, bytes, file }
//                   (a sync state would record each uid here)
//   4. cleanup():   DELE the delivered messages (--delete); QUIT commits it.

import { anySignal } from '../../api.js';
import { capabilitiesOf, fetchUids, withSession } from '../session.js';
import { Maildir } from '../maildir.js';
import { ProgressBar } from '../progress.js';
import { EXIT, exitCodeFor, formatError, usageError } from '../errors.js';
import { formatBytes, formatSeconds } from '../format.js';

async function inventory(client, signal) {
  const caps = await capabilitiesOf(client, signal);
  const list = await client.list({ signal });
  const uids = await fetchUids(client, caps, signal);
  return list.map((e) => ({ msg: e.msg, size: e.size, uid: uids ? uids.get(e.msg) ?? null : null }));
}

function plan(entries, options) {
  return options.limit !== undefined ? entries.slice(0, options.limit) : entries;
}

async function download(ctx, client, maildir, entries, run) {
  if (entries.length === 0) return;
  const byMsg = new Map(entries.map((e) => [e.msg, e]));
  const progress = new ProgressBar({
    stream: ctx.stderr,
    enabled: ctx.progress,
    label: 'fetch',
    totalMessages: entries.length,
    totalBytes: entries.reduce((n, e) => n + e.size, 0),
  });
  // Stops the download at the first local write failure (a full disk stays full).
  const stop = new AbortController();
  try {
    await client.retrieveMany(entries.map((e) => e.msg), {
      signal: anySignal([ctx.signal, stop.signal]),
      onMessage: (msg, bytes) => {
        // Messages already received when an abort fired may still come through: skip them.
        if (run.localError || ctx.signal.aborted) return;
        const entry = byMsg.get(msg);
        try {
          const file = maildir.deliver(bytes);
          run.delivered.push({ ...entry, bytes: bytes.length, file });
          run.bytes += bytes.length;
          progress.message(bytes.length);
        } catch (e) {
          run.localError = e;
          run.failed.push({ msg, uid: entry.uid, error: e });
          stop.abort();
        }
      },
      onError: (msg, error) => {
        run.failed.push({ msg, uid: byMsg.get(msg).uid, error });
        progress.message(0);
      },
    });
  } catch (e) {
    // Our own stop after a local failure is not an error of the session.
    if (!(run.localError && !ctx.signal.aborted && e.code === 'aborted')) throw e;
  } finally {
    progress.done();
  }
}

async function cleanup(ctx, client, maildir, run) {
  if (run.delivered.length === 0) return;
  // The renames into new/ must be on disk before the server forgets the messages.
  maildir.syncNew();
  if (!ctx.options.delete) return;
  const results = await Promise.allSettled(run.delivered.map((d) => client.delete(d.msg, { signal: ctx.signal })));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') run.deleted += 1;
    else run.failed.push({ msg: run.delivered[i].msg, uid: run.delivered[i].uid, error: r.reason, during: 'DELE' });
  });
  const fatal = results.find((r) => r.status === 'rejected' && r.reason.code !== 'server');
  if (fatal) throw fatal.reason; // the session is gone: no QUIT, so nothing is deleted
}

export async function fetchCommand(ctx) {
  const { options, signal } = ctx;
  if (options.maildir === undefined) throw usageError('pop3 fetch needs --maildir DIR');
  if (ctx.positionals.length > 0) throw usageError('pop3 fetch takes no arguments');
  const maildir = new Maildir(options.maildir); // before connecting: fail early (exit 8)
  const started = Date.now();
  const run = { available: 0, planned: 0, delivered: [], failed: [], bytes: 0, deleted: 0, localError: null };
  try {
    await withSession(ctx, { login: true }, async (client) => {
      const entries = await inventory(client, signal);
      run.available = entries.length;
      const chosen = plan(entries, options);
      run.planned = chosen.length;
      ctx.log(`${entries.length} messages on the server; fetching ${chosen.length}`);
      await download(ctx, client, maildir, chosen, run);
      await cleanup(ctx, client, maildir, run);
    });
  } catch (e) {
    if (run.delivered.length > 0) {
      ctx.err(`pop3: ${run.delivered.length} message(s) had been delivered into ${maildir.dir}/new; `
        + `${options.delete ? 'none deleted on the server (no QUIT)' : 'the server is unchanged'}\n`);
    }
    throw e;
  }
  const seconds = (Date.now() - started) / 1000;

  for (const f of run.failed) {
    ctx.err(`${formatError(f.error, ctx.secret).replace(/^pop3: /, `pop3: message ${f.msg}${f.during ? ` (${f.during})` : ''}: `)}\n`);
  }
  const notReached = run.planned - run.delivered.length - run.failed.filter((f) => !f.during).length;
  if (options.json) {
    ctx.out(`${JSON.stringify({
      maildir: maildir.dir,
      available: run.available,
      messages: run.delivered.length,
      bytes: run.bytes,
      seconds: Number(seconds.toFixed(3)),
      deleted: run.deleted,
      failed: run.failed.map((f) => ({ msg: f.msg, uid: f.uid, code: f.error.code ?? 'local', message: f.error.message })),
      skipped: notReached,
      files: run.delivered.map((d) => ({ msg: d.msg, uid: d.uid, size: d.bytes, file: d.file })),
    }, null, 2)}\n`);
  } else if (!options.quiet) {
    let line = `fetched ${run.delivered.length} of ${run.available} message${run.available === 1 ? '' : 's'}, `
      + `${run.bytes} bytes (${formatBytes(run.bytes)}) in ${formatSeconds(seconds * 1000)} into ${maildir.dir}`;
    if (options.delete) line += `; deleted ${run.deleted} on the server`;
    if (run.failed.length) line += `; ${run.failed.length} failed`;
    if (notReached > 0) line += `; ${notReached} not fetched`;
    ctx.out(`${line}\n`);
  }
  if (run.localError) return EXIT.LOCAL;
  if (run.failed.length) return exitCodeFor(run.failed[0].error);
  return EXIT.OK;
}
