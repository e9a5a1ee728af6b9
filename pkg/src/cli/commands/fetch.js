// pop3 fetch [ACCOUNT...] | pop3 fetch --maildir DIR | --mbox FILE | --mda CMD
// [--state FILE] [--keep | --delete | --delete-older-than DAYS] [--limit N]: an incremental,
// safe sync into a Maildir, an mbox file or an MDA, with the library's client.sync(), for the
// server given on the command line or for every account of the config file.
//
// The state (pop3-state.json in the Maildir, shared with the Rust MaildirSink, or --state
// FILE) records the unique id of every message delivered, so each run downloads only what is
// new. Messages stream to disk; the order is always: delivered (Maildir: fsync, rename into
// new/, fsync of new/; mbox: appended and fsynced under its lock; MDA: exited 0), recorded (a
// journal append, fsynced; the state is written once at the end), DELE, QUIT. Any failure
// before QUIT ends the session without it, so the server deletes nothing.
//
// Quiet unless something goes wrong (for cron): the summary is printed with -v, or when
// stdout is a terminal. Exit codes: 0 new mail delivered, 1 nothing new, else the failure's.

import { checkConnectionOptions, openSession, userName } from '../session.js';
import { openDelivery } from '../delivery.js';
import { ProgressBar } from '../progress.js';
import { EXIT, exitCodeFor, formatError, usageError } from '../errors.js';
import { formatBytes, formatSeconds, sanitizeLine } from '../format.js';

