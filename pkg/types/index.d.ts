// Types of the pop3-wasm package (every runtime entry point shares them).

declare global {
  // `await using` (explicit resource management) without requiring lib "esnext.disposable":
  // the same declaration the lib and @types/node make, so they merge.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** Stable error codes; branch on these, not on messages. */
export type ErrorCode =
  | 'server' // the server answered -ERR; see responseCode and serverText
  | 'auth' // wrong credentials, or no acceptable mechanism
  | 'protocol' // the server broke the protocol
  | 'limit' // a line or message exceeded a configured limit
  | 'timeout' // the server (or the call) took too long
  | 'closed' // the connection closed, possibly in the middle of a reply
  | 'transport' // the connection or proxy failed
  | 'tls' // TLS failed: certificate, handshake, STARTTLS injection
  | 'usage' // a bad argument, or a call in the wrong state (raised before anything is sent)
  | 'aborted'; // the call's AbortSignal fired

/**
 * Every error the package throws or rejects with (except an error thrown by your own callback,
 * such as onProgress or onMessage, which is passed on as it is). Never contains a password or
 * token.
 */
export declare class Pop3Error extends Error {
  constructor(message: string, init?: {
    code?: ErrorCode; responseCode?: string | null; serverText?: string | null; transient?: boolean;
    deletionsUncertain?: boolean; loginDelay?: number | null; detail?: ErrorDetail | null; command?: string | null;
    cause?: unknown;
  });
  readonly code: ErrorCode;
  /** The server's response code: 'IN-USE', 'LOGIN-DELAY', 'SYS/TEMP', 'SYS/PERM', 'AUTH', 'UTF8', or another. */
  readonly responseCode: string | null;
  /**
   * The text of the server's -ERR line. Any credential the session sent (the password, the
   * token, their base64 and SASL forms) is replaced by `***`: servers that echo input exist.
   */
  readonly serverText: string | null;
  /** Whether trying again later may succeed (network trouble, timeouts, [SYS/TEMP], [IN-USE]). */
  readonly transient: boolean;
  /**
   * QUIT was sent with messages marked for deletion and its reply never came (the connection
   * closed or timed out): they may or may not have been deleted. A QUIT answered -ERR is not
   * this (code 'server': nothing was deleted). `client.sync()` sorts it out on its next run.
   */
  readonly deletionsUncertain: boolean;
  /**
   * The largest LOGIN-DELAY (seconds) the server announced in the session that failed, before
   * or after login, or null: a retry must not log in sooner.
   */
  readonly loginDelay: number | null;
  /** A machine-readable account of the error, for the conditions ErrorDetail lists; else null. */
  readonly detail: ErrorDetail | null;
  /**
   * The POP3 command whose reply failed or never came ('RETR', 'AUTH', 'QUIT', ...), or null
   * when the error is not about one (a refused connection, a bad argument).
   */
  readonly command: string | null;
}

/**
 * The machine-readable detail of a Pop3Error, told apart by `type`. More types are coming
 * (certificate and proxy failures): ignore a `type` you do not know. Each type is documented in
 * the README's API reference (ErrorDetail), which a test keeps complete.
 */
export type ErrorDetail =
  | {
    /** See Pop3Error.deletionsUncertain. */
    type: 'deletionsUncertain';
    /** How many messages were marked for deletion. */
    marked: number;
  }
  | {
    /**
     * list() or uidl() refused a listing with lines that cannot be read, or with entries for
     * messages above the count stat() reported (code 'protocol'; the session stays usable).
     * What could be read is here, for a caller that chooses to be lenient.
     */
    type: 'listing';
    entries: Array<ListEntry | UidEntry>;
    /** The lines that could not be read, as sent (credentials redacted). */
    malformed: string[];
    /** Message numbers above the count STAT reported in the same session. */
    beyondCount: number[];
  }
  | {
    /** The server's certificate was refused (code 'tls'). */
    type: 'certificate';
    /** What is wrong with it. */
    problem: 'unknownIssuer' | 'expired' | 'notYetValid' | 'nameMismatch' | 'revoked' | 'pinMismatch' | 'other';
    /** The server name it was checked against. */
    serverName: string;
    /** For 'nameMismatch': the names (DNS names, IP addresses) the certificate is valid for. */
    names: string[];
  }
  | {
    /** The WebSocket proxy refused the connection or closed it (code 'transport' or 'closed'). */
    type: 'proxy';
    /**
     * The HTTP status of a refused handshake. Always null in this package: browsers (and the
     * WebSocket API elsewhere) never show it; an Origin check's 403 looks like an unreachable
     * proxy. The `pop3` CLI probes with a plain HTTP request to tell them apart.
     */
    httpStatus: number | null;
    /** The close code: 1011 when websockify cannot reach the mail server, 1006 when the connection ended abruptly; null when it never opened. */
    closeCode: number | null;
  }
  | {
    /**
     * The login would send the password or token itself without TLS, and allowCleartext was
     * not set (code 'usage'; nothing was sent).
     */
    type: 'cleartextRefused';
  }
  | {
    /**
     * The login method asked for is not available: APOP without a greeting timestamp, a SASL
     * mechanism the server's CAPA does not list and that it refused, or one this client does
     * not implement (code 'auth' or 'usage').
     */
    type: 'mechanismUnavailable';
    /** The method: 'APOP', 'SCRAM-SHA-256', ... */
    mechanism: string;
    /** The SASL mechanisms the server offered (upper case), when it listed them. */
    offered: string[];
  };

/** Converts anything thrown into a Pop3Error. */
export declare function toPop3Error(error: unknown): Pop3Error;

/**
 * A bidirectional byte stream to a POP3 server. Implement it to run the client over any
 * connection (the Node, Deno and Cloudflare adapters are such objects).
 */
export interface ByteStream {
  /** The next bytes received, or null at the end of the stream. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void> | void;
  /** Upgrades the connection to TLS in place, after the server accepted STLS. */
  startTls?(): Promise<void>;
  /** The TLS session, when the connection is encrypted. */
  readonly tlsInfo?: { version: string; cipher: string } | null;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call. The session stays usable: a reply still on its way is skipped. */
  signal?: AbortSignal;
  /** Cancels the call after this many milliseconds (rejects with code 'timeout'; 0: no limit). */
  timeoutMs?: number;
}

export interface ConnectOptions extends CallOptions {
  /**
   * Connect over TCP to this host (instead of url or transport): Node, Deno and Cloudflare
   * Workers. A browser has no TCP: there connect() rejects it (code 'usage'); use `url`.
   */
  host?: string;
  /** With `host`: the port (default 110, or 995 with tls 'implicit'). */
  port?: number;
  /** A WebSocket URL of a websockify-style proxy that relays to the POP3 server. */
  url?: string;
  /** WebSocket subprotocols to offer: none by default; websockify also accepts ['binary']. */
  protocols?: string[];
  /** Any byte stream to the server (instead of url). */
  transport?: ByteStream;
  /**
   * 'implicit': TLS from the first byte (POP3S); 'starttls': STLS right after the greeting.
   * Through a WebSocket proxy, TLS runs inside the wasm module (end to end: the proxy relays
   * only ciphertext); over a `transport`, by the transport's own startTls() unless
   * `tlsProvider` is 'wasm'. Never falls back to plain text.
   */
  tls?: 'none' | 'implicit' | 'starttls';
  /** Who does TLS: 'wasm' (default for url) or 'host' (default for transport and host). */
  tlsProvider?: 'wasm' | 'host';
  /** With wasm TLS: the name the mail server's certificate must carry (required). */
  serverName?: string;
  /** With wasm TLS: private CA certificates (PEM) trusted besides Mozilla's roots. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** With wasm TLS: trust only `ca`, not Mozilla's roots. */
  caOnly?: boolean;
  /**
   * With wasm TLS: accept exactly the server certificate with this SHA-256 fingerprint
   * ('sha256/BASE64', base64, or hex), instead of validating a chain and name.
   */
  pin?: string;
  /** Longest silence while a reply is expected, in ms (default 60000; 0: no limit): an idle timeout. */
  replyTimeoutMs?: number;
  /**
   * Longest time one reply may take from the moment the client waits for it to its last byte,
   * however steadily the server keeps sending, in ms (default 600000; 0: no limit). A server
   * that sends a byte now and then keeps an idle timeout alive forever; this ends it. For a
   * streamed message it includes the time your code takes between chunks.
   */
  commandTimeoutMs?: number;
  /** Longest wait for the connection to open, in ms (default 30000). */
  connectTimeoutMs?: number;
  /** Longest status or list line accepted (default 8192). */
  maxLineBytes?: number;
  /**
   * Largest message accepted (default 256 MiB). A larger one fails with code 'limit' as soon
   * as it passes the limit, and the session ends (the rest of the reply is never read).
   * `sync()` leaves messages whose LIST size is over it on the server, with a warning.
   */
  maxMessageBytes?: number;
  /** Pipeline commands when the server offers PIPELINING (default true). */
  pipelining?: boolean;
  /** Most commands in flight when pipelining (default 64). */
  window?: number;
}

/**
 * Where a wasm module is, for init(): a compiled `WebAssembly.Module`, the address of its
 * .wasm file, or the file's bytes.
 */
export type WasmSource =
  | { module: WebAssembly.Module; url?: never; bytes?: never }
  | { url: string | URL; module?: never; bytes?: never }
  | { bytes: ArrayBuffer | ArrayBufferView; module?: never; url?: never };

/**
 * init() options: where the client module is (default: where your bundler put it, or next to
 * the package's files), and the parser module: `true` (default: load it too), `false` (not
 * now: parseMessage throws until a later init()), or its own WasmSource.
 */
export type InitOptions = (WasmSource | { module?: never; url?: never; bytes?: never }) & {
  parser?: boolean | WasmSource;
};

/**
 * Loads the wasm modules, once (later calls return the same promise, or resolve at once).
 * Nothing loads when the package is imported. connect() and watch() call init() themselves;
 * the synchronous functions (parseMessage, attachmentContent, buildInfo, newSyncState,
 * checkSyncState) need it first in a browser. In Node, Deno and Workers every module also
 * loads itself on first use, so init() is optional there.
 */
export declare function init(options?: InitOptions): Promise<void>;

export interface Greeting {
  text: string;
  /**
   * The server's response code in the greeting (RFC 2449), such as 'SYS/TEMP', or null; named
   * as on Pop3Error (where `code` is the class of error).
   */
  responseCode: string | null;
  /** The <...> timestamp that makes APOP possible, if the server sent one. */
  apopTimestamp: string | null;
}

/** What the server announced in CAPA (RFC 2449, RFC 6856). */
export interface Capabilities {
  top: boolean;
  user: boolean;
  /** SASL mechanisms, upper case. */
  sasl: string[];
  respCodes: boolean;
  authRespCode: boolean;
  loginDelay: { seconds: number; perUser: boolean } | null;
  pipelining: boolean;
  /** Retention of retrieved mail: days (0: end of session), or never. */
  expire: { days: number | null; never: boolean; perUser: boolean } | null;
  uidl: boolean;
  implementation: string | null;
  stls: boolean;
  utf8: boolean;
  utf8User: boolean;
  lang: boolean;
  other: string[];
}

export interface TlsInfo {
  version: string;
  cipher: string;
  /** 'host': the runtime's TLS (Node, Deno, Workers); 'wasm': TLS inside this library. */
  terminatedBy: 'host' | 'wasm';
}

export type SessionState = 'greeting' | 'authorization' | 'transaction' | 'update' | 'closed';

export interface Stats {
  roundTrips: number;
  commands: number;
  bytesIn: number;
  bytesOut: number;
}

export interface LoginOptions extends CallOptions {
  /**
   * 'auto' (default: the strongest offered: SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, APOP,
   * PLAIN, LOGIN, USER), or 'user', 'apop', 'plain', 'login', 'cram-md5', 'scram-sha-1',
   * 'scram-sha-256'; for tokens 'oauthbearer' or 'xoauth2'.
   */
  mechanism?: string;
  /** Allow sending the password (or token) itself over a connection without TLS (default false). */
  allowCleartext?: boolean;
}

export interface ListEntry {
  msg: number;
  /** The size the server reports, in octets. A hint: some servers get it wrong. */
  size: number;
}

export interface UidEntry {
  msg: number;
  /** A unique id, stable across sessions. */
  uid: string;
}

export interface Progress {
  /** Octets received so far. */
  received: number;
  /** The expected size, from LIST or the server's "+OK n octets" (a hint), if known. */
  expected: number | undefined;
}

export interface RetrieveOptions extends CallOptions {
  onProgress?: (progress: Progress) => void;
}

export interface StreamOptions extends CallOptions {
  /** Stream `TOP msg lines` instead of the whole message. */
  lines?: number;
}

export interface RetrieveManyOptions extends CallOptions {
  /**
   * Called for each message, in order, as it arrives. When it returns a promise, the next
   * message is handed over once it settles.
   */
  onMessage: (msg: number, bytes: Uint8Array) => unknown;
  /** Called for a message that failed; without it the call rejects after the others. */
  onError?: (msg: number, error: Pop3Error) => void;
  /** Fetch `TOP msg lines` instead of whole messages. */
  lines?: number;
}

/** What `for await (const m of client.retrieveMany(msgs))` yields. */
export interface RetrievedMessage {
  msg: number;
  /** The message, or null when the server refused it (see `error`). */
  bytes: Uint8Array | null;
  /** The server's refusal of this one message (the others continue), or null. */
  error: Pop3Error | null;
}

/** A language the server offers for its texts (RFC 6856). */
export interface Language {
  /** The tag, such as 'en' or 'fr-CA'. */
  tag: string;
  /** The server's description of it (may be empty). */
  description: string;
}

/** A connected POP3 session. Calls may overlap: they queue and run in order. */
export declare class Pop3Client {
  private constructor();
  readonly greeting: Greeting;
  readonly capabilities: Capabilities | null;
  readonly tlsInfo: TlsInfo | null;
  readonly state: SessionState;
  /** Counters as of the end of the last call (also after quit() or sync()). */
  readonly stats: Stats;
  /** The largest LOGIN-DELAY (seconds) the server announced, before or after login, or null. */
  readonly loginDelay: number | null;
  capa(options?: CallOptions): Promise<Capabilities | null>;
  startTls(options?: CallOptions): Promise<void>;
  /** UTF8 (RFC 6856): switches the session to UTF-8, before login; the server must offer it (capabilities.utf8). */
  utf8(options?: CallOptions): Promise<void>;
  /** LANG (RFC 6856): the languages the server offers for its texts (capabilities.lang). */
  languages(options?: CallOptions): Promise<Language[]>;
  /** LANG tag (RFC 6856): the server's texts in that language from now on; resolves to its +OK text. */
  setLanguage(tag: string, options?: CallOptions): Promise<string>;
  /** Logs in; resolves to the mechanism used ('SCRAM-SHA-256', 'CRAM-MD5', 'APOP', 'PLAIN', 'USER', ...). */
  login(user: string, password: string, options?: LoginOptions): Promise<string>;
  /**
   * Logs in with an OAuth 2.0 access token obtained by the application (OAUTHBEARER, or
   * XOAUTH2 for Gmail and Microsoft 365). `mechanism`: 'auto', 'oauthbearer' or 'xoauth2'.
   */
  loginWithToken(user: string, accessToken: string, options?: LoginOptions): Promise<string>;
  stat(options?: CallOptions): Promise<{ count: number; size: number }>;
  list(options?: CallOptions): Promise<ListEntry[]>;
  listOne(msg: number, options?: CallOptions): Promise<ListEntry>;
  uidl(options?: CallOptions): Promise<UidEntry[]>;
  uidlOne(msg: number, options?: CallOptions): Promise<UidEntry>;
  top(msg: number, lines: number, options?: RetrieveOptions): Promise<Uint8Array>;
  retrieve(msg: number, options?: RetrieveOptions): Promise<Uint8Array>;
  retrieveStream(msg: number, options?: StreamOptions): ReadableStream<Uint8Array>;
  /** Several messages, pipelined, each handed to `onMessage` in order. */
  retrieveMany(msgs: number[], options: RetrieveManyOptions): Promise<void>;
  /**
   * Several messages, pipelined, as an async iterator: `for await (const { msg, bytes } of
   * client.retrieveMany(msgs))`. One message at a time is held; breaking out of the loop
   * abandons the rest, and the session stays usable.
   */
  retrieveMany(msgs: number[], options?: Omit<RetrieveManyOptions, 'onMessage' | 'onError'>): AsyncIterableIterator<RetrievedMessage>;
  /** Marks a message for deletion; it is deleted when the session ends with quit(). */
  delete(msg: number, options?: CallOptions): Promise<void>;
  /** Marks several messages, pipelined: per message null, or the server's refusal. */
  deleteMany(msgs: number[], options?: CallOptions): Promise<Array<Pop3Error | null>>;
  /** Unmarks every message marked for deletion in this session. */
  reset(options?: CallOptions): Promise<void>;
  noop(options?: CallOptions): Promise<void>;
  /**
   * Synchronises the mailbox into your storage and ends the session with QUIT: downloads
   * exactly the messages `state` does not record, waits for `save` and `saveState`, then
   * applies the retention. Nothing is lost or saved twice if it is interrupted at any point.
   */
  sync(options: SyncOptions): Promise<SyncReport>;
  /** Ends the session: the server deletes what was marked, and the connection closes. */
  quit(options?: CallOptions): Promise<void>;
  /** Closes the connection without QUIT: nothing marked for deletion is deleted. */
  close(): Promise<void>;
  /** `await using client = await connect(...)`: closes (without QUIT) when the scope ends. */
  [Symbol.asyncDispose](): Promise<void>;
}

export declare function connect(options: ConnectOptions): Promise<Pop3Client>;

export interface Address {
  name: string | null;
  address: string | null;
  /** The group the address was listed in ("undisclosed-recipients: ;"), if any. */
  group: string | null;
}

export interface AttachmentInfo {
  /** Pass to attachmentContent() to get the bytes. */
  index: number;
  filename: string | null;
  /** type/subtype, lower case. */
  contentType: string;
  /** Decoded size in octets. */
  size: number;
  /** The Content-ID without angle brackets, for resolving cid: URLs. */
  contentId: string | null;
  /** An inline part (such as an image the HTML refers to by cid:). */
  inline: boolean;
  disposition: string | null;
}

/** A parsed message: plain data, safe to pass between a Web Worker and a page. */
export interface ParsedMessage {
  subject: string | null;
  from: Address[];
  sender: Address[];
  replyTo: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** RFC 3339, when the Date header could be read (two- and three-digit years by RFC 5322 §4.3). */
  date: string | null;
  /** The Date header as sent (unfolded), whenever there is one, read or not. */
  dateRaw: string | null;
  /** The Message-ID without angle brackets. */
  messageId: string | null;
  /** The first id of In-Reply-To, without angle brackets. */
  inReplyTo: string | null;
  /** The ids of References, without angle brackets. */
  references: string[];
  /**
   * The plain-text body, decoded from its charset. Null for an HTML-only message in the npm
   * build (derive text from `html` with the DOM if needed; see buildInfo().htmlText).
   */
  text: string | null;
  /** True when `text` was derived from the HTML body (builds with the html-text feature). */
  textFromHtml: boolean;
  /** The HTML body, or null when the message has none. Untrusted: sanitise before display. */
  html: string | null;
  attachments: AttachmentInfo[];
  /** Every header, with decoded values, in order. */
  headers: { name: string; value: string }[];
  /** Size of the raw message in octets. */
  size: number;
}

/**
 * Parses message bytes (as retrieved). The parser is a wasm module of its own, loaded on
 * first use: in Node, Deno and Workers by this call; in a browser by init() (or connect(),
 * which calls it), so call it after one of those.
 */
export declare function parseMessage(raw: Uint8Array | ArrayBuffer): ParsedMessage;
/** The decoded bytes of attachment `index` of a parsed message, or null. */
export declare function attachmentContent(raw: Uint8Array | ArrayBuffer, index: number): Uint8Array | null;

/**
 * What this build of the wasm module contains. `fullEncoding`: the legacy CJK charsets are
 * compiled in; `hostCharsets`: they are decoded by the host's `TextDecoder` instead (the npm builds).
 */
export declare function buildInfo(): {
  version: string;
  /** The client (connect, sync state) is there. */
  client: boolean;
  /** parseMessage and attachmentContent are there (from the parser module). */
  mime: boolean;
  fullEncoding: boolean;
  hostCharsets: boolean;
  htmlText: boolean;
  tls: boolean;
};

/**
 * The record of a mailbox's saved messages, held by the library (in the wasm module). Persist
 * it as JSON: `String(state)` (or `JSON.stringify(state)`); read it back with
 * checkSyncState(text) or loadSyncState(). Reading is strict: a state that is not exactly
 * this format is a Pop3Error, never an empty state. Made by newSyncState(), checkSyncState()
 * and loadSyncState(): there is no SyncState constructor to import.
 */
export interface SyncState {
  readonly format: 'pop3-wasm-sync';
  readonly version: 1;
  /** The mailbox it belongs to, such as 'alice@mail.example.org'. */
  readonly account: string;
  /** How many messages are recorded. */
  readonly size: number;
  /** Saved messages by unique id: when (seconds since the epoch) and how big (built on request). */
  readonly messages: Record<string, { savedAt: number; size: number }>;
  /** Whether `uid` is recorded. */
  has(uid: string): boolean;
  /** The state as a plain object (what JSON.stringify writes). */
  toJSON(): { format: 'pop3-wasm-sync'; version: 1; account: string; messages: Record<string, { savedAt: number; size: number }> };
  /** The state's JSON text. */
  toString(): string;
  /** Frees its memory now rather than when collected. */
  free(): void;
}

/** A state as you stored it: a SyncState, its JSON text, or the object JSON.parse made of it. */
export type StoredSyncState = SyncState | string | ReturnType<SyncState['toJSON']>;

/**
 * A sink that receives each message as a stream: `begin`, `write`…, `commit` (or `abort`).
 * Every method may return a promise; `commit` must resolve only once the message is durable
 * (or `flush` must, when given).
 */
export interface SyncSink {
  /** A message starts. Return false when you already hold `uid` (nothing is written then). */
  begin(message: { uid: string; size: number | null }): unknown;
  /**
   * A piece of the message. The bytes are a view of a buffer the next piece reuses: valid
   * until write returns (or its promise settles); copy them to keep them.
   */
  write(chunk: Uint8Array): unknown;
  commit(): unknown;
  /** The message being written failed: remove what was written. */
  abort?(): unknown;
  /** Make every committed message durable (when commit defers part of it); called before each record. */
  flush?(): unknown;
}

export interface SyncProgress {
  messagesDone: number;
  messagesTotal: number;
  bytesDone: number;
  /** From LIST sizes: a hint. */
  bytesTotal: number;
}

export interface SyncOptions extends CallOptions {
  /** The state from the last run, or newSyncState(account) the first time. */
  state: StoredSyncState;
  /**
   * Store a whole message; resolve only once it is durable. Saving the same uid twice must
   * not make two copies. Give either `save` or `sink`.
   */
  save?(message: { uid: string; bytes: Uint8Array }): unknown;
  /** Store each message as a stream (no message is held whole). Give either `save` or `sink`. */
  sink?: SyncSink;
  /**
   * Persist a batch of records, a delta (`journal`: the text to append to a journal that
   * loadSyncState reads back); resolve only once durable. Without it, saveState is called
   * after each batch, which costs the whole state each time.
   */
  record?(batch: { entries: Array<{ uid: string; savedAt: number; size: number }>; journal: string }): unknown;
  /** Persist the whole state (once at the end of a run; and per batch without `record`); resolve only once durable. */
  saveState(state: SyncState): unknown;
  /** 'keep' (default), 'delete' (each message once saved), or delete what was saved that many days ago. */
  retention?: 'keep' | 'delete' | { olderThanDays: number };
  /** Download at most this many new messages this run. */
  maxMessages?: number;
  /**
   * Record after at most this many messages (default 64; also whenever the next reply has
   * not arrived yet, and at the end). After a crash, what was saved but not recorded is
   * handed over again: use 1 when a second delivery costs (a webhook), more when the sink is
   * idempotent (a Maildir).
   */
  recordEvery?: number;
  /** The current time in ms (default Date.now()). */
  now?: number;
  onProgress?(progress: SyncProgress): void;
}

export interface SyncReport {
  onServer: number;
  saved: number;
  bytes: number;
  alreadySaved: number;
  /** Messages deleted from the server (marked, and QUIT succeeded). */
  deleted: number;
  savedUids: string[];
  /** Ids made from header digests (no UIDL), the server's expiry policy, messages skipped. */
  warnings: string[];
  /** New messages not downloaded this run (maxMessages, over maxMessageBytes, or refused): the next run tries them. */
  remaining: number;
  /** The largest LOGIN-DELAY (seconds) the server announced in the session, or null. */
  loginDelay: number | null;
  /** The new state (also passed to saveState). */
  state: SyncState;
}

/** A new, empty sync state. */
export declare function newSyncState(account: string): SyncState;
/**
 * Reads a stored state (JSON text, or the object JSON.parse made) strictly: corrupt, foreign,
 * unknown-field or newer-version states are a Pop3Error.
 */
export declare function checkSyncState(state: StoredSyncState, account?: string): SyncState;
/** A state file's text and its journal's (either may be null), for `account`: the current state. */
export declare function loadSyncState(state: string | null, journal: string | null, account: string): SyncState;

export interface WatchOptions extends Omit<SyncOptions, 'signal' | 'timeoutMs'> {
  /** Time between runs in ms (default 60000), raised to the server's LOGIN-DELAY. */
  intervalMs?: number;
  /** Back-off for transient failures (defaults: max 5, baseMs 2000, maxMs 300000). */
  retries?: { max?: number; baseMs?: number; maxMs?: number };
  /** Called for each new message, after it was saved (`bytes` only with `save`). */
  onMessage?(message: { uid: string; bytes?: Uint8Array }): void;
  onSync?(report: SyncReport): void;
  onRetry?(retry: { error: Pop3Error; attempt: number; delayMs: number }): void;
  /** Abort to stop watching; the watch then resolves with the latest state. */
  signal?: AbortSignal;
}

/**
 * Watches a mailbox (POP3 has no push): connects every interval with `connectAndLogin`,
 * syncs, retries transient failures with back-off, and rejects on a permanent one.
 */
export declare function watch(connectAndLogin: () => Promise<Pop3Client>, options: WatchOptions): Promise<SyncState>;
