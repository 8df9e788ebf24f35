#!/usr/bin/env python3
"""Server-sent event streams held open by one gateway: its memory per stream, and how
fast a change reaches all of them.

Opens --streams connections to GET /v1/events (the key's tenant, ?type=upper), waits
until the gateway's /metrics says it holds them all, reads the gateway's resident memory
before and after (from /proc), then submits --jobs jobs and times until every stream has
seen every job succeed. Standard library only (asyncio: no thread per stream here either).
Prints one JSON line."""

import argparse
import asyncio
import json
import resource
import time
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def metric(url, key, name):
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + key})
    for line in urllib.request.urlopen(request, timeout=10).read().decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


class Stream:
    def __init__(self):
        self.succeeded = 0
        self.done = asyncio.Event()

    async def run(self, host, port, key, path, wanted):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        self.writer = writer
        # Chunk framing is not undone: an event's name line is enough to count.
        while self.succeeded < wanted:
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"event: succeeded"):
                self.succeeded += 1
        self.done.set()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--gateway-pid", type=int, required=True)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host, port = args.url.split("//")[1].split(":")
    port = int(port)

    before = rss_kib(args.gateway_pid)
    streams = [Stream() for _ in range(args.streams)]
    tasks = []
    opened_at = time.monotonic()
    for i in range(0, args.streams, 200):  # in waves: the listen backlog is finite
        for stream in streams[i:i + 200]:
            tasks.append(asyncio.create_task(
                stream.run(host, port, args.key, "/v1/events?type=upper", args.jobs)))
        await asyncio.sleep(0.05)
    while (metric(args.url, args.admin_key, "batchq_event_streams_open") or 0) < args.streams:
        await asyncio.sleep(0.1)
        if time.monotonic() - opened_at > 120:
            raise SystemExit("the streams did not all open")
    open_s = time.monotonic() - opened_at
    await asyncio.sleep(2)
    after = rss_kib(args.gateway_pid)

    body = json.dumps({"jobs": [{"type": "upper", "input": f"j{i}"} for i in range(args.jobs)]})
    request = urllib.request.Request(
        args.url + "/v1/jobs:batch", data=body.encode(), method="POST",
        headers={"Authorization": "Bearer " + args.key, "Content-Type": "application/json"})
    start = time.monotonic()
    urllib.request.urlopen(request, timeout=30).read()
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in streams)), timeout=120)
    fan_out_s = time.monotonic() - start
    for stream in streams:
        stream.writer.close()
    for task in tasks:
        task.cancel()
    print(json.dumps({
        "streams": args.streams,
        "jobs": args.jobs,
        "open_s": round(open_s, 2),
        "gateway_rss_before_kib": before,
        "gateway_rss_after_kib": after,
        "kib_per_stream": round((after - before) / args.streams, 2),
        "all_succeeded_s": round(fan_out_s, 3),
        # Each job's three changes (queued, running, succeeded) reach every stream.
        "events_per_s": round(args.streams * args.jobs * 3 / fan_out_s),
    }))


asyncio.run(main())
