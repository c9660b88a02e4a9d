#!/usr/bin/env bash
# HTTP produce benchmarks of issue 2, against nginx measured in the same run under the same load:
#   1. nginx (2 workers, `return 204`) and `sluice serve` (topic with durability `interval`),
#      each hit by wrk -t2 -c64 -d10s POSTing one 80-byte JSON event per request (keep-alive),
#      alternately, ROUNDS times: the median req/s of each and their ratio (goal >= 0.6).
#   2. batched produce to sluice: a JSON array of 100 such events per request: events/s
#      (goal >= 1M/s).
# Both servers run on this machine with wrk, so all three share the cores.
# SECURE=1 (issue 4): the same, with `serve --auth` (every request carries an HS256 JWT that is
#   verified and authorised against the RBAC policy) and the topic created with
#   value_schema_validation against a registered JSON Schema of the event; goal >= 0.7x nginx
#   and p99 <= 10 ms.
#
# Usage: bench/run_http_bench.sh [BUILD_DIR]   (default: build-bench next to this repo's src)
# Env: DURATION (10s), ROUNDS (3), CONNECTIONS (64), THREADS (2), PARTITIONS (2), NGINX_PORT (18080),
#      SLUICE_PORT (18081), BENCH_DIR (default: fresh mktemp -d; removed afterwards).
# Needs wrk and nginx (nginx-light): scripts/bootstrap --bench.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
sluice=$build/src/app/sluice
[[ -x $sluice ]] || { echo "no $sluice; build it first (see docs/benchmarks.md)" >&2; exit 2; }
for t in wrk nginx curl; do
  command -v $t >/dev/null || { echo "$t missing: run scripts/bootstrap --bench" >&2; exit 2; }
done
duration=${DURATION:-10s}
conns=${CONNECTIONS:-64}
threads=${THREADS:-2}
partitions=${PARTITIONS:-2}
rounds=${ROUNDS:-3}
nginx_port=${NGINX_PORT:-18080}
sluice_port=${SLUICE_PORT:-18081}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-http-bench.XXXXXX")}
mkdir -p "$dir"

