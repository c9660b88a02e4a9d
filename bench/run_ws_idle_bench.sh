#!/usr/bin/env bash
# Idle WebSocket memory benchmark of issue 4: starts `sluice serve` (2 shards, embedded store,
# http.max_connections raised above the count), creates a topic, opens CONNECTIONS idle
# WebSocket publish connections with bench/ws_idle_bench.py and prints the server's resident
# memory (VmRSS) before and with them open. Goal: under 200 MB with 10,000 connections.
#
# Usage: bench/run_ws_idle_bench.sh [BUILD_DIR]   (default: build next to this repo's src)
# Env: CONNECTIONS (10000), SLUICE_PORT (18091), BENCH_DIR (default: fresh mktemp -d).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
sluice=$build/src/app/sluice
[[ -x $sluice ]] || { echo "no $sluice; build it first" >&2; exit 2; }
conns=${CONNECTIONS:-10000}
port=${SLUICE_PORT:-18091}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-ws-bench.XXXXXX")}
mkdir -p "$dir"
# Both ends need a descriptor per connection.
ulimit -n $((conns + 1000)) || { echo "cannot raise ulimit -n to $((conns + 1000))" >&2; exit 2; }

pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$sluice" serve --data-dir "$dir/data" --http-listen "127.0.0.1:$port" --registry-listen "" --grpc-listen "" \
  --shards 2 --set "http.max_connections=$((conns + 100))" --log-level warn \
  >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break
  sleep 0.1
done
curl -sf -XPOST "http://127.0.0.1:$port/v1/topics" -H 'content-type: application/json' \
  -d '{"name":"ws-bench","partitions":2}' >/dev/null
python3 "$here/ws_idle_bench.py" 127.0.0.1 "$port" ws-bench "$pid" "$conns"
