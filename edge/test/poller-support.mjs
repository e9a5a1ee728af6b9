// Pieces of the poller tests: the poller in Miniflare (real workerd, with Queues, Durable
// Objects and R2 simulated), configured from wrangler.poller.toml itself; a webhook receiver
// that counts receipts per Idempotency-Key; and a POP3 proxy in front of Dovecot that counts
// sessions per mailbox and can cut or stall a session in the middle of RETR.

import { createServer as createHttpServer } from 'node:http';
import { createServer, connect } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

import { edgeDir, wranglerBundle } from './support.mjs';

/**
 * Bundles poller.js as `wrangler deploy` would, and starts it in Miniflare with the
 * bindings of wrangler.poller.toml, `vars` and `secrets` on top, storage persisted under
 * `dir` (so a restart keeps it). Resolves to a handle for driving it.
 */
export async function startPoller({ dir, vars = {}, secrets = {}, queue = {} }) {
  const bundle = await wranglerBundle('', join(dir, 'dist'), { config: 'wrangler.poller.toml' });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(edgeDir, 'wrangler.poller.toml'));
  const consumers = Object.fromEntries(Object.entries(workerOptions.queueConsumers)
    .map(([name, c]) => [name, { ...c, ...queue }]));
  let output = '';
  const options = {
    ...workerOptions,
    name: 'pop3-poller',
    modulesRoot: bundle.outdir,
    modules: [
      { type: 'ESModule', path: join(bundle.outdir, bundle.main) },
      ...bundle.wasm.map((f) => ({ type: 'CompiledWasm', path: join(bundle.outdir, f) })),
    ],
    modulesRules: undefined,
    bindings: { ...workerOptions.bindings, ...vars, ...secrets },
    queueConsumers: consumers,
    defaultPersistRoot: join(dir, 'state'),
    durableObjectsPersist: true,
    r2Persist: true,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      stdout.on('data', (d) => { output += d; });
      stderr.on('data', (d) => { output += d; });
    },
  };
  let mf = new Miniflare(options);
  await mf.ready;
  const poller = {
    bundle,
    get mf() { return mf; },
    get output() { return output; },
    /** An admin API request; resolves to { status, body }. */
    async admin(method, path, body, token = secrets.ADMIN_TOKEN) {
      const headers = token === null ? {} : { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await mf.dispatchFetch(`http://poller.test${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed;
      try { parsed = JSON.parse(text); } catch { parsed = text; }
      return { status: res.status, body: parsed };
    },
    /** Runs the cron handler as for `scheduledTime` (ms). */
    async tick(scheduledTime = Date.now()) {
      const worker = await mf.getWorker();
      return worker.scheduled({ scheduledTime: new Date(scheduledTime), cron: '* * * * *' });
    },
    /** Sends poll messages straight to the queue (as a producer would, duplicates included). */
    async enqueue(bodies) {
      const queue = await mf.getQueueProducer('POLL_QUEUE');
      await queue.sendBatch(bodies.map((body) => ({ body, contentType: 'json' })));
    },
    /** Every object key in the R2 bucket. */
    async r2Keys() {
      const bucket = await mf.getR2Bucket('MAIL_BUCKET');
      const keys = [];
      let cursor;
      do {
        const page = await bucket.list({ cursor, limit: 1000 });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    async r2Get(key) {
      const bucket = await mf.getR2Bucket('MAIL_BUCKET');
      const object = await bucket.get(key);
      return object && new Uint8Array(await object.arrayBuffer());
    },
    /**
     * Restarts workerd (every Durable Object with it), with `bindings` changed (undefined
     * removes one); storage persists, queued messages do not.
     */
    async restart(bindings = {}) {
      const merged = { ...options.bindings, ...bindings };
      for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
      await mf.setOptions({ ...options, bindings: merged });
      await mf.ready;
    },
    /** CPU seconds (user + system) workerd has used so far. */
    cpuSeconds() {
      const pid = workerdPid();
      if (!pid) return 0;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return ticks / 100; // USER_HZ is 100 on Linux
    },
    stop: async () => { await mf?.dispose(); mf = null; },
  };
  return poller;
}

/** The workerd process this Node process started (Miniflare's runtime). */
function workerdPid() {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1].split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('workerd')) return Number(entry);
    } catch { /* gone */ }
  }
  return null;
}

/**
 * A webhook receiver that keeps every receipt: { key, mailbox, subject, status, acked, at }.
 * `acked` is true when it answered 2xx in time: that is what "delivered" means to the
 * sender. `behaviour(receipt)` returns 'ok' (200), an HTTP status to answer, or 'hang' (no
 * answer; the socket is closed after `hangMs`).
 */
export async function startReceiver({ hangMs = 3000 } = {}) {
  const receipts = [];
  let behaviour = () => 'ok';
  let inFlight = 0;
  const server = createHttpServer((req, res) => {
    const chunks = [];
    inFlight += 1;
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* counted as null */ }
      const receipt = {
        key: req.headers['idempotency-key'],
        account: body?.account,
        uid: body?.uid,
        subject: body?.subject,
        r2Key: body?.r2Key,
        at: Date.now(),
        status: null,
        acked: false,
      };
      receipts.push(receipt);
      const what = behaviour(receipt);
      if (what === 'hang') {
        receipt.status = 'hang';
        setTimeout(() => { inFlight -= 1; req.socket.destroy(); }, hangMs);
        return;
      }
      inFlight -= 1;
      // A sender that gave up (timed out) before the answer gets nothing.
      if (req.socket.destroyed) { receipt.status = 'abandoned'; return; }
      receipt.status = typeof what === 'number' ? what : 200;
      receipt.acked = receipt.status >= 200 && receipt.status < 300;
      res.writeHead(receipt.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    receipts,
    get inFlight() { return inFlight; },
    setBehaviour: (fn) => { behaviour = fn ?? (() => 'ok'); },
    /** Acknowledged receipts per Idempotency-Key. */
    ackedByKey() {
      const m = new Map();
      for (const r of receipts) if (r.acked) m.set(r.key, (m.get(r.key) ?? 0) + 1);
      return m;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/** POP3 commands whose answer is a dot-terminated block (without an argument, for LIST/UIDL). */
const multiline = (cmd) => /^(RETR|TOP|CAPA) ?/i.test(cmd) || /^(LIST|UIDL)$/i.test(cmd);

/**
 * A TCP proxy in front of one POP3 server that gives each mailbox its own port, so it sees
 * exactly which mailbox every session belongs to. It records sessions (open, close) per
 * mailbox and the most that were ever open at once, and can
 *   - cut a session in the middle of the n-th RETR answer (`cutAtRetr`), or
 *   - stall it just before the n-th RETR answer until released (`stallAtRetr`).
 * After login it follows the command/answer stream (commands in order; LIST, UIDL, RETR,
 * TOP and CAPA answered by dot-terminated blocks), so it knows where each RETR answer is.
 */
export async function startPop3Proxy(target, names) {
  const mailboxes = new Map();
  const servers = [];
  const rules = new Map(); // name -> { cutAtRetr?, stallAtRetr? } for its next session
  let stalled = [];
  for (const name of names) {
    const box = { name, port: 0, sessions: 0, open: 0, maxOpen: 0, cuts: 0, stalls: 0, log: [] };
    mailboxes.set(name, box);
    const server = createServer((client) => {
      const rule = rules.get(name);
      rules.delete(name);
      box.sessions += 1;
      box.open += 1;
      box.maxOpen = Math.max(box.maxOpen, box.open);
      box.log.push({ event: 'open', at: Date.now() });
      const upstream = connect(target.port, target.host);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        box.open -= 1;
        box.log.push({ event: 'close', at: Date.now() });
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      client.on('close', close);
      // A stalled link delivers nothing, its end included: while answers are held back, the
      // server's close waits for them (a client that pipelines QUIT lets the server finish
      // and close while the stall still holds its earlier answers).
      let upstreamEnded = false;
      const upstreamGone = () => { if (holding) upstreamEnded = true; else close(); };
      upstream.on('error', upstreamGone);
      upstream.on('close', upstreamGone);

      // Commands sent after login, in order; the answer framing follows them. Dovecot
      // answers a successful login with "+OK Logged in."; the client sends nothing more
      // before that answer, so every later line is a command.
      const pending = [];
      let loggedIn = false;
      let clientBuf = '';
      client.on('data', (d) => {
        upstream.write(d);
        if (!loggedIn) return;
        clientBuf += d.toString('latin1');
        let nl;
        while ((nl = clientBuf.indexOf('\r\n')) >= 0) {
          pending.push(clientBuf.slice(0, nl));
          clientBuf = clientBuf.slice(nl + 2);
        }
      });

      let retrSeen = 0;
      let stallUsed = false;
      let inBlock = null; // the multi-line command whose block is being forwarded
      let serverBuf = Buffer.alloc(0);
      let holding = null; // buffers held back while stalled
      upstream.on('data', (d) => {
        if (holding) { holding.push(d); return; }
        if (!loggedIn) {
          if (d.includes('+OK Logged in.')) loggedIn = true;
          client.write(d);
          return;
        }
        serverBuf = Buffer.concat([serverBuf, d]);
        // Forward answer by answer, so a RETR answer can be cut or held at its start.
        for (;;) {
          if (inBlock) {
            // The block ends at a line holding only "."; the first line may be it (an empty
            // listing), since the status line's CRLF is already forwarded.
            const end = serverBuf.subarray(0, 3).toString('latin1') === '.\r\n' ? -2 : serverBuf.indexOf('\r\n.\r\n');
            if (inBlock.cut && serverBuf.length > 0) {
              client.write(serverBuf.subarray(0, Math.max(1, Math.floor(Math.min(serverBuf.length, end < 0 ? serverBuf.length : end) / 2))));
              box.cuts += 1;
              close();
              return;
            }
            if (end === -1) {
              // Keep the last 4 bytes: the terminator may straddle two reads.
              const keep = Math.min(4, serverBuf.length);
              client.write(serverBuf.subarray(0, serverBuf.length - keep));
              serverBuf = serverBuf.subarray(serverBuf.length - keep);
              return;
            }
            client.write(serverBuf.subarray(0, end + 5));
            serverBuf = serverBuf.subarray(end + 5);
            inBlock = null;
            continue;
          }
          if (pending.length === 0) { if (serverBuf.length) client.write(serverBuf); serverBuf = Buffer.alloc(0); return; }
          const nl = serverBuf.indexOf('\r\n');
          if (nl < 0) return;
          const cmd = pending[0];
          const isRetr = /^RETR /i.test(cmd);
          if (isRetr) {
            if (rule?.stallAtRetr === retrSeen + 1 && !stallUsed) {
              stallUsed = true;
              box.stalls += 1;
              holding = [serverBuf];
              serverBuf = Buffer.alloc(0);
              stalled.push({ release: () => {
                const held = Buffer.concat(holding);
                holding = null;
                if (!closed) upstream.emit('data', held);
                if (upstreamEnded) close();
              }, closed: () => closed });
              return;
            }
            retrSeen += 1;
          }
          pending.shift();
          const status = serverBuf.subarray(0, nl + 2);
          serverBuf = serverBuf.subarray(nl + 2);
          client.write(status);
          if (status[0] === 0x2b /* + */ && multiline(cmd)) {
            inBlock = { cmd, cut: isRetr && rule?.cutAtRetr === retrSeen };
          }
        }
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    box.port = server.address().port;
    servers.push(server);
  }
  return {
    mailboxes,
    port: (name) => mailboxes.get(name).port,
    /** Applies to the next session of `name`. */
    setRule: (name, rule) => rules.set(name, rule),
    clearRules: () => rules.clear(),
    get stalledCount() { return stalled.filter((s) => !s.closed()).length; },
    releaseAll: () => { const s = stalled; stalled = []; for (const x of s) x.release(); },
    get open() { let n = 0; for (const b of mailboxes.values()) n += b.open; return n; },
    sessions: (name) => mailboxes.get(name).sessions,
    /** Mailboxes that ever had two sessions open at once. */
    overlapping: () => [...mailboxes.values()].filter((b) => b.maxOpen > 1).map((b) => b.name),
    close: () => Promise.all(servers.map((s) => new Promise((resolve) => { s.close(resolve); }))),
  };
}

/** Logins per user in Dovecot's log ("pop3-login: Info: Login: user=<bob>, ..."). */
export function dovecotSessions(logPath) {
  const logins = new Map();
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    const m = /pop3-login: Info: Login: user=<([^>]+)>/.exec(line);
    if (m) logins.set(m[1], (logins.get(m[1]) ?? 0) + 1);
  }
  return { logins };
}
