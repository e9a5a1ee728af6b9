// Types of the Deno entry point: everything in index.d.ts, and connections over Deno.connect,
// Deno.connectTls and Deno.startTls.

import type { ByteStream, ConnectOptions as BaseConnectOptions, Pop3Client } from './index.js';

export * from './index.js';

export interface DenoConnectOptions extends Omit<BaseConnectOptions, 'tls'> {
  /** Connect to this host with Deno's networking (instead of url or transport). */
  host?: string;
  /** Default 110, or 995 with tls 'implicit'. */
  port?: number;
  /** 'none', 'implicit' (POP3S) or 'starttls' (STLS after the greeting). */
  tls?: 'none' | 'implicit' | 'starttls';
  /** 'host' (default: Deno's TLS, with `ca` as extra trusted certificates) or 'wasm'. */
  tlsProvider?: 'host' | 'wasm';
}

export declare function connect(options: DenoConnectOptions): Promise<Pop3Client>;

/** A Deno connection as a ByteStream. */
export declare class DenoConnStream implements ByteStream {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  startTls(): Promise<void>;
  readonly tlsInfo: { version: string; cipher: string } | null;
}

export declare function openDenoStream(options: {
  host: string;
  port?: number;
  tls?: 'none' | 'implicit' | 'starttls';
  ca?: string | string[];
  serverName?: string;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}): Promise<DenoConnStream>;
