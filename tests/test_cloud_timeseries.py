"""Tests of avzone.cloud.timeseries: hand-computed cases and invariants against brute force."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from avzone.cloud.site import Site
from avzone.cloud.timeseries import (
    busy_in_bins,
    queue_in_bins,
    queue_length_steps,
    site_timeseries,
    time_weighted_quantiles,
)

INF = math.inf

# One server; jobs (arrive, start, end) = (0, 0, 2), (0.5, 2, 3), (1, 3, 5).
ARRIVAL_S = np.array([0.0, 0.5, 1.0])
START_S = np.array([0.0, 2.0, 3.0])
END_S = np.array([2.0, 3.0, 5.0])
SECONDS = np.arange(6.0)  # 1 s bins over [0, 5]


# -- hand-computed cases -----------------------------------------------------------


def test_hand_case_busy_time() -> None:
    """The server is busy without a break over [0, 5]: 1 server-second in every 1 s bin."""
    np.testing.assert_array_equal(busy_in_bins(START_S, END_S, SECONDS), [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(
        busy_in_bins(START_S, END_S, np.array([-1.0, 2.5, 6.0])), [2.5, 2.5]
    )


def test_hand_case_queue_steps() -> None:
    """The queue goes 0 → 1 at 0.5, 2 at 1, 1 at 2, 0 at 3; the first job never waits."""
    times_s, length = queue_length_steps(ARRIVAL_S, START_S)
    np.testing.assert_array_equal(times_s, [0.5, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(length, [1, 2, 1, 0])
    assert length.dtype == np.int64


def test_hand_case_queue_in_bins() -> None:
    """Per 1 s bin: mean (0·0.5 + 1·0.5, 2, 1, 0, 0) and max (1, 2, 1, 0, 0)."""
    mean, top = queue_in_bins(*queue_length_steps(ARRIVAL_S, START_S), SECONDS)
    np.testing.assert_array_equal(mean, [0.5, 2.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(top, [1, 2, 1, 0, 0])


def test_hand_case_time_weighted_quantiles() -> None:
    """Over [0, 5] the queue holds 0 for 2.5 s, 1 for 1.5 s, 2 for 1 s: distribution
    function 0.5, 0.8, 1, so the median is 0 (the lower one, at exactly 0.5), the 60th to
    80th percentiles 1 and anything above 2.
    """
    steps = queue_length_steps(ARRIVAL_S, START_S)
    qs = [0.0, 0.25, 0.5, 0.6, 0.8, 0.81, 0.99, 1.0]
    np.testing.assert_array_equal(
        time_weighted_quantiles(*steps, 0.0, 5.0, qs), [0, 0, 0, 1, 1, 2, 2, 2]
    )
    # [1, 3]: 2 for 1 s then 1 for 1 s; q = 0 is the shortest length held, here 1.
    np.testing.assert_array_equal(
        time_weighted_quantiles(*steps, 1.0, 3.0, [0, 0.5, 0.51, 1]), [1, 1, 2, 2]
    )
    # A window inside one step, and one after the last.
    np.testing.assert_array_equal(time_weighted_quantiles(*steps, 1.2, 1.7, [0, 1]), [2, 2])
    np.testing.assert_array_equal(time_weighted_quantiles(*steps, 4.0, 9.0, [0.5]), [0])
    assert time_weighted_quantiles(*steps, 0.0, 5.0, 0.5).shape == ()


def test_hand_case_site_timeseries() -> None:
    """1 s bins over [0, 4.5]: the last bin, [4, 4.5), is half a second long."""
    ts = site_timeseries(ARRIVAL_S, START_S, END_S, 1, 0.0, 4.5, 1.0)
    assert list(ts) == ["t_s", "utilization", "queue_mean", "queue_max"]
    np.testing.assert_array_equal(ts["t_s"], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(ts["utilization"], [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(ts["queue_mean"], [0.5, 2, 1, 0, 0])
    np.testing.assert_array_equal(ts["queue_max"], [1, 2, 1, 0, 0])


def test_site_timeseries_bins_a_whole_window_without_a_sliver() -> None:
    """0.1 s bins over [0, 0.3]: three bins although 0.3 / 0.1 is 2.9999999999999996."""
    ts = site_timeseries(ARRIVAL_S, START_S, END_S, 2, 0.0, 0.3, 0.1)
    assert ts["t_s"].size == 3
    np.testing.assert_allclose(ts["utilization"], [0.5, 0.5, 0.5], rtol=1e-12)


def test_job_spanning_several_bins() -> None:
    """Service [0.5, 3.25) over 1 s bins: a partial first bin, two whole ones, a partial last."""
    np.testing.assert_array_equal(
        busy_in_bins(np.array([0.5]), np.array([3.25]), np.arange(5.0)), [0.5, 1, 1, 0.25]
    )
    # Uneven bins, and two overlapping jobs on two servers.
    edges_s = np.array([0.0, 0.25, 2.0, 2.5, 10.0])
    np.testing.assert_array_equal(
        busy_in_bins(np.array([0.0, 1.0]), np.array([3.0, 2.25]), edges_s), [0.25, 2.75, 0.75, 0.5]
    )


def test_jobs_not_finished_or_not_started() -> None:
    """A job in service (end inf) is busy up to the last edge; one still waiting (start inf)
    adds no busy time and stays in the queue until the end.
    """
    arrival_s = np.array([0.0, 0.5, 1.5])
    start_s = np.array([0.0, 1.0, INF])
    end_s = np.array([1.0, INF, INF])
    np.testing.assert_array_equal(
        busy_in_bins(start_s, end_s, np.array([0.0, 2.0, 4.0])), [2.0, 2.0]
    )
    times_s, length = queue_length_steps(arrival_s, start_s)
    np.testing.assert_array_equal(times_s, [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(length, [1, 0, 1])
    ts = site_timeseries(arrival_s, start_s, end_s, 1, 0.0, 3.0, 1.0)
    np.testing.assert_array_equal(ts["utilization"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ts["queue_mean"], [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(ts["queue_max"], [1, 1, 1])


def test_jobs_before_the_window_are_clipped() -> None:
    """Busy time before the first edge and after the last does not count; the queue length
    carried into a bin counts for its maximum.
    """
    np.testing.assert_array_equal(
        busy_in_bins(np.array([0.0]), np.array([10.0]), np.array([4.0, 6.0])), [2.0]
    )
    mean, top = queue_in_bins(np.array([1.0, 8.0]), np.array([3, 0]), np.array([4.0, 5.0, 9.0]))
    np.testing.assert_array_equal(mean, [3.0, 2.25])
    np.testing.assert_array_equal(top, [3, 3])


def test_changes_at_one_instant_are_applied_together() -> None:
    """A job served on arrival never waits; a job leaving the queue as another joins it leaves
    the length unchanged (no step); a change at a bin's right edge belongs to the next bin.
    """
    arrival_s = np.array([0.0, 0.0, 1.0, 2.0])
    start_s = np.array([0.0, 1.0, 2.0, 3.0])
    times_s, length = queue_length_steps(arrival_s, start_s)
    np.testing.assert_array_equal(times_s, [0.0, 3.0])  # joins at 1 and 2 balance the leaves
    np.testing.assert_array_equal(length, [1, 0])
    mean, top = queue_in_bins(times_s, length, np.array([-1.0, 0.0, 3.0, 4.0]))
    np.testing.assert_array_equal(mean, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(top, [0, 1, 0])


def test_empty_records() -> None:
    """No jobs: no busy time, no steps, an empty queue."""
    empty = np.array([])
    np.testing.assert_array_equal(busy_in_bins(empty, empty, SECONDS), np.zeros(5))
    times_s, length = queue_length_steps(empty, empty)
    assert times_s.size == length.size == 0
    mean, top = queue_in_bins(times_s, length, SECONDS)
    np.testing.assert_array_equal(mean, np.zeros(5))
    np.testing.assert_array_equal(top, np.zeros(5))
    np.testing.assert_array_equal(
        time_weighted_quantiles(times_s, length, 0.0, 1.0, [0, 1]), [0, 0]
    )


def test_site_records_give_site_stats() -> None:
    """On a Site's own records the time series agrees with Site.stats: mean utilisation over
    equal bins is the window's utilisation and the largest queue_max is max_queue.
    """
    rng = np.random.default_rng(3)
    env = simpy.Environment()
    site = Site(env, "edge-1", "edge", servers=2, measure_from_s=5.0)

    def arrivals() -> Generator[simpy.Event, object, None]:
        for gap_s, work_s in zip(rng.exponential(0.6, 400), rng.exponential(1.0, 400), strict=True):
            yield env.timeout(float(gap_s))
            site.submit(float(work_s))

    env.process(arrivals())
    env.run(until=205.0)
    stats = site.stats(205.0)
    arrival_s, start_s, end_s = site.job_times_s()
    ts = site_timeseries(arrival_s, start_s, end_s, 2, 5.0, 205.0, 10.0)
    assert ts["utilization"].mean() == pytest.approx(stats.utilization, rel=1e-12)
    assert int(ts["queue_max"].max()) == stats.max_queue
    assert np.isinf(end_s).any()  # some jobs are still in service or waiting


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (
            lambda: busy_in_bins(np.array([0.0]), np.array([1.0]), np.array([0.0])),
            "edges_s must be",
        ),
        (
            lambda: busy_in_bins(np.array([0.0]), np.array([1.0]), np.array([0.0, 2.0, 1.0])),
            "2.0 then 1.0",
        ),
        (lambda: busy_in_bins(np.array([0.0]), np.array([1.0]), np.array([0.0, INF])), "inf"),
        (lambda: busy_in_bins(np.array([2.0]), np.array([1.0]), SECONDS), "job 0 ends before"),
        (lambda: busy_in_bins(np.array([0.0, 1.0]), np.array([1.0]), SECONDS), "got 2 and 1"),
        (lambda: queue_length_steps(np.array([1.0]), np.array([0.5])), "job 0 starts before"),
        (lambda: queue_length_steps(np.array([math.nan]), np.array([0.5])), "NaN"),
        (
            lambda: queue_in_bins(np.array([1.0, 0.0]), np.array([1, 0]), SECONDS),
            "strictly increasing",
        ),
        (lambda: queue_in_bins(np.array([1.0]), np.array([0.5]), SECONDS), "integers >= 0"),
        (
            lambda: time_weighted_quantiles(np.array([1.0]), np.array([1]), 2.0, 1.0, 0.5),
            "until_s=1.0",
        ),
        (lambda: time_weighted_quantiles(np.array([1.0]), np.array([1]), 0.0, 1.0, 1.5), "got 1.5"),
        (lambda: site_timeseries(ARRIVAL_S, START_S, END_S, 0, 0.0, 5.0, 1.0), "servers"),
        (lambda: site_timeseries(ARRIVAL_S, START_S, END_S, 1, 0.0, 5.0, 0.0), "bin_s"),
    ],
)
def test_bad_input_raises_value_error(call: Callable[[], object], text: str) -> None:
    """Malformed arrays and windows raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=re.escape(text)):
        call()


