#!/usr/bin/env bash
# Installs what the project needs on Debian 12, skipping whatever is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages: real servers, the proxy, the browser, clang for ring (wasm TLS) ---
# (The fonts are for the demo test's screenshots: the sample mail has emoji subjects and
# Japanese mail; Droid Sans Fallback covers CJK in 4 MB. mpop and time are for the end-to-end
# benchmark: the peer client it compares with, and the peak-RSS report.)
apt_packages=(dovecot-pop3d websockify chromium chromium-driver clang openssl python3 ca-certificates curl pkg-config
  fonts-noto-color-emoji fonts-droid-fallback mpop time)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  # Packages may try to start their system services; we run our own instances on free ports.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Rust: the wasm target and the wasm-bindgen CLI matching the crate's pinned version ---
if ! command -v cargo >/dev/null; then
  echo "setup: cargo is missing; install Rust with rustup first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The standard library's source, so the npm build can rebuild std for size (scripts/build-pkg.sh);
# without it the package still builds, about 20 KB gzip larger.
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  say "adding the rust-src component (to build the wasm module's std for size)"
  timeout 300 rustup component add rust-src || echo "setup: rust-src could not be added; the wasm module will be larger" >&2
fi
wasm_bindgen_version=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' js/Cargo.toml | head -1)
if [ -n "$wasm_bindgen_version" ]; then
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
    say "installing wasm-bindgen-cli $wasm_bindgen_version (about 10 minutes, once)"
    cargo install -q wasm-bindgen-cli --version "$wasm_bindgen_version"
  fi
fi

# --- Node packages (the npm package's build and test tools) ---
if [ -f pkg/package.json ]; then
  if ! command -v node >/dev/null; then
    say "installing Node.js"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
  fi
  if [ ! -d pkg/node_modules ] || [ pkg/package-lock.json -nt pkg/node_modules/.package-lock.json ]; then
    say "installing npm packages in pkg/"
    (cd pkg && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
say "ready"
