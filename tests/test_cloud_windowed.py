"""The batch evaluator's windowed queue against the event evaluator's Site, job by job.

The reference is :class:`avzone.cloud.Site` (validated in
tests/test_cloud_queueing.py against Lindley's recursion and in
tests/test_cloud_validation.py against the closed forms of Kleinrock vol. 1 and
Cobham 1954). Here the same arrivals, hold times and priorities go through a
Site on SimPy's clock and through :class:`WindowedQueue` cut into windows at
random points; every job's start of service must agree to 1e-9 s and the
same jobs must be rejected.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator

import numpy as np
import pytest
import simpy

from avzone.cloud.queueing import lindley_waits_s, mm1_wait_s
from avzone.cloud.site import Site
from avzone.cloud.windowed import WindowedQueue, fifo_one_server


def _site_starts(
    arrival_s: np.ndarray,
    hold_s: np.ndarray,
    priority: np.ndarray,
    servers: int,
    queue_limit: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Start of service per job (inf when rejected) and the rejected mask, from a Site."""
    env = simpy.Environment()
    site = Site(env, "s", "edge", servers, queue_limit=queue_limit)
    n = len(arrival_s)
    start = np.full(n, np.inf)
    rejected = np.zeros(n, dtype=bool)

    def arrivals() -> Generator[simpy.Event, object, None]:
        for i in range(n):
            yield env.timeout(arrival_s[i] - env.now)

            def done(wait_s: float, i: int = i) -> None:
                start[i] = arrival_s[i] + wait_s

            def refused(_cause: str, i: int = i) -> None:
                rejected[i] = True

            site.submit(float(hold_s[i]), int(priority[i]), done, refused)

    env.process(arrivals())
    env.run()
    return start, rejected


def _windowed_starts(
    arrival_s: np.ndarray,
    hold_s: np.ndarray,
    priority: np.ndarray,
    servers: int,
    queue_limit: int | None,
    cuts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    queue = WindowedQueue(servers, queue_limit)
    n = len(arrival_s)
    start = np.full(n, np.inf)
    rejected = np.zeros(n, dtype=bool)
    bounds = np.concatenate(([0.0], cuts, [np.inf]))
    first = 0
    for lo, hi in itertools.pairwise(bounds.tolist()):
        last = int(np.searchsorted(arrival_s, hi, side="left"))
        assert arrival_s[first:last].min(initial=lo) >= lo
        result = queue.window(
            arrival_s[first:last], hold_s[first:last], until_s=hi, priority=priority[first:last]
        )
        start[first:last] = np.where(np.isfinite(result.start_s), result.start_s, start[first:last])
        rejected[first:last] = result.rejected
        for job, at_s in result.carried_started:
            start[job] = at_s
        first = last
    return start, rejected


@pytest.mark.parametrize(
    ("servers", "classes", "queue_limit"),
    [(1, 1, None), (1, 2, None), (3, 1, None), (3, 3, None), (2, 2, 4), (1, 1, 2)],
)
def test_windowed_queue_matches_site_job_by_job(
    servers: int, classes: int, queue_limit: int | None
) -> None:
    """Same jobs through Site and through 7 windows: identical starts and rejections.

    Load 0.9 per server so that queues build and carry across window ends.
    """
    rng = np.random.default_rng(7 + servers * 10 + classes)
    n = 3000
    arrival_s = np.cumsum(rng.exponential(1.0, n))
    hold_s = rng.exponential(0.9 * servers, n)
    priority = rng.integers(0, classes, n)
    cuts = np.sort(rng.uniform(0, arrival_s[-1], 6))
    site_start, site_rejected = _site_starts(arrival_s, hold_s, priority, servers, queue_limit)
    start, rejected = _windowed_starts(arrival_s, hold_s, priority, servers, queue_limit, cuts)
    np.testing.assert_array_equal(rejected, site_rejected)
    np.testing.assert_allclose(start, site_start, rtol=0, atol=1e-9)
    if queue_limit is not None:
        assert rejected.sum() > 10  # the limit was exercised
    assert (start - arrival_s)[~rejected].max() > 5.0  # queues did build


def test_closed_form_is_lindley() -> None:
    """One server, FIFO: the closed form equals Lindley's recursion (REFERENCE.md §9)."""
    rng = np.random.default_rng(3)
    gaps = rng.exponential(1.0, 10_000)
    hold = rng.exponential(0.8, 10_000)
    arrival = np.cumsum(gaps)
    waits = fifo_one_server(arrival, hold) - arrival
    np.testing.assert_allclose(waits, lindley_waits_s(gaps, hold), rtol=0, atol=1e-8)


def test_closed_form_mean_wait_is_mm1() -> None:
    """M/M/1 at ρ = 0.8: mean wait ρ/(μ − λ) = 4 s (Kleinrock vol. 1, eq. 3.26), within 5 %.

    400,000 jobs in 40 windows; the relative standard error of the mean wait at
    this size is about 1.5 % (batch means), so 5 % is over 3 of them.
    """
    rng = np.random.default_rng(11)
    n = 400_000
    arrival = np.cumsum(rng.exponential(1.0, n))
    hold = rng.exponential(0.8, n)
    queue = WindowedQueue(1)
    waits = []
    for part_a, part_h in zip(np.array_split(arrival, 40), np.array_split(hold, 40), strict=True):
        result = queue.window(part_a, part_h, until_s=float(part_a[-1]) + 1e-9)
        waits.append(result.start_s - part_a)
    mean_wait = float(np.concatenate(waits)[n // 50 :].mean())
    assert mean_wait == pytest.approx(mm1_wait_s(1.0, 1 / 0.8), rel=0.05)
