// Lazy loading of the wasm modules: the browser entry (src/index.js) and pop3-wasm/mime's
// browser entry (src/parser.js), imported here in Node. Importing loads nothing; synchronous
// functions say to call init() first; init({ module | bytes | url, parser }) loads, once.
// (Their default place, new URL(...) next to the package, is what the bundler tests cover.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const file = (dir) => readFileSync(new URL(`../${dir}/pop3_wasm_bg.wasm`, import.meta.url));
const MESSAGE = new TextEncoder().encode('Subject: lazy\r\nFrom: a@example.org\r\n\r\nbody\r\n');

test('pop3-wasm/mime (browser entry): init(source) then parseMessage; nothing else exported (first: the glue is shared with the main entry)', async () => {
  const mime = await import('../src/parser.js');
  assert.deepEqual(Object.keys(mime).sort(), ['attachmentContent', 'init', 'parseMessage']);
  assert.throws(() => mime.parseMessage(MESSAGE), (e) => e.code === 'usage' && /await init\(\)/.test(e.message));
  // A failed load can be tried again.
  await assert.rejects(mime.init({ bytes: new Uint8Array([0, 1, 2, 3]) }));
  await mime.init({ bytes: file('wasm-mime').buffer.slice(0) });
  assert.equal(mime.parseMessage(MESSAGE).from[0].address, 'a@example.org');
});

test('the browser entry: nothing loads at import; init() with explicit sources, once; parser: false', async () => {
  const pop3 = await import('../src/index.js');
  for (const call of [() => pop3.buildInfo(), () => pop3.newSyncState('a@b'), () => pop3.parseMessage(MESSAGE)]) {
    assert.throws(call, (e) => e instanceof pop3.Pop3Error && e.code === 'usage' && /await init\(\)/.test(e.message));
  }
  // A browser has no TCP.
  await assert.rejects(pop3.connect({ host: 'localhost', port: 110 }), (e) => e.code === 'usage' && /WebSocket proxy/.test(e.message));

  // Sources are checked before anything loads.
  await assert.rejects(pop3.init({ url: 'a.wasm', bytes: new Uint8Array(1) }), (e) => e.code === 'usage' && /exactly one/.test(e.message));
  await assert.rejects(pop3.init({ module: new Uint8Array(1) }), (e) => e.code === 'usage' && /WebAssembly\.Module/.test(e.message));
  await assert.rejects(pop3.init({ parser: 'yes' }), (e) => e.code === 'usage');

  // The client from a compiled module, the parser left out.
  await pop3.init({ module: new WebAssembly.Module(file('wasm-tls')), parser: false });
  assert.equal(pop3.buildInfo().tls, true);
  assert.equal(pop3.buildInfo().mime, true, 'the entry has parseMessage (on the parser module)');
  assert.equal(typeof pop3.newSyncState('a@b').toJSON().messages, 'object');
  assert.throws(() => pop3.parseMessage(MESSAGE), (e) => e.code === 'usage' && /parser module .*not loaded yet/.test(e.message));

  // A later init() loads what is missing; the client is not loaded twice.
  await Promise.all([pop3.init({ parser: { bytes: file('wasm-mime') } }), pop3.init()]);
  assert.equal(pop3.parseMessage(MESSAGE).subject, 'lazy');
  assert.equal(pop3.attachmentContent(MESSAGE, 0), null);
  await pop3.init({ bytes: new Uint8Array([1, 2, 3]) });   // already loaded: ignored, no error
});

test('the parser module has no client in it, and the client modules no parser', async () => {
  const exportsOf = (dir) => WebAssembly.Module.exports(new WebAssembly.Module(file(dir))).map((e) => e.name);
  const parser = exportsOf('wasm-mime');
  assert.ok(parser.includes('parseMessage') && parser.includes('attachmentContent'));
  assert.ok(!parser.some((n) => /session|syncstate/i.test(n)), 'no client exports in the parser module');
  for (const dir of ['wasm', 'wasm-tls']) {
    const client = exportsOf(dir);
    assert.ok(client.some((n) => /^session_/.test(n)), `${dir} has the client`);
    assert.ok(!client.includes('parseMessage') && !client.includes('attachmentContent'), `${dir} has no parser`);
  }
});

test('Node: every module loads itself on first use, init() is optional and loads the parser too', async () => {
  const node = await import('../src/node.js');
  const mime = await import('../src/parser-node.js');
  assert.equal(node.parseMessage(MESSAGE).subject, 'lazy');
  assert.equal(mime.parseMessage(MESSAGE).subject, 'lazy');
  assert.equal(node.buildInfo().tls, true);
  await node.init();
  await mime.init();
});
