"""Tests of avzone.cloud.records and avzone.cloud.folded: a site's statistics from folded
records equal those from the full records.

Reference: the same Site with every job kept (the exact computation of
tests/test_cloud_site.py and tests/test_cloud_timeseries.py). Counts and integer
lengths must be equal; sums (utilisation, mean wait, queue integrals) to 1e-9
relative — the full records' own per-bin queue integral is a difference of
cumulative sums, exact to about 1e-12 of the run's total, hence a small absolute
tolerance there; the wait percentiles within the sketch's alpha.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from avzone.cloud import records as records_module
from avzone.cloud.folded import QueueFold
from avzone.cloud.records import JobRecords
from avzone.cloud.site import Site
from avzone.cloud.timeseries import time_weighted_quantiles
from avzone.cloud.windowed import fifo_servers
from avzone.stats import RELATIVE_ACCURACY

UNTIL_S = 2000.0
FROM_S = 50.0
TAG_NAMES = ["planning", "fusion", "planning", "analytics"]


def _jobs(n: int, servers: int, seed: int) -> dict[str, np.ndarray]:
    """A busy FIFO site's jobs, ending at UNTIL_S: a failure at 700 s loses the jobs then
    at the site; an overload from 1900 s leaves jobs waiting and in service at the end."""
    rng = np.random.default_rng(seed)
    rate = n / UNTIL_S
    arrival = np.sort(rng.uniform(0.0, UNTIL_S, n))
    hold = rng.exponential(servers * 0.95 / rate, n)
    hold[arrival > 1900.0] *= 3.0
    start, _free = fifo_servers(arrival, hold, np.full(servers, -math.inf))
    end = start + hold
    lost = (arrival <= 700.0) & (end > 700.0)
    start[lost] = np.minimum(start[lost], 700.0)
    end[lost] = 700.0
    start[start >= UNTIL_S] = math.inf
    end[end >= UNTIL_S] = math.inf
    tag = rng.choice(len(TAG_NAMES), n, p=[0.6, 0.3, 0.05, 0.05])
    return {"arrival": arrival, "start": start, "end": end, "lost": lost, "tag": tag}


def _site(exact_jobs: int | None, servers: int) -> Site:
    env = simpy.Environment(initial_time=UNTIL_S)
    return Site(env, "edge-1", "edge", servers, measure_from_s=FROM_S, exact_jobs=exact_jobs)


def _record(site: Site, jobs: dict[str, np.ndarray], chunk: int) -> None:
    n = jobs["arrival"].size
    for lo in range(0, n, chunk):
        part = slice(lo, lo + chunk)
        horizon = float(jobs["arrival"][lo + chunk]) if lo + chunk < n else None
        site.record_jobs(
            jobs["arrival"][part],
            jobs["start"][part],
            jobs["end"][part],
            jobs["lost"][part],
            jobs["tag"][part],
            TAG_NAMES,
            horizon_s=horizon,
        )
    rng = np.random.default_rng(5)
    site.record_refused("rejected", np.sort(rng.uniform(0.0, UNTIL_S, 3000)))
    site.record_refused("site_down", np.full(40, 700.0))


def _assert_same_statistics(folded: Site, exact: Site, until_s: float) -> None:
    got, want = folded.stats(until_s), exact.stats(until_s)
    for name in ("served", "max_queue", "queue_p50", "queue_p99", "rejected", "site_down"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.served_by_tag == want.served_by_tag
    assert list(got.served_by_tag) == list(want.served_by_tag)  # the summary's key order
    assert got.utilization == pytest.approx(want.utilization, rel=1e-9)
    assert got.mean_wait_s == pytest.approx(want.mean_wait_s, rel=1e-9)
    for name in ("p50_wait_s", "p99_wait_s"):
        assert abs(getattr(got, name) - getattr(want, name)) <= (
            RELATIVE_ACCURACY * 1.000001 * getattr(want, name)
        ), name
    got_ts, want_ts = folded.timeseries(until_s, 10.0), exact.timeseries(until_s, 10.0)
    np.testing.assert_array_equal(got_ts["t_s"], want_ts["t_s"])
    np.testing.assert_array_equal(got_ts["queue_max"], want_ts["queue_max"])
    np.testing.assert_allclose(got_ts["utilization"], want_ts["utilization"], rtol=1e-9, atol=1e-12)
    scale = float(want_ts["queue_mean"].mean())
    np.testing.assert_allclose(
        got_ts["queue_mean"], want_ts["queue_mean"], rtol=1e-9, atol=1e-9 * scale
    )


@pytest.mark.parametrize("chunk", [1_000_000, 37_000])
def test_folded_records_give_the_statistics_of_the_full_ones(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600,000 jobs on 4 servers, handed over at once or in chunks with their horizon,
    folded every 50,000 past 20,000: the same statistics as the full records."""
    monkeypatch.setattr(records_module, "_FOLD_JOBS", 50_000)
    jobs = _jobs(600_000, servers=4, seed=1)
    exact, folded = _site(None, 4), _site(20_000, 4)
    _record(exact, jobs, chunk)
    _record(folded, jobs, chunk)
    assert folded.folded
    assert not exact.folded
    assert np.isinf(jobs["start"]).sum() > 100  # jobs still waiting at the end
    stats = exact.stats(UNTIL_S)
    assert stats.max_queue > 100
    assert stats.site_down > 40
    assert stats.queue_p99 > stats.queue_p50
    _assert_same_statistics(folded, exact, UNTIL_S)
    kept = len(folded._records.arrival_s)
    assert kept < 20_000  # only the unfinished jobs and the last fold's are kept


