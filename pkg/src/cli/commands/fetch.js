// pop3 fetch --maildir DIR [--delete | --delete-older-than DAYS] [--limit N]: an incremental,
// safe sync into a Maildir, with the library's client.sync().
//
// The state (pop3-state.json in the Maildir, shared with the Rust MaildirSink) records the
// unique id of every message saved, so each run downloads only what is new. Messages stream
// to disk; the order is always: saved (fsync, rename into new/, fsync of new/), recorded (a
// journal append, fsynced; the state is written once at the end), DELE, QUIT. Any failure
// before QUIT ends the session without it, so the server deletes nothing.

import { checkConnectionOptions, openSession, userName } from '../session.js';
import { Maildir } from '../maildir.js';
import { ProgressBar } from '../progress.js';
import { EXIT, exitCodeFor, formatError, usageError } from '../errors.js';
import { formatBytes, formatSeconds, sanitizeLine } from '../format.js';

/** The retention asked for by --delete / --delete-older-than. */
export function retentionOf(options, command) {
  if (options.delete && options.deleteOlderThan !== undefined) {
    throw usageError(`pop3 ${command}: choose one of --delete and --delete-older-than`);
  }
  if (options.delete) return 'delete';
  if (options.deleteOlderThan !== undefined) return { olderThanDays: options.deleteOlderThan };
  return 'keep';
}

/** The account a state belongs to: user@host, or user@URL through a WebSocket proxy. */
export function accountOf(ctx) {
  checkConnectionOptions(ctx.options);
  const user = userName(ctx);
  return `${user}@${ctx.options.ws ?? ctx.options.host}`;
}

/**
 * The sync options that stream into `maildir`, noting each delivery in `files`; `onDelivered`
 * also gets the first bytes of each message (`head`).
 */
export function maildirSync(maildir, files, onDelivered) {
  return {
    sink: maildir.sink((d) => {
      files.push({ uid: d.uid, size: d.size, file: d.file, existed: d.existed });
      onDelivered?.(d);
    }, { keepHead: onDelivered !== undefined }),
    record: (batch) => maildir.record(batch),
    saveState: (s) => maildir.saveState(s),
  };
}

/** Prints the report's warnings on stderr, one line each. */
export function printWarnings(ctx, warnings) {
  for (const w of warnings) ctx.err(`pop3: warning: ${sanitizeLine(w)}\n`);
}

export async function fetchCommand(ctx) {
  const { options, signal } = ctx;
  if (options.maildir === undefined) throw usageError('pop3 fetch needs --maildir DIR');
  if (ctx.positionals.length > 0) throw usageError('pop3 fetch takes no arguments');
  const retention = retentionOf(options, 'fetch');
  // Before connecting: a Maildir that cannot be used (exit 8) or a state that must not be
  // (exit 2) fails at once.
  const account = accountOf(ctx);
  const maildir = new Maildir(options.maildir);
  const state = maildir.loadState(account);
  const started = Date.now();

  const files = [];
  let progress = null;
  let shown = { messagesDone: 0, bytesDone: 0 };
  const client = await openSession(ctx, { login: true });
  let report;
  try {
    report = await client.sync({
      state,
      retention,
      maxMessages: options.limit,
      signal,
      ...maildirSync(maildir, files),
      onProgress: (p) => {
        if (!progress) {
          progress = new ProgressBar({
            stream: ctx.stderr, enabled: ctx.progress, label: 'fetch', totalMessages: p.messagesTotal, totalBytes: p.bytesTotal,
          });
        }
        if (p.messagesDone > shown.messagesDone) progress.message(p.bytesDone - shown.bytesDone);
        shown = p;
      },
    });
  } catch (e) {
    progress?.done();
    maildir.close();
    await client.close().catch(() => {});
    const saved = files.filter((f) => state.has(f.uid)).length;
    const where = `${saved} new message${saved === 1 ? ' was' : 's were'} saved into ${maildir.dir} and recorded in ${maildir.stateFile}`;
    if (signal.aborted) {
      // main() reports the interruption (exit 130): nothing was deleted.
      if (saved > 0) ctx.err(`pop3: ${where}\n`);
      throw e;
    }
    const code = exitCodeFor(e);
    if (code === EXIT.UNEXPECTED) throw e;
    ctx.err(`${formatError(e)}\n`);
    if (e.deletionsUncertain) {
      // QUIT went out and its reply was lost: every marked message was saved and recorded
      // first, so nothing is lost either way; the next run deletes what is still there.
      ctx.err(`pop3: ${where}; the server may or may not have deleted the messages marked for deletion `
        + '(QUIT was sent, its reply never came); run pop3 fetch again: it finds out and finishes the job\n');
    } else {
      ctx.err(`pop3: ${where}; nothing was deleted on the server (the session ended without QUIT); `
        + 'run pop3 fetch again to get the rest\n');
    }
    return code;
  }
  progress?.done();
  maildir.close();
  ctx.log(`done: ${client.stats.commands} commands, ${client.stats.roundTrips} round trips, `
    + `${client.stats.bytesIn} bytes in, ${client.stats.bytesOut} bytes out`);
  const seconds = (Date.now() - started) / 1000;
  const notFetched = Math.max(0, report.onServer - report.alreadySaved - report.saved);

  printWarnings(ctx, report.warnings);
  if (options.json) {
    ctx.out(`${JSON.stringify({
      maildir: maildir.dir,
      stateFile: maildir.stateFile,
      account,
      onServer: report.onServer,
      messages: report.saved,
      bytes: report.bytes,
      alreadyFetched: report.alreadySaved,
      notFetched,
      deleted: report.deleted,
      seconds: Number(seconds.toFixed(3)),
      warnings: report.warnings,
      files,
    }, null, 2)}\n`);
  } else if (!options.quiet) {
    const n = report.saved;
    let line = `fetched ${n} new message${n === 1 ? '' : 's'}, ${report.bytes} bytes (${formatBytes(report.bytes)}) `
      + `in ${formatSeconds(seconds * 1000)} into ${maildir.dir}; ${report.alreadySaved} already fetched earlier; `
      + `${report.deleted} deleted on the server`;
    if (notFetched > 0) line += `; ${notFetched} left for the next run`;
    ctx.out(`${line}\n`);
  }
  return EXIT.OK;
}
