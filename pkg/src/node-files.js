// How the Node entry points get the package's .wasm files.

import { readFileSync } from 'node:fs';

import { Pop3Error } from './api.js';

/** A module's file, read synchronously: `dir` is wasm, wasm-tls or wasm-mime. */
export function wasmFile(dir) {
  return () => readFileSync(new URL(`../${dir}/pop3_wasm_bg.wasm`, import.meta.url));
}

/** init({ url }) in Node: a file (a path or a file: URL) is read; anything else is fetched. */
export async function read(url) {
  const text = String(url);
  const isUrl = url instanceof URL || /^[a-z][a-z0-9+.-]+:/i.test(text);
  if (!isUrl) return readFileSync(text);
  const u = new URL(text);
  if (u.protocol === 'file:') return readFileSync(u);
  const response = await fetch(u);
  if (!response.ok) throw new Pop3Error(`cannot load ${text}: HTTP ${response.status}`, { code: 'transport' });
  return response;
}
