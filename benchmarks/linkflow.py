"""Throughput of the batch evaluator's link queues (avzone/engine/linkflow.py).

An E-Town-sized backhaul (400 access points on 1 Gbit/s fibre to 24
aggregation nodes, 6 edge sites at 10 Gbit/s, a regional and a central site
at 100 Gbit/s) carries Poisson requests of 1200 B up from a random access
point to a site (its nearest edge site 80 %, another edge site 10 %, regional
7 %, central 3 %: 2 to 5 directed links) and as many 200 B replies down from
a site to an access point (Poisson too: throughput, not a service model).
``--slow`` cuts every rate by 100 so that the links queue. Messages are
submitted and advanced one window at a time, as the batch evaluator does.

Printed: the JIT compile time (the first calls of the compiled functions),
then the link crossings per second of the compiled loop alone, of ``advance``
(the loop plus its numpy bookkeeping) and of ``submit`` + ``advance``, with
the in-flight peak. Times are CPU seconds of this process (``time.process_time``:
steadier than wall time on a shared machine); the compile time is wall time.

Usage::

    python -m benchmarks.linkflow                       # 20 000 requests/s + replies, 60 s
    python -m benchmarks.linkflow --rate 40000 --duration-s 30 --slow
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from avzone.engine import linkflow
from avzone.engine.linkflow import BatchLinks
from avzone.network import LinkState, LinkTable, build_backhaul, route_table
from avzone.scenario import Backhaul
from avzone.scenario.schema import Aggregation, LinkTier


def zone(slow: bool) -> tuple[LinkTable, np.ndarray]:
    """The backhaul and every access point's up and down paths ``[2, ap, site, H]`` (−1 padded)."""
    scale = 0.01 if slow else 1.0
    spec = Backhaul(
        fibre_detour=1.3,
        rate_gbps=100.0 * scale,
        aggregation=Aggregation(count=24),
        links=(
            LinkTier("access", 1.0 * scale, 0.0),
            LinkTier("aggregation", 10.0 * scale, 0.0),
            LinkTier("metro", 10.0 * scale, 0.0),
        ),
    )
    rng = np.random.default_rng(1)
    access_xy = rng.uniform(0.0, 12_000.0, (400, 2))
    edges = [(f"edge-{k + 1}", xy) for k, xy in enumerate(rng.uniform(0.0, 12_000.0, (6, 2)))]
    remote = [("regional", "regional", 30.0), ("central", "central", 1000.0)]
    G = build_backhaul(access_xy, edges, remote, np.full(2, 6000.0), spec)
    names = [name for name, _ in edges] + ["regional", "central"]
    routes = route_table(G, len(access_xy), names)
    paths = np.full((2, len(access_xy), len(names), 6), -1, dtype=np.int32)
    for ap, row in enumerate(routes.paths):
        for site, up in enumerate(row):
            assert up is not None
            paths[0, ap, site, : len(up)] = up
            paths[1, ap, site, : len(up)] = [d ^ 1 for d in reversed(up)]
    return routes.links, paths


def run(rate_per_s: float, duration_s: float, slow: bool, seed: int = 2) -> dict[str, float]:
    """Carry ``rate_per_s`` Poisson round trips for ``duration_s`` in 1 s windows; the figures."""
    table, paths = zone(slow)
    n_aps, n_sites = paths.shape[1:3]
    nearest = np.argmin(
        (paths[0, :, :6] >= 0).sum(axis=2), axis=1
    )  # the edge site fewest links away
    rng = np.random.default_rng(seed)

    compile_start = time.perf_counter()
    warm = BatchLinks(LinkState(table))
    warm.submit(np.arange(1), paths[0, 0, 0][None], np.zeros(1), np.full(1, 1200))
    warm.advance(1.0)
    compile_s = time.perf_counter() - compile_start

    kernel = linkflow._advance
    kernel_s = [0.0]

    def timed(*args):  # type: ignore[no-untyped-def]
        started = time.process_time()
        out = kernel(*args)
        kernel_s[0] += time.process_time() - started
        return out

    linkflow._advance = timed  # the compiled loop alone
    state = LinkState(table)
    batch = BatchLinks(state)
    advance_s = submit_s = 0.0
    crossings = done = peak = 0
    next_id = 0
    for end in range(1, int(duration_s) + 1):
        n = int(rng.poisson(2 * rate_per_s))
        t_in = rng.uniform(end - 1, end, n)
        way = rng.integers(0, 2, n)  # 0 request up, 1 reply down
        ap = rng.integers(0, n_aps, n)
        u = rng.random(n)
        site = np.where(u < 0.8, nearest[ap], rng.integers(0, 6, n))
        site = np.where(u >= 0.9, 6, site)
        site = np.where(u >= 0.97, 7, site)
        assert site.max() < n_sites
        path = paths[way, ap, site]
        crossings += int((path >= 0).sum())
        size = np.where(way == 0, 1200, 200)
        started = time.process_time()
        batch.submit(next_id + np.arange(n), path, t_in, size)
        submit_s += time.process_time() - started
        next_id += n
        peak = max(peak, batch.in_flight)
        started = time.process_time()
        ids, _ = batch.advance(float(end))
        advance_s += time.process_time() - started
        done += ids.size
    linkflow._advance = kernel
    return {
        "messages": next_id,
        "done": done,
        "crossings": crossings,
        "compile_s": round(compile_s, 2),
        "advance_s": round(advance_s, 3),
        "submit_s": round(submit_s, 3),
        "kernel_s": round(kernel_s[0], 3),
        "crossings_per_s_kernel": round(crossings / kernel_s[0]),
        "crossings_per_s_advance": round(crossings / advance_s),
        "crossings_per_s_total": round(crossings / (advance_s + submit_s)),
        "in_flight_peak": peak,
        "waits": sum(len(w) for w in state.waits),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20_000.0, help="requests (and replies) per s")
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--slow", action="store_true", help="rates / 100: the links queue")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rate, args.duration_s, args.slow), indent=1))


if __name__ == "__main__":
    main()
