// Types of the pop3-wasm package (every runtime entry point shares them).

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
    deletionsUncertain?: boolean; detail?: ErrorDetail | null; cause?: unknown;
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
  /** A machine-readable account of the error, for the conditions ErrorDetail lists; else null. */
  readonly detail: ErrorDetail | null;
}

/** The machine-readable detail of a Pop3Error, told apart by `type`. */
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
  /** Who does TLS: 'wasm' (default for url) or 'host' (default for transport). */
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

export interface Greeting {
  text: string;
  code: string | null;
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
  /** Called for each message, in order, as it arrives. */
  onMessage: (msg: number, bytes: Uint8Array) => void;
  /** Called for a message that failed; without it the call rejects after the others. */
  onError?: (msg: number, error: Pop3Error) => void;
  /** Fetch `TOP msg lines` instead of whole messages. */
  lines?: number;
}

/** A connected POP3 session. Calls may overlap: they queue and run in order. */
export declare class Pop3Client {
  private constructor();
  readonly greeting: Greeting;
  readonly capabilities: Capabilities | null;
  readonly tlsInfo: TlsInfo | null;
  readonly state: SessionState;
  readonly stats: Stats;
  capa(options?: CallOptions): Promise<Capabilities | null>;
  startTls(options?: CallOptions): Promise<void>;
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
  retrieveMany(msgs: number[], options: RetrieveManyOptions): Promise<void>;
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

/** Parses message bytes (as retrieved). */
export declare function parseMessage(raw: Uint8Array | ArrayBuffer): ParsedMessage;
/** The decoded bytes of attachment `index` of a parsed message, or null. */
export declare function attachmentContent(raw: Uint8Array | ArrayBuffer, index: number): Uint8Array | null;

/**
 * What this build of the wasm module contains. `fullEncoding`: the legacy CJK charsets are
 * compiled in; `hostCharsets`: they are decoded by the host's `TextDecoder` instead (the npm builds).
 */
export declare function buildInfo(): {
  version: string;
  fullEncoding: boolean;
  hostCharsets: boolean;
  htmlText: boolean;
  tls: boolean;
};

/** The record of a mailbox's saved messages: small, versioned JSON; persist it as it is. */
export interface SyncState {
  format: 'pop3-wasm-sync';
  version: 1;
  /** The mailbox it belongs to, such as 'alice@mail.example.org'. */
  account: string;
  /** Saved messages by unique id: when (seconds since the epoch) and how big. */
  messages: Record<string, { savedAt: number; size: number }>;
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
  state: SyncState;
  /** Store a message; resolve only once it is durable. Saving the same uid twice must not make two copies. */
  save(message: { uid: string; bytes: Uint8Array }): Promise<void> | void;
  /** Persist the state; resolve only once it is durable. */
  saveState(state: SyncState): Promise<void> | void;
  /** 'keep' (default), 'delete' (each message once saved), or delete what was saved that many days ago. */
  retention?: 'keep' | 'delete' | { olderThanDays: number };
  /** Download at most this many new messages this run. */
  maxMessages?: number;
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
  /** The new state (also passed to saveState). */
  state: SyncState;
}

/** A new, empty sync state. */
export declare function newSyncState(account: string): SyncState;
/** Checks a stored state (object or JSON): corrupt, foreign or newer-version states are a Pop3Error. */
export declare function checkSyncState(state: SyncState | string, account?: string): SyncState;

export interface WatchOptions extends Omit<SyncOptions, 'signal' | 'timeoutMs'> {
  /** Time between runs in ms (default 60000), raised to the server's LOGIN-DELAY. */
  intervalMs?: number;
  /** Back-off for transient failures (defaults: max 5, baseMs 2000, maxMs 300000). */
  retries?: { max?: number; baseMs?: number; maxMs?: number };
  /** Called for each new message, after it was saved. */
  onMessage?(message: { uid: string; bytes: Uint8Array }): void;
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
