#!/usr/bin/env bash
# Runs the wasm-bindgen tests in real headless Chromium against real servers: Dovecot behind
# websockify, a websockify whose target is down, and a scripted server that cuts a message
# short (also behind websockify). Their addresses reach the tests at compile time.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/pop3-browser.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_for_file() { for _ in $(seq 150); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

python3 tests/fixtures/make_sample_mail.py "$work/mail" --large-mb 2 >/dev/null
python3 tests/support/mailstack.py --no-stdin --info-file "$work/stack.json" --mail "$work/mail" \
  --websockify --ws-target-down >/dev/null &
pids+=($!)
# The scripted server and its websockify.
mkfifo "$work/fake.in"
python3 tests/support/fake_pop3.py --scenario cut-mid-message < "$work/fake.in" > "$work/fake.json" &
pids+=($!)
exec 7>"$work/fake.in"   # held open: the fake server stops when this script exits
wait_for_file "$work/fake.json"
fake_port=$(json "$work/fake.json" 'd["port"]')
ws_cut=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
websockify "127.0.0.1:$ws_cut" "127.0.0.1:$fake_port" >/dev/null 2>&1 &
pids+=($!)
wait_for_file "$work/stack.json"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ws_cut") 2>/dev/null && break; sleep 0.1; done

export POP3_TEST_WS="ws://127.0.0.1:$(json "$work/stack.json" 'd["websockify_port"]')/"
export POP3_TEST_WS_DOWN="ws://127.0.0.1:$(json "$work/stack.json" 'd["websockify_down_port"]')/"
export POP3_TEST_WS_CUT="ws://127.0.0.1:$ws_cut/"
export POP3_TEST_PASSWORD=$(json "$work/stack.json" 'd["users"]["alice"]["password"]')
export POP3_TEST_MESSAGES=$(ls "$work/mail"/*.eml | wc -l)
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
cargo test --target wasm32-unknown-unknown --test browser
