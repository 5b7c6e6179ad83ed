"""Tests of avzone.stats.series: exact (bit for bit the old arrays) below the threshold,
bounded past it with exact counts, and the summary statistics built on it."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pytest

from avzone.metrics.collect import FlowRecorder
from avzone.metrics.summary import flow_summary, latency_stats_ms
from avzone.stats import Series
from avzone.stats import series as series_module

ALPHA = 0.0005


def _old_latency_stats_ms(latencies_s: array[float]) -> dict[str, float]:
    """summary.latency_stats_ms before Series (the reference for byte-identical output)."""
    ms = np.asarray(latencies_s, dtype=float) * 1000
    p50, p95, p99, p999 = np.percentile(ms, [50, 95, 99, 99.9])
    return {
        "mean": round(float(ms.mean()), 6),
        "p50": round(float(p50), 6),
        "p95": round(float(p95), 6),
        "p99": round(float(p99), 6),
        "p999": round(float(p999), 6),
        "max": round(float(ms.max()), 6),
    }


def _recorded(values: np.ndarray, series: Any, rng: np.random.Generator) -> None:
    """Record ``values`` in order, one at a time or in arrays of random sizes."""
    i = 0
    while i < values.size:
        if rng.random() < 0.3:
            series.append(float(values[i]))
            i += 1
        else:
            n = int(rng.integers(1, 5000))
            if isinstance(series, Series):
                series.extend(values[i : i + n])
            else:  # the old array('d'), extended as the batch evaluator did
                series.frombytes(values[i : i + n].tobytes())
            i += n


def test_exact_series_is_bit_for_bit_the_old_array() -> None:
    """Below the threshold the values are the old array('d')'s, and every statistic the
    summary takes of them (mean, percentiles, max, in ms) has the same bits."""
    rng = np.random.default_rng(1)
    values = rng.lognormal(np.log(0.02), 1.0, 200_000)
    values[rng.random(values.size) < 0.1] = 0.0
    old, new = array("d"), Series()
    _recorded(values, old, np.random.default_rng(2))
    _recorded(values, new, np.random.default_rng(2))
    assert new.exact
    assert len(new) == len(old)
    assert new.to_array().tobytes() == old.tobytes()
    assert np.asarray(new).tobytes() == old.tobytes()
    assert latency_stats_ms(new) == _old_latency_stats_ms(old)
    ms = np.asarray(old) * 1000
    assert new.quantiles([0.99], scale=1000)[0] == np.percentile(ms, 99)
    assert new.mean(scale=1000) == ms.mean()
    assert new.max(scale=1000) == ms.max()
    qs = np.array([k / 100 for k in range(101)])
    np.testing.assert_array_equal(new.quantiles(qs, scale=1000), np.quantile(ms, qs))


@pytest.mark.parametrize("seed", range(20))
def test_latency_stats_identical_on_small_and_tied_samples(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.exponential(0.01, int(rng.integers(1, 50))), int(rng.integers(2, 6)))
    assert latency_stats_ms(Series.of(values)) == _old_latency_stats_ms(array("d", values))


def test_past_the_threshold_memory_is_bounded_and_counts_exact() -> None:
    """1 M values through a series that keeps 10,000: count, min, max and the values above
    the deadline exact, the mean to 1e-12, quantiles within alpha, and the buffer small."""
    rng = np.random.default_rng(3)
    values = rng.lognormal(np.log(0.03), 0.8, 1_000_000)
    deadline_s = 0.05
    series = Series(above_s=deadline_s, exact_values=10_000)
    _recorded(values, series, rng)
    assert not series.exact
    assert len(series) == values.size
    assert series.above == int((values > deadline_s).sum())
    assert series.min() == values.min()
    assert series.max(scale=1000) == values.max() * 1000
    assert series.mean() == pytest.approx(values.mean(), rel=1e-12)
    assert series.sum() == pytest.approx(values.sum(), rel=1e-12)
    qs = np.array([0.0, 0.5, 0.95, 0.99, 0.999, 1.0])
    exact = np.quantile(values * 1000, qs)
    assert np.all(np.abs(series.quantiles(qs, scale=1000) - exact) <= ALPHA * 1.000001 * exact)
    assert len(series._values) <= 2**16  # what is left unfolded


def test_deadline_count_exact_with_values_at_the_deadline() -> None:
    """Strictly above: a value equal to the deadline is on time, folded or not."""
    series = Series(above_s=0.05, exact_values=3)
    for value in (0.05, 0.05000000000000001, 0.049, 0.05, 0.07):
        series.append(value)
    series.extend(np.array([0.05, 0.06, 0.04]))
    assert series.above == 3
    assert not series.exact


def test_flow_summary_past_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A folded recorder: sent, delivered, late and the miss ratio exact; percentiles within
    alpha; the breakdown means within rounding."""
    monkeypatch.setattr(series_module, "EXACT_VALUES", 5_000)
    rng = np.random.default_rng(4)
    n = 300_000
    record = FlowRecorder("control", 0.05)
    stages = {name: rng.exponential(0.005, n) for name in ("access_up_s", "wait_s", "service_s")}
    latency = sum(stages.values())
    for name, values in stages.items():
        getattr(record, name).extend(values)
    for name in ("backhaul_up_s", "backhaul_down_s", "access_down_s"):
        getattr(record, name).extend(np.zeros(n))
    record.latencies_s.extend(latency)
    record.sent, record.radio = n + 10, 10
    block = flow_summary(record, 50.0)
    assert not record.latencies_s.exact
    late = int((latency > 0.05).sum())
    assert (block["delivered"], block["late"], block["failures"]["deadline_missed"]) == (
        n,
        late,
        late,
    )
    assert block["deadline_miss_ratio"] == round((late + 10) / (n + 10), 6)
    ms = latency * 1000
    for key, q in (("p50", 50), ("p99", 99), ("p999", 99.9)):
        assert block["latency_ms"][key] == pytest.approx(np.percentile(ms, q), rel=ALPHA)
    assert block["latency_ms"]["mean"] == pytest.approx(ms.mean(), abs=1e-6)
    assert block["latency_ms"]["max"] == round(float(ms.max()), 6)
    assert block["breakdown_ms"]["queue"]["mean"] == pytest.approx(
        stages["wait_s"].mean() * 1000, abs=1e-6
    )
    assert block["breakdown_ms"]["backhaul_up"] == {"mean": 0.0, "p99": 0.0}


