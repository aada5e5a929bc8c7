"""Benchmark: how late the serving loop's timers fire while connector work burns CPU, on the serving loop itself
or on the vendor loop (bot.connectors.vendor_loop), at a few GIL switch intervals.

The connector work is what dominated a large Odin read's CPU: XML-RPC replies parsed one after another
(`xmlrpc.client.loads` of a 200-row subscription list, a few ms each), with an `await asyncio.sleep(0)` between
replies as the HTTP client gives between calls. Meanwhile a task on the serving loop sleeps 5 ms at a time and
records how late each wake-up is: what an ack waits before its turn. `sys.setswitchinterval` is the longest a
thread holding the GIL keeps it while another waits (5 ms by default).

    python bench/vendor_loop_gil.py [--seconds 5] [--intervals 0.005,0.001]

Prints one JSON line: per placement and interval, the ticker's lateness p50/p99/max in ms and the replies parsed
(the connector's throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import xmlrpc.client

from latency import figures  # bench/latency.py

from bot.connectors.vendor_loop import VendorLoop

REPLY = xmlrpc.client.dumps(({"Result": [{"SubscriptionID": i, "Name": f"Microsoft 365 Business {i}",
                                          "Status": 30, "Resources": [{"ResourceID": j, "Amount": 7} for j in
                                                                      range(3)]} for i in range(200)]},),
                            methodresponse=True)


async def parse_replies(until: float) -> int:
    replies = 0
    while time.perf_counter() < until:
        xmlrpc.client.loads(REPLY)
        replies += 1
        await asyncio.sleep(0)
    return replies


async def ticker(until: float) -> list[float]:
    late: list[float] = []
    while time.perf_counter() < until:
        due = time.perf_counter() + 0.005
        await asyncio.sleep(0.005)
        late.append((time.perf_counter() - due) * 1000)
    return late


async def measure(placement: str, seconds: float) -> dict:
    until = time.perf_counter() + seconds
    vendor_loop = VendorLoop(name="bench-vendors")
    try:
        work = parse_replies(until) if placement == "serving loop" else vendor_loop.run(parse_replies, until)
        replies, late = await asyncio.gather(work, ticker(until))
    finally:
        await vendor_loop.stop()
    return {"placement": placement, "switch_interval_ms": sys.getswitchinterval() * 1000,
            "replies_parsed": replies, "ticker_lateness": figures(late)}


async def main(seconds: float, intervals: list[float]) -> dict:
    runs = [await measure("serving loop", seconds)]
    for interval in intervals:
        sys.setswitchinterval(interval)
        runs.append(await measure("vendor loop", seconds))
    sys.setswitchinterval(0.005)
    return {"reply_kib": round(len(REPLY) / 1024, 1), "runs": runs,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--intervals", default="0.005,0.001", help="GIL switch intervals to try, in seconds")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.seconds, [float(x) for x in arguments.intervals.split(",")]))))
