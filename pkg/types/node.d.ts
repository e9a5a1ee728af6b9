// Types of the Node entry point: everything in index.d.ts, and TCP/TLS connections.

import type { ByteStream, ConnectOptions as BaseConnectOptions, Pop3Client } from './index.js';

export * from './index.js';

export interface NodeConnectOptions extends Omit<BaseConnectOptions, 'tls'> {
  /** Connect over TCP to this host (instead of url or transport). */
  host?: string;
  /** Default 110, or 995 with tls 'implicit'. */
  port?: number;
  /** 'none', 'implicit' (POP3S) or 'starttls' (STLS after the greeting). */
  tls?: 'none' | 'implicit' | 'starttls';
  /** 'host' (default: Node's TLS) or 'wasm' (TLS inside the client, over a plain socket). */
  tlsProvider?: 'host' | 'wasm';
  /** Extra CA certificates (PEM) trusted on top of Node's roots. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /**
   * The name the certificate must match, with Node's TLS as with wasm TLS (default: host,
   * unless it is an IP address, which is then checked against the certificate's addresses).
   */
  serverName?: string;
  /**
   * @deprecated Use `serverName`, the option's one spelling. `servername` (Node's own
   * spelling) is still accepted, until the next release; `serverName` wins when both are given.
   */
  servername?: string;
}

export declare function connect(options: NodeConnectOptions): Promise<Pop3Client>;

/** A Node socket as a ByteStream (what connect() uses with `host`). */
export declare class NodeSocketStream implements ByteStream {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  startTls(): Promise<void>;
  readonly tlsInfo: { version: string; cipher: string } | null;
}

export declare function openNodeStream(options: {
  host: string;
  port?: number;
  tls?: 'none' | 'implicit' | 'starttls';
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** The name the certificate must match (default: host, unless it is an IP address). */
  serverName?: string;
  /** @deprecated Use `serverName`; accepted until the next release. */
  servername?: string;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}): Promise<NodeSocketStream>;