def test_one_hop_flow_breakdown_without_building_zeros() -> None:
    record = FlowRecorder("bsm", 0.1)
    record.latencies_s.extend(np.array([0.002, 0.004]))
    block = flow_summary(record, 100.0)
    assert block["breakdown_ms"]["access_up"] == {"mean": 3.0, "p99": 3.98}
    assert block["breakdown_ms"]["queue"] == {"mean": 0.0, "p99": 0.0}


def test_folded_series_has_no_array() -> None:
    series = Series(exact_values=2)
    series.extend(np.arange(3.0))
    with pytest.raises(ValueError, match="3 values, folded into a sketch past 2"):
        series.to_array()
    with pytest.raises(ValueError, match="folded"):
        np.asarray(series)


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: Series().mean(), "empty series"),
        (lambda: Series.of([1.0]).quantiles([0.5], scale=-1.0), "scale must be .* got -1.0"),
        (lambda: Series(exact_values=-1), "exact_values must be an integer >= 0, got -1"),
        (lambda: Series(alpha=2.0), "got 2.0"),
    ],
)
def test_errors(call: object, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        call()  # type: ignore[operator]


def test_sketch_of_an_exact_series_merges_with_a_folded_one() -> None:
    a, b = Series.of(np.arange(1.0, 1001.0)), Series(exact_values=10)
    b.extend(np.arange(1001.0, 2001.0))
    merged = a.sketch()
    merged.merge(b.sketch())
    assert merged.count == 2000
    assert merged.quantiles([0.5])[0] == pytest.approx(1000.5, rel=ALPHA)


def test_large_arrays_fold_a_slice_at_a_time() -> None:
    """An array far past the threshold in one call (and another after it) goes into the
    sketch in slices: the same counts and extremes as value by value."""
    values = np.random.default_rng(6).exponential(0.01, 3_000_000)
    series = Series(above_s=0.02, exact_values=1_000)
    series.extend(values[:10])
    series.extend(values[10:2_500_000])
    series.extend(values[2_500_000:])
    assert (len(series), series.above) == (values.size, int((values > 0.02).sum()))
    assert (series.min(), series.max()) == (values.min(), values.max())
    assert series.quantiles([0.5])[0] == pytest.approx(np.median(values), rel=ALPHA)
    assert len(series._values) == 0
