#!/usr/bin/env python3
"""Probes a running local stack (scripts/run.sh --detach) as an attacker with a valid
API key would, and prints what held: the figures in docs/SECURITY.md.

  python3 bench/hostile_probe.py [--url http://127.0.0.1:8080] [--connections 20400]
                                 [--big-submits 1000] [--junk-seconds 9]

1. Connections: opens --connections idle TCP connections to the gateway (more than its
   cap), then times GET /healthz on fresh connections meanwhile, and the gateway's CPU.
2. Big submits: --big-submits jobs of (almost) 1 MB from one tenant, counting 202 / 429
   quota_exceeded / 503 storage_full, and Redis's used_memory before and after.
3. Junk SUBMITs with a stolen gateway key: build/bench/submit_flood floods the broker's
   gateway port for --junk-seconds while real jobs go through the gateway one at a time;
   their end-to-end latency before, during and after the flood.
Traffic goes to loopback only, in bounded loops.
"""
import argparse
import http.client
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, ".run")


def read(path):
    with open(path) as f:
        return f.read().strip()


def gateway_cpu_seconds():
    fields = read(f"/proc/{read(os.path.join(RUN, 'gateway.pid'))}/stat").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_used_memory():
    # Redis rewrites its process title; its log names the port.
    port = re.search(r"port=(\d+)", read(os.path.join(RUN, "redis.log"))).group(1)
    env = dict(os.environ, REDISCLI_AUTH=read(os.path.join(RUN, "redis-users", "admin.password")))
    args = ["redis-cli", "-p", port, "INFO", "memory"]
    out = subprocess.run(args, env=env, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return -1


def request(host, port, method, path, body=None, key=None, timeout=10):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def probe_connections(host, port, count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(count, hard - 200)  # room for this process's other files
    held, failed_connects = [], 0
    cpu0, t0 = gateway_cpu_seconds(), time.monotonic()
    for _ in range(count):
        try:
            s = socket.socket()
        except OSError:  # this process's own file limit
            failed_connects += 1
            continue
        s.setblocking(False)
        s.connect_ex((host, port))
        held.append(s)
    time.sleep(1.0)  # let the gateway take (or refuse) them
    latencies, statuses = [], []
    for _ in range(20):
        start = time.monotonic()
        try:
            status, _ = request(host, port, "GET", "/healthz", timeout=5)
        except OSError as e:
            status = type(e).__name__
        latencies.append((time.monotonic() - start) * 1000)
        statuses.append(status)
        time.sleep(0.1)
    refused = 0
    for s in held:
        try:
            if b"overloaded" in s.recv(4096):
                refused += 1
        except OSError:
            pass
    cpu1, t1 = gateway_cpu_seconds(), time.monotonic()
    for s in held:
        s.close()
    return {
        "connections_opened": len(held),
        "not_opened_client_file_limit": failed_connects,
        "told_503_overloaded": refused,
        "healthz_statuses": {str(k): statuses.count(k) for k in set(statuses)},
        "healthz_p50_ms": round(statistics.median(latencies), 2),
        "healthz_max_ms": round(max(latencies), 2),
        "gateway_cpu_share": round((cpu1 - cpu0) / (t1 - t0), 2),
    }


def probe_big_submits(host, port, key, count):
    before = redis_used_memory()
    body = json.dumps({"type": "upper", "input": "x" * (1000 * 1000)})
    codes = {}
    for _ in range(count):
        status, data = request(host, port, "POST", "/v1/jobs", body=body, key=key, timeout=30)
        code = "accepted" if status == 202 else json.loads(data)["error"]["code"]
        codes[code] = codes.get(code, 0) + 1
    after = redis_used_memory()
    return {"submits": count, "answers": codes, "redis_used_mb_before": round(before / 2**20),
            "redis_used_mb_after": round(after / 2**20)}


def real_job_ms(host, port, key):
    """Submit one real job and long-poll it to its end: (milliseconds, final status)."""
    start = time.monotonic()
    status, data = request(host, port, "POST", "/v1/jobs",
                           body=json.dumps({"type": "upper", "input": "real"}), key=key)
    if status != 202:
        return (time.monotonic() - start) * 1000, json.loads(data)["error"]["code"]
    job = json.loads(data)
    while job["status"] not in ("succeeded", "failed", "expired", "cancelled"):
        _, data = request(host, port, "GET", f"/v1/jobs/{job['id']}?wait_ms=5000", key=key)
        job = json.loads(data)
    return (time.monotonic() - start) * 1000, job["status"]


def latency_summary(samples):
    ms = sorted(m for m, _ in samples)
    statuses = {}
    for _, s in samples:
        statuses[s] = statuses.get(s, 0) + 1
    return {"jobs": len(ms), "statuses": statuses, "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
            "max_ms": round(ms[-1], 2)}


def probe_junk_flood(host, port, key, seconds):
    broker_pid = read(os.path.join(RUN, "broker.pid"))
    cmdline = read(f"/proc/{broker_pid}/cmdline").replace("\0", " ")
    broker_port = re.search(r"--frontend tcp://127.0.0.1:(\d+)", cmdline).group(1)
    baseline = [real_job_ms(host, port, key) for _ in range(50)]
    flood = subprocess.Popen(
        [os.path.join(ROOT, "build", "bench", "submit_flood"),
         "--broker", f"tcp://127.0.0.1:{broker_port}",
         "--curve-secret-file", os.path.join(RUN, "keys", "gateway.key"),
         "--broker-public-key-file", os.path.join(RUN, "keys", "broker.pub"),
         "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True)
    during = []
    while flood.poll() is None:
        during.append(real_job_ms(host, port, key))
        time.sleep(0.05)
    answers = json.loads(flood.stdout.read())
    after = [real_job_ms(host, port, key) for _ in range(50)]
    return {"flood": answers, "real_before": latency_summary(baseline),
            "real_during": latency_summary(during), "real_after": latency_summary(after)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--connections", type=int, default=20400)
    parser.add_argument("--big-submits", type=int, default=1000)
    parser.add_argument("--junk-seconds", type=int, default=9)
    parser.add_argument("--only", choices=["connections", "big", "junk"])
    args = parser.parse_args()
    host, port = args.url.split("//")[1].split(":")
    port = int(port)
    assert host in ("127.0.0.1", "localhost"), "probes go to loopback only"
    key = read(os.path.join(RUN, "api-key"))
    if args.only in (None, "connections"):
        print(json.dumps({"connections": probe_connections(host, port, args.connections)}))
    if args.only in (None, "big"):
        print(json.dumps({"big_submits": probe_big_submits(host, port, key, args.big_submits)}))
    if args.only in (None, "junk"):
        print(json.dumps({"junk_submits": probe_junk_flood(host, port, key, args.junk_seconds)}))


if __name__ == "__main__":
    main()
