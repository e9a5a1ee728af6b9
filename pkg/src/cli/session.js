// Opening a session from the CLI options: checks, connect (TCP/TLS or --ws), and login.

import { readFileSync } from 'node:fs';

import { buildInfo, connect } from '../node.js';
import { CliError, EXIT, usageError } from './errors.js';
import { probeWebSocket } from './proxy-probe.js';
import { getPassword } from './password.js';
import { sanitizeLine } from './format.js';

/** Checks the connection options that do not depend on the server. */
export function checkConnectionOptions(options) {
  if (options.ws !== undefined) {
    for (const name of ['host', 'port']) {
      if (options[name] !== undefined) throw usageError(`--${name} cannot be combined with --ws (the proxy decides which server it relays to)`);
    }
    if (typeof globalThis.WebSocket !== 'function') {
      throw usageError('--ws needs a WebSocket implementation: Node 22 or later, or Node 20.10+ with --experimental-websocket');
    }
    if (!/^wss?:\/\//i.test(options.ws)) throw usageError(`--ws needs a ws:// or wss:// URL (got ${JSON.stringify(options.ws)})`);
    if (['implicit', 'starttls'].includes(options.tls)) {
      // TLS through the proxy runs inside the wasm module, end to end with the mail server.
      if (!buildInfo().tls) throw usageError(`--tls ${options.tls} with --ws needs the wasm build with TLS`);
      if (options.tlsProvider === 'host') throw usageError('--tls-provider host is not possible with --ws: the proxy relays raw bytes');
      if (options.serverName === undefined) {
        throw usageError(`--tls ${options.tls} with --ws needs --server-name: the name on the mail server's certificate`);
      }
    }
  } else if (options.host === undefined) {
    throw usageError('no server: pass --host H (or --ws URL for a WebSocket proxy)');
  }
  if ((options.ca !== undefined || options.serverName !== undefined) && !['implicit', 'starttls'].includes(options.tls)) {
    throw usageError(`${options.ca !== undefined ? '--ca' : '--server-name'} needs --tls implicit or --tls starttls`);
  }
  if (options.connectTimeout !== undefined && !(options.connectTimeout > 0)) throw usageError('--connect-timeout must be more than 0');
}

/** Where we connect, for messages: "host:port" or the proxy URL. */
export function describeServer(options) {
  if (options.ws !== undefined) return options.ws;
  const port = options.port ?? (options.tls === 'implicit' ? 995 : 110);
  return `${options.host}:${port}`;
}

function connectOptions(options, signal) {
  const o = { signal };
  if (options.timeout !== undefined) o.replyTimeoutMs = Math.round(options.timeout * 1000);
  if (options.connectTimeout !== undefined) o.connectTimeoutMs = Math.max(1, Math.round(options.connectTimeout * 1000));
  o.tls = options.tls ?? 'none';
  if (options.tlsProvider !== undefined) o.tlsProvider = options.tlsProvider;
  if (options.serverName !== undefined) o.serverName = options.serverName;
  if (options.ws !== undefined) {
    o.url = options.ws;
  } else {
    o.host = options.host;
    if (options.port !== undefined) o.port = options.port;
  }
  if (options.ca !== undefined) {
    try {
      o.ca = readFileSync(options.ca, 'utf8');
    } catch (e) {
      throw usageError(`cannot read --ca ${options.ca}: ${e.message}`);
    }
    if (!o.ca.includes('-----BEGIN CERTIFICATE-----')) throw usageError(`--ca ${options.ca} holds no PEM certificate`);
  }
  return o;
}

/** Whether --auth names an OAuth mechanism: the secret is then an access token. */
export function usesToken(options) {
  return ['xoauth2', 'oauthbearer'].includes(String(options.auth ?? '').toLowerCase());
}

/** The user name: --user, else env POP3_USER. */
export function userName(ctx) {
  const user = ctx.options.user ?? ctx.env.POP3_USER;
  if (user === undefined || user === '') throw usageError('no user name: pass --user U (or set POP3_USER)');
  return user;
}

/**
 * Connects and, with `login`, logs in. The password is read before connecting (a prompt must
 * not keep the server waiting). Returns the client; the caller ends it with quit() or close().
 */
export async function openSession(ctx, { login }) {
  const { options, signal } = ctx;
  checkConnectionOptions(options);
  let user;
  let password;
  if (login) {
    user = userName(ctx);
    password = await getPassword(options, {
      env: ctx.env,
      stdin: ctx.stdin,
      stderr: ctx.stderr,
      prompt: `${usesToken(options) ? 'Access token' : 'Password'} for ${sanitizeLine(user)} on ${sanitizeLine(describeServer(options))}: `,
    });
  }
  const co = connectOptions(options, signal);
  ctx.log(`connecting to ${describeServer(options)}${options.ws !== undefined ? ' through the WebSocket proxy' : ''} (tls: ${co.tls})`);
  let client;
  try {
    client = await connect(co);
  } catch (e) {
    throw await explainProxyFailure(ctx, e);
  }
  try {
    ctx.log(`greeting: ${sanitizeLine(client.greeting.text)}`);
    const tls = client.tlsInfo;
    ctx.log(tls ? `TLS: ${tls.version} ${tls.cipher}` : 'no TLS: the connection is not encrypted');
    if (login) {
      const loginOptions = { mechanism: options.auth ?? 'auto', allowCleartext: Boolean(options.allowCleartext), signal };
      const mechanism = usesToken(options)
        ? await client.loginWithToken(user, password, loginOptions)
        : await client.login(user, password, loginOptions);
      ctx.log(`logged in as ${sanitizeLine(user)} with ${mechanism}`);
    }
    return client;
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

/**
 * The WebSocket API tells a refused upgrade (an HTTP 403 from an Origin check, a 404, a 401)
 * apart from an unreachable proxy only by a close code (1006 for both). When a --ws connection
 * fails before the greeting, the URL is asked once more with a plain HTTP upgrade request from
 * Node, which does see the status: a refusal becomes its own error (exit 11) saying so.
 */
async function explainProxyFailure(ctx, error) {
  const { options } = ctx;
  if (options.ws === undefined || !error || !['transport', 'closed'].includes(error.code)) return error;
  const probe = await probeWebSocket(options.ws, { signal: ctx.signal });
  ctx.log(`probed ${options.ws} with an HTTP upgrade request: ${probe.status ? `HTTP ${probe.status} ${probe.statusText}` : probe.error}`);
  if (!probe.status || probe.status === 101) return error;
  let hint = '';
  if (probe.status === 403) {
    hint = '; the proxy refuses this client, most likely by its Origin check (websockify --auth-plugin ExpectOrigin '
      + 'answers "403 Invalid Origin"): pop3 sends no Origin header, as Node\'s WebSocket sends none, so the proxy '
      + 'must accept connections without one (or use --host to connect directly)';
  } else if (probe.status === 401 || probe.status === 407) {
    hint = '; the proxy asks for authentication, which pop3 cannot give';
  } else if (probe.status === 404) {
    hint = '; check the URL\'s path';
  }
  return new CliError(`the WebSocket proxy at ${options.ws} refused the connection: HTTP ${probe.status}`
    + `${probe.statusText ? ` ${probe.statusText}` : ''}${hint}`, EXIT.PROXY_REFUSED, { cause: error });
}

/**
 * Runs `fn(client)` on a logged-in (or, with login false, just connected) session. If `fn`
 * returns, the session ends with QUIT (unless `fn` already ended it); if anything throws
 * (including Ctrl-C), the connection is closed WITHOUT QUIT so nothing marked is deleted.
 */
export async function withSession(ctx, { login }, fn) {
  const client = await openSession(ctx, { login });
  try {
    const result = await fn(client);
    if (client.state !== 'closed') await client.quit({ signal: ctx.signal });
    ctx.log(`done: ${client.stats.commands} commands, ${client.stats.roundTrips} round trips, `
      + `${client.stats.bytesIn} bytes in, ${client.stats.bytesOut} bytes out`);
    return result;
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
}

/** Capabilities of the session: the ones read so far, else a fresh CAPA (null: no CAPA). */
export async function capabilitiesOf(client, signal) {
  return client.capabilities ?? client.capa({ signal });
}


/** UIDL for every message as a Map msg -> uid, or null when the server has none. */
export async function fetchUids(client, caps, signal) {
  if (caps && !caps.uidl) return null;
  try {
    return new Map((await client.uidl({ signal })).map((e) => [e.msg, e.uid]));
  } catch (e) {
    if (e.code === 'server') return null; // a server without CAPA may have no UIDL either
    throw e;
  }
}
