#!/usr/bin/env bash
# Runs every test. Real servers (Dovecot, websockify, Chromium) are started by the tests on
# free loopback ports and stopped when they finish.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "lint: rustfmt and clippy"
cargo fmt --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The binding crate as the package's three modules are built (client, client with TLS, parser),
# and with everything (its tests).
cargo clippy --quiet --target wasm32-unknown-unknown -p pop3-wasm-js --all-targets --features tls,mime -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown -p pop3-wasm-js --lib --features client -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown -p pop3-wasm-js --lib --features mime -- -D warnings

step "crate: the API docs build without warnings; what a dependent pulls in, per feature"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p pop3-wasm
scripts/check-deps.sh

step "native: unit tests, scripted-server tests, Dovecot integration tests"
cargo test --quiet

step "npm package: wasm build, wasm-bindgen, wasm-opt, load check"
scripts/build-pkg.sh

step "npm package: wasm module sizes against the baseline (pkg/sizes.json, at most 2% growth)"
node scripts/wasm-sizes.mjs

step "browser: wasm-bindgen tests in headless Chromium, through websockify to Dovecot"
scripts/test-browser.sh

step "node: tests of the npm package and its CLI against Dovecot"
(cd pkg && node --test test/)

step "bundlers: the packed package in pages built by Vite, webpack, Parcel, Rollup and esbuild, in headless Chromium through websockify to Dovecot"
(cd pkg/test-bundlers && { [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test)

step "demo: the page in headless Chromium (Playwright) on the one-command demo stack"
(cd www/test && { [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test)

step "edge: the worker script in real workerd, the Deno transport in real Deno"
(cd edge && { [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test)

step "component: the WASI 0.2 component in wasmtime, and through jco in Node, against Dovecot"
scripts/test-component.sh

step "all tests passed"
