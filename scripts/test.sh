#!/usr/bin/env bash
# Runs every test. Real servers (Dovecot, websockify, Chromium) are started by the tests on
# free loopback ports and stopped when they finish.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "lint: rustfmt and clippy"
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings

step "native: unit tests, scripted-server tests, Dovecot integration tests"
cargo test --quiet

step "wasm32: the core builds for wasm"
cargo build --quiet --target wasm32-unknown-unknown

step "all tests passed"
