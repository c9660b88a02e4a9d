#!/usr/bin/env python3
"""Keyed exchange benchmark (issue 5): the same keyed window pipeline over the same stored events,
run with parallelism 1 (no exchange) and parallelism 2 (rows cross the keyed exchange), side by
side in one `sluice serve`, ROUNDS times each, alternating.

For each run: wall seconds from deploy until the window has taken every event, the server's CPU
seconds in that time (utime+stime from /proc), events/s and events per CPU-second. The ratio
p2/p1 of events per CPU-second is the exchange's cost per event (writing and reading every row
once more); p2/p1 of events/s is the wall-clock gain from using both cores.

Usage: bench/run_exchange_bench.py [BUILD_DIR]   (default: build)
Env: EVENTS (2000000), KEYS (10000), ROUNDS (3), PORT (18091).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build")
sluice = os.path.join(build, "src", "app", "sluice")
events = int(os.environ.get("EVENTS", "2000000"))
keys = int(os.environ.get("KEYS", "10000"))
rounds = int(os.environ.get("ROUNDS", "3"))
port = int(os.environ.get("PORT", "18091"))
base = f"http://127.0.0.1:{port}"


def call(method, path, body=None, ctype="application/json"):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SPEC = """name: {name}
parallelism: {p}
checkpoint_interval: 500ms
sources: [{{name: s, topic: in, start: earliest, event_time: ts}}]
operators:
  - {{name: w, type: window, input: s, key: k, key_name: k, window: {{kind: tumbling, size: 10s}},
     aggregates: {{n: count(*), total: sum(v)}}}}
outputs: [{{name: out, input: w, type: discard}}]
"""


def window_rows(name):
    status, d = call("GET", f"/v1/pipelines/{name}")
    if status != 200:
        return 0
    n = 0
    for t in d.get("tasks", []):
        for op in t.get("operators", []):
            if op["name"] == "w":
                n += op["rows_in"]
    return n


def run(name, p, pid):
    t0 = time.monotonic()
    c0 = cpu_seconds(pid)
    status, body = call("POST", "/v1/pipelines", SPEC.format(name=name, p=p), "application/yaml")
    assert status == 201, body
    while window_rows(name) < events:
        time.sleep(0.05)
    secs = time.monotonic() - t0
    cpu = cpu_seconds(pid) - c0
    call("DELETE", f"/v1/pipelines/{name}")
    return secs, cpu


def main():
    if not os.access(sluice, os.X_OK):
        sys.exit(f"no {sluice}; build it first")
    d = tempfile.mkdtemp(prefix="sluice-exchange-bench.")
    log = open(os.path.join(d, "server.log"), "w")
    server = subprocess.Popen([sluice, "serve", "--data-dir", os.path.join(d, "data"),
                               "--http-listen", f"127.0.0.1:{port}", "--registry-listen", "",
                               "--grpc-listen", ""], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                if call("GET", "/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        status, body = call("POST", "/v1/topics", json.dumps(
            {"name": "in", "partitions": 2, "config": {"durability": "interval"}}))
        assert status == 201, body
        # Event times rise in each partition; keys spread over both.
        per_request = 10000
        for start in range(0, events, per_request):
            lines = "\n".join(json.dumps({"k": f"key-{(i * 7919) % keys}", "v": i % 100,
                                          "ts": 1000 + i}) for i in range(start, min(events, start + per_request)))
            status, body = call("POST", "/v1/topics/in/events", lines, "application/x-ndjson")
            assert status == 200, body
        results = {1: [], 2: []}
        for r in range(rounds):
            for p in (1, 2):
                secs, cpu = run(f"x{p}r{r}", p, server.pid)
                results[p].append((secs, cpu))
                print(json.dumps({"parallelism": p, "round": r, "events": events, "seconds": round(secs, 3),
                                  "cpu_seconds": round(cpu, 3), "events_per_second": round(events / secs),
                                  "events_per_cpu_second": round(events / cpu)}), flush=True)
        med = {p: (statistics.median(events / s for s, _ in v), statistics.median(events / c for _, c in v))
               for p, v in results.items()}
        print(json.dumps({"summary": True, "p1_events_per_second": round(med[1][0]),
                          "p2_events_per_second": round(med[2][0]),
                          "p1_events_per_cpu_second": round(med[1][1]),
                          "p2_events_per_cpu_second": round(med[2][1]),
                          "wall_speedup_p2_over_p1": round(med[2][0] / med[1][0], 2),
                          "cpu_efficiency_p2_over_p1": round(med[2][1] / med[1][1], 2)}))
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
