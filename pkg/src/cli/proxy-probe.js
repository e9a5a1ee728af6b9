// One HTTP request to a WebSocket URL, shaped like the upgrade request Node's WebSocket makes
// (no Origin header, as Node's WebSocket sends none), to learn the status a proxy answered
// when the WebSocket API only reports close code 1006. The connection is dropped as soon as
// the status line is read; nothing is relayed to the mail server.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

/**
 * Resolves to { status, statusText } (status 101: the proxy would accept), or { error } when
 * the request itself failed (nothing listens, DNS, TLS). Never rejects.
 */
export function probeWebSocket(url, { timeoutMs = 5000, signal } = {}) {
  return new Promise((resolve) => {
    let target;
    try {
      target = new URL(url);
    } catch (e) {
      resolve({ error: e.message });
      return;
    }
    const secure = target.protocol === 'wss:';
    const lib = secure ? https : http;
    let done = false;
    const finish = (result, req) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(result);
    };
    const req = lib.request({
      protocol: secure ? 'https:' : 'http:',
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || (secure ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      method: 'GET',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'User-Agent': 'node',
      },
      signal,
    });
    const timer = setTimeout(() => finish({ error: `no answer within ${timeoutMs} ms` }, req), timeoutMs);
    req.once('upgrade', (res, socket) => { socket.destroy(); finish({ status: res.statusCode, statusText: res.statusMessage ?? '' }, req); });
    req.once('response', (res) => { res.resume(); finish({ status: res.statusCode, statusText: res.statusMessage ?? '' }, req); });
    req.once('error', (e) => finish({ error: e.message }, req));
    req.end();
  });
}
