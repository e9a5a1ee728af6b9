// The public JavaScript API, shared by every runtime entry point (browser, Node, Deno,
// workerd). Each entry initialises the wasm module its own way and calls makeApi() with it.
//
// The wasm `Session` does the protocol work; this layer adds option checking, per-call
// timeouts combined with AbortSignals, real `Pop3Error` instances, a ReadableStream for
// streamed retrieval, and lazily decoded attachments for parsed messages.

const ERROR_CODES = new Set([
  'server', 'auth', 'protocol', 'limit', 'timeout', 'closed', 'transport', 'tls', 'usage', 'aborted',
]);

/**
 * An error from the POP3 client. `code` is stable and safe to branch on; `detail` (or null)
 * is a machine-readable account of the conditions a program must tell apart, with a `type`.
 */
export class Pop3Error extends Error {
  constructor(message, {
    code = 'protocol', responseCode = null, serverText = null, transient = false, deletionsUncertain = false,
    detail = null, cause,
  } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = code === 'aborted' ? 'AbortError' : 'Pop3Error';
    this.code = ERROR_CODES.has(code) ? code : 'protocol';
    this.responseCode = responseCode;
    this.serverText = serverText;
    this.transient = transient;
    this.deletionsUncertain = deletionsUncertain;
    this.detail = detail;
  }
}

/** Turns whatever the wasm side (or a callback) threw into a Pop3Error. */
export function toPop3Error(e) {
  if (e instanceof Pop3Error) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && ERROR_CODES.has(e.code)) {
    return new Pop3Error(String(e.message), {
      code: e.code,
      responseCode: e.responseCode ?? null,
      serverText: e.serverText ?? null,
      transient: Boolean(e.transient),
      deletionsUncertain: Boolean(e.deletionsUncertain),
      detail: e.detail ?? null,
    });
  }
  if (e && typeof e === 'object' && e.name === 'AbortError') {
    return new Pop3Error('the call was aborted', { code: 'aborted', cause: e });
  }
  return new Pop3Error(e instanceof Error ? e.message : String(e), { code: 'usage', cause: e });
}

function usage(message) {
  return new Pop3Error(message, { code: 'usage' });
}

function checkMessageNumber(n) {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw usage(`${String(n)} is not a message number (an integer from 1)`);
  }
  return n;
}

function checkOptions(options, name) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw usage(`${name} must be an object`);
  return options;
}

/**
 * Combines a caller's AbortSignal and a time limit into one signal for a call. Returns
 * { signal, done } where done() releases the timer and listener.
 */
function callSignal(options) {
  const { signal } = options;
  // 0 means no limit, as for replyTimeoutMs.
  const timeoutMs = options.timeoutMs === 0 ? undefined : options.timeoutMs;
  if (timeoutMs === undefined && !signal) return { signal: undefined, done() {} };
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) {
    throw usage('timeoutMs must be a non-negative number');
  }
  const controller = new AbortController();
  let timer;
  const forward = () => controller.abort(signal.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', forward, { once: true });
  }
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => {
      const reason = typeof DOMException === 'function'
        ? new DOMException(`the call took longer than ${timeoutMs} ms`, 'TimeoutError')
        : Object.assign(new Error(`the call took longer than ${timeoutMs} ms`), { name: 'TimeoutError' });
      controller.abort(reason);
    }, timeoutMs);
  }
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', forward);
    },
  };
}

async function call(options, fn) {
  const { signal, done } = callSignal(options);
  try {
    return await fn(signal);
  } catch (e) {
    throw toPop3Error(e);
  } finally {
    done();
  }
}

/**
 * Runs `fn` with a wrapper of the caller's callback `cb`; if `cb` throws, the call fails with
 * the caller's own error (not a wrapper of it).
 */
async function withCallback(cb, fn) {
  if (cb === undefined) return fn(undefined);
  let thrown;
  let didThrow = false;
  const wrapped = (...args) => {
    try {
      return cb(...args);
    } catch (e) {
      didThrow = true;
      thrown = e;
      throw e;
    }
  };
  try {
    return await fn(wrapped);
  } catch (e) {
    throw didThrow ? thrown : e;
  }
}

/**
 * Wraps callbacks so that an error one of them throws (or rejects with) is remembered, and
 * the call can fail with the caller's own error rather than a wrapper of it.
 */