nginx_pid=
sluice_pid=
cleanup() {
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  [[ -n $sluice_pid ]] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

wait_http() {  # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2
  return 1
}

# One 80-byte JSON event, and a 100-event array of it.
event='{"user":"u-000123456","action":"click","page":"/products/42","ts":1700000000123}'
[[ ${#event} -eq 80 ]] || { echo "event is ${#event} bytes" >&2; exit 1; }
batch="[$event"
for _ in $(seq 2 100); do batch+=",$event"; done
batch+="]"
cat >"$dir/single.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$event'
EOF
cat >"$dir/batch.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$batch'
EOF

# nginx: minimal config, everything under $dir.
mkdir -p "$dir/nginx/logs"
cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port reuseport;
    location / { return 204; }
  }
}
EOF
nginx -p "$dir/nginx" -e "$dir/nginx/logs/error.log" -c "$dir/nginx/nginx.conf" \
  -g 'daemon off;' &
nginx_pid=$!

secure=${SECURE:-0}
registry_port=$((sluice_port + 1))
serve_args=(--data-dir "$dir/sluice-data" --http-listen "127.0.0.1:$sluice_port"
  --registry-listen "127.0.0.1:$registry_port" --grpc-listen "" --log-level warn)
auth_header=()
wrk_auth=
topic_config='{"durability":"interval"}'
if [[ $secure == 1 ]]; then
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$secret" >"$dir/secret"
  cat >"$dir/policy.yaml" <<POLICY
roles:
  producer:
    - resources: ["topic:bench"]
      actions: [produce]
  admin:
    - resources: ["*"]
      actions: [produce, consume, admin, schema-read, schema-write]
principals:
  bench-producer: [producer]
  bench-admin: [admin]
POLICY
  mint() {  # principal -> HS256 JWT valid for an hour
    python3 - "$secret" "$1" <<'MINT'
import base64, hashlib, hmac, json, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
head = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b(json.dumps({"sub": sys.argv[2], "exp": int(time.time()) + 3600}).encode())
sig = b(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
MINT
  }
  admin_token=$(mint bench-admin)
  producer_token=$(mint bench-producer)
  serve_args+=(--auth --auth-policy "$dir/policy.yaml" --set "auth.jwt.hs256_secret_file=$dir/secret")
  auth_header=(-H "Authorization: Bearer $admin_token")
  wrk_auth="wrk.headers[\"Authorization\"] = \"Bearer $producer_token\""
  topic_config='{"durability":"interval","value_schema_validation":true}'
fi
printf '%s\n' "$wrk_auth" >>"$dir/single.lua"
printf '%s\n' "$wrk_auth" >>"$dir/batch.lua"
"$sluice" serve "${serve_args[@]}" >"$dir/sluice.log" 2>&1 &
sluice_pid=$!

wait_http "http://127.0.0.1:$nginx_port/"
wait_http "http://127.0.0.1:$sluice_port/health/ready"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' "${auth_header[@]}" \
  "http://127.0.0.1:$sluice_port/v1/topics" \
  -d "{\"name\":\"bench\",\"partitions\":$partitions,\"config\":$topic_config}"
if [[ $secure == 1 ]]; then
  # The event's JSON Schema: 4 typed, required fields, no others.
  curl -fsS -o /dev/null -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    "${auth_header[@]}" "http://127.0.0.1:$registry_port/subjects/bench-value/versions" \
    -d '{"schemaType":"JSON","schema":"{\"type\":\"object\",\"properties\":{\"user\":{\"type\":\"string\"},\"action\":{\"type\":\"string\",\"enum\":[\"click\",\"view\"]},\"page\":{\"type\":\"string\"},\"ts\":{\"type\":\"integer\"}},\"required\":[\"user\",\"action\",\"page\",\"ts\"],\"additionalProperties\":false}"}'
  # A bad token must be refused, and an invalid event too.
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer x' \
    "http://127.0.0.1:$sluice_port/v1/topics/bench/events" -d "$event")
  [[ $code == 401 ]] || { echo "bad token got $code, not 401" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${auth_header[@]}" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$sluice_port/v1/topics/bench/events" -d '{"user":1}')
  [[ $code == 400 ]] || { echo "invalid event got $code, not 400" >&2; exit 1; }
fi
# Sanity: both accept the event.
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
  "http://127.0.0.1:$nginx_port/v1/topics/bench/events" -d "$event"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' "${auth_header[@]}" \
  "http://127.0.0.1:$sluice_port/v1/topics/bench/events" -d "$batch"

run_wrk() {  # name script url
  wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$dir/$2.lua" "$3" >"$dir/$1.txt"
  cat "$dir/$1.txt" >&2
  if grep -q "Non-2xx" "$dir/$1.txt"; then
    echo "$1: some responses were errors (see above)" >&2
  fi
  awk '/^Requests\/sec:/{print $2}' "$dir/$1.txt"
}
url_path=/v1/topics/bench/events
# Single-event runs alternate nginx and sluice ROUNDS times; each side's median is compared, so
# one disturbed run (this VM's neighbours) does not decide the ratio.
nginx_runs=()
sluice_runs=()
for r in $(seq 1 "$rounds"); do
  echo "# round $r: nginx, single event per request" >&2
  nginx_runs+=("$(run_wrk "nginx-$r" single "http://127.0.0.1:$nginx_port$url_path")")
  echo "# round $r: sluice, single event per request" >&2
  sluice_runs+=("$(run_wrk "sluice-$r" single "http://127.0.0.1:$sluice_port$url_path")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
nginx_rps=$(median "${nginx_runs[@]}")
sluice_rps=$(median "${sluice_runs[@]}")
# The run whose req/s is the median gives the p99 and error count reported.
for r in $(seq 1 "$rounds"); do
  [[ ${nginx_runs[r-1]} == "$nginx_rps" ]] && cp "$dir/nginx-$r.txt" "$dir/nginx.txt"
  [[ ${sluice_runs[r-1]} == "$sluice_rps" ]] && cp "$dir/sluice-$r.txt" "$dir/sluice.txt"
done
echo "# sluice, 100 events per request" >&2
batch_rps=$(run_wrk sluice-batch batch "http://127.0.0.1:$sluice_port$url_path")

p99() { awk '$1=="99%"{print $2}' "$dir/$1.txt"; }
errs() { awk '/Non-2xx/{print $NF}' "$dir/$1.txt" | grep . || echo 0; }
stored=$(curl -fsS "${auth_header[@]}" "http://127.0.0.1:$sluice_port/v1/topics/bench" |
  python3 -c 'import json,sys; print(sum(p["high_watermark"] for p in json.load(sys.stdin)["partitions"]))')

python3 - "$nginx_rps" "$sluice_rps" "$batch_rps" "$(p99 nginx)" "$(p99 sluice)" \
  "$(p99 sluice-batch)" "$(errs nginx)" "$(errs sluice)" "$(errs sluice-batch)" "$stored" \
  "$threads" "$conns" "$duration" "${nginx_runs[*]}" "${sluice_runs[*]}" "$secure" <<'EOF'
import json, sys
secure = sys.argv[16] == "1"
suffix = "_jwt_validated" if secure else ""
goal = 0.7 if secure else 0.6
n, s, b = map(float, sys.argv[1:4])
p_n, p_s, p_b = sys.argv[4:7]
e_n, e_s, e_b = map(int, sys.argv[7:10])
stored = int(sys.argv[10])
load = f"wrk -t{sys.argv[11]} -c{sys.argv[12]} -d{sys.argv[13]}"
runs_n = [float(x) for x in sys.argv[14].split()]
runs_s = [float(x) for x in sys.argv[15].split()]
print(json.dumps({"bench": "http_single_nginx", "load": load, "req_s": n, "runs": runs_n, "p99": p_n,
                  "errors": e_n}))
print(json.dumps({"bench": "http_single_sluice" + suffix, "load": load, "req_s": s, "runs": runs_s, "p99": p_s,
                  "errors": e_s}))
print(json.dumps({"bench": "http_batch100_sluice" + suffix, "load": load, "req_s": b, "events_per_s": b * 100,
                  "p99": p_b, "errors": e_b, "events_stored_total": stored}))
v = lambda ok: "MET" if ok else "MISSED"
print(f"single (median of {len(runs_n)} alternating runs): sluice {s:.0f} req/s vs nginx {n:.0f} req/s"
      f" -> ratio {s/n:.2f} (goal >= {goal}: {v(s/n >= goal)})"
      + (f"; p99 {p_s} (goal <= 10 ms)" if secure else "")
      + (" [JWT auth + RBAC + JSON Schema validation on]" if secure else ""))
print(f"batched (100/request): {b*100:.0f} events/s (goal >= 1M/s: {v(b*100 >= 1e6)})")
EOF