/** The retention asked for by --keep / --delete / --delete-older-than. */
export function retentionOf(options, command) {
  const given = ['keep', 'delete', 'deleteOlderThan'].filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    const flags = { keep: '--keep', delete: '--delete', deleteOlderThan: '--delete-older-than' };
    throw usageError(`pop3 ${command}: choose one of ${given.map((k) => flags[k]).join(' and ')}`);
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
 * The sync options that stream into `delivery` (a Maildir, an mbox or an MDA), noting each
 * delivery in `files`; `onDelivered` also gets the first bytes of each message (`head`).
 */
export function deliverySync(delivery, files, onDelivered) {
  return {
    sink: delivery.sink((d) => {
      files.push({ uid: d.uid, size: d.size, file: d.file, existed: d.existed });
      onDelivered?.(d);
    }, { keepHead: onDelivered !== undefined }),
    record: (batch) => delivery.record(batch),
    saveState: (s) => delivery.saveState(s),
    ...(delivery.recordEvery !== undefined ? { recordEvery: delivery.recordEvery } : {}),
  };
}

/** Prints the report's warnings on stderr, one line each. */
export function printWarnings(ctx, warnings, prefix = '') {
  for (const w of warnings) ctx.err(`pop3: ${prefix}warning: ${sanitizeLine(w)}\n`);
}

/** "pop3: <prefix><message>" for an error of an account's run. */
function formatFor(e, prefix) {
  return formatError(e).replace(/^pop3: /, `pop3: ${prefix}`);
}

const PAST = {
  maildir: (where) => `saved into ${where}`,
  mbox: (where) => `appended to ${where}`,
  mda: (where) => `handed to ${where}`,
};

/**
 * One account's fetch. Resolves to { code, summary } (summary: the JSON summary, or for a
 * failure { error }); throws only when interrupted (and for bugs).
 */
async function fetchOne(ctx, name) {
  const { options, signal } = ctx;
  const prefix = name ? `${name}: ` : '';
  const started = Date.now();
  let delivery = null;
  let account = null;
  let retention;
  try {
    retention = retentionOf(options, 'fetch');
    // Before connecting: a destination that cannot be used (exit 8), a state that must not be
    // (exit 2), or a lock held by another run (exit 10) fails at once.
    account = accountOf(ctx);
    delivery = openDelivery(ctx, account, 'fetch');
  } catch (e) {
    delivery?.close();
    // Without accounts, main() reports it; with them, the other accounts still run.
    if (name === null || exitCodeFor(e) === EXIT.UNEXPECTED) throw e;
    ctx.err(`${formatFor(e, prefix)}\n`);
    return { code: exitCodeFor(e), summary: { name, account, error: String(e.message), exitCode: exitCodeFor(e) } };
  }

  const files = [];
  let progress = null;
  let shown = { messagesDone: 0, bytesDone: 0 };
  let state = null;
  let client = null;
  let report;
  try {
    state = delivery.loadState(account);
    client = await openSession(ctx, { login: true });
    report = await client.sync({
      state,
      retention,
      maxMessages: options.limit,
      signal,
      ...deliverySync(delivery, files),
      onProgress: (p) => {
        if (!progress) {
          progress = new ProgressBar({
            stream: ctx.stderr, enabled: ctx.progress, label: name ?? 'fetch', totalMessages: p.messagesTotal, totalBytes: p.bytesTotal,
          });
        }
        if (p.messagesDone > shown.messagesDone) progress.message(p.bytesDone - shown.bytesDone);
        shown = p;
      },
    });
  } catch (e) {
    progress?.done();
    delivery.close();
    await client?.close().catch(() => {});
    const code = exitCodeFor(e);
    if (client === null) {
      // Nothing was fetched: the state could not be read or locked, or no session came.
      if (name === null || signal.aborted || code === EXIT.UNEXPECTED) throw e;
      ctx.err(`${formatFor(e, prefix)}\n`);
      return { code, summary: { name, account, error: String(e.message), exitCode: code } };
    }
    const saved = files.filter((f) => state.has(f.uid)).length;
    const where = `${saved} new message${saved === 1 ? ' was' : 's were'} ${PAST[delivery.kind](delivery.where)} and recorded in ${delivery.stateFile}`;
    if (signal.aborted) {
      // main() reports the interruption (exit 130): nothing was deleted.
      if (saved > 0) ctx.err(`pop3: ${prefix}${where}\n`);
      throw e;
    }
    if (code === EXIT.UNEXPECTED) throw e;
    ctx.err(`${formatFor(e, prefix)}\n`);
    if (e.deletionsUncertain) {
      // QUIT went out and its reply was lost: every marked message was delivered and recorded
      // first, so nothing is lost either way; the next run deletes what is still there.
      ctx.err(`pop3: ${prefix}${where}; the server may or may not have deleted the messages marked for deletion `
        + '(QUIT was sent, its reply never came); run pop3 fetch again: it finds out and finishes the job\n');
    } else {
      ctx.err(`pop3: ${prefix}${where}; nothing was deleted on the server (the session ended without QUIT); `
        + 'run pop3 fetch again to get the rest\n');
    }
    return { code, summary: { name, account, error: String(e.message), exitCode: code, messages: saved } };
  }
  progress?.done();
  delivery.close();
  ctx.log(`${prefix}done: ${client.stats.commands} commands, ${client.stats.roundTrips} round trips, `
    + `${client.stats.bytesIn} bytes in, ${client.stats.bytesOut} bytes out`);
  const seconds = (Date.now() - started) / 1000;
  const notFetched = Math.max(0, report.onServer - report.alreadySaved - report.saved);
  const code = report.saved > 0 ? EXIT.OK : EXIT.NOTHING_NEW;

  printWarnings(ctx, report.warnings, prefix);
  const summary = {
    ...(name ? { name } : {}),
    [delivery.kind]: delivery.kind === 'mda' ? delivery.command : delivery.where,
    stateFile: delivery.stateFile,
    account,
    onServer: report.onServer,
    messages: report.saved,
    bytes: report.bytes,
    alreadyFetched: report.alreadySaved,
    notFetched,
    deleted: report.deleted,
    seconds: Number(seconds.toFixed(3)),
    warnings: report.warnings,
    exitCode: code,
    files,
  };
  if (!options.json && ctx.summaries) {
    const n = report.saved;
    let line = `${prefix}fetched ${n} new message${n === 1 ? '' : 's'}, ${report.bytes} bytes (${formatBytes(report.bytes)}) `
      + `in ${formatSeconds(seconds * 1000)} ${delivery.kind === 'mda' ? 'to' : 'into'} ${delivery.where}; ${report.alreadySaved} already fetched earlier; `
      + `${report.deleted} deleted on the server`;
    if (notFetched > 0) line += `; ${notFetched} left for the next run`;
    ctx.out(`${line}\n`);
  }
  return { code, summary };
}

export async function fetchCommand(ctx) {
  const runs = ctx.runs ?? [{ name: null, options: ctx.options }];
  if (ctx.positionals.length > 0) throw usageError('pop3 fetch takes account names only with a config file (see pop3 fetch --help)');
  // The summary: with -v, or when a person watches (stdout is a terminal); never with -q.
  const summaries = !ctx.options.quiet && (Boolean(ctx.options.verbose) || Boolean(ctx.stdout.isTTY));
  const results = [];
  for (const run of runs) {
    const runCtx = { ...ctx, options: run.options, summaries };
    results.push(await fetchOne(runCtx, run.name));
    if (ctx.signal.aborted) break;
  }
  if (ctx.options.json) {
    const out = runs.length === 1 && runs[0].name === null ? results[0].summary : results.map((r) => r.summary);
    ctx.out(`${JSON.stringify(out, null, 2)}\n`);
  }
  const failed = results.find((r) => r.code !== EXIT.OK && r.code !== EXIT.NOTHING_NEW);
  if (failed) return failed.code;
  return results.some((r) => r.code === EXIT.OK) ? EXIT.OK : EXIT.NOTHING_NEW;
}