def test_tags_are_registered_in_order_of_first_appearance() -> None:
    site = _site(None, 1)
    arrival = np.array([1.0, 2.0, 3.0, 4.0])
    site.record_jobs(
        arrival, arrival, arrival + 0.5, np.zeros(4, bool), np.array([1, 3, 1, 0]), TAG_NAMES
    )
    assert list(site.stats(UNTIL_S).served_by_tag) == ["fusion", "analytics", "planning"]


def _jobs_process(
    env: simpy.Environment, sites: list[Site], n: int, log: list[list[tuple[int, float]]]
) -> Generator[simpy.Event, object, None]:
    rng = np.random.default_rng(2)
    for k in range(n):
        yield env.timeout(float(rng.exponential(0.01)))
        work_s, priority = float(rng.exponential(0.028)), int(rng.random() < 0.2)
        for site, mine in zip(sites, log, strict=True):
            site.submit(
                work_s,
                priority,
                on_done=lambda wait_s, mine=mine, k=k: mine.append((k, wait_s)),
                tag="urgent" if priority else "bulk",
            )


def _outage(env: simpy.Environment, sites: list[Site]) -> Generator[simpy.Event, object, None]:
    yield env.timeout(300.0)
    for site in sites:
        site.fail()
    yield env.timeout(20.0)
    for site in sites:
        site.repair()


