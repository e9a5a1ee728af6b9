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
# A last message with a phrase to look for in the proxy's recordings.
canary=TOP-SECRET-CANARY-4711
printf 'From: canary@example.org\nSubject: canary\n\nThe phrase %s must never cross the proxy in the clear.\n' \
  "$canary" > "$work/zz-canary.eml"
python3 tests/support/mailstack.py --no-stdin --info-file "$work/stack.json" --mail "$work/mail" \
  --mail "$work/zz-canary.eml" --tls --websockify --ws-target-down >/dev/null &
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

# Three recording relays (websockify --record) that relay plain TCP: to the POP3 port (used
# with STLS), to the POP3S port, and a control to the POP3 port used without TLS.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pop3=$(json "$work/stack.json" 'd["pop3_port"]')
pop3s=$(json "$work/stack.json" 'd["pop3s_port"]')
declare -A rec_port
for name in stls:$pop3 tls:$pop3s plain:$pop3; do
  label=${name%%:*}; target=${name#*:}; port=$(free_port)
  websockify --record="$work/rec-$label" "127.0.0.1:$port" "127.0.0.1:$target" >/dev/null 2>&1 &
  pids+=($!)
  rec_port[$label]=$port
done
for port in "$ws_cut" "${rec_port[@]}"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
export POP3_TEST_WS_REC_STLS="ws://127.0.0.1:${rec_port[stls]}/"
export POP3_TEST_WS_REC_TLS="ws://127.0.0.1:${rec_port[tls]}/"
export POP3_TEST_WS_REC_PLAIN="ws://127.0.0.1:${rec_port[plain]}/"
export POP3_TEST_CA=$(cat "$(json "$work/stack.json" 'd["ca_cert"]')")

export POP3_TEST_WS="ws://127.0.0.1:$(json "$work/stack.json" 'd["websockify_port"]')/"
export POP3_TEST_WS_DOWN="ws://127.0.0.1:$(json "$work/stack.json" 'd["websockify_down_port"]')/"
export POP3_TEST_WS_CUT="ws://127.0.0.1:$ws_cut/"
export POP3_TEST_PASSWORD=$(json "$work/stack.json" 'd["users"]["alice"]["password"]')
export POP3_TEST_MESSAGES=$(( $(ls "$work/mail"/*.eml | wc -l) + 1 ))   # the sample, and the canary
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
cargo test --target wasm32-unknown-unknown -p pop3-wasm-js --features tls,mime --test browser

# What the proxy saw. The control session must show the password and the canary (so the
# recording works); the TLS sessions must show neither, nor any POP3 command.
sleep 0.5
check_recording() { # label, then whether the secrets must appear (yes/no)
  local files=("$work/rec-$1".*) found=no
  [ -e "${files[0]}" ] || { echo "no recording from the $1 relay" >&2; exit 1; }
  if grep -qF -e "$POP3_TEST_PASSWORD" -e "$canary" -e "RETR" "${files[@]}"; then found=yes; fi
  if [ "$found" != "$2" ]; then
    echo "recording check failed for the $1 relay: secrets visible: $found, expected: $2" >&2
    exit 1
  fi
  echo "proxy recording ($1): $(cat "${files[@]}" | wc -c) bytes, password/message/commands visible: $found"
}
check_recording plain yes
check_recording stls no
check_recording tls no
