#!/usr/bin/env bash
# gRPC PublishStream benchmark of issue 4 (goal: >= 1M events/s). Starts `sluice serve` (embedded
# store, topic durability `interval`), creates the topic over HTTP, then runs grpc_publish_bench
# ROUNDS times: STREAMS streams, 100 events of 80 bytes per message, INFLIGHT messages
# outstanding per stream. Server and client share this machine's cores.
#
# Usage: bench/run_grpc_bench.sh [BUILD_DIR]   (default: build-bench next to this repo's src)
# Env: SECONDS_PER_ROUND (10), ROUNDS (3), STREAMS (4), INFLIGHT (16), PARTITIONS (2),
#      HTTP_PORT (18091), GRPC_PORT (18092), SHARDS (2), BENCH_DIR (default: fresh mktemp -d).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
sluice=$build/src/app/sluice
bench=$build/bench/grpc_publish_bench
for b in "$sluice" "$bench"; do
  [[ -x $b ]] || { echo "no $b; build it first (ninja sluice grpc_publish_bench)" >&2; exit 2; }
done
secs=${SECONDS_PER_ROUND:-10}
rounds=${ROUNDS:-3}
streams=${STREAMS:-4}
inflight=${INFLIGHT:-16}
partitions=${PARTITIONS:-2}
http_port=${HTTP_PORT:-18091}
grpc_port=${GRPC_PORT:-18092}
shards=${SHARDS:-2}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-grpc-bench.XXXXXX")}
mkdir -p "$dir"

sluice_pid=
cleanup() {
  [[ -n $sluice_pid ]] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$sluice" serve --data-dir "$dir/data" --http-listen "127.0.0.1:$http_port" \
  --grpc-listen "127.0.0.1:$grpc_port" --registry-listen '' --shards "$shards" \
  --set store.default_durability=interval --log-level warn >"$dir/server.log" 2>&1 &
sluice_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$http_port/health/ready" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$http_port/v1/topics" \
  -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench\",\"partitions\":$partitions,\"config\":{\"durability\":\"interval\"}}"

for r in $(seq 1 "$rounds"); do
  "$bench" --target "127.0.0.1:$grpc_port" --topic bench --streams "$streams" --events 100 \
    --value-bytes 80 --inflight "$inflight" --seconds "$secs"
done