# -- invariants against brute force ----------------------------------------------------

_time = st.floats(0.0, 50.0, allow_nan=False, allow_subnormal=False)
_job = st.tuples(_time, _time, _time, st.sampled_from(["done", "in service", "waiting"]))


def _records(jobs: list[tuple[float, float, float, str]]) -> tuple[np.ndarray, ...]:
    """Arrival, start and end arrays from (arrival, wait, service, state) draws."""
    arrival_s = np.array([a for a, _, _, _ in jobs])
    start_s = np.array([a + w if state != "waiting" else INF for a, w, _, state in jobs])
    end_s = np.array(
        [
            s + x if state == "done" else INF
            for s, (_, _, x, state) in zip(start_s, jobs, strict=True)
        ]
    )
    return arrival_s, start_s, end_s


def _edges(cuts: list[float]) -> np.ndarray:
    return np.unique(np.array(cuts))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_job, max_size=30), st.lists(_time, min_size=2, max_size=12, unique=True))
def test_busy_matches_brute_force(
    jobs: list[tuple[float, float, float, str]], cuts: list[float]
) -> None:
    """Per bin, busy time equals the sum of each job's service clipped to the bin; in total,
    the sum of each job's service clipped to [first edge, last edge].
    """
    _, start_s, end_s = _records(jobs)
    edges_s = _edges(cuts)
    busy = busy_in_bins(start_s, end_s, edges_s)
    lo, hi = edges_s[:-1, None], edges_s[1:, None]
    per_job = np.clip(np.minimum(end_s, hi) - np.maximum(start_s, lo), 0.0, None)
    np.testing.assert_allclose(busy, per_job.sum(axis=1), rtol=1e-9, atol=1e-9)
    total_s = np.clip(
        np.minimum(end_s, edges_s[-1]) - np.maximum(start_s, edges_s[0]), 0, None
    ).sum()
    assert busy.sum() == pytest.approx(total_s, rel=1e-9, abs=1e-9)


