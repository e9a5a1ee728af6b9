// pop3 list: number, size and UID of each message; with --headers also Date, From, Subject
// (TOP n 0 for every message, pipelined, parsed by parseMessage).

import { parseMessage } from '../../node.js';
import { capabilitiesOf, fetchUids, withSession } from '../session.js';
import { displayWidth, padEnd, padStart, sanitizeLine, shortAddress, truncate } from '../format.js';

/** Date, From, Subject of each message, from TOP n 0. */
async function fetchHeaders(ctx, client, msgs) {
  const headers = new Map();
  if (msgs.length === 0) return headers;
  await client.retrieveMany(msgs, {
    lines: 0,
    signal: ctx.signal,
    onMessage: (msg, bytes) => {
      try {
        const p = parseMessage(bytes);
        headers.set(msg, { date: p.date, dateRaw: p.dateRaw, from: p.from, subject: p.subject });
      } catch (e) {
        headers.set(msg, { error: e.message });
      }
    },
    onError: (msg, e) => {
      headers.set(msg, { error: e.message });
      ctx.log(`message ${msg}: TOP failed: ${e.message}`);
    },
  });
  return headers;
}

function shortDate(h) {
  if (h.date) return h.date.slice(0, 16).replace('T', ' ');
  return h.dateRaw ? sanitizeLine(h.dateRaw) : '-';
}

export async function listCommand(ctx) {
  const { options, signal } = ctx;
  const rows = await withSession(ctx, { login: true }, async (client) => {
    const caps = await capabilitiesOf(client, signal);
    const entries = await client.list({ signal });
    const uids = await fetchUids(client, caps, signal);
    const headers = options.headers ? await fetchHeaders(ctx, client, entries.map((e) => e.msg)) : null;
    return entries.map((e) => {
      const row = { msg: e.msg, size: e.size, uid: uids ? uids.get(e.msg) ?? null : null };
      if (headers) Object.assign(row, headers.get(e.msg) ?? { error: 'no headers' });
      return row;
    });
  });

  if (options.json) {
    ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    if (!options.quiet) ctx.out('No messages.\n');
    return 0;
  }
  const msgW = Math.max(3, ...rows.map((r) => String(r.msg).length));
  const sizeW = Math.max(4, ...rows.map((r) => String(r.size).length));
  const uidW = Math.max(3, ...rows.map((r) => (r.uid ?? '-').length));
  const tty = Boolean(ctx.stdout.isTTY);
  const columns = ctx.stdout.columns || 100;
  const lines = [];
  const head = [padStart('MSG', msgW), padStart('SIZE', sizeW), padEnd('UID', uidW)];
  if (options.headers) head.push(padEnd('DATE', 16), padEnd('FROM', 24), 'SUBJECT');
  lines.push(head.join('  ').trimEnd());
  for (const r of rows) {
    const cells = [padStart(String(r.msg), msgW), padStart(String(r.size), sizeW), padEnd(r.uid ?? '-', uidW)];
    if (options.headers) {
      if (r.error) {
        cells.push(padEnd('-', 16), padEnd('-', 24), `(${sanitizeLine(r.error)})`);
      } else {
        cells.push(padEnd(shortDate(r), 16), padEnd(truncate(sanitizeLine(shortAddress(r.from)), 24), 24));
        const subject = r.subject === null ? '(no subject)' : sanitizeLine(r.subject);
        const used = displayWidth(cells.join('  ')) + 2;
        cells.push(tty ? truncate(subject, Math.max(10, columns - used - 1)) : subject);
      }
    }
    lines.push(cells.join('  ').trimEnd());
  }
  ctx.out(`${lines.join('\n')}\n`);
  return 0;
}
