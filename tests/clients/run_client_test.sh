#!/usr/bin/env bash
# Runs one client test: starts the real `sluice serve` with a temporary data dir and free
# loopback ports, waits until the schema registry answers GET / with 200 and the HTTP listener's
# /health/ready does, runs the client script
# with the registry URL as its argument and the HTTP listener's URL in SLUICE_HTTP_URL, and
# fails (with the server log) when the script fails.
# Usage: run_client_test.sh SLUICE_BINARY CLIENT_COMMAND... (the URL is appended)
#   e.g. tests/clients/run_client_test.sh build/src/app/sluice \
#          /usr/bin/python3 tests/clients/python/registry_client.py
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 SLUICE_BINARY CLIENT_COMMAND..." >&2
  exit 2
fi
sluice=$1
shift
client=("$@")
client_timeout=${SLUICE_CLIENT_TEST_TIMEOUT:-60}

fail() {
  echo "run_client_test: $*" >&2
  exit 1
}

[[ -x "$sluice" ]] || fail "sluice binary '$sluice' not found or not executable"
command -v "${client[0]}" >/dev/null || fail "'${client[0]}' not found: run scripts/bootstrap"
command -v curl >/dev/null || fail "curl not found: run scripts/bootstrap"
for arg in "${client[@]}"; do
  # A Node script needs the packages that scripts/bootstrap installs beside it.
  if [[ "$arg" == *.js && ! -d "$(dirname "$arg")/node_modules" ]]; then
    fail "$(dirname "$arg")/node_modules missing: run scripts/bootstrap"
  fi
done

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-clients-XXXXXX")
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

server_log() {
  echo "---- sluice serve output (last 60 lines) ----" >&2
  tail -n 60 "$tmp/server.log" >&2 || true
}

# free_port only finds ports that were free a moment ago; if another process takes one before
# the server binds it, the server exits with "Address already in use": try other ports.
start_server() {
  http_port=$(free_port)
  registry_port=$(free_port)
  while [[ "$registry_port" == "$http_port" ]]; do registry_port=$(free_port); done
  url="http://127.0.0.1:$registry_port"
  "$sluice" serve --data-dir "$tmp/data" --http-listen "127.0.0.1:$http_port" \
    --registry-listen "127.0.0.1:$registry_port" --grpc-listen "" --shards 2 >"$tmp/server.log" 2>&1 &
  pid=$!
  deadline=$((SECONDS + 30))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/" || true)" == 200 ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && status=0 || status=$?
      pid=""
      grep -q "Address already in use" "$tmp/server.log" && return 1
      server_log
      fail "sluice serve exited (status $status) before the registry answered on $url"
    fi
    if ((SECONDS >= deadline)); then
      server_log
      fail "the registry did not answer GET $url/ with 200 within 30 s"
    fi
    sleep 0.1
  done
  # The registry can answer before the rest of the server is ready (the event store and the
  # stream processor start after it): clients of the HTTP listener need /health/ready.
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http_port/health/ready" || true)" == 200 ]]; do
    if ((SECONDS >= deadline)) || ! kill -0 "$pid" 2>/dev/null; then
      server_log
      fail "sluice serve did not become ready on 127.0.0.1:$http_port within 30 s"
    fi
    sleep 0.1
  done
}
for attempt in 1 2 3 4 5; do
  start_server && break
  ((attempt == 5)) && { server_log; fail "no free ports for sluice serve after 5 attempts"; }
  rm -rf "$tmp/data"
done

export SLUICE_HTTP_URL="http://127.0.0.1:$http_port"  # for clients of the HTTP listener
echo "run_client_test: registry up at $url; running ${client[*]}"
if timeout "$client_timeout" "${client[@]}" "$url"; then
  exit 0
else
  status=$?
fi
((status == 124)) && echo "run_client_test: client timed out after ${client_timeout} s" >&2
server_log
fail "client '${client[*]}' failed (exit $status) against $url"
