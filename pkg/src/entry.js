// What every entry point with a client builds from its two wasm modules (the client, with or
// without TLS inside, and the MIME parser), so the entries differ only in where the modules
// come from and how connect() reaches a server.

import { makeApi, Pop3Error, watch as watchWith } from './api.js';
import { clientAndParser } from './load.js';
import { makeMime } from './mime.js';

/**
 * The API on `client`, the loader of both modules (`init`, and `ensure` before anything
 * asynchronous), parseMessage and attachmentContent on `parser`, and watch().
 */
export function makeEntry(client, parser) {
  const loader = clientAndParser(client, parser);
  const api = makeApi(client);
  /** Watches a mailbox (see the README): connectAndLogin() every intervalMs, then sync. */
  async function watch(connectAndLogin, options) {
    await loader.ensure();
    return watchWith(connectAndLogin, options);
  }
  return { api, loader, init: loader.init, watch, ...makeMime(parser) };
}

/** connect() where there is no TCP (browsers): through a WebSocket proxy (`url`) or any byte stream (`transport`). */
export function connectWithoutTcp({ api, loader }) {
  return async function connect(options) {
    if (options?.host !== undefined) {
      throw new Pop3Error('this runtime cannot open TCP connections (host needs Node, Deno or Cloudflare Workers): '
        + 'in a browser, connect through a WebSocket proxy (url)', { code: 'usage' });
    }
    await loader.ensure();
    return api.connectWith(options);
  };
}
