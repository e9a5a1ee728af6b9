// pop3 show N [--json | --raw]: retrieve one message and show it.

import { parseMessage } from '../../node.js';
import { withSession } from '../session.js';
import { ProgressBar } from '../progress.js';
import { usageError } from '../errors.js';
import { formatAddresses, formatBytes, sanitizeLine, sanitizeText } from '../format.js';

function messageNumber(positionals) {
  if (positionals.length !== 1) throw usageError('pop3 show needs exactly one message number, e.g. pop3 show 1');
  const raw = positionals[0];
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 0xffffffff) {
    throw usageError(`${JSON.stringify(raw)} is not a message number (a whole number from 1; see pop3 list)`);
  }
  return Number(raw);
}

function summary(p) {
  const lines = [];
  const field = (name, value) => { if (value) lines.push(`${`${name}:`.padEnd(9)}${sanitizeLine(value)}`); };
  field('From', formatAddresses(p.from));
  if (p.replyTo.length) field('Reply-To', formatAddresses(p.replyTo));
  field('To', formatAddresses(p.to));
  field('Cc', formatAddresses(p.cc));
  field('Subject', p.subject ?? '(no subject)');
  field('Date', p.date ?? p.dateRaw ?? '(no date)');
  if (p.attachments.length) {
    lines.push('Attachments:');
    for (const a of p.attachments) {
      const flags = [a.contentType, formatBytes(a.size)];
      if (a.inline) flags.push('inline');
      lines.push(`  [${a.index}] ${sanitizeLine(a.filename ?? '(no name)')} (${sanitizeLine(flags.join(', '))})`);
    }
  }
  lines.push('');
  if (p.text !== null) {
    if (p.textFromHtml) lines.push('[text derived from the HTML part]', '');
    lines.push(sanitizeText(p.text).replace(/\n+$/, ''));
  } else {
    lines.push('(no text body)');
  }
  return `${lines.join('\n')}\n`;
}

export async function showCommand(ctx) {
  const { options, signal } = ctx;
  const msg = messageNumber(ctx.positionals);
  if (options.raw && options.json) throw usageError('choose one of --raw and --json');
  const bytes = await withSession(ctx, { login: true }, async (client) => {
    let expected;
    let progress = null;
    try {
      return await client.retrieve(msg, {
        signal,
        onProgress: (p) => {
          if (!progress && ctx.progress) {
            expected = p.expected;
            progress = new ProgressBar({ stream: ctx.stderr, enabled: true, label: `message ${msg}`, totalMessages: 1, totalBytes: expected ?? 0, showCount: false });
          }
          progress?.partial(p.received);
        },
      });
    } finally {
      progress?.done();
    }
  });
  if (options.raw) {
    await ctx.outBytes(bytes);
    return 0;
  }
  const parsed = parseMessage(bytes);
  ctx.out(options.json ? `${JSON.stringify(parsed, null, 2)}\n` : summary(parsed));
  return 0;
}
