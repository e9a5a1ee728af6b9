#!/usr/bin/env bash
# Runs the benchmarks and prints their figures.
#
#   scripts/bench.sh              all: the decoder, the in-process fetch (cargo bench), and the
#                                 end-to-end fetch (benches/e2e/bench.py: whole client processes,
#                                 Node CLI, native example, mpop and poplib, RTT 0 and 20 ms)
#   scripts/bench.sh e2e [OPTS]   only the end-to-end one; OPTS go to benches/e2e/bench.py
#                                 (--rounds N, --big-rounds N, --sizes 4k,1m,100m, --rtt 0,20,
#                                 --clients cli,native,mpop,poplib; see its --help)
set -euo pipefail
cd "$(dirname "$0")/.."

e2e() {
  # What it runs must be built from this tree: the native example, and the npm package's wasm
  # when it is missing or older than the Rust sources.
  nice -n 10 cargo build --quiet --release --example pop3
  if [ ! -f pkg/wasm/pop3_wasm_bg.wasm ] ||
    [ -n "$(find src Cargo.toml Cargo.lock -newer pkg/wasm/pop3_wasm_bg.wasm -print -quit)" ]; then
    nice -n 10 scripts/build-pkg.sh
  fi
  python3 benches/e2e/bench.py "$@"
}

if [ "${1:-}" = e2e ]; then
  shift
  e2e "$@"
  exit
fi
cargo bench --bench decoder
cargo bench --bench fetch
e2e "$@"