def test_event_site_folds_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs submitted one by one (priorities, a queue limit, an outage) to two identical
    sites, one folding every 3,000 jobs past 2,000: every job's wait is the same, and so
    are the statistics, at the end and in a window ending earlier."""
    monkeypatch.setattr(records_module, "_FOLD_JOBS", 3_000)
    env = simpy.Environment()
    sites = [
        Site(env, name, "edge", 3, measure_from_s=30.0, queue_limit=40, exact_jobs=jobs)
        for name, jobs in (("exact", None), ("folded", 2_000))
    ]
    log: list[list[tuple[int, float]]] = [[], []]
    env.process(_jobs_process(env, sites, 60_000, log))
    env.process(_outage(env, sites))
    env.run(until=601.5)
    exact, folded = sites
    assert folded.folded
    assert log[0] == log[1]
    assert len(log[0]) > 50_000
    stats = exact.stats(601.5)
    assert stats.rejected > 0
    assert stats.site_down > 0
    assert stats.max_queue == 40
    _assert_same_statistics(folded, exact, 601.5)
    records = folded._records.folded
    assert records is not None
    earliest = max(records.until_min_s, records.queue.known_s)
    _assert_same_statistics(folded, exact, (earliest + 601.5) / 2)


def test_folded_records_refuse_what_they_no_longer_know() -> None:
    jobs = _jobs(5_000, servers=2, seed=3)
    site = _site(1_000, 2)
    _record(site, jobs, 10_000)
    with pytest.raises(ValueError, match=r"folded up to .* got 1500.0"):
        site.stats(1500.0)
    with pytest.raises(ValueError, match=r"measure_from_s is fixed at 50\.0"):
        site.measure_from_s = 60.0
    site.measure_from_s = 50.0  # unchanged: fine
    with pytest.raises(ValueError, match=r"folded in bins of 10\.0 s; got bin_s=5\.0"):
        site.timeseries(UNTIL_S, 5.0)
    with pytest.raises(ValueError, match="waits of 5000 jobs are folded"):
        site.waits_s(UNTIL_S)
    with pytest.raises(ValueError, match="records of 5000 jobs are folded"):
        site.job_times_s()
    early = np.array([10.0])
    with pytest.raises(ValueError, match=r"arriving at 10\.0 s, before the horizon 2000\.0 s"):
        site.record_jobs(early, early, early, np.zeros(1, bool), np.zeros(1, int), TAG_NAMES)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"tag": np.array([4])}, "index the 4 tag names, got 4 to 4"),
        ({"end_s": np.array([1.0, 2.0])}, "unequal lengths: arrival 1, start 1, end 2"),
        ({"horizon_s": math.inf}, "horizon_s must be finite, got inf"),
    ],
)
def test_record_jobs_checks_its_input(kwargs: dict[str, object], text: str) -> None:
    one = np.array([1.0])
    call: dict[str, object] = {
        "arrival_s": one,
        "start_s": one,
        "end_s": one,
        "lost": np.zeros(1, bool),
        "tag": np.zeros(1, int),
        "tag_names": TAG_NAMES,
    }
    with pytest.raises(ValueError, match=text):
        _site(None, 1).record_jobs(**(call | kwargs))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 6)), min_size=1, max_size=60),
    st.integers(1, 3),
    st.sampled_from([0.0, 3.0, 10.0, 12.5]),
    st.lists(st.integers(1, 59), max_size=4),
    st.data(),
)
def test_folding_at_any_horizons_on_tied_times(
    arrivals_holds: list[tuple[int, int]],
    servers: int,
    from_s: float,
    horizons: list[int],
    data: st.DataObject,
) -> None:
    """Integer times (instants shared by several jobs, on bin edges, at the window's start;
    a queue that builds up to 30 s and drains), folded at random horizons: the same
    statistics as the full records."""
    arrival = np.sort([float(a) for a, _ in arrivals_holds])
    hold = np.array([h for _, h in arrivals_holds], dtype=float)
    start, _free = fifo_servers(arrival, hold, np.full(servers, -math.inf))
    end = start + hold
    until_s = 60.0
    start[start >= until_s], end[end >= until_s] = math.inf, math.inf
    lost = np.array(
        data.draw(st.lists(st.booleans(), min_size=arrival.size, max_size=arrival.size))
    )
    lost &= np.isfinite(end)
    tag = np.zeros(arrival.size, dtype=int)
    exact = JobRecords("x", servers, from_s)
    folded = JobRecords("x", servers, from_s, exact_jobs=0)
    cuts = sorted({int(np.searchsorted(arrival, h)) for h in horizons} | {arrival.size})
    lo = 0
    for hi in cuts:
        for records in (exact, folded):
            horizon = float(arrival[hi]) if hi < arrival.size else until_s
            records.extend(
                arrival[lo:hi], start[lo:hi], end[lo:hi], lost[lo:hi], tag[lo:hi], ["a"], horizon
            )
        lo = hi
    got, want = folded.stats(until_s), exact.stats(until_s)
    assert (got.served, got.max_queue, got.queue_p50, got.queue_p99, got.site_down) == (
        want.served,
        want.max_queue,
        want.queue_p50,
        want.queue_p99,
        want.site_down,
    )
    assert got.utilization == pytest.approx(want.utilization, rel=1e-12)
    got_ts, want_ts = folded.timeseries(until_s, 10.0), exact.timeseries(until_s, 10.0)
    np.testing.assert_array_equal(got_ts["queue_max"], want_ts["queue_max"])
    np.testing.assert_allclose(got_ts["queue_mean"], want_ts["queue_mean"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        got_ts["utilization"], want_ts["utilization"], rtol=1e-12, atol=1e-12
    )


def test_queue_fold_by_hand() -> None:
    """The queue: 3 from 5 s, 1 from 15 s, 4 from 32 s, folded at 10, 20 and 40 s (no change
    at those). From 7 s: the length at the window's start (3) is the largest up to 32 s
    and 8 of the 13 s up to 20 s are at 3. From 0 s, in bins of 10 s: the bin from the
    horizon at 10 s carries 3 in."""

    def folded(from_s: float) -> QueueFold:
        queue = QueueFold(from_s, 10.0)
        queue.advance(np.array([5.0]), np.array([3]), 10.0)
        queue.advance(np.array([15.0]), np.array([1]), 20.0)
        return queue

    queue = folded(7.0)
    assert (queue.at_from, queue.max_in, queue.level) == (3, 1, 1)
    np.testing.assert_array_equal(queue.time_at[:4], [0.0, 5.0, 0.0, 8.0])
    qs = [0.0, 5 / 13, 5 / 13 + 0.01, 1.0]
    assert queue.quantiles(qs).tolist() == [1, 1, 3, 3]
    exact = time_weighted_quantiles(np.array([5.0, 15.0]), np.array([3, 1]), 7.0, 20.0, qs)
    assert exact.tolist() == [1, 1, 3, 3]
    queue = folded(0.0)
    queue.advance(np.array([32.0]), np.array([4]), 40.0)
    assert queue.top[:4].tolist() == [3, 3, 1, 4]
    np.testing.assert_array_equal(queue.integral[:4], [15.0, 20.0, 10.0, 34.0])
