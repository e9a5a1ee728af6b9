// Loading the wasm modules, lazily: nothing is fetched or compiled when the package is
// imported (no top-level await, so every bundler takes it), only on first use.
//
// Each entry point names where its modules are with new URL(<the .wasm file's relative path
// as a literal>, import.meta.url), the pattern Vite, webpack 5, Parcel and Rollup's
// import-meta-assets plugin recognise: they emit the .wasm file and rewrite the URL. Where
// nothing rewrites it (esbuild, plain Rollup), init({ url | module | bytes }) says where it is.

import { Pop3Error } from './api.js';

function usage(message) {
  return new Pop3Error(message, { code: 'usage' });
}

const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v)
  || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer);

/**
 * Checks an init() source: exactly one of `module` (a compiled WebAssembly.Module), `url` (a
 * string or URL) or `bytes` (the .wasm file's bytes); undefined means the default place.
 */
export function checkSource(source, what) {
  if (source === undefined || source === null) return undefined;
  if (typeof source !== 'object') throw usage(`the source of ${what} must be { module }, { url } or { bytes }`);
  const given = ['module', 'url', 'bytes'].filter((k) => source[k] !== undefined);
  if (given.length !== 1) {
    throw usage(`the source of ${what} needs exactly one of module, url or bytes (got ${given.length ? given.join(', ') : 'none'})`);
  }
  if (source.module !== undefined && !(source.module instanceof WebAssembly.Module)) {
    throw usage(`module must be a WebAssembly.Module (for the file's bytes use { bytes }, for its address { url })`);
  }
  if (source.url !== undefined && typeof source.url !== 'string' && !(source.url instanceof URL)) {
    throw usage('url must be a string or a URL');
  }
  if (source.bytes !== undefined && !isBytes(source.bytes)) throw usage('bytes must be an ArrayBuffer or a typed array');
  return source;
}

/** Fetches a .wasm file, with an error that says what to do when it is not there. */
async function fetchWasm(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Pop3Error(`cannot load ${what} from ${url}: ${e?.message ?? e}`, { code: 'transport', cause: e });
  }
  if (!response.ok) {
    throw new Pop3Error(`cannot load ${what} from ${url}: HTTP ${response.status}. If your bundler did not `
      + 'copy the package\'s .wasm files, serve them yourself and pass init({ url }) (see the README)', { code: 'transport' });
  }
  return response;
}

/**
 * One wasm-bindgen module (`glue`: its JavaScript exports), instantiated at most once.
 *
 * - `what`: its name in messages;
 * - `defaultUrl()`: where it is unless init() says otherwise (a `new URL(...)` the bundler
 *   rewrote; it throws in a bundle without `import.meta.url`);
 * - `syncSource()` (optional): its bytes or compiled module, at hand synchronously (Node's fs,
 *   Deno, workerd's wasm import): then it loads on first use without init();
 * - `read(url)` (optional): how init({ url }) gets the file (default: fetch).
 */
export function wasmModule(glue, { what, defaultUrl, syncSource, read }) {
  let instantiated = false;
  let pending = null;

  /** The glue, instantiated: synchronously from `syncSource`, or after init() resolved. */
  function get() {
    if (instantiated) return glue;
    if (pending) throw usage(`${what} is still loading: await init() before calling this`);
    if (!syncSource) {
      throw usage(`${what} is not loaded yet: call \`await init()\` first (connect() and watch() do it themselves)`);
    }
    glue.initSync({ module: syncSource() });
    instantiated = true;
    return glue;
  }

  /** Loads the module from `source` (checked by checkSource) or its default place; at most once. */
  function init(source) {
    if (instantiated) return Promise.resolve(glue);
    if (pending) return pending;
    if (source === undefined && syncSource) {
      try {
        return Promise.resolve(get());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    pending = (async () => {
      let input;
      if (source?.module !== undefined) input = source.module;
      else if (source?.bytes !== undefined) input = source.bytes;
      else {
        let url = source?.url;
        if (url === undefined) {
          try {
            url = defaultUrl();
          } catch {
            throw usage(`cannot tell where ${what} is (this bundle has no import.meta.url): `
              + 'serve the .wasm file and call init({ url }), or pass init({ module }) or init({ bytes })');
          }
        }
        input = await (read ?? fetchWasm)(url, what);
      }
      await glue.default({ module_or_path: input });
      instantiated = true;
      return glue;
    })();
    // A failed load can be tried again (with another source, say).
    pending.then(() => { pending = null; }, () => { pending = null; });
    return pending;
  }

  return {
    get,
    init,
    /** Whether the module can be used synchronously now. */
    get ready() { return instantiated; },
    /** Whether it loads itself on first use (it has a synchronous source). */
    loadsItself: Boolean(syncSource),
  };
}

/**
 * init() of an entry point with a client module and the parser module. `options`: the
 * client's source ({ module } | { url } | { bytes }, or nothing for the default place) and
 * `parser`: true (default: load it too, in parallel), false (not now), or its source.
 * connect() and watch() call it with the options of the first init() call, if any.
 */
export function clientAndParser(client, parser) {
  let first = null;
  async function load(options) {
    if (options === null || typeof options !== 'object') throw usage('init() options must be an object');
    const { parser: parserSource = true, ...clientSource } = options;
    const source = checkSource(Object.keys(clientSource).length ? clientSource : undefined, 'the client module');
    if (parserSource !== true && parserSource !== false) checkSource(parserSource, 'the parser module');
    await Promise.all([
      client.init(source),
      parserSource === false ? null : parser.init(parserSource === true ? undefined : parserSource),
    ]);
  }
  function init(options = {}) {
    first ??= options;
    return load(options);
  }
  /**
   * Before anything asynchronous: the client module, and the parser too unless it loads by
   * itself on first use (syncSource) or the first init() said parser: false.
   */
  function ensure() {
    const parserToo = !parser.loadsItself && first?.parser !== false;
    if (client.ready && (!parserToo || parser.ready)) return Promise.resolve();
    return load({ ...(first ?? {}), parser: parserToo ? (first?.parser ?? true) : false });
  }
  return { init, ensure };
}
