#!/usr/bin/env node
// The size guard of the npm package's wasm modules: each module's raw, gzip and brotli size
// (Node's zlib at its highest settings), against the committed baseline pkg/sizes.json.
//
//   node scripts/wasm-sizes.mjs            prints the sizes; exits 1 when a module grew more
//                                          than 2% over the baseline (raw, gzip or brotli)
//   node scripts/wasm-sizes.mjs --update   writes the current sizes as the new baseline
//   node scripts/wasm-sizes.mjs --json     prints the measurements as JSON
//
// Run it after scripts/build-pkg.sh. Commit an updated baseline together with the change that
// made a module bigger, and say why in the commit.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'pkg');
export const BASELINE = join(pkg, 'sizes.json');
/** How much a module may grow over the baseline before the check fails. */
export const TOLERANCE = 0.02;

/** The modules: directory in pkg/, what it is, and the gzip goal in bytes (issue 15). */
export const MODULES = [
  { dir: 'wasm', what: 'client, no TLS (Node, edge runtimes, pop3-wasm/lite)', goalGzip: 120_000 },
  { dir: 'wasm-tls', what: 'client with TLS and Mozilla\'s roots (browsers, Deno)', goalGzip: 360_000 },
  { dir: 'wasm-mime', what: 'MIME parser only (pop3-wasm/mime, parseMessage)', goalGzip: 55_000 },
];

/** raw, gzip (level 9, memLevel 9) and brotli (quality 11, window 24) sizes of `bytes`. */
export function measure(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION, memLevel: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length,
  };
}

/** The current sizes of the built modules: { [dir]: { raw, gzip, brotli } }. */
export function current() {
  const out = {};
  for (const { dir } of MODULES) {
    const file = join(pkg, dir, 'pop3_wasm_bg.wasm');
    if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/build-pkg.sh first`);
    out[dir] = measure(readFileSync(file));
  }
  return out;
}

export function baseline() {
  return JSON.parse(readFileSync(BASELINE, 'utf8')).modules;
}

/** The growths over the baseline beyond TOLERANCE: ['wasm gzip: 120000 -> 125000 (+4.2%)', ...]. */
export function compare(now, base) {
  const problems = [];
  for (const { dir } of MODULES) {
    if (!base[dir]) { problems.push(`${dir}: not in the baseline`); continue; }
    for (const k of ['raw', 'gzip', 'brotli']) {
      const growth = now[dir][k] / base[dir][k] - 1;
      // (exactly 2% is still within: no floating-point rounding decides it)
      if (now[dir][k] > base[dir][k] * (1 + TOLERANCE) + 1e-6) {
        problems.push(`${dir} ${k}: ${base[dir][k]} -> ${now[dir][k]} bytes (+${(100 * growth).toFixed(1)}%)`);
      }
    }
  }
  return problems;
}

export function table(now, base) {
  const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
  const rows = MODULES.map(({ dir, what, goalGzip }) => {
    const m = now[dir];
    const delta = base?.[dir] ? ` (${m.gzip >= base[dir].gzip ? '+' : ''}${(100 * (m.gzip / base[dir].gzip - 1)).toFixed(1)}% gzip vs baseline)` : '';
    const goal = m.gzip <= goalGzip ? `meets the ${kb(goalGzip)} gzip goal` : `MISSES the ${kb(goalGzip)} gzip goal by ${kb(m.gzip - goalGzip)}`;
    return `${dir.padEnd(9)} ${String(m.raw).padStart(7)} raw  ${String(m.gzip).padStart(7)} gzip  ${String(m.brotli).padStart(7)} brotli  ${what}; ${goal}${delta}`;
  });
  return rows.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const now = current();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(now, null, 2));
  } else if (process.argv.includes('--update')) {
    const doc = {
      comment: 'Baseline of scripts/wasm-sizes.mjs: bytes of each wasm module in pkg/ (gzip level 9, brotli quality 11). '
        + 'Update with node scripts/wasm-sizes.mjs --update, in the commit that changes the sizes.',
      modules: now,
    };
    writeFileSync(BASELINE, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(table(now));
    console.log(`wrote ${BASELINE}`);
  } else {
    const base = baseline();
    console.log(table(now, base));
    const problems = compare(now, base);
    if (problems.length) {
      console.error(`wasm modules grew more than ${100 * TOLERANCE}% over pkg/sizes.json:\n  ${problems.join('\n  ')}\n`
        + 'If that is intended, run node scripts/wasm-sizes.mjs --update and commit the new baseline with the change.');
      process.exit(1);
    }
    console.log(`within ${100 * TOLERANCE}% of the baseline (pkg/sizes.json)`);
  }
}
