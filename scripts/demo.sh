#!/usr/bin/env bash
# The main job: starts a local Dovecot with a realistic sample mailbox and reads it with the
# native client (list, then a pipelined download into a Maildir). Everything it starts is
# stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/pop3-demo.XXXXXX)
chmod 755 "$work"
stack_pid=
cleanup() {
  [ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null && wait "$stack_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

python3 tests/fixtures/make_sample_mail.py "$work/mail" --large-mb 5 >/dev/null
python3 tests/support/mailstack.py --no-stdin --info-file "$work/stack.json" --mail "$work/mail" "$@" >/dev/null &
stack_pid=$!
for _ in $(seq 100); do [ -s "$work/stack.json" ] && break; sleep 0.1; done
[ -s "$work/stack.json" ] || { echo "demo: the mail server did not start" >&2; exit 1; }
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pop3_port"])' "$work/stack.json")
password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["alice"]["password"])' "$work/stack.json")

cargo build --quiet --release --example pop3
pop3=target/release/examples/pop3
echo "Dovecot is serving the sample mailbox on 127.0.0.1:$port (user alice)."
echo
echo "--- pop3 list"
POP3_PASSWORD=$password $pop3 --host 127.0.0.1 --port "$port" --user alice list
echo
echo "--- pop3 top 19 0 (headers of one message)"
POP3_PASSWORD=$password $pop3 --host 127.0.0.1 --port "$port" --user alice top 19 0
echo "--- pop3 fetch (pipelined, into a Maildir)"
POP3_PASSWORD=$password $pop3 --host 127.0.0.1 --port "$port" --user alice fetch "$work/Maildir"
echo "saved: $(ls "$work/Maildir/new" | wc -l) messages in $work/Maildir/new"