def _length_at(arrival_s: np.ndarray, start_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Jobs waiting at each time, after the changes of that instant."""
    joined = (arrival_s[None, :] <= t_s[:, None]).sum(axis=1)
    left = (start_s[None, :] <= t_s[:, None]).sum(axis=1)
    return joined - left


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_job, max_size=30), st.lists(_time, min_size=2, max_size=12, unique=True))
def test_queue_matches_brute_force(
    jobs: list[tuple[float, float, float, str]], cuts: list[float]
) -> None:
    """The step function is the count of jobs arrived but not started, at every step and
    between steps; per bin, queue_mean × bin length sums to the integral of the step function
    over the bins and queue_max is the largest length taken in the bin.
    """
    arrival_s, start_s, _ = _records(jobs)
    edges_s = _edges(cuts)
    times_s, length = queue_length_steps(arrival_s, start_s)
    assert (np.diff(times_s) > 0).all()
    assert (np.diff(length, prepend=0) != 0).all()
    probe_s = np.concatenate((times_s, (times_s[1:] + times_s[:-1]) / 2, [-1.0, 1e3]))
    np.testing.assert_array_equal(
        _length_at(arrival_s, start_s, probe_s), _length_at_steps(times_s, length, probe_s)
    )
    mean, top = queue_in_bins(times_s, length, edges_s)
    # The integral over [first edge, last edge], piece by piece between all breakpoints.
    cut_s = np.unique(
        np.concatenate((edges_s, times_s[(times_s > edges_s[0]) & (times_s < edges_s[-1])]))
    )
    integral = (_length_at_steps(times_s, length, cut_s[:-1]) * np.diff(cut_s)).sum()
    assert (mean * np.diff(edges_s)).sum() == pytest.approx(integral, rel=1e-9, abs=1e-9)
    for i in range(edges_s.size - 1):
        in_bin = cut_s[(cut_s >= edges_s[i]) & (cut_s < edges_s[i + 1])]
        assert top[i] == _length_at_steps(times_s, length, in_bin).max()


def _length_at_steps(times_s: np.ndarray, length: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    j = np.searchsorted(times_s, t_s, side="right") - 1
    return np.where(j >= 0, np.append(length, 0)[j], 0)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 6), st.booleans()), max_size=25),
    st.integers(0, 10),
    st.integers(1, 20),
    st.lists(st.tuples(st.integers(0, 19), st.floats(0.01, 0.99)), max_size=5),
)
def test_quantiles_match_unit_samples(
    jobs: list[tuple[int, int, bool]],
    from_s: int,
    span_s: int,
    fractions: list[tuple[int, float]],
) -> None:
    """With whole-second times the queue is constant on each second, so the time-weighted
    quantile is numpy's inverted-CDF quantile of the length in each second of the window.

    The probabilities avoid multiples of 1/span, where the two may round differently
    (the exact boundary is checked by hand in test_hand_case_time_weighted_quantiles).
    """
    arrival_s = np.array([a for a, _, _ in jobs], dtype=np.float64)
    start_s = np.array([a + w if started else INF for a, w, started in jobs], dtype=np.float64)
    times_s, length = queue_length_steps(arrival_s, start_s)
    seconds_s = np.arange(from_s, from_s + span_s, dtype=np.float64)
    per_second = _length_at_steps(times_s, length, seconds_s)
    qs = [0.0, 1.0, *((k % span_s + u) / span_s for k, u in fractions)]
    expected = np.quantile(per_second, qs, method="inverted_cdf")
    got = time_weighted_quantiles(times_s, length, float(from_s), float(from_s + span_s), qs)
    np.testing.assert_array_equal(got, expected)
