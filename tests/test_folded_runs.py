"""A whole run past the thresholds of the bounded statistics (docs/outputs.md).

The same small scenario runs twice, with the thresholds as shipped (every value kept)
and lowered so that every flow's series and the site's records fold many times. The
two summaries must agree: every count, maximum and queue length identically; the
percentiles within the sketch's accuracy (plus the summary's rounding to 6 decimals);
the means and utilisations to the rounding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import avzone
from avzone.cloud import records
from avzone.stats import RELATIVE_ACCURACY
from avzone.stats import series as series_module

ROUNDING = 1.5e-6  # summary.json keeps 6 decimals
APPROXIMATE = {"p50", "p95", "p99", "p999", "p50_wait_ms", "p99_wait_ms"}
ROUNDED = {"mean", "mean_wait_ms", "utilization", "delivery_ratio", "deadline_miss_ratio"}


def _compare(folded: Any, exact: Any, path: str, seen: set[str]) -> None:
    if isinstance(exact, dict):
        assert list(folded) == list(exact), path
        for key in exact:
            _compare(folded[key], exact[key], f"{path}.{key}", seen)
        return
    if isinstance(exact, list):
        assert len(folded) == len(exact), path
        for i, (a, b) in enumerate(zip(folded, exact, strict=True)):
            _compare(a, b, f"{path}[{i}]", seen)
        return
    key = path.rsplit(".", 1)[-1]
    if isinstance(exact, float) and key in APPROXIMATE:
        seen.add(key)
        assert abs(folded - exact) <= RELATIVE_ACCURACY * abs(exact) + ROUNDING, path
    elif isinstance(exact, float) and key in ROUNDED:
        assert abs(folded - exact) <= ROUNDING, path
    else:
        assert folded == exact, path


@pytest.mark.parametrize("engine", ["batch", "event"])
def test_summary_past_the_thresholds(
    engine: str, grid_variant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path: Path = grid_variant(
        {"cloud.services.planning.time": {"dist": "lognormal", "mean_ms": 30, "cv": 1.0}}
    )
    exact = avzone.run(path, overrides={"engine": engine})
    monkeypatch.setattr(series_module, "EXACT_VALUES", 300)
    monkeypatch.setattr(series_module, "_CHUNK", 128)
    monkeypatch.setattr(records, "EXACT_JOBS", 200)
    monkeypatch.setattr(records, "_FOLD_JOBS", 150)
    folded = avzone.run(path, overrides={"engine": engine})
    assert folded.summary["flows"]["control"]["delivered"] > 2000
    assert folded.summary["cloud"]["edge"]["max_queue"] > 2  # the site queued
    seen: set[str] = set()
    _compare(folded.summary, exact.summary, "summary", seen)
    assert seen == APPROXIMATE
    # site_timeseries.csv: counts exact, means to the rounding; quantiles.csv within alpha
    for a, b in zip(folded.site_timeseries, exact.site_timeseries, strict=True):
        assert (a["site"], a["t_s"], a["queue_max"]) == (b["site"], b["t_s"], b["queue_max"])
        assert abs(a["utilization"] - b["utilization"]) <= ROUNDING
        assert abs(a["queue_mean"] - b["queue_mean"]) <= ROUNDING
    for a, b in zip(folded.quantiles, exact.quantiles, strict=True):
        assert (a["kind"], a["name"], a["q"]) == (b["kind"], b["name"], b["q"])
        assert abs(a["value"] - b["value"]) <= RELATIVE_ACCURACY * abs(b["value"]) + ROUNDING
