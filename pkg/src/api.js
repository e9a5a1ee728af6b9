// The public JavaScript API, shared by every runtime entry point (browser, Node, Deno,
// workerd). Each entry loads its wasm modules its own way (load.js) and calls makeApi() with
// its client module.
//
// The wasm `Session` does the protocol work, and keeps rules such as the sync state format,
// the retry policy and Maildir naming in Rust; this layer adds argument checking, per-call
// timeouts combined with AbortSignals, real `Pop3Error` instances, ReadableStreams and async
// iterators. A value the caller's own callback throws reaches the caller unchanged: the wasm
// side passes it through.

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
    loginDelay = null, detail = null, command = null, cause,
  } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = code === 'aborted' ? 'AbortError' : 'Pop3Error';
    this.code = ERROR_CODES.has(code) ? code : 'protocol';
    this.responseCode = responseCode;
    this.serverText = serverText;
    this.transient = transient;
    this.deletionsUncertain = deletionsUncertain;
    this.loginDelay = loginDelay;
    this.detail = detail;
    this.command = command;
  }
}

/** Converts anything thrown into a Pop3Error (one that is not from this library: code 'usage'). */
export function toPop3Error(e) {
  const converted = fromWasm(e);
  if (converted instanceof Pop3Error) return converted;
  return new Pop3Error(e instanceof Error ? e.message : String(e), { code: 'usage', cause: e });
}

/**
 * What the wasm side rejected with, as a Pop3Error; anything else (a value the caller's own
 * callback threw, passed through by the wasm side) is left as it is.
 */
