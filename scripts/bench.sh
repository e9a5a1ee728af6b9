#!/usr/bin/env bash
# Runs the benchmarks and prints their figures.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench decoder
cargo bench --bench fetch
