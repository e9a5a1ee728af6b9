#!/usr/bin/env bash
# Builds the WebAssembly component (component/, target wasm32-wasip2) and prints its size.
# The result: component/target/pop3.wasm, a WASI 0.2 component that exports pop3:client/session
# and wasi:cli/run (see component/wit/pop3.wit).
set -euo pipefail
cd "$(dirname "$0")/../component"

nice -n 10 cargo build --quiet --release --target wasm32-wasip2
cp target/wasm32-wasip2/release/pop3.wasm target/pop3.wasm
raw=$(wc -c < target/pop3.wasm)
gz=$(gzip -9 -c target/pop3.wasm | wc -c)
printf 'component/target/pop3.wasm: %d KB raw, %d KB gzip\n' $(( (raw + 512) / 1024 )) $(( (gz + 512) / 1024 )) >&2