function fromWasm(e) {
  if (e instanceof Pop3Error) return e;
  if (e && typeof e === 'object' && e.name === 'Pop3Error' && typeof e.code === 'string' && ERROR_CODES.has(e.code)) {
    return new Pop3Error(String(e.message), {
      code: e.code,
      responseCode: e.responseCode ?? null,
      serverText: e.serverText ?? null,
      transient: Boolean(e.transient),
      deletionsUncertain: Boolean(e.deletionsUncertain),
      loginDelay: e.loginDelay ?? null,
      detail: e.detail ?? null,
      command: e.command ?? null,
    });
  }
  if (e && typeof e === 'object' && e.name === 'AbortError' && e.code === 'aborted') {
    return new Pop3Error(String(e.message), { code: 'aborted', cause: e });
  }
  return e;
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

function checkMessageNumbers(msgs) {
  if (!Array.isArray(msgs)) throw usage('msgs must be an array of message numbers');
  msgs.forEach(checkMessageNumber);
  return msgs;
}

function checkOptions(options, name = 'options') {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw usage(`${name} must be an object`);
  return options;
}

function checkFunction(f, name) {
  if (f !== undefined && typeof f !== 'function') throw usage(`${name} must be a function`);
  return f;
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

/** Runs a Session call with the caller's signal and time limit. */
async function call(options, fn) {
  const { signal, done } = callSignal(options);
  try {
    return await fn(signal);
  } catch (e) {
    throw fromWasm(e);
  } finally {
    done();
  }
}

/** The retention as the Rust sync reads it: 'keep', 'delete' or 'older-than:DAYS'. */
function retentionName(retention = 'keep') {
  if (retention !== null && typeof retention === 'object') {
    const days = retention.olderThanDays;
    if (!Number.isInteger(days) || days < 0) throw usage('olderThanDays must be a whole number of days');
    return `older-than:${days}`;
  }
  if (retention === 'keep' || retention === 'delete') return retention;
  throw usage("retention must be 'keep', 'delete' or { olderThanDays }");
}

/** A sink for sync() that hands each message whole to `save({ uid, bytes })`. */
function bufferedSink(save) {
  let uid = null;
  let parts = [];
  return {
    begin(message) { uid = message.uid; parts = []; },
    // The chunk may be a view of a buffer the next write reuses: keep a copy.
    write(chunk) { parts.push(chunk.slice()); },
    commit() {
      const size = parts.reduce((n, p) => n + p.length, 0);
      const bytes = parts.length === 1 ? parts[0] : new Uint8Array(size);
      if (parts.length !== 1) {
        let at = 0;
        for (const p of parts) { bytes.set(p, at); at += p.length; }
      }
      parts = [];
      return save({ uid, bytes });
    },
    abort() { parts = []; },
  };
}

/** The wasm module entries registered; module-level functions (watch) use the first one. */
let defaultModule = null;

/** The state as a SyncState of module `wasm` (accepts another module's, an object or JSON text). */
function wasmState(wasm, state) {
  if (state instanceof wasm.SyncState) return state;
  if (typeof state === 'string') return wasm.SyncState.parse(state);
  if (state && typeof state === 'object') {
    // Another module's SyncState has toString() (its JSON); a plain object is stringified.
    const text = typeof state.toJSON === 'function' && typeof state.has === 'function' ? String(state) : JSON.stringify(state);
    return wasm.SyncState.parse(text);
  }
  throw usage('state must be a sync state (see newSyncState)');
}

/** A connected POP3 session. Calls may overlap: they run one after another, in order. */
export class Pop3Client {
  #session;
  #wasm;
  /** The caller's byte stream (options.transport), if the session runs on one. */
  #transport;

  /** Made by connect(); not meant to be called directly. */
  constructor(session, wasm, transport) {
    this.#session = session;
    this.#wasm = wasm;
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
  /** { roundTrips, commands, bytesIn, bytesOut }, as of the end of the last call. */
  get stats() { return this.#session.stats; }
  /** The largest LOGIN-DELAY (seconds) the server announced, before or after login, or null. */
  get loginDelay() { return this.#session.loginDelay ?? null; }

  async capa(options) {
    return call(checkOptions(options), (signal) => this.#session.capa({ signal }));
  }

  /** STLS: upgrade to TLS (needs a transport that can, such as the Node adapter). */
  async startTls(options) {
    return call(checkOptions(options), (signal) => this.#session.stls({ signal }));
  }

  /** UTF8 (RFC 6856): the session in UTF-8 mode. Before login; the server must offer UTF8. */
  async utf8(options) {
    return call(checkOptions(options), (signal) => this.#session.utf8({ signal }));
  }

  /** LANG (RFC 6856): [{ tag, description }], the languages the server offers for its texts. */
  async languages(options) {
    return call(checkOptions(options), (signal) => this.#session.languages({ signal }));
  }

  /** LANG tag (RFC 6856): the server's texts in that language; resolves to its +OK text. */
  async setLanguage(tag, options) {
    if (typeof tag !== 'string' || tag === '') throw usage('tag must be a non-empty language tag');
    return call(checkOptions(options), (signal) => this.#session.setLanguage({ tag, signal }));
  }

  /**
   * Logs in and resolves to the mechanism used. `mechanism`: 'auto' (default: PLAIN over TLS,
   * else the strongest the server offers), 'user', 'apop', 'plain', 'login', 'cram-md5',
   * 'scram-sha-1', 'scram-sha-256'. Passwords are never sent in the clear over an unencrypted
   * connection unless `allowCleartext` is true.
   */
  async login(user, password, options) {
    const o = checkOptions(options);
    if (typeof user !== 'string' || user === '') throw usage('user must be a non-empty string');
    if (typeof password !== 'string') throw usage('password must be a string');
    const mechanism = o.mechanism ?? 'auto';
    if (typeof mechanism !== 'string') throw usage('mechanism must be a string');
    return call(o, (signal) => this.#session.login({
      user, secret: password, mechanism, allowCleartext: Boolean(o.allowCleartext), signal,
    }));
  }

  /**
   * Logs in with an OAuth 2.0 access token (OAUTHBEARER, or XOAUTH2 for Gmail and Microsoft
   * 365). The application obtains the token; the library never runs the OAuth flow.
   * `mechanism`: 'auto' (default), 'oauthbearer' or 'xoauth2'.
   */
  async loginWithToken(user, accessToken, options) {
    const o = checkOptions(options);
    if (typeof user !== 'string' || user === '') throw usage('user must be a non-empty string');
    if (typeof accessToken !== 'string' || accessToken === '') throw usage('accessToken must be a non-empty string');
    const mechanism = o.mechanism ?? 'auto';
    if (typeof mechanism !== 'string') throw usage('mechanism must be a string');
    return call(o, (signal) => this.#session.login({
      user, secret: accessToken, mechanism, allowCleartext: Boolean(o.allowCleartext), token: true, signal,
    }));
  }

  async stat(options) {
    return call(checkOptions(options), (signal) => this.#session.stat({ signal }));
  }

  /**
   * LIST: [{ msg, size }]. Sizes are the server's, and only hints. A listing with a line that
   * cannot be read, or a message numbered above what stat() reported, rejects with code
   * 'protocol' and `detail.type` 'listing' (holding what could be read).
   */
  async list(options) {
    return call(checkOptions(options), (signal) => this.#session.list({ signal }));
  }

  /** LIST msg: { msg, size }; an answer about another message is a 'protocol' error. */
  async listOne(msg, options) {
    checkMessageNumber(msg);
    return call(checkOptions(options), (signal) => this.#session.list({ msg, signal }));
  }

  /** UIDL: [{ msg, uid }]; uids are stable across sessions. Checked like list(). */
  async uidl(options) {
    return call(checkOptions(options), (signal) => this.#session.uidl({ signal }));
  }

  /** UIDL msg: { msg, uid }; an answer about another message is a 'protocol' error. */
  async uidlOne(msg, options) {
    checkMessageNumber(msg);
    return call(checkOptions(options), (signal) => this.#session.uidl({ msg, signal }));
  }

  /** TOP msg lines: the headers and the first `lines` body lines, as bytes. */
  async top(msg, lines, options) {
    checkMessageNumber(msg);
    if (!Number.isInteger(lines) || lines < 0) throw usage('lines must be a non-negative integer');
    const o = checkOptions(options);
    checkFunction(o.onProgress, 'onProgress');
    return call(o, (signal) => this.#session.retr({ msg, lines, onProgress: o.onProgress, signal }));
  }

  /** RETR msg: the whole message as a Uint8Array. `onProgress({ received, expected })`. */
  async retrieve(msg, options) {
    checkMessageNumber(msg);
    const o = checkOptions(options);
    checkFunction(o.onProgress, 'onProgress');
    return call(o, (signal) => this.#session.retr({ msg, onProgress: o.onProgress, signal }));
  }

  /**
   * RETR msg as a ReadableStream of Uint8Array chunks. Memory stays bounded: the
   * connection is read only as fast as the stream is consumed. Cancelling the stream
   * abandons the message; the session stays usable.
   */
  retrieveStream(msg, options) {
    checkMessageNumber(msg);
    const o = checkOptions(options);
    const session = this.#session;
    const cancel = new AbortController();
    let waiting = null;
    let finished = false;
    return new ReadableStream({
      start(controller) {
        const combined = { ...o, signal: o.signal ? anySignal([o.signal, cancel.signal]) : cancel.signal };
        call(combined, (signal) => session.retrStream({
          msg,
          lines: o.lines,
          onChunk(chunk) {
            controller.enqueue(chunk);
            if (controller.desiredSize > 0) return undefined;
            return new Promise((resolve) => { waiting = resolve; });
          },
          signal,
        })).then(() => {
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
   * Retrieves several messages, pipelined when the server allows it. With `onMessage(msg,
   * bytes)`, resolves once each was handed over in order (a message the server refused goes
   * to `onError(msg, error)`, or the call rejects with it after the others); when
   * `onMessage` returns a promise, the next message waits for it. Without `onMessage`,
   * returns an async iterator of { msg, bytes, error }: `for await (const m of
   * client.retrieveMany(msgs))`, one message in memory at a time; leaving the loop early
   * abandons the rest, and the session stays usable. `lines`: TOP instead of RETR.
   */
  retrieveMany(msgs, options) {
    if (options?.onMessage === undefined) return this.#iterateMany(msgs, options);
    return this.#retrieveEach(msgs, options);
  }

  async #retrieveEach(msgs, options) {
    checkMessageNumbers(msgs);
    const o = checkOptions(options);
    checkFunction(o.onMessage, 'onMessage');
    checkFunction(o.onError, 'onError');
    let firstError = null;
    await call(o, (signal) => this.#session.retrMany({
      msgs,
      lines: o.lines,
      onMessage: (msg, bytes, error) => {
        if (!error) return o.onMessage(msg, bytes);
        const e = toPop3Error(error);
        if (o.onError) return o.onError(msg, e);
        firstError ??= e;
        return undefined;
      },
      signal,
    }));
    if (firstError) throw firstError;
  }

  #iterateMany(msgs, options) {
    // Argument errors surface where the caller awaits: at the first next().
    let invalid = null;
    let o = {};
    try {
      checkMessageNumbers(msgs);
      o = checkOptions(options);
    } catch (e) {
      invalid = e;
    }
    if (invalid) {
      return {
        [Symbol.asyncIterator]() { return this; },
        next: () => Promise.reject(invalid),
        return: async () => ({ value: undefined, done: true }),
      };
    }
    const session = this.#session;
    const stop = new AbortController();
    // One message handed over at a time: the wasm side waits until it was taken.
    let offer = null;
    let taken = null;
    let done = null;
    const next = () => new Promise((resolve) => { offer = resolve; });
    let pendingOffer = next();
    const running = call({ ...o, signal: o.signal ? anySignal([o.signal, stop.signal]) : stop.signal }, (signal) => session.retrMany({
      msgs,
      lines: o.lines,
      onMessage: (msg, bytes, error) => {
        offer({ value: { msg, bytes, error: error ? toPop3Error(error) : null }, done: false });
        return new Promise((resolve) => { taken = resolve; });
      },
      signal,
    })).then(
      () => { done = { value: undefined, done: true }; offer(done); },
      (e) => { done = { error: e }; offer(done); },
    );
    return {
      [Symbol.asyncIterator]() { return this; },
      async next() {
        if (taken) { const t = taken; taken = null; pendingOffer = next(); t(); }
        const item = await pendingOffer;
        if (item.error) {
          pendingOffer = Promise.resolve({ value: undefined, done: true });
          throw item.error;
        }
        return item;
      },
      async return() {
        if (!done) {
          stop.abort();
          if (taken) { const t = taken; taken = null; t(); }
          await running.catch(() => {});
        }
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * Marks several messages for deletion, pipelined. Resolves to one entry per message:
   * null when marked, or the Pop3Error the server gave for it.
   */
  async deleteMany(msgs, options) {
    checkMessageNumbers(msgs);
    const results = await call(checkOptions(options), (signal) => this.#session.deleMany({ msgs, signal }));
    return results.map((e) => (e ? toPop3Error(e) : null));
  }

  /** DELE msg: marks the message; it is deleted when the session ends with quit(). */
  async delete(msg, options) {
    checkMessageNumber(msg);
    return call(checkOptions(options), (signal) => this.#session.dele({ msg, signal }));
  }

  /** RSET: unmarks every message marked for deletion in this session. */
  async reset(options) {
    return call(checkOptions(options), (signal) => this.#session.rset({ signal }));
  }

  async noop(options) {
    return call(checkOptions(options), (signal) => this.#session.noop({ signal }));
  }

  /**
   * Synchronises the mailbox: downloads exactly the messages `state` does not record and
   * hands each to the sink, records each batch, then applies `retention`: 'keep' (default),
   * 'delete' (after saving), or { olderThanDays }. Ends the session with QUIT, which is when
   * the server deletes. Resolves to a report with the new `state` (a SyncState).
   *
   * The sink is either `save({ uid, bytes })` (the whole message), or `sink: { begin({ uid,
   * size }), write(chunk), commit(), abort?(), flush?() }` (streamed; `begin` may return
   * false when it already holds that uid). Persisting: `saveState(state)` (the whole state:
   * at the end, and after each batch unless `record` is given), and optionally
   * `record({ entries, journal })`, a delta per batch (`journal` is the text to append to a
   * journal that `SyncState.load` reads back). Everything may return a promise: resolve it
   * only once the data is durable.
   */
  async sync(options) {
    const o = checkOptions(options);
    if (!o.state || (typeof o.state !== 'object' && typeof o.state !== 'string')) {
      throw usage('state must be a sync state (see newSyncState)');
    }
    if ((o.save === undefined) === (o.sink === undefined)) throw usage('give either save or sink');
    checkFunction(o.save, 'save');
    checkFunction(o.saveState, 'saveState');
    if (typeof o.saveState !== 'function') throw usage('saveState must be a function');
    checkFunction(o.record, 'record');
    checkFunction(o.onProgress, 'onProgress');
    if (o.sink !== undefined && (o.sink === null || typeof o.sink !== 'object')) throw usage('sink must be an object');
    const retention = retentionName(o.retention);
    const state = (() => {
      try {
        return wasmState(this.#wasm, o.state);
      } catch (e) {
        throw fromWasm(e);
      }
    })();
    // The sink's own methods are called on it (this = the sink).
    const sink = o.sink ?? bufferedSink(o.save);
    try {
      const report = await call(o, (signal) => this.#session.sync(state, {
        retention,
        maxMessages: o.maxMessages,
        recordEvery: o.recordEvery,
        nowMs: o.now,
        sink,
        record: o.record,
        saveState: () => o.saveState(state),
        onProgress: o.onProgress,
        signal,
      }));
      return { ...report, state };
    } catch (e) {
      // An aborted sync leaves the session with commands in flight: close it, so the server
      // drops the mailbox lock at once (nothing marked is deleted without QUIT).
      if (e && e.code === 'aborted') await this.close().catch(() => {});
      throw e;
    }
  }

  /** QUIT: the server deletes the marked messages and the connection closes. */
  async quit(options) {
    return call(checkOptions(options), (signal) => this.#session.quit({ signal }));
  }

  /** Closes the connection without QUIT: nothing marked for deletion is deleted. */
  async close() {
    try {
      await this.#session.close();
    } catch (e) {
      throw toPop3Error(e);
    }
    if (this.#transport) {
      const transport = this.#transport;
      this.#transport = null;
      await Promise.resolve().then(() => transport.close()).catch(() => {});
    }
  }

  /** `await using client = await connect(...)`: closes (without QUIT) when the scope ends. */
  async [Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')]() {
    if (this.state !== 'closed') await this.close();
  }
}

/**
 * Builds the API on a client module: `module.get()` returns its wasm-bindgen exports,
 * instantiated (see load.js; the entry points load it before anything asynchronous runs).
 */
export function makeApi(module) {
  defaultModule ??= module;

  /**
   * Connects to a POP3 server through `options.url` (a WebSocket to a websockify-style
   * proxy) or `options.transport` (any { read, write, close } byte stream), waits for the
   * greeting, and with `tls: 'starttls'` upgrades the connection with STLS.
   */
  async function connectWith(options) {
    const o = checkOptions(options);
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
    const wasm = module.get();
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
    const client = new Pop3Client(session, wasm, o.transport);
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
    return new (module.get().SyncState)(account);
  }

  /**
   * Checks a stored sync state (JSON text, or an object) strictly, and returns it as a
   * SyncState: a corrupt one, one from another program or version, or (with `account`)
   * another mailbox's, is a Pop3Error, never an empty state that would download everything
   * again.
   */
  function checkSyncState(state, account) {
    const text = typeof state === 'string' ? state : JSON.stringify(state);
    if (text === undefined) throw usage('the sync state must be JSON text or an object');
    try {
      return module.get().SyncState.parse(text, account);
    } catch (e) {
      throw fromWasm(e);
    }
  }

  /** A state file's text and its journal's (either may be null) as the current SyncState. */
  function loadSyncState(stateText, journalText, account) {
    try {
      return module.get().SyncState.load(stateText ?? undefined, journalText ?? undefined, account);
    } catch (e) {
      throw fromWasm(e);
    }
  }

  return {
    Pop3Client, connectWith, newSyncState, checkSyncState, loadSyncState,
    // Every entry point with a client also has parseMessage (the parser module, on first use).
    buildInfo: () => ({ ...module.get().buildInfo(), mime: true }),
    module,
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Watches a mailbox. POP3 has no push, so this connects every `intervalMs` with
 * `connectAndLogin()`, runs `client.sync()` with the options, and calls `onMessage({ uid,
 * bytes })` for each new message (after it was saved) and `onSync(report)` after each run.
 * Transient failures (network, timeouts, [SYS/TEMP], [IN-USE], [LOGIN-DELAY]) are retried with
 * exponential back-off (`retries`: { max, baseMs, maxMs }), reported to `onRetry({ error,
 * attempt, delayMs })`; a permanent one, or one that outlasts the retries, rejects. No login
 * comes sooner than the largest LOGIN-DELAY the server announced, before or after login. The
 * policy is the Rust one (`sync::watch`). Abort `signal` to stop: the watch then resolves with
 * the latest state.
 */
export async function watch(connectAndLogin, options) {
  const o = checkOptions(options);
  if (typeof connectAndLogin !== 'function') throw usage('connectAndLogin must be a function returning a logged-in client');
  if ((o.save === undefined) === (o.sink === undefined)) throw usage('give either save or sink');
  if (typeof o.saveState !== 'function') throw usage('saveState must be a function');
  if (!defaultModule) throw usage('the module is not initialised');
  const retries = { max: 5, baseMs: 2_000, maxMs: 300_000, ...o.retries };
  const policy = new (defaultModule.get().WatchPolicy)(o.intervalMs ?? 60_000, retries.max, retries.baseMs, retries.maxMs);
  let state = o.state;
  let attempt = 0;
  const signal = o.signal;
  try {
    while (!signal?.aborted) {
      let wait;
      try {
        const client = await connectAndLogin();
        policy.noteLoginDelay(client.loginDelay ?? undefined);
        let report;
        try {
          report = await client.sync({
            ...o,
            state,
            ...messageHooks(o),
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
        policy.noteLoginDelay(report.loginDelay ?? undefined);
        attempt = 0;
        o.onSync?.(report);
        wait = policy.intervalMs();
      } catch (e) {
        if (signal?.aborted || e?.code === 'aborted') break;
        // The caller's own error (from save, saveState, onMessage or connectAndLogin) as it is.
        if (!(e instanceof Pop3Error)) throw e;
        policy.noteLoginDelay(e.loginDelay ?? undefined);
        attempt += 1;
        wait = policy.retryDelayMs(attempt, e.transient);
        if (wait === undefined) throw e;
        o.onRetry?.({ error: e, attempt, delayMs: wait });
      }
      await sleep(wait, signal);
    }
  } finally {
    policy.free?.();
  }
  return state;
}

/** The sink options of `o` (save or sink), calling `o.onMessage` after each message is saved. */
function messageHooks(o) {
  if (o.save) {
    return {
      save: async (message) => {
        await o.save(message);
        o.onMessage?.(message);
      },
    };
  }
  let uid = null;
  return {
    sink: {
      begin: (message) => { uid = message.uid; return o.sink.begin(message); },
      write: (chunk) => o.sink.write(chunk),
      commit: async () => {
        await o.sink.commit();
        o.onMessage?.({ uid });
      },
      abort: o.sink.abort ? () => o.sink.abort() : undefined,
      flush: o.sink.flush ? () => o.sink.flush() : undefined,
    },
  };
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
