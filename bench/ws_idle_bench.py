#!/usr/bin/env python3
"""Opens N idle WebSocket connections (publish mode) to a running `sluice serve` and reports its
resident memory (VmRSS from /proc/PID/status) before and with them open, as one JSON line.

Each connection does the real RFC 6455 handshake, checks the 101 and reads the server's opening
credit frame, then stays idle. With MODE=http in the environment, each connection instead sends
one keep-alive `GET /health/live`, reads the 200, and stays idle (plain HTTP keep-alive).
Usage: ws_idle_bench.py HOST PORT TOPIC SERVER_PID [N]
Needs `ulimit -n` above N (run_ws_idle_bench.sh raises it)."""
import base64
import json
import os
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_ws(host, port, topic):
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /v1/topics/{topic}/ws HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("handshake refused: " + head.decode(errors="replace"))
    # The opening {"credit":N,...} text frame (short: 2-byte header).
    while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
        rest += s.recv(4096)
    if rest[0] != 0x81 or b"credit" not in rest:
        raise RuntimeError(f"unexpected first frame {rest!r}")
    return s


def open_http(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(f"GET /health/live HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed before the answer")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("unexpected answer: " + data[:80].decode(errors="replace"))
    return s


def main():
    host, port, topic, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    time.sleep(0.5)
    before = rss_kib(pid)
    socks = []
    t0 = time.time()
    http_mode = os.environ.get("MODE") == "http"
    for _ in range(n):
        socks.append(open_http(host, port) if http_mode else open_ws(host, port, topic))
    opened_s = time.time() - t0
    time.sleep(2)  # let the server settle (freed handshake buffers, allocator caches)
    with_conns = rss_kib(pid)
    print(json.dumps({
        "bench": "http_idle_connections" if http_mode else "ws_idle_connections",
        "connections": len(socks),
        "open_seconds": round(opened_s, 2),
        "server_rss_before_mib": round(before / 1024, 1),
        "server_rss_with_connections_mib": round(with_conns / 1024, 1),
        "per_connection_kib": round((with_conns - before) / len(socks), 2),
        "goal_rss_under_mib": 200,
    }))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
