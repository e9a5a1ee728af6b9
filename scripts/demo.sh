#!/usr/bin/env bash
# The main job: a browser mail reader (www/) that speaks POP3 from WebAssembly, through a
# websockify WebSocket-to-TCP proxy, to a real Dovecot holding a sample mailbox.
#
#   scripts/demo.sh [--port N] [--pop3-port N] [--host ADDR] [--smoke] [more options]
#
# It builds the wasm package (with TLS inside the module) unless the build is newer than the
# sources, stages
# the page, generates the sample mailbox, starts Dovecot with STLS and POP3S
# (tests/support/mailstack.py --tls) and websockify (serving the page and relaying WebSockets
# on the same port: ?token=pop3 to POP3, ?token=pop3s to POP3S), prints the address to open,
# and runs until Ctrl-C or SIGTERM, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() {
  cat <<'EOF'
usage: scripts/demo.sh [options]        (or: ./run demo [options])

Starts Dovecot with a sample mailbox and a websockify proxy that serves the demo page and
relays its WebSocket to Dovecot, then prints the address to open. Ctrl-C stops everything.

options:
  --port N           web page + WebSocket port (default 8080)
  --pop3-port N      Dovecot's POP3 port (default: a free one)
  --host ADDR        address the web/WebSocket port binds to (default 127.0.0.1)
  --smoke            start, check that the page and the WebSocket answer, stop, exit 0
  --large-mb N       size of the sample's large attachment in MiB (default 5; 0: none)
  --remote-base URL  where the sample's remote images and the hostile mail's requests point
  --mail DIR         serve the *.eml files of DIR instead of the sample mailbox
  --info-file FILE   write a JSON description of the running demo to FILE (for tests)
  --stop-on-eof      also stop when stdin reaches its end (for a parent that may die)
  -h, --help         this help
EOF
}

die() { echo "demo: $*" >&2; exit 1; }
usage_error() { echo "demo: $*" >&2; echo "run 'scripts/demo.sh --help' for the options" >&2; exit 2; }

port=8080
pop3_port=
host=127.0.0.1
smoke=0
large_mb=5
remote_base=
mail_dir=
info_file=
stop_on_eof=0
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --port) need_value "$@"; port=$2; shift 2 ;;
    --pop3-port) need_value "$@"; pop3_port=$2; shift 2 ;;
    --host) need_value "$@"; host=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --large-mb) need_value "$@"; large_mb=$2; shift 2 ;;
    --remote-base) need_value "$@"; remote_base=$2; shift 2 ;;
    --mail) need_value "$@"; mail_dir=$2; shift 2 ;;
    --info-file) need_value "$@"; info_file=$2; shift 2 ;;
    --stop-on-eof) stop_on_eof=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done
