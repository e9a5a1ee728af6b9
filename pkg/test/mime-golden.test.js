// The MIME golden files (tests/golden/mime/NAME.eml → NAME.json, written by the Rust test
// tests/mime_golden.rs from the serde output) read through the built package's parseMessage:
// JavaScript gets an object built separately from serde's, and the two must agree.
// Run: cd pkg && node --test test/mime-golden.test.js (after scripts/build-pkg.sh: the parser
// module, wasm-mime/, is the one every entry point's parseMessage uses).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repo } from './helpers.js';

const build = join(repo, 'pkg/wasm-mime');
assert.ok(existsSync(join(build, 'pop3_wasm_bg.wasm')), 'no parser module in pkg/wasm-mime (run scripts/build-pkg.sh)');
// The package's own parseMessage/attachmentContent (pop3-wasm/mime in Node; every entry point
// exports the same wrappers on the same module).
const { init, parseMessage, attachmentContent } = await import('../src/parser-node.js');
await init();
// The module's own buildInfo (the same glue instance, now loaded): which features it has.
const { buildInfo } = await import(join(build, 'pop3_wasm.js'));

const dir = join(repo, 'tests/golden/mime');
const names = readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => f.slice(0, -4)).sort();

/**
 * The golden JSON as this build should give it. The golden files come from a native build with
 * the `html-text` feature; a build without it (the npm default) has no text derived from HTML.
 */
function expectedFor(golden) {
  const expected = structuredClone(golden);
  if (expected.textFromHtml && !buildInfo().htmlText) {
    expected.text = null;
    expected.textFromHtml = false;
  }
  return expected;
}

describe('MIME golden files through parseMessage', () => {
  test('there are golden files', () => {
    assert.ok(names.length >= 14, `only ${names.length} golden messages in ${dir}`);
  });

  for (const name of names) {
    test(name, () => {
      const raw = readFileSync(join(dir, `${name}.eml`));
      const golden = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      const parsed = parseMessage(raw);
      // Through JSON, as a JavaScript user would store or send it: no undefined, no extra types.
      assert.deepStrictEqual(JSON.parse(JSON.stringify(parsed)), expectedFor(golden));
      // The object itself has exactly the golden keys (an absent key and a null one differ).
      assert.deepStrictEqual(Object.keys(parsed).sort(), Object.keys(golden).sort());
      for (const list of ['from', 'sender', 'replyTo', 'to', 'cc', 'bcc']) {
        parsed[list].forEach((address, i) => {
          assert.deepStrictEqual(Object.keys(address).sort(), Object.keys(golden[list][i]).sort(), `${list}[${i}] keys`);
        });
      }
      for (const attachment of parsed.attachments) {
        const bytes = attachmentContent(raw, attachment.index);
        assert.ok(bytes instanceof Uint8Array, `attachment ${attachment.index} has content`);
        assert.equal(bytes.length, attachment.size, `attachment ${attachment.index} size`);
      }
      assert.equal(attachmentContent(raw, parsed.attachments.length), null);
    });
  }
});