function captureErrors() {
  const captured = { error: undefined };
  captured.wrap = (cb) => (...args) => {
    try {
      const result = cb(...args);
      if (result && typeof result.then === 'function') {
        return result.then(undefined, (e) => {
          captured.error ??= e;
          throw e;
        });
      }
      return result;
    } catch (e) {
      captured.error ??= e;
      throw e;
    }
  };
  return captured;
}

/** Builds the API on an initialised wasm-bindgen module (`wasm` is its exports). */
export function makeApi(wasm) {
  /** A connected POP3 session. Calls may overlap: they run one after another, in order. */
  class Pop3Client {
    #session;
    /** The caller's byte stream (options.transport), if the session runs on one. */
    #transport;

    constructor(session, transport) {
      this.#session = session;
      this.#transport = transport ?? null;
    }

    /** The server greeting: { text, code, apopTimestamp }. */
    get greeting() { return this.#session.greeting; }
    /** Capabilities from the last CAPA, or null. */
    get capabilities() { return this.#session.capabilities; }
    /** { version, cipher, terminatedBy } when the connection is encrypted, else null. */
    get tlsInfo() { return this.#session.tlsInfo; }
    /** 'authorization', 'transaction', 'closed', ... */
    get state() { return this.#session.state; }
    /** { roundTrips, commands, bytesIn, bytesOut }. */
    get stats() { return this.#session.stats; }

    async capa(options) {
      const o = checkOptions(options, 'options');
      return call(o, (signal) => this.#session.capa(signal));
    }

    /** STLS: upgrade to TLS (needs a transport that can, such as the Node adapter). */
    async startTls(options) {
      const o = checkOptions(options, 'options');
      return call(o, (signal) => this.#session.stls(signal));
    }

    /**
     * Logs in and resolves to the mechanism used. `mechanism`: 'auto' (default: the
     * strongest the server offers), 'user', 'apop', 'plain', 'login', 'cram-md5'.
     * Passwords are never sent in the clear over an unencrypted connection unless
     * `allowCleartext` is true.
     */
    async login(user, password, options) {
      const o = checkOptions(options, 'options');
      if (typeof user !== 'string' || user === '') throw usage('user must be a non-empty string');
      if (typeof password !== 'string') throw usage('password must be a string');
      const mechanism = o.mechanism ?? 'auto';
      if (typeof mechanism !== 'string') throw usage('mechanism must be a string');
      return call(o, (signal) => this.#session.login(user, password, mechanism, Boolean(o.allowCleartext), false, signal));
    }

    /**
     * Logs in with an OAuth 2.0 access token (OAUTHBEARER, or XOAUTH2 for Gmail and Microsoft
     * 365). The application obtains the token; the library never runs the OAuth flow.
     * `mechanism`: 'auto' (default), 'oauthbearer' or 'xoauth2'.
     */
    async loginWithToken(user, accessToken, options) {
      const o = checkOptions(options, 'options');
      if (typeof user !== 'string' || user === '') throw usage('user must be a non-empty string');
      if (typeof accessToken !== 'string' || accessToken === '') throw usage('accessToken must be a non-empty string');
      const mechanism = o.mechanism ?? 'auto';
      if (typeof mechanism !== 'string') throw usage('mechanism must be a string');
      return call(o, (signal) => this.#session.login(user, accessToken, mechanism, Boolean(o.allowCleartext), true, signal));
    }

    async stat(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.stat(signal));
    }

    /** LIST: [{ msg, size }]. Sizes are the server's, and only hints. */
    async list(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.list(undefined, signal));
    }

    async listOne(msg, options) {
      checkMessageNumber(msg);
      return call(checkOptions(options, 'options'), (signal) => this.#session.list(msg, signal));
    }

    /** UIDL: [{ msg, uid }]; uids are stable across sessions. */
    async uidl(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.uidl(undefined, signal));
    }

    async uidlOne(msg, options) {
      checkMessageNumber(msg);
      return call(checkOptions(options, 'options'), (signal) => this.#session.uidl(msg, signal));
    }

    /** TOP msg lines: the headers and the first `lines` body lines, as bytes. */
    async top(msg, lines, options) {
      checkMessageNumber(msg);
      if (!Number.isInteger(lines) || lines < 0) throw usage('lines must be a non-negative integer');
      const o = checkOptions(options, 'options');
      return withCallback(o.onProgress, (onProgress) => call(o, (signal) => this.#session.retr(msg, lines, onProgress, signal)));
    }

    /** RETR msg: the whole message as a Uint8Array. `onProgress({ received, expected })`. */
    async retrieve(msg, options) {
      checkMessageNumber(msg);
      const o = checkOptions(options, 'options');
      if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw usage('onProgress must be a function');
      return withCallback(o.onProgress, (onProgress) => call(o, (signal) => this.#session.retr(msg, undefined, onProgress, signal)));
    }

    /**
     * RETR msg as a ReadableStream of Uint8Array chunks. Memory stays bounded: the
     * connection is read only as fast as the stream is consumed. Cancelling the stream
     * abandons the message; the session stays usable.
     */
    retrieveStream(msg, options) {
      checkMessageNumber(msg);
      const o = checkOptions(options, 'options');
      const session = this.#session;
      const cancel = new AbortController();
      let waiting = null;
      let finished = false;
      return new ReadableStream({
        start(controller) {
          const combined = { ...o, signal: o.signal ? anySignal([o.signal, cancel.signal]) : cancel.signal };
          call(combined, (signal) => session.retrStream(msg, o.lines, (chunk) => {
            controller.enqueue(chunk);
            if (controller.desiredSize > 0) return undefined;
            return new Promise((resolve) => { waiting = resolve; });
          }, signal)).then(() => {
            finished = true;
            controller.close();
          }, (e) => {
            finished = true;
            if (!cancel.signal.aborted) controller.error(e);
          });
        },
        pull() {
          if (waiting) { const w = waiting; waiting = null; w(); }
        },
        cancel() {
          if (!finished) cancel.abort();
          if (waiting) { const w = waiting; waiting = null; w(); }
        },
      }, { highWaterMark: 4 });
    }

    /**
     * Retrieves several messages, pipelined when the server allows it. `onMessage(msg,
     * bytes)` is called for each, in order; a message that fails is reported through
     * `onError(msg, error)` (default: the whole call rejects with it after the others).
     */
    async retrieveMany(msgs, options) {
      if (!Array.isArray(msgs)) throw usage('msgs must be an array of message numbers');
      msgs.forEach(checkMessageNumber);
      const o = checkOptions(options, 'options');
      if (typeof o.onMessage !== 'function') throw usage('onMessage must be a function');
      let firstError = null;
      let callbackError = null;
      await call(o, (signal) => this.#session.retrMany(msgs, o.lines, (msg, bytes, error) => {
        // After an abort or a failed callback, replies still on their way are not delivered.
        if (callbackError || signal?.aborted) return;
        try {
          if (error) {
            const e = toPop3Error(error);
            if (o.onError) o.onError(msg, e);
            else if (!firstError) firstError = e;
            return;
          }
          o.onMessage(msg, bytes);
        } catch (e) {
          callbackError = e;
          throw e;
        }
      }, signal)).catch((e) => {
        // The callback's own error, not the wrapper the wasm side made of it.
        throw callbackError ?? e;
      });
      if (firstError) throw firstError;
    }

    /**
     * Marks several messages for deletion, pipelined. Resolves to one entry per message:
     * null when marked, or the Pop3Error the server gave for it.
     */
    async deleteMany(msgs, options) {
      if (!Array.isArray(msgs)) throw usage('msgs must be an array of message numbers');
      msgs.forEach(checkMessageNumber);
      const results = await call(checkOptions(options, 'options'), (signal) => this.#session.deleMany(msgs, signal));
      return results.map((e) => (e ? toPop3Error(e) : null));
    }

    /** DELE msg: marks the message; it is deleted when the session ends with quit(). */
    async delete(msg, options) {
      checkMessageNumber(msg);
      return call(checkOptions(options, 'options'), (signal) => this.#session.dele(msg, signal));
    }

    /** RSET: unmarks every message marked for deletion in this session. */
    async reset(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.rset(signal));
    }

    async noop(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.noop(signal));
    }

    /**
     * Synchronises the mailbox: downloads exactly the messages `state` does not record, hands
     * each to `save({ uid, bytes })` and waits for it (resolve only once the message is
     * durably stored; saving the same uid twice must not make two copies), records it and
     * calls `saveState(state)` (persist it; resolve once durable), then applies `retention`:
     * 'keep' (default), 'delete' (after saving), or { olderThanDays }. Ends the session with
     * QUIT, which is when the server deletes. Resolves to a report with the new state.
     */
    async sync(options) {
      const o = checkOptions(options, 'options');
      if (!o.state || typeof o.state !== 'object') throw usage('state must be a sync state (see newSyncState)');
      if (typeof o.save !== 'function' || typeof o.saveState !== 'function') throw usage('save and saveState must be functions');
      let retention = o.retention ?? 'keep';
      let days;
      if (typeof retention === 'object' && retention !== null) {
        days = retention.olderThanDays;
        retention = 'older';
      }
      if (!['keep', 'delete', 'older'].includes(retention)) throw usage("retention must be 'keep', 'delete' or { olderThanDays }");
      const now = o.now ?? Date.now();
      const captured = captureErrors();
      const save = captured.wrap((uid, bytes) => o.save({ uid, bytes }));
      const saveState = captured.wrap((state) => o.saveState(state));
      if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw usage('onProgress must be a function');
      // The wasm side ignores what the progress callback throws: stop the sync then (without
      // QUIT, so nothing is deleted) and fail with that error, as retrieve() does. The abort
      // is queued: it must not re-enter the wasm module from inside its own callback.
      const stop = new AbortController();
      let progressFailed = false;
      let progressError;
      const onProgress = o.onProgress ? (p) => {
        if (progressFailed) return;
        try {
          o.onProgress(p);
        } catch (e) {
          progressFailed = true;
          progressError = e;
          queueMicrotask(() => stop.abort());
        }
      } : undefined;
      const combined = { ...o, signal: o.signal ? anySignal([o.signal, stop.signal]) : stop.signal };
      try {
        return await call(combined, (signal) => this.#session.sync(
          o.state, retention, days, o.maxMessages, now, save, saveState, onProgress, signal,
        ));
      } catch (e) {
        // An aborted sync drops the connection inside the wasm module without closing the
        // byte stream (it holds the only client): close it, or the socket (and the server's
        // lock on the mailbox) would stay until the server times out.
        if (e.code === 'aborted' && this.#transport && this.#session.state === 'closed') {
          const transport = this.#transport;
          this.#transport = null;
          await Promise.resolve().then(() => transport.close()).catch(() => {});
        }
        throw captured.error ?? (progressFailed ? progressError : e);
      }
    }

    /** QUIT: the server deletes the marked messages and the connection closes. */
    async quit(options) {
      return call(checkOptions(options, 'options'), (signal) => this.#session.quit(signal));
    }

    /** Closes the connection without QUIT: nothing marked for deletion is deleted. */
    async close() {
      try {
        await this.#session.close();
      } catch (e) {
        throw toPop3Error(e);
      }
    }
  }

  /**
   * Connects to a POP3 server through `options.url` (a WebSocket to a websockify-style
   * proxy) or `options.transport` (any { read, write, close } byte stream), waits for the
   * greeting, and with `tls: 'starttls'` upgrades the connection with STLS.
   */
  async function connectWith(options) {
    const o = checkOptions(options, 'options');
    if (o.url === undefined && o.transport === undefined) {
      throw usage('connect() needs url (a WebSocket proxy) or transport (a byte stream)');
    }
    if (o.url !== undefined && typeof o.url !== 'string') throw usage('url must be a string');
    if (o.transport !== undefined && (typeof o.transport !== 'object' || typeof o.transport.read !== 'function'
      || typeof o.transport.write !== 'function' || typeof o.transport.close !== 'function')) {
      throw usage('transport must have read(), write(bytes) and close()');
    }
    const tls = o.tls ?? 'none';
    if (!['none', 'implicit', 'starttls'].includes(tls)) {
      throw usage(`tls must be 'none', 'implicit' or 'starttls' (got ${JSON.stringify(tls)})`);
    }
    if (o.url !== undefined && typeof globalThis.WebSocket !== 'function') {
      throw usage('this runtime has no WebSocket (Node 20 needs --experimental-websocket; Node 22+, browsers and Deno have one)');
    }
    const session = await call(o, (signal) => wasm.Session.connect({
      url: o.url,
      stream: o.transport,
      protocols: o.protocols,
      tls,
      tlsProvider: o.tlsProvider,
      serverName: o.serverName,
      ca: pemText(o.ca),
      caOnly: o.caOnly,
      pin: o.pin,
      replyTimeoutMs: o.replyTimeoutMs,
      commandTimeoutMs: o.commandTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      maxLineBytes: o.maxLineBytes,
      maxMessageBytes: o.maxMessageBytes,
      pipelining: o.pipelining,
      window: o.window,
      signal,
    }));
    const client = new Pop3Client(session, o.transport);
    if (tls === 'starttls') {
      try {
        await client.startTls({ signal: o.signal });
      } catch (e) {
        await client.close().catch(() => {});
        throw e;
      }
    }
    return client;
  }

  /** A new, empty sync state for `account` (such as 'alice@mail.example.org'). */
  function newSyncState(account) {
    if (typeof account !== 'string' || account === '') throw usage('account must be a non-empty string');
    return wasm.newSyncState(account);
  }

  /**
   * Checks a stored sync state (an object or JSON text): a corrupt one, one from another
   * program or version, or (with `account`) another mailbox's, is a Pop3Error, never an
   * empty state that would download everything again.
   */
  function checkSyncState(state, account) {
    let value = state;
    if (typeof state === 'string') {
      try {
        value = JSON.parse(state);
      } catch (e) {
        throw new Pop3Error(`the sync state is corrupt (not JSON: ${e.message}); fix or remove it`, { code: 'usage' });
      }
    }
    try {
      return wasm.checkSyncState(value, account);
    } catch (e) {
      throw toPop3Error(e);
    }
  }

  return { Pop3Client, connectWith, newSyncState, checkSyncState, buildInfo: () => wasm.buildInfo() };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Watches a mailbox. POP3 has no push, so this connects every `intervalMs` (raised to the
 * server's LOGIN-DELAY when longer) with `connectAndLogin()`, runs `client.sync()` with the
 * options, and calls `onMessage({ uid, bytes })` for each new message (after it was saved)
 * and `onSync(report)` after each run. Transient failures (network, timeouts, [SYS/TEMP],
 * [IN-USE], [LOGIN-DELAY]) are retried with exponential back-off (`retries`: { max, baseMs,
 * maxMs }), reported to `onRetry({ error, attempt, delayMs })`; a permanent one, or one that
 * outlasts the retries, rejects. Abort `signal` to stop: the watch then resolves with the
 * latest state.
 */
export async function watch(connectAndLogin, options) {
  const o = checkOptions(options, 'options');
  if (typeof connectAndLogin !== 'function') throw usage('connectAndLogin must be a function returning a logged-in client');
  if (typeof o.save !== 'function' || typeof o.saveState !== 'function') throw usage('save and saveState must be functions');
  const interval = o.intervalMs ?? 60_000;
  const retries = { max: 5, baseMs: 2_000, maxMs: 300_000, ...o.retries };
  let state = o.state;
  let attempt = 0;
  let loginDelayMs = 0;
  const signal = o.signal;
  while (!signal?.aborted) {
    let wait;
    try {
      const client = await connectAndLogin();
      loginDelayMs = (client.capabilities?.loginDelay?.seconds ?? 0) * 1000 || loginDelayMs;
      let report;
      try {
        report = await client.sync({
          ...o,
          state,
          save: async (message) => {
            await o.save(message);
            o.onMessage?.(message);
          },
          saveState: async (s) => {
            state = s;
            await o.saveState(s);
          },
        });
      } catch (e) {
        // sync() closes the session itself once it reached the server; a failure before that
        // (a bad option) must not leak the connection.
        await client.close().catch(() => {});
        throw e;
      }
      state = report.state;
      attempt = 0;
      o.onSync?.(report);
      wait = Math.max(interval, loginDelayMs);
    } catch (e) {
      const error = toPop3Error(e);
      if (signal?.aborted || error.code === 'aborted') break;
      attempt += 1;
      // The caller's own error (from save, saveState, onMessage or connectAndLogin) as it is.
      if (!error.transient || attempt > retries.max) throw e;
      wait = Math.min(retries.baseMs * 2 ** (attempt - 1), retries.maxMs);
      if (error.responseCode === 'IN-USE' || error.responseCode === 'LOGIN-DELAY') wait = Math.max(wait, loginDelayMs);
      o.onRetry?.({ error, attempt, delayMs: wait });
    }
    await sleep(wait, signal);
  }
  return state;
}

/** CA certificates as PEM text (accepts strings, bytes, or arrays of them). */
function pemText(ca) {
  if (ca === undefined || ca === null) return undefined;
  const one = (c) => (typeof c === 'string' ? c : new TextDecoder().decode(c));
  return Array.isArray(ca) ? ca.map(one) : one(ca);
}

/** An AbortSignal that fires when any of `signals` does. */
export function anySignal(signals) {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) { controller.abort(s.reason); break; }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}
