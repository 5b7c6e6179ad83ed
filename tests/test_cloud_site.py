"""Tests of avzone.cloud.site: exact event logs and hand-computed statistics."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator

import numpy as np
import pytest
import simpy

from avzone.cloud.site import Site, SiteStats

Log = list[tuple[str, str, float]]


def _job(
    env: simpy.Environment,
    site: Site,
    name: str,
    at_s: float,
    work_s: float,
    log: Log,
    priority: int = 0,
) -> Generator[simpy.Event, object, None]:
    """Arrive at ``at_s``, get served, and log the arrival, the start and the end of service."""
    yield env.timeout(at_s)
    log.append((name, "arrive", env.now))
    wait_s = yield from site.serve(work_s, priority)
    log.append((name, "done", env.now))
    log.append((name, "waited", wait_s))


def _three_at_once() -> tuple[simpy.Environment, Site, Log]:
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=1)
    log: Log = []
    for name in "abc":
        env.process(_job(env, site, name, 0.0, 1.0, log))
    return env, site, log


def test_three_jobs_at_once_on_one_server() -> None:
    """Arrivals at 0, 0, 0, one server, 1 s each: waits 0, 1, 2 and utilisation 1 over [0, 3]."""
    env, site, log = _three_at_once()
    env.run()
    assert log == [
        ("a", "arrive", 0.0), ("b", "arrive", 0.0), ("c", "arrive", 0.0),
        ("a", "done", 1.0), ("a", "waited", 0.0),
        ("b", "done", 2.0), ("b", "waited", 1.0),
        ("c", "done", 3.0), ("c", "waited", 2.0),
    ]  # fmt: skip
    assert site.stats(3.0) == SiteStats(
        served=3,
        utilization=1.0,
        mean_wait_s=1.0,
        p99_wait_s=1.98,
        max_queue=2,
        p50_wait_s=1.0,
        queue_p50=1,  # 2 waiting for 1 s, 1 for 1 s, none for 1 s
        queue_p99=2,
        served_by_tag={"": 3},
    )
    np.testing.assert_array_equal(site.waits_s(3.0), [0.0, 1.0, 2.0])


def test_stats_mid_service_count_partial_busy_time() -> None:
    """Stopped at 1.5 s, job b is half served: busy 1.5 server-seconds, one job served."""
    env, site, _ = _three_at_once()
    env.run(until=1.5)
    assert site.in_service == 1
    assert site.waiting == 1
    assert site.stats(1.5) == SiteStats(
        served=1,
        utilization=1.0,
        mean_wait_s=0.0,
        p99_wait_s=0.0,
        max_queue=2,
        p50_wait_s=0.0,
        queue_p50=2,  # 2 waiting for 1 s, then 1 for 0.5 s
        queue_p99=2,
        served_by_tag={"": 1},
    )


def test_partial_busy_time_with_idle_gaps() -> None:
    """Job of 2 s arriving at 0.5 s: busy 1 s of [0, 1.5], 0.5 s of [0, 1], 2 s of [0, 2.5]."""
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=2)
    env.process(_job(env, site, "a", 0.5, 2.0, []))
    env.run(until=1.5)
    stats = site.stats(1.5)
    assert stats.utilization == pytest.approx(1.0 / (2 * 1.5), rel=1e-12)
    assert stats.served == 0
    assert math.isnan(stats.mean_wait_s)
    assert math.isnan(stats.p99_wait_s)
    assert stats.max_queue == 0
    assert site.stats(1.0).utilization == pytest.approx(0.5 / 2, rel=1e-12)
    env.run()
    assert site.stats(2.5).utilization == pytest.approx(2.0 / (2 * 2.5), rel=1e-12)
    assert site.stats(2.5).served == 1


def test_warm_up_excludes_early_arrivals_but_not_busy_time() -> None:
    """measure_from_s = 1: only job d (arrived 1.5, waited 1.5) is counted; busy all of [1, 4]."""
    env, site, log = _three_at_once()
    site.measure_from_s = 1.0
    env.process(_job(env, site, "d", 1.5, 1.0, log))
    env.run()
    assert env.now == 4.0
    assert site.stats(4.0) == SiteStats(
        served=1,
        utilization=1.0,
        mean_wait_s=1.5,
        p99_wait_s=1.5,
        max_queue=2,
        p50_wait_s=1.5,
        queue_p50=1,  # over [1, 4]: 1 for 1.5 s, 2 for 0.5 s, none for 1 s
        queue_p99=2,
        served_by_tag={"": 1},
    )
    # Over [1, 1.75] the queue holds c, then c and d.
    assert site.stats(1.75).max_queue == 2
    assert site.stats(1.25).max_queue == 1


def test_speed_scales_the_hold() -> None:
    """A server of speed 4 does 1 s of work in 0.25 s."""
    env = simpy.Environment()
    site = Site(env, "central", "central", servers=1, speed=4.0)
    log: Log = []
    env.process(_job(env, site, "a", 0.0, 1.0, log))
    env.run()
    assert log == [("a", "arrive", 0.0), ("a", "done", 0.25), ("a", "waited", 0.0)]


def test_priority_overtakes_waiting_job_fifo_within_priority() -> None:
    """Non-preemptive priorities: c (priority 0, arrives 1.0) passes b (priority 1, arrives 0.5).

    a holds the server until 2; then c, then the two priority-1 jobs b and d in
    arrival order; nobody interrupts a.
    """
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=1)
    log: Log = []
    env.process(_job(env, site, "a", 0.0, 2.0, log, priority=1))
    env.process(_job(env, site, "b", 0.5, 1.0, log, priority=1))
    env.process(_job(env, site, "c", 1.0, 1.0, log, priority=0))
    env.process(_job(env, site, "d", 1.2, 1.0, log, priority=1))
    env.run()
    assert log == [
        ("a", "arrive", 0.0), ("b", "arrive", 0.5), ("c", "arrive", 1.0), ("d", "arrive", 1.2),
        ("a", "done", 2.0), ("a", "waited", 0.0),
        ("c", "done", 3.0), ("c", "waited", 1.0),
        ("b", "done", 4.0), ("b", "waited", 2.5),
        ("d", "done", 5.0), ("d", "waited", 2.8),
    ]  # fmt: skip
    assert site.stats(5.0).max_queue == 3


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (lambda env: Site(env, "x", "edge", servers=0), "servers must be an integer >= 1, got 0"),
        (lambda env: Site(env, "x", "edge", servers=2.0), "got 2.0"),  # type: ignore[arg-type]
        (lambda env: Site(env, "x", "edge", servers=1, speed=-1.0), "got -1.0"),
        (lambda env: Site(env, "x", "edge", servers=1).serve(-0.5), "got -0.5"),
        (lambda env: Site(env, "x", "edge", servers=1).stats(1.0), "until_s=1.0 is after"),
        (lambda env: Site(env, "x", "edge", servers=1).stats(0.0), "got 0.0"),
    ],
)
def test_bad_input_raises_value_error_naming_the_value(
    make: Callable[[simpy.Environment], object], text: str
) -> None:
    """Errors name the value and are raised at the call (serve: before the process starts)."""
    with pytest.raises(ValueError, match=re.escape(text)):
        make(simpy.Environment())


def test_queue_limit_rejects_arrivals_beyond_it() -> None:
    """One server, queue limit 1: of jobs arriving at 0, 0, 0 the third is rejected."""
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=1, queue_limit=1)
    log: list[tuple[str, object]] = []
    for name in "abc":
        site.submit(
            1.0,
            on_done=lambda w, n=name: log.append((n, w)),
            on_fail=lambda cause, n=name: log.append((n, cause)),
            tag="planning",
        )
    env.run()
    assert log == [("c", "rejected"), ("a", 0.0), ("b", 1.0)]
    stats = site.stats(2.0)
    assert (stats.served, stats.rejected, stats.site_down) == (2, 1, 0)
    assert stats.served_by_tag == {"planning": 2}


def test_outage_loses_queued_and_running_jobs_then_repair() -> None:
    """Jobs of 1 s at 0, 0, 0 on one server; down at 0.5 s, up at 2 s, a job at 3 s.

    a (in service) and b, c (waiting) are lost at 0.5 s; a job at 1 s is lost
    on arrival; the job at 3 s is served. Busy time: 0.5 s of a, 1 s of d.
    """
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=1)
    log: list[tuple[str, object, float]] = []

    def send(name: str, at_s: float) -> None:
        def go(_: object) -> None:
            site.submit(
                1.0,
                on_done=lambda w: log.append((name, w, env.now)),
                on_fail=lambda cause: log.append((name, cause, env.now)),
                tag="fusion",
            )

        env.timeout(at_s).callbacks.append(go)

    for name in "abc":
        send(name, 0.0)
    send("late", 1.0)
    send("d", 3.0)
    env.timeout(0.5).callbacks.append(lambda _: site.fail())
    env.timeout(2.0).callbacks.append(lambda _: site.repair())
    env.run()
    assert log == [
        ("a", "site_down", 0.5), ("b", "site_down", 0.5), ("c", "site_down", 0.5),
        ("late", "site_down", 1.0), ("d", 0.0, 4.0),
    ]  # fmt: skip
    stats = site.stats(4.0)
    assert (stats.served, stats.site_down, stats.rejected) == (1, 4, 0)
    assert stats.utilization == pytest.approx(1.5 / 4.0)
    assert site.in_service == 0
    assert site.waiting == 0
