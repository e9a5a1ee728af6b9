#!/usr/bin/env bash
# What a crate that depends on pop3-wasm pulls in, per feature: `cargo tree` for a throwaway
# dependent (native, and wasm32-unknown-unknown), with assertions on what must and must not be
# in each tree. Run by scripts/test.sh; prints the trees' sizes and fails on the first surprise.
#
#   scripts/check-deps.sh            check
#   scripts/check-deps.sh --print    also print each tree (for the README and release notes)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
print=""
[ "${1:-}" = "--print" ] && print=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
echo 'fn main() {}' > "$work/src/main.rs"
# The workspace's lock file, so the trees are the versions this repository tests with.
cp Cargo.lock "$work/Cargo.lock"

failures=0
fail() { echo "check-deps: $*" >&2; failures=$((failures + 1)); }

# tree LABEL TARGET DEPSPEC: the normal (non-dev, non-build) dependencies of a dependent.
tree() {
  local label=$1 target=$2 spec=$3
  cat > "$work/Cargo.toml" <<TOML
[package]
name = "dependent"
version = "0.0.0"
edition = "2021"
publish = false
[workspace]
[dependencies]
pop3-wasm = { path = "$root", $spec }
TOML
  local out
  out=$(cd "$work" && cargo tree --offline --quiet -e normal,features --prefix none --target "$target" 2>&1) || {
    echo "$out" >&2
    fail "$label: cargo tree failed"
    return
  }
  crates=$(echo "$out" | sed -n 's/^\([A-Za-z0-9_-]*\) v.*/\1/p' | sort -u)
  feats=$(echo "$out" | sed -n 's/^\([A-Za-z0-9_-]*\) feature "\([^"]*\)".*/\1\/\2/p' | sort -u)
  printf '%-34s %-26s %3d crates\n' "$label" "$target" "$(echo "$crates" | grep -vc '^dependent$')"
  if [ -n "$print" ]; then
    echo "$crates" | grep -v '^dependent$' | tr '\n' ' ' | fold -s -w 100 | sed 's/^/    /'
    echo
  fi
}
has() { echo "$crates" | grep -qx "$1"; }
must() { for c in "$@"; do has "$c" || fail "$label: expected $c in the tree"; done; }
never() { for c in "$@"; do has "$c" && fail "$label: $c must not be in the tree"; done; return 0; }
feature_never() { for f in "$@"; do echo "$feats" | grep -qx "$f" && fail "$label: feature $f must not be on"; done; return 0; }

host=$(rustc -vV | sed -n 's/^host: //p')
js=(wasm-bindgen js-sys web-sys wasm-bindgen-futures)

label="default features"
tree "$label" "$host" 'default-features = true'
must tokio mail-parser rustls webpki-roots ring
never "${js[@]}" serde serde_json encoding_rs
# The runtime is the application's choice: the library needs no rt or macros.
feature_never tokio/rt tokio/rt-multi-thread tokio/macros

label="no default features"
tree "$label" "$host" 'default-features = false'
never tokio mail-parser rustls ring webpki-roots serde serde_json "${js[@]}"

for feature in tokio mime tls html-text full-encoding serde; do
  label="only $feature"
  tree "$label" "$host" "default-features = false, features = [\"$feature\"]"
  case $feature in
    tokio) must tokio; never mail-parser rustls serde ;;
    mime|html-text) must mail-parser; never tokio rustls serde encoding_rs ;;
    tls) must rustls ring webpki-roots; never tokio mail-parser serde ;;
    full-encoding) must mail-parser encoding_rs; never tokio rustls ;;
    serde) must serde; never tokio mail-parser rustls serde_json ;;
  esac
  never "${js[@]}" serde_json
  feature_never tokio/rt tokio/rt-multi-thread tokio/macros
done

# A Rust program on wasm32 gets no JavaScript bindings and no wasm-bindgen pin from the core
# (the npm package's binding crate, js/, owns those), and no tokio.
label="wasm32, default features"
tree "$label" wasm32-unknown-unknown 'default-features = true'
never tokio "${js[@]}" serde_json
label="wasm32, mime + tls"
tree "$label" wasm32-unknown-unknown 'default-features = false, features = ["mime", "tls"]'
must mail-parser rustls
never tokio "${js[@]}"

# The engine needs no runtime: the blocking example builds with no features at all.
cargo build --quiet --offline --example engine_std --no-default-features || fail "engine_std does not build without features"

if [ "$failures" -gt 0 ]; then
  echo "check-deps: $failures problem(s)" >&2
  exit 1
fi
echo "check-deps: every tree as expected"
