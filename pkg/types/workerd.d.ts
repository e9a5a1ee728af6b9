// Types of the Cloudflare Workers (workerd) entry points: everything in index.d.ts, and
// connections over `connect()` from `cloudflare:sockets`.

import type { ByteStream, ConnectOptions as BaseConnectOptions, Pop3Client } from './index.js';

export * from './index.js';

export interface WorkerConnectOptions extends Omit<BaseConnectOptions, 'tls'> {
  /** Connect to this host with `cloudflare:sockets` (instead of url or transport). */
  host?: string;
  /** Default 110, or 995 with tls 'implicit'. */
  port?: number;
  /** 'none', 'implicit' (POP3S) or 'starttls' (STLS after the greeting). */
  tls?: 'none' | 'implicit' | 'starttls';
  /**
   * 'host' (default: the Workers runtime's TLS; no private CA or pin possible there) or
   * 'wasm' (TLS inside the module, with serverName, ca and pin; needs the pop3-wasm/tls entry).
   */
  tlsProvider?: 'host' | 'wasm';
}

export declare function connect(options: WorkerConnectOptions): Promise<Pop3Client>;

/** A `cloudflare:sockets` socket as a ByteStream. */
export declare class CloudflareSocketStream implements ByteStream {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  startTls(): Promise<void>;
  readonly tlsInfo: { version: string; cipher: string } | null;
}

export declare function openCloudflareStream(options: {
  host: string;
  port?: number;
  tls?: 'none' | 'implicit' | 'starttls';
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}): Promise<CloudflareSocketStream>;
