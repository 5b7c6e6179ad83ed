"""The baseline: a naive SimPy model that makes every message a process.

This is how a first SimPy model of the zone's traffic is usually written, and
what the evaluators are measured against (issue "Speed", DESIGN.md "Two flow
evaluators"). Each vehicle sends a 10 Hz BSM (one radio hop: a process with
one timeout) and a 10 Hz control request (a process: uplink timeout, a
``simpy.Resource`` at its edge site, an exponential service, downlink
timeout). Vehicles do not move and nothing is measured beyond counts and
latencies: it is the cheapest honest per-message model, so its rate is an
upper bound for that style.

Usage::

    python -m benchmarks.naive_simpy --vehicles 500 --duration-s 60
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy


def simulate(vehicles: int, duration_s: float, sites: int = 8, seed: int = 1) -> dict[str, float]:
    """Run the naive model; return messages sent and delivered and the wall time."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    servers = [simpy.Resource(env, capacity=4) for _ in range(sites)]
    counts = {"sent": 0, "delivered": 0}
    latencies: list[float] = []

    def bsm() -> Generator[simpy.Event, Any, None]:
        t0 = env.now
        yield env.timeout(0.002)
        counts["delivered"] += 1
        latencies.append(env.now - t0)

    def control(site: simpy.Resource) -> Generator[simpy.Event, Any, None]:
        t0 = env.now
        yield env.timeout(0.005)  # uplink + core + backhaul
        with site.request() as request:
            yield request
            yield env.timeout(float(rng.exponential(0.005)))
        yield env.timeout(0.005)  # backhaul + core + downlink
        counts["delivered"] += 1
        latencies.append(env.now - t0)

    def vehicle(index: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(float(rng.uniform(0.0, 0.1)))
        site = servers[index % sites]
        while True:
            env.process(bsm())
            env.process(control(site))
            counts["sent"] += 2
            yield env.timeout(0.1)

    for index in range(vehicles):
        env.process(vehicle(index))
    start = time.perf_counter()
    env.run(until=duration_s)
    wall_s = time.perf_counter() - start
    return {
        "wall_s": wall_s,
        "messages": counts["sent"],
        "delivered": counts["delivered"],
        "simulated_s": duration_s,
        "mean_latency_ms": 1000 * float(np.mean(latencies)) if latencies else float("nan"),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.naive_simpy", description=__doc__)
    parser.add_argument("--vehicles", type=int, default=500)
    parser.add_argument("--duration-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(json.dumps(simulate(args.vehicles, args.duration_s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
