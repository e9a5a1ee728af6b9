#!/usr/bin/env bash
# Builds the npm package in pkg/ from source: the wasm module (release profile), its
# wasm-bindgen glue, and wasm-opt -Oz with binaryen from npm (Debian's binaryen 108 produces
# modules that fail to load). The result is load-checked in Node before it is accepted.
#
#   scripts/build-pkg.sh                            the three modules the package ships:
#                                                   pkg/wasm (the client without TLS: Node and
#                                                   edge runtimes whose host does TLS),
#                                                   pkg/wasm-tls (the client with TLS + roots:
#                                                   browsers) and pkg/wasm-mime (the MIME
#                                                   parser alone); none holds both halves
#   scripts/build-pkg.sh --features LIST --out DIR  one build with the given cargo features
#                                                   (of js/Cargo.toml: client, tls, mime, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  "$0" --features client --out pkg/wasm
  "$0" --features tls --out pkg/wasm-tls
  exec "$0" --features mime --out pkg/wasm-mime
fi
features=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --features) features=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--features LIST --out DIR]" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "$0: --out DIR is required with --features" >&2; exit 2; }

[ -x pkg/node_modules/.bin/wasm-opt ] || (cd pkg && npm ci --no-audit --no-fund --loglevel=error)

# The binding crate (js/) has no default features: a build has only what its features name
# (the html-text fallback, for one, costs about 20 KB gzip; see js/Cargo.toml).
#
# With rust-src installed (scripts/setup.sh adds it), the standard library is rebuilt for size
# with panics that abort at once: nothing in the module prints a panic message anyway (there is
# no panic hook), and the formatting and location strings a panic would need are about 20 KB
# gzip. -Z flags need RUSTC_BOOTSTRAP on a stable toolchain; the result is the same code a
# nightly would build. Its own target directory keeps these flags from invalidating the test
# builds. POP3_WASM_PLAIN_STD=1 (or no rust-src) builds with the prebuilt std instead.
target_dir=target
build_std=()
if [ -z "${POP3_WASM_PLAIN_STD:-}" ] && [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/std" ]; then
  target_dir=target/wasm-pkg
  build_std=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
  export RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
else
  echo "build-pkg: building with the prebuilt std (rust-src is missing or POP3_WASM_PLAIN_STD is set); the module is about 20 KB gzip larger" >&2
fi
cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$target_dir" "${build_std[@]}" \
  -p pop3-wasm-js --lib ${features:+--features "$features"}
raw=$target_dir/wasm32-unknown-unknown/release/pop3_wasm_js.wasm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --weak-refs: objects handed to JavaScript (a SyncState, a Session) are freed when collected.
wasm-bindgen --target web --weak-refs --out-dir "$tmp" --out-name pop3_wasm "$raw"
pkg/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --strip-debug --strip-producers "$tmp/pop3_wasm_bg.wasm" -o "$tmp/opt.wasm"
mv "$tmp/opt.wasm" "$tmp/pop3_wasm_bg.wasm"

# Load check: the optimised module must instantiate and run.
node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  const m = await import('$tmp/pop3_wasm.js');
  m.initSync({ module: readFileSync('$tmp/pop3_wasm_bg.wasm') });
  if (typeof m.buildInfo().version !== 'string') throw new Error('module does not run');
"
mkdir -p "$out"
rm -f "$out"/pop3_wasm*
cp "$tmp"/pop3_wasm.js "$tmp"/pop3_wasm.d.ts "$tmp"/pop3_wasm_bg.wasm "$out"/
size=$(stat -c %s "$out/pop3_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/pop3_wasm_bg.wasm" | wc -c)
echo "built $out/pop3_wasm_bg.wasm: $size bytes, $gz gzip${features:+ (features: $features)}"
