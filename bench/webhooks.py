#!/usr/bin/env python3
"""Webhook deliveries sent by one gateway: how many per second, and how long from a job's
end to its delivery's arrival.

Starts a receiver on 127.0.0.1 (asyncio, answers 204 to each POST; Connection: close as
the gateway sends them), submits --jobs `upper` jobs with a callback_url to it through
POST /v1/jobs:batch, and waits until every delivery arrived (bounded). Each delivery's
body is the ended job, whose timeline.finished_us says when it ended; the receiver
notes when it arrived. --verify-secret checks every signature (batchq.verify_webhook).
As the reference in the same run, the rate at which the same jobs ended. Prints one
JSON line."""

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
import urllib.request


def post(url, key, path, body):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + key,
                                              "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


class Receiver:
    def __init__(self, secret):
        self.arrivals = {}  # delivery id -> (arrived_us, finished_us)
        self.bad_signatures = 0
        self.secret = secret
        self.all_in = asyncio.Event()
        self.wanted = 0

    async def serve(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.decode().split("\r\n")[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            arrived_us = time.time_ns() // 1000
            if self.secret is not None:
                from batchq import verify_webhook
                if not verify_webhook(self.secret, headers.get("batchq-signature"), body):
                    self.bad_signatures += 1
            job = json.loads(body)
            self.arrivals[headers.get("batchq-delivery")] = (arrived_us,
                                                             job["timeline"]["finished_us"])
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
            if len(self.arrivals) >= self.wanted:
                self.all_in.set()
        finally:
            writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--verify-secret")
    parser.add_argument("--timeout-s", type=float, default=300)
    args = parser.parse_args()
    receiver = Receiver(args.verify_secret)
    receiver.wanted = args.jobs
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    callback = f"http://127.0.0.1:{port}/hook"
    loop = asyncio.get_running_loop()
    started = time.time()
    for first in range(0, args.jobs, 1000):
        jobs = [{"type": "upper", "input": f"job {i}", "callback_url": callback}
                for i in range(first, min(args.jobs, first + 1000))]
        answer = await loop.run_in_executor(None, post, args.url, args.key, "/v1/jobs:batch",
                                            {"jobs": jobs})
        refused = [item for item in answer["jobs"] if "error" in item]
        if refused:
            sys.exit(f"refused: {refused[0]}")
    try:
        await asyncio.wait_for(receiver.all_in.wait(), args.timeout_s)
    except asyncio.TimeoutError:
        pass
    server.close()
    arrivals = sorted(receiver.arrivals.values())
    finished = sorted(f for _, f in arrivals)
    latency_ms = sorted((a - f) / 1000 for a, f in arrivals)
    span_s = (arrivals[-1][0] - arrivals[0][0]) / 1e6 if len(arrivals) > 1 else 0
    ended_span_s = (finished[-1] - finished[0]) / 1e6 if len(finished) > 1 else 0
    print(json.dumps({
        "jobs": args.jobs,
        "delivered": len(arrivals),
        "bad_signatures": receiver.bad_signatures if args.verify_secret else None,
        "deliveries_per_s": round(len(arrivals) / span_s) if span_s else None,
        "jobs_ended_per_s": round(len(finished) / ended_span_s) if ended_span_s else None,
        "end_to_delivery_ms_p50": round(statistics.median(latency_ms), 1) if latency_ms else None,
        "end_to_delivery_ms_p99": round(latency_ms[int(0.99 * (len(latency_ms) - 1))], 1)
        if latency_ms else None,
        "wall_s": round(time.time() - started, 2),
        "receiver_cpu_s": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime +
                                resource.getrusage(resource.RUSAGE_SELF).ru_stime, 2),
    }))


asyncio.run(main())
