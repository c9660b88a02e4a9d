#!/usr/bin/env bash
# Storage benchmarks of issue 2, each against a fio reference measured in the same run and the
# same directory (so the same filesystem and disk):
#   fio A: sequential buffered 1 MiB writes + final fsync        -> reference MiB/s
#   fio B: 16 KiB write + fdatasync each                         -> reference fdatasync p99
#   store_bench: append (interval), ack latency (always), read, recovery
# Prints every JSON line, then the ratios against the goals in docs/benchmarks.md.
#
# Usage: bench/run_storage_bench.sh [BUILD_DIR]   (default: build-bench next to this repo's src)
# Env: BENCH_DIR (default: a fresh mktemp -d under $TMPDIR or /tmp; removed afterwards),
#      APPEND_MIB (2048: both fio A and the append phase write this much),
#      SYNC_SECONDS (8: fio B and the ack phase each run this long), RECOVERY_MIB (1024).
# Needs fio (scripts/bootstrap --bench) and python3 (for reading fio's JSON).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
store_bench=$build/bench/store_bench
[[ -x $store_bench ]] || { echo "no $store_bench; build it first (see docs/benchmarks.md)" >&2; exit 2; }
command -v fio >/dev/null || { echo "fio missing: run scripts/bootstrap --bench" >&2; exit 2; }

append_mib=${APPEND_MIB:-2048}
sync_seconds=${SYNC_SECONDS:-8}
recovery_mib=${RECOVERY_MIB:-1024}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")}
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
out=$dir/results.jsonl
: >"$out"

echo "# bench dir: $dir ($(df -hT "$dir" | awk 'NR==2{print $1" "$2}')); $(nproc) cores" >&2

# fio A: sequential buffered writes, 1 MiB blocks, fsync at the end (counted in fio's runtime).
fio --name=seqwrite --directory="$dir" --rw=write --bs=1M --size="${append_mib}M" \
  --ioengine=psync --end_fsync=1 --output-format=json >"$dir/fio-seq.json"
rm -f "$dir"/seqwrite.*
# fio A4 (context only, not a goal): the same with 4 jobs at once, like the 4 partitions below.
fio --name=seqwrite4 --directory="$dir" --rw=write --bs=1M --size="$((append_mib / 4))M" \
  --numjobs=4 --group_reporting --ioengine=psync --end_fsync=1 --output-format=json \
  >"$dir/fio-seq4.json"
rm -f "$dir"/seqwrite4.*
# fio B: 16 KiB write + fdatasync after each, for a fixed time.
fio --name=fdatasync --directory="$dir" --rw=write --bs=16k --size=1G --ioengine=sync \
  --fdatasync=1 --time_based --runtime="$sync_seconds" --output-format=json >"$dir/fio-sync.json"
rm -f "$dir"/fdatasync.*

python3 - "$dir/fio-seq.json" "$dir/fio-sync.json" "$dir/fio-seq4.json" >>"$out" <<'EOF'
import json, sys
seq = json.load(open(sys.argv[1]))["jobs"][0]
syn = json.load(open(sys.argv[2]))["jobs"][0]
seq4 = json.load(open(sys.argv[3]))["jobs"][0]
p = syn["sync"]["lat_ns"]["percentile"]
print(json.dumps({"bench": "fio_seq_write", "bs": "1M", "end_fsync": 1,
                  "mib_s": round(seq["write"]["bw_bytes"] / 2**20, 1),
                  "seconds": seq["write"]["runtime"] / 1000}))
print(json.dumps({"bench": "fio_seq_write_4jobs", "bs": "1M", "end_fsync": 1,
                  "mib_s": round(seq4["write"]["bw_bytes"] / 2**20, 1),
                  "seconds": seq4["write"]["runtime"] / 1000}))
print(json.dumps({"bench": "fio_fdatasync", "bs": "16k", "iops": round(syn["write"]["iops"]),
                  "fdatasync_ms": {"p50": p["50.000000"] / 1e6, "p99": p["99.000000"] / 1e6,
                                   "p999": p["99.900000"] / 1e6}}))
EOF

"$store_bench" --dir "$dir" --append-mib "$append_mib" --ack-seconds "$sync_seconds" \
  --recovery-mib "$recovery_mib" | tee -a "$out" >/dev/null

cat "$out"
python3 - "$out" <<'EOF'
import json, sys
r = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    key = d["bench"] + ("_par" if d.get("readers", 1) > 1 else "") \
        + ("_rp" if d.get("recovery_point") == "kept" else "")
    r[key] = d
def verdict(ok): return "MET" if ok else "MISSED"
a, f = r["append"]["mib_s"], r["fio_seq_write"]["mib_s"]
print(f"append: {a:.0f} MiB/s vs fio {f:.0f} MiB/s -> ratio {a/f:.2f} (goal >= 0.70: {verdict(a/f >= 0.70)})")
f4 = r["fio_seq_write_4jobs"]["mib_s"]
print(f"  context: fio with 4 jobs {f4:.0f} MiB/s -> ratio {a/f4:.2f}")
k, s = r["ack"], r["fio_fdatasync"]["fdatasync_ms"]["p99"]
ratio = k["ack_ms"]["p99"] / s
ok = ratio <= 2.0 and k["events_per_s"] >= 200000
print(f"ack: p99 {k['ack_ms']['p99']:.2f} ms vs fio fdatasync p99 {s:.2f} ms -> ratio {ratio:.2f} "
      f"at {k['events_per_s']:.0f} events/s (goal <= 2.0 at >= 200K/s: {verdict(ok)})")
for key in ("read", "read_par"):
    g = r[key]["gb_s"]
    print(f"read ({r[key]['readers']} reader(s)): {g:.2f} GB/s (goal >= 1 GB/s: {verdict(g >= 1.0)})")
for key in ("recovery", "recovery_rp"):
    t = r[key]["open_seconds"]
    print(f"recovery ({r[key]['partition_bytes']/2**30:.2f} GiB, recovery point "
          f"{r[key]['recovery_point']}): {t:.2f} s (goal < 2 s: {verdict(t < 2.0)})")
EOF