is_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }
is_port "$port" || usage_error "--port must be a port number (1-65535), not '$port'"
[ -z "$pop3_port" ] || is_port "$pop3_port" || usage_error "--pop3-port must be a port number, not '$pop3_port'"
[ -z "$pop3_port" ] || [ "$pop3_port" != "$port" ] || usage_error "--port and --pop3-port must differ"
[[ $large_mb =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--large-mb must be a number of MiB"
[ -z "$mail_dir" ] || [ -d "$mail_dir" ] || usage_error "--mail $mail_dir is not a directory"
[ "$(id -u)" = 0 ] || die "needs root: Dovecot switches to the mail user (run it as root, or in the project's container)"
for exe in python3 node websockify; do
  command -v "$exe" >/dev/null || die "'$exe' is missing; run ./run setup first"
done

# A port the servers could not bind is the most common failure: say so in one line, before
# building anything. SO_REUSEADDR as the servers use it, so a socket in TIME_WAIT is no problem.
port_busy() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError as e:
    print(e.strerror or e)
    sys.exit(0)
sys.exit(1)
EOF
}
if why=$(port_busy "$host" "$port"); then
  echo "demo: cannot listen on $host:$port ($why); choose another port with --port N" >&2
  exit 2
fi
if [ -n "$pop3_port" ] && why=$(port_busy 127.0.0.1 "$pop3_port"); then
  echo "demo: cannot use 127.0.0.1:$pop3_port for POP3 ($why); choose another with --pop3-port N or leave it out" >&2
  exit 2
fi

# --- The wasm package, built once and reused while no source is newer than it -----------------
# The page loads two modules: the client that pkg/src/index.js names (with TLS inside: the page
# shows an end-to-end TLS session), and the MIME parser (wasm-mime), which only the page's
# parsing worker loads. Legacy CJK charsets (the sample has ISO-2022-JP mail) are decoded by
# the browser's TextDecoder, as in the npm builds.
wasm_dir=$(sed -n "s#^import \* as clientGlue from '\.\./\([A-Za-z0-9_-]*\)/pop3_wasm\.js';.*#\1#p" pkg/src/index.js | head -1)
[ -n "$wasm_dir" ] || die "cannot tell which wasm module pkg/src/index.js loads"
parser_dir=wasm-mime
features=tls
cache=target/demo
mkdir -p "$cache"
stale() { # DIR FEATURES
  [ "$(cat "$cache/$1/features" 2>/dev/null)" = "$2" ] || return 0
  [ -s "$cache/$1/pop3_wasm_bg.wasm" ] && [ -s "$cache/$1/pop3_wasm.js" ] || return 0
  [ -n "$(find src js Cargo.toml Cargo.lock scripts/build-pkg.sh -newer "$cache/$1/pop3_wasm_bg.wasm" -print -quit)" ]
}
build_module() { # DIR FEATURES
  stale "$1" "$2" || return 0
  echo "demo: building the wasm module $1 ($2; about a minute; later runs reuse it)" >&2
  rm -rf "${cache:?}/$1"
  scripts/build-pkg.sh --features "$2" --out "$cache/$1" >&2
  # build-pkg.sh reads cargo's output from target/; if another build with other features
  # replaced it in between, this catches it.
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    const m = await import('$root/$cache/$1/pop3_wasm.js');
    m.initSync({ module: readFileSync('$root/$cache/$1/pop3_wasm_bg.wasm') });
    const info = m.buildInfo();
    const want = '$2'.split(',');
    if (!info.hostCharsets || info.tls !== want.includes('tls') || info.mime !== want.includes('mime')) {
      console.error('demo: the wasm build does not have the features $2; run the demo again');
      process.exit(1);
    }
  " || { rm -rf "${cache:?}/$1"; exit 1; }
  echo "$2" >"$cache/$1/features"
}
(
  flock 9   # two demos starting at once build once
  build_module "$wasm_dir" "$features"
  build_module "$parser_dir" mime
) 9>"$cache/.lock"

# --- Everything below lives in one throwaway directory ----------------------------------------
work=$(mktemp -d /tmp/pop3-demo.XXXXXX)
chmod 755 "$work"   # websockify serves from it; dovecot's users read the mail copies
stack_pid=
ws_pid=
eof_pid=
cleaning=0
cleanup() {
  [ "$cleaning" = 1 ] && return
  cleaning=1
  set +e   # stop everything, whatever fails on the way
  trap '' INT TERM HUP PIPE
  [ -z "$eof_pid" ] || kill "$eof_pid" 2>/dev/null
  if [ -n "$ws_pid" ]; then
    kill -TERM -- "-$ws_pid" 2>/dev/null || true   # its own process group: forked handlers too
    for _ in $(seq 50); do kill -0 -- "-$ws_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$ws_pid" 2>/dev/null || true
  fi
  exec 7>&-                                        # EOF on mailstack's stdin: it stops
  if [ -n "$stack_pid" ]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE   # whoever read our output is gone (a closed terminal, a dead test runner)
if [ "$stop_on_eof" = 1 ]; then
  # A test runner that is killed cannot clean up: its end of our stdin closing is the signal.
  main_pid=$$
  (cat >/dev/null; kill -TERM "$main_pid" 2>/dev/null) <&0 &
  eof_pid=$!
fi

# The page: www/ plus the package's browser entry and the wasm module.
stage=$work/web
mkdir -p "$stage/pkg/src" "$stage/pkg/$wasm_dir" "$stage/pkg/$parser_dir"
for f in www/*; do
  case "$(basename "$f")" in test|README-demo.md) continue ;; esac
  cp -R "$f" "$stage/"
done
for f in pkg/src/*.js; do
  case "$(basename "$f")" in node*.js) ;; *) cp "$f" "$stage/pkg/src/" ;; esac
done
for d in "$wasm_dir" "$parser_dir"; do cp "$cache/$d/pop3_wasm.js" "$cache/$d/pop3_wasm_bg.wasm" "$stage/pkg/$d/"; done

# The mailbox.
if [ -z "$mail_dir" ]; then
  mail_dir=$work/mail
  python3 tests/fixtures/make_sample_mail.py "$mail_dir" --large-mb "$large_mb" \
    ${remote_base:+--remote-base "$remote_base"} >/dev/null
fi
message_count=$(find "$mail_dir" -maxdepth 1 -name '*.eml' | wc -l)

# Dovecot. Its stdin is a pipe this script holds open: if the script dies in any way, even
# SIGKILL, mailstack sees EOF and stops Dovecot. Its own session: Ctrl-C reaches only this
# script, which then stops everything in order.
mkfifo "$work/stack.in"
setsid python3 tests/support/mailstack.py --tls --timeout 120 --info-file "$work/stack.json" --mail "$mail_dir" \
  ${pop3_port:+--port "$pop3_port"} <"$work/stack.in" >/dev/null 2>"$work/stack.err" &
stack_pid=$!
exec 7>"$work/stack.in"
for _ in $(seq 1300); do   # a big --mail directory takes a while to deliver
  [ -s "$work/stack.json" ] && break
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    status=0; wait "$stack_pid" || status=$?
    stack_pid=
    sed 's/^mailstack: /demo: /' "$work/stack.err" >&2
    [ "$status" = 2 ] && exit 2
    exit 1
  fi
  sleep 0.1
done
[ -s "$work/stack.json" ] || die "Dovecot did not start within 130 s ($(tail -3 "$work/stack.err"))"
read -r pop3_port pop3s_port password maildir dovecot_pid ca_cert < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
a = d["users"]["alice"]
print(d["pop3_port"], d["pop3s_port"], a["password"], a["maildir"], d["dovecot_pid"], d["ca_cert"])' "$work/stack.json")

# websockify: the page and the WebSockets on one port. A fixed map from token to target (never
# a host chosen by the client): ?token=pop3 relays to POP3 (plain or STLS), ?token=pop3s to POP3S.
# WebSockets are accepted only from pages of this origin (websockify's ExpectOrigin plugin), so
# another site open in the same browser cannot use the relay.
case "$host" in *:*) listen="[$host]:$port" ;; *) listen="$host:$port" ;; esac
case "$host" in 0.0.0.0|::|"[::]") probe_host=127.0.0.1 ;; *) probe_host=$host ;; esac
case "$probe_host" in *:*) url_host="[$probe_host]" ;; *) url_host=$probe_host ;; esac
url="http://$url_host:$port/"
origin_check=(--auth-plugin ExpectOrigin --auth-source "http://$url_host:$port http://localhost:$port http://127.0.0.1:$port")
case "$host" in 0.0.0.0|::|"[::]") origin_check=() ;; esac   # reachable under names we cannot know
printf 'pop3: 127.0.0.1:%s\npop3s: 127.0.0.1:%s\n' "$pop3_port" "$pop3s_port" >"$work/tokens"
setsid websockify --web "$stage" --token-plugin TokenFile --token-source "$work/tokens" \
  ${origin_check[@]+"${origin_check[@]}"} "$listen" >"$work/websockify.log" 2>&1 7>&- &
ws_pid=$!
for _ in $(seq 100); do
  kill -0 "$ws_pid" 2>/dev/null || break
  python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
    "$probe_host" "$port" 2>/dev/null && break
  sleep 0.1
done
if ! kill -0 "$ws_pid" 2>/dev/null; then
  ws_pid=
  if grep -q "Address already in use" "$work/websockify.log"; then
    echo "demo: cannot listen on $host:$port (Address already in use); choose another port with --port N" >&2
    exit 2
  fi
  echo "demo: websockify did not start:" >&2
  tail -5 "$work/websockify.log" >&2
  exit 1
fi

# The page reads this file to pre-fill its form. It exists only in this throwaway directory;
# the page itself never stores a password. "/..." = the page's own host and port.
tls_default=starttls
python3 -c '
import json, sys
out, password, tls, ca = sys.argv[1:]
json.dump({"note": "Demo account of scripts/demo.sh",
           "proxyUrl": "/?token=pop3", "proxyUrlImplicitTls": "/?token=pop3s",
           "tls": tls, "serverName": "localhost", "ca": open(ca).read(),
           "user": "alice", "password": password}, open(out, "w"), indent=1)' \
  "$stage/demo-config.json" "$password" "$tls_default" "$ca_cert"

if [ -n "$info_file" ]; then
  python3 -c '
import json, sys
keys = ["url", "ws_url", "web_port", "pop3_port", "user", "password", "maildir", "mail_dir",
        "messages", "stage", "websockify_pid", "mailstack_pid", "dovecot_pid", "pop3s_port",
        "ws_url_pop3s", "tls_default", "features"]
json.dump(dict(zip(keys, sys.argv[2:])), open(sys.argv[1] + ".tmp", "w"))' \
    "$info_file" "$url" "ws://$url_host:$port/?token=pop3" "$port" "$pop3_port" alice "$password" "$maildir" \
    "$mail_dir" "$message_count" "$stage" "$ws_pid" "$stack_pid" "$dovecot_pid" "$pop3s_port" \
    "ws://$url_host:$port/?token=pop3s" "$tls_default" "$features"
  mv "$info_file.tmp" "$info_file"
fi

if [ "$smoke" = 1 ]; then
  python3 - "$probe_host" "$port" "$wasm_dir" "$parser_dir" <<'EOF' || exit 1
# The page, its config and both wasm modules are served, and a WebSocket reaches Dovecot.
import base64, json, os, socket, sys, urllib.request
host, port, wasm_dir, parser_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def fail(message):
    print(f"demo: smoke check failed: {message}", file=sys.stderr)
    sys.exit(1)
sys.excepthook = lambda kind, value, tb: fail(f"{kind.__name__}: {value}")
base = f"http://{host if ':' not in host else '[' + host + ']'}:{port}"
def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()
status, _, body = get("/")
assert status == 200 and b"<title>pop3-wasm mail reader</title>" in body, "the page is not served"
assert get("/app.js")[0] == 200
assert json.loads(get("/demo-config.json")[2])["user"] == "alice"
for d in (wasm_dir, parser_dir):
    status, ctype, wasm = get(f"/pkg/{d}/pop3_wasm_bg.wasm")
    assert status == 200 and wasm[:4] == b"\0asm", f"the wasm module {d} is not served"
    assert ctype.startswith("application/wasm"), f"the wasm module {d} is served as {ctype!r}"

def handshake(origin):
    s = socket.create_connection((host, port), 10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /?token=pop3 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Origin: {origin}\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    return s
s = handshake("http://elsewhere.example")
refused = s.recv(200)
s.close()
origin_checked = refused.startswith(b"HTTP/1.1 403")
s = handshake(base)
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    assert chunk, "the proxy closed the connection during the WebSocket handshake"
    data += chunk
head, _, data = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 101"), f"no WebSocket upgrade: {head[:80]!r}"
def frame():
    global data
    while True:
        if len(data) >= 2:
            n, off = data[1] & 0x7F, 2
            if n == 126 and len(data) >= 4:
                n, off = int.from_bytes(data[2:4], "big"), 4
            if len(data) >= off + n and n < 127:
                payload, data = data[off:off + n], data[off + n:]
                return payload
        chunk = s.recv(4096)
        assert chunk, "the proxy closed the WebSocket"
        data += chunk
def send(payload):
    mask = os.urandom(4)
    s.sendall(bytes([0x82, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
greeting = frame()
assert greeting.startswith(b"+OK"), f"no POP3 greeting through the WebSocket: {greeting[:60]!r}"
send(b"QUIT\r\n")
assert frame().startswith(b"+OK")
s.close()
print("smoke: the page, demo-config.json and both wasm modules (client, parser) are served; "
      + ("other origins are refused; " if origin_checked else "")
      + "the WebSocket reaches Dovecot: " + greeting.decode("ascii", "replace").strip())
EOF
  exit 0
fi

cat <<EOF

  pop3-wasm demo is running

  Open   $url
  Login  alice / $password   (pre-filled by demo-config.json)

  Dovecot        POP3 127.0.0.1:$pop3_port (STLS), POP3S 127.0.0.1:$pop3s_port (test CA), $message_count messages
                 in $maildir
  websockify     $listen: serves the page; relays ws://$url_host:$port/?token=pop3 to POP3 and
                 ?token=pop3s to POP3S, for pages from $(
                   [ ${#origin_check[@]} -gt 0 ] && echo "this origin only" || echo "any origin (--host $host)")
  wasm features  $features (TLS $( [ "$tls_default" = starttls ] && echo "on by default: STARTTLS inside the page, the proxy sees only ciphertext" || echo "not in this build: the proxy sees the mail"))

  Things to try: the ISO-2022-JP and KOI8-R mail, the birthday card (inline cid: image), the
  newsletter (remote images blocked until you allow them), the hostile "statement" mail
  (its scripts do not run), the 5 MiB attachment (progress bar), Delete then Log out.
  Keys: j/k or arrows, Enter, Delete or #, u (undo all), r (raw source), Esc, / (filter).

  Press Ctrl-C to stop everything.
EOF
if [ "$host" != 127.0.0.1 ] && [ "$host" != localhost ] && [ "$host" != ::1 ]; then
  echo "  Note: --host $host exposes the demo account (its password is in demo-config.json)"
  echo "  to everyone who can reach port $port."
fi

# Run until a signal, or until Dovecot or websockify dies.
status=0
wait -n "$stack_pid" "$ws_pid" || status=$?
if ! kill -0 "$ws_pid" 2>/dev/null; then
  echo "demo: websockify stopped unexpectedly:" >&2; tail -5 "$work/websockify.log" >&2
else
  echo "demo: the mail server stopped unexpectedly:" >&2; cat "$work/stack.err" >&2
fi
exit 1
