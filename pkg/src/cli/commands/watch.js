// pop3 watch --maildir DIR | --mbox FILE | --mda CMD [--interval SECS] [--delete |
// --delete-older-than DAYS]: keeps a destination in sync, with the library's watch(). POP3 has
// no push: every interval a new session logs in, runs the same safe sync as pop3 fetch (same
// state file, same deliveries), and ends. Transient failures are retried with back-off; a
// permanent one ends the watch.

import { parseMessage, watch } from '../../node.js';
import { describeServer, openSession, usesToken } from '../session.js';
import { getPassword } from '../password.js';
import { SECRET_VARS, openDelivery } from '../delivery.js';
import { EXIT, formatError, usageError } from '../errors.js';
import { formatAddresses, formatSeconds, sanitizeLine } from '../format.js';
import { accountOf, deliverySync, printWarnings, retentionOf } from './fetch.js';

/** Where each round finds the password read once up front (an env var of our own). */
const SECRET_VAR = 'POP3_WASM_WATCH_SECRET';
if (!SECRET_VARS.includes(SECRET_VAR)) throw new Error('the watch secret must be kept from an MDA');

/** The headers only (up to the first empty line): enough for From and Subject. */
function headerBytes(bytes) {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return bytes.subarray(0, i + 4);
  }
  return bytes;
}

function pad2(n) { return String(n).padStart(2, '0'); }

function localTime(d) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function describeMessage(bytes) {
  try {
    const p = parseMessage(headerBytes(bytes));
    return { from: formatAddresses(p.from) || null, subject: p.subject };
  } catch {
    return { from: null, subject: null };
  }
}

export async function watchCommand(ctx) {
  const { options, signal } = ctx;
  if (ctx.positionals.length > 0) throw usageError('pop3 watch takes no arguments');
  const retention = retentionOf(options, 'watch');
  const intervalSecs = options.interval ?? 60;
  if (!(intervalSecs > 0)) throw usageError('--interval must be more than 0 seconds');
  const account = accountOf(ctx);
  const delivery = openDelivery(ctx, account, 'watch');
  let state;
  try {
    state = delivery.loadState(account);
  } catch (e) {
    delivery.close();
    throw e;
  }

  // The password is read once: a prompt or a password command must not run every round.
  let password;
  try {
    password = await getPassword(options, {
    env: ctx.env,
    stdin: ctx.stdin,
    stderr: ctx.stderr,
    prompt: `${usesToken(options) ? 'Access token' : 'Password'} for ${sanitizeLine(account.slice(0, account.lastIndexOf('@')))} on ${sanitizeLine(describeServer(options))}: `,
    });
  } catch (e) {
    delivery.close();
    throw e;
  }
  const roundCtx = {
    ...ctx,
    env: { ...ctx.env, [SECRET_VAR]: password },
    options: { ...options, passwordEnv: SECRET_VAR, passwordCommand: undefined },
  };

  if (!options.quiet) {
    ctx.err(`pop3: watching ${sanitizeLine(account)} ${delivery.kind === 'mda' ? 'to' : 'into'} ${delivery.where} every ${intervalSecs} s (Ctrl-C to stop)\n`);
  }
  const files = [];
  const delivered = [];
  const warned = new Set();
  let total = 0;
  let rounds = 0;
  try {
    await watch(async () => {
      delivery.beginRound();
      files.length = 0;
      delivered.length = 0;
      return openSession(roundCtx, { login: true });
    }, {
      state,
      retention,
      intervalMs: Math.max(1, Math.round(intervalSecs * 1000)),
      signal,
      ...deliverySync(delivery, files, (d) => delivered.push(d)),
      onMessage: ({ uid }) => {
        total += 1;
        const saved = delivered.find((d) => d.uid === uid);
        const { from, subject } = saved?.head ? describeMessage(saved.head) : { from: null, subject: null };
        const now = new Date();
        if (options.json) {
          ctx.out(`${JSON.stringify({ time: now.toISOString(), uid, size: saved?.size ?? 0, file: saved?.file ?? null, from, subject })}\n`);
        } else {
          ctx.out(`${localTime(now)}  ${sanitizeLine(from ?? '(no sender)')}  ${sanitizeLine(subject ?? '(no subject)')}\n`);
        }
      },
      onSync: (report) => {
        rounds += 1;
        delivered.length = 0;
        // The same warning (such as the server's EXPIRE policy) comes every round: say it once.
        printWarnings(ctx, report.warnings.filter((w) => !warned.has(w)));
        for (const w of report.warnings) warned.add(w);
        ctx.log(`round ${rounds} at ${localTime(new Date())}: ${report.saved} new, ${report.alreadySaved} already fetched, `
          + `${report.deleted} deleted, ${report.onServer} on the server`);
      },
      onRetry: ({ error, attempt, delayMs }) => {
        ctx.err(`${formatError(error).replace(/^pop3: /, 'pop3: warning: ')}; retry ${attempt} in ${formatSeconds(delayMs)}\n`);
      },
    });
  } catch (e) {
    delivery.close();
    if (signal.aborted) return stopped(ctx, total);
    throw e;
  }
  delivery.close();
  return stopped(ctx, total);
}

function stopped(ctx, total) {
  if (!ctx.options.quiet) ctx.err(`pop3: stopped; ${total} new message${total === 1 ? '' : 's'} fetched\n`);
  return EXIT.OK;
}
