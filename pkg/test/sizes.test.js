// The size guard's rule (scripts/wasm-sizes.mjs; scripts/test.sh runs it on the built modules):
// more than 2% over the baseline in raw, gzip or brotli fails, anything less passes.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compare, measure, MODULES } from '../../scripts/wasm-sizes.mjs';

const base = Object.fromEntries(MODULES.map(({ dir }) => [dir, { raw: 100_000, gzip: 50_000, brotli: 40_000 }]));
const grown = (dir, k, factor) => ({ ...base, [dir]: { ...base[dir], [k]: Math.round(base[dir][k] * factor) } });

test('growth within 2% passes, beyond it fails and names the module and measure', () => {
  assert.deepEqual(compare(base, base), []);
  assert.deepEqual(compare(grown('wasm', 'gzip', 1.02), base), []);
  assert.deepEqual(compare(grown('wasm-tls', 'raw', 0.5), base), [], 'shrinking is fine');
  const problems = compare(grown('wasm-mime', 'brotli', 1.021), base);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^wasm-mime brotli: 40000 -> 40840 bytes \(\+2\.1%\)/);
  assert.match(compare(base, { wasm: base.wasm })[0], /not in the baseline/);
});

test('measure() gives raw, gzip and brotli sizes, compressed ones smaller for compressible bytes', () => {
  const m = measure(new Uint8Array(10_000).fill(7));
  assert.equal(m.raw, 10_000);
  assert.ok(m.gzip < 200 && m.brotli < 200, JSON.stringify(m));
});
