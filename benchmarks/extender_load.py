"""Open-loop load generator for the extender, as its own process
(``python -m benchmarks.extender_load``).

Sends ``--rate`` requests per second for ``--duration`` seconds, each at its scheduled
time whether or not earlier ones have returned (kube-scheduler does not wait for one pod's
extender call to schedule the next profile's pod, and open loop avoids coordinated
omission). Latency is measured from the scheduled send time to the end of the reply, over
keep-alive connections as kube-scheduler's HTTP client uses. Requests carry every node
name (nodeCacheCapable, percentageOfNodesToScore 100) and a pod with a trace shape.
Prints one JSON line: sent, ok, errors, p50_ms, p99_ms, achieved_rps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp
import numpy as np

from benchmarks.extender_cluster import request_bodies


async def _run(url: str, bodies: list[bytes], rate: float, duration_s: float) -> dict[str, float]:
    count = int(rate * duration_s)
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:

        async def send(body: bytes, scheduled: float) -> None:
            nonlocal errors
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
                return
            latencies.append(time.perf_counter() - scheduled)

        # Warm the connection pool and the server before timing.
        await asyncio.gather(
            *(send(bodies[i % len(bodies)], time.perf_counter()) for i in range(20))
        )
        latencies.clear()
        errors = 0
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(bodies[i % len(bodies)], scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    values = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "sent": count,
        "ok": len(latencies),
        "errors": errors,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "achieved_rps": len(latencies) / elapsed,
    }


async def _sequential(url: str, bodies: list[bytes], count: int) -> dict[str, float]:
    """One request at a time, as kube-scheduler's scheduling cycle calls an extender."""
    latencies = []
    errors = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        started = time.perf_counter()
        for i in range(count + 20):
            sent = time.perf_counter()
            async with session.post(
                url, data=bodies[i % len(bodies)], headers={"Content-Type": "application/json"}
            ) as response:
                await response.read()
                ok = response.status == 200
            if i == 20:
                started = sent
            if i >= 20:
                errors += not ok
                latencies.append(time.perf_counter() - sent)
        elapsed = time.perf_counter() - started
    values = np.array(latencies) * 1000
    return {
        "sent": count,
        "ok": count - errors,
        "errors": errors,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "achieved_rps": count / elapsed,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/filter")
    parser.add_argument("--nodes", type=int, default=1523)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument(
        "--sequential", type=int, default=0, help="instead: N requests one at a time"
    )
    options = parser.parse_args(argv)
    bodies = request_bodies(options.nodes)
    if options.sequential:
        result = asyncio.run(_sequential(options.url, bodies, options.sequential))
    else:
        result = asyncio.run(_run(options.url, bodies, options.rate, options.duration))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
