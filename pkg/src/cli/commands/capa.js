// pop3 capa: the greeting, TLS and CAPA, before login (or after, with --login).

import { describeServer, withSession } from '../session.js';
import { sanitizeLine } from '../format.js';

function yesNo(v) { return v ? 'yes' : 'no'; }

function describe(caps) {
  const rows = [
    ['USER/PASS', yesNo(caps.user)],
    ['SASL', caps.sasl.length ? caps.sasl.join(' ') : '-'],
    ['STLS', yesNo(caps.stls)],
    ['TOP', yesNo(caps.top)],
    ['UIDL', yesNo(caps.uidl)],
    ['PIPELINING', yesNo(caps.pipelining)],
    ['RESP-CODES', yesNo(caps.respCodes)],
    ['AUTH-RESP-CODE', yesNo(caps.authRespCode)],
    ['LOGIN-DELAY', caps.loginDelay ? `${caps.loginDelay.seconds} s${caps.loginDelay.perUser ? ' (per user)' : ''}` : '-'],
    ['EXPIRE', caps.expire
      ? `${caps.expire.never ? 'never' : `${caps.expire.days} days`}${caps.expire.perUser ? ' (per user)' : ''}` : '-'],
    ['UTF8', caps.utf8 ? `yes${caps.utf8User ? ' (USER)' : ''}` : 'no'],
    ['LANG', yesNo(caps.lang)],
    ['IMPLEMENTATION', caps.implementation ?? '-'],
  ];
  if (caps.other.length) rows.push(['other', caps.other.join(' ')]);
  return rows;
}

export async function capaCommand(ctx) {
  const { options, signal } = ctx;
  const login = Boolean(options.login);
  const info = await withSession(ctx, { login }, async (client) => {
    const capabilities = await client.capa({ signal });
    return { server: describeServer(options), tls: client.tlsInfo, greeting: client.greeting, loggedIn: login, capabilities };
  });
  if (options.json) {
    ctx.out(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['Server', info.server],
    ['TLS', info.tls ? `${info.tls.version} ${info.tls.cipher}` : 'none (not encrypted)'],
    ['Greeting', sanitizeLine(info.greeting.text)],
    ['APOP', info.greeting.apopTimestamp ? 'available (timestamp in greeting)' : 'no'],
  ];
  if (info.capabilities === null) {
    rows.push(['Capabilities', 'the server does not support CAPA']);
  } else {
    if (login) rows.push(['Capabilities', 'after login']);
    rows.push(...describe(info.capabilities));
  }
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  ctx.out(rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${sanitizeLine(v)}\n`).join(''));
  return 0;
}
