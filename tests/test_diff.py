"""``avzone diff`` (avzone/diff.py): the CI regression gate between two runs or two sweeps.

Validated against hand-computed cases: the tolerance rule |b − a| > abs + rel·|a| (numpy
``isclose`` with the baseline as reference) at values just inside and just outside it, and the
95 % confidence-interval rule on hand-written sweep tables; plus real runs whose PC5 loss goes
from 0 to 30 % (delivery must be flagged as a regression, and the reverse as an improvement).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from avzone.cli import main
from avzone.diff import compare, direction


@pytest.fixture
def two_runs(
    grid_variant: Callable[[dict[str, Any], str], Path], tmp_path: Path
) -> tuple[Path, Path]:
    """The grid scenario without PC5 loss (baseline) and with 30 % PC5 loss, run once each."""
    base = grid_variant({"road.rsu.pc5": {"loss": 0}}, "base.yaml")
    lossy = grid_variant({"road.rsu.pc5": {"loss": 0.3}}, "lossy.yaml")
    assert main(["run", str(base), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["run", str(lossy), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    return tmp_path / "a", tmp_path / "b"


def test_a_run_against_itself_has_no_change(
    two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = two_runs
    assert main(["diff", str(a), str(a)]) == 0
    out = capsys.readouterr().out
    assert "0 regressed, 0 improved, 0 changed, 0 added" in out
    assert compare(a, a).changes == []


def test_more_radio_loss_is_a_regression_and_less_an_improvement(
    two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_runs
    assert main(["diff", str(a), str(b), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    by_metric = {c["metric"]: c for c in data["changes"]}
    assert by_metric["flows.bsm.delivery_ratio"]["status"] == "regressed"
    assert by_metric["flows.bsm.failures.radio"]["status"] == "regressed"
    assert by_metric["flows.bsm.failures.radio"]["a"] == 0
    assert data["regressed"] is True
    # control (over Uu) does not see PC5 loss: same seed, same draws up to the first PC5 loss
    assert "flows.control.sent" not in by_metric
    assert main(["diff", str(b), str(a)]) == 0
    text = capsys.readouterr().out
    assert "IMPROVED   flows.bsm.delivery_ratio:" in text
    # a glob keeps only the metrics asked for
    only = compare(a, b, metrics=["flows.control.*"])
    assert all(c.metric.startswith("flows.control.") for c in only.changes)


def _edit_summary(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    shutil.copytree(src, dst)
    summary = json.loads((dst / "summary.json").read_text())
    edit(summary)
    (dst / "summary.json").write_text(json.dumps(summary))
    return dst


def test_tolerances_by_hand(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    """Baseline p99 set to 10 ms, candidate 10.4 ms: |Δ| = 0.4 > 0 + 0.03·10 = 0.3 (flagged),
    but not > 0 + 0.05·10 = 0.5, nor > 0.5 + 0 (within)."""
    a, _ = two_runs

    def p99(value: float) -> Callable[[dict[str, Any]], None]:
        return lambda s: s["flows"]["control"]["latency_ms"].__setitem__("p99", value)

    base = _edit_summary(a, tmp_path / "base", p99(10.0))
    cand = _edit_summary(a, tmp_path / "cand", p99(10.4))
    metric = ["flows.control.latency_ms.p99"]
    flagged = compare(base, cand, rel_tol=0.03, metrics=metric)
    assert [(c.metric, c.a, c.b, c.status) for c in flagged.changes] == [
        ("flows.control.latency_ms.p99", 10.0, 10.4, "regressed")
    ]
    assert flagged.compared == 1
    assert compare(base, cand, rel_tol=0.05, metrics=metric).changes == []
    assert compare(base, cand, abs_tol=0.5, metrics=metric).changes == []
    assert not compare(cand, base, rel_tol=0.03).regressed  # 10.4 → 10: better


def test_a_metric_gone_or_no_longer_measured_is_a_regression(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_runs
    cand = _edit_summary(
        a, tmp_path / "cand", lambda s: s["flows"]["control"]["latency_ms"].__setitem__("p99", None)
    )
    result = compare(a, cand)
    assert [(c.metric, c.status) for c in result.changes] == [
        ("flows.control.latency_ms.p99", "missing")
    ]
    assert result.regressed
    failing = _edit_summary(
        a, tmp_path / "failing", lambda s: s["checks"][0].__setitem__("passed", False)
    )
    (change,) = compare(a, failing).changes
    assert change.metric == "checks[vehicles.arrived == 5].passed"
    assert change.status == "regressed"


SWEEP_HEADER = "car.fleet.count,metric,n,mean,std,ci95_low,ci95_high\n"


def _sweep(folder: Path, n: int, mean: float) -> Path:
    """A hand-written sweep folder: one point (count 2), one metric with CI [9, 11]."""
    folder.mkdir()
    (folder / "runs.csv").write_text("run_id,car.fleet.count,replication,seed\nx,2,0,1\n")
    (folder / "summary.csv").write_text(
        SWEEP_HEADER + f"2,flows.control.latency_ms.p99,{n},{mean},1.0,9.0,11.0\n"
    )
    return folder


def test_sweeps_with_replications_use_the_baseline_confidence_interval(tmp_path: Path) -> None:
    """Baseline mean 10 with 95 % CI [9, 11] (n = 5): a candidate mean of 10.8 lies inside the CI
    (no change), 11.5 outside (regressed); without replications (n = 1) 10.8 is a change."""
    base = _sweep(tmp_path / "base", 5, 10.0)
    inside = _sweep(tmp_path / "inside", 5, 10.8)
    outside = _sweep(tmp_path / "outside", 5, 11.5)
    assert compare(base, inside).changes == []
    (change,) = compare(base, outside).changes
    assert (change.point, change.status, change.a, change.b) == (
        "car.fleet.count=2",
        "regressed",
        10.0,
        11.5,
    )
    single = _sweep(tmp_path / "single", 1, 10.0)
    single_b = _sweep(tmp_path / "single_b", 1, 10.8)
    assert compare(single, single_b).regressed
    assert main(["diff", str(base), str(outside)]) == 1
    assert main(["diff", str(base), str(inside)]) == 0


def test_bad_input_is_exit_2(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = two_runs
    sweep = _sweep(tmp_path / "sweep", 1, 10.0)
    for argv in (
        ["diff", str(a), str(sweep)],
        ["diff", str(a), str(tmp_path / "nothing")],
        ["diff", str(a), str(a), "--abs", "-1"],
        ["diff", str(a), str(a), "--rel", "nan"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("avzone: error: ")
        assert err.count("\n") == 1


def test_directions() -> None:
    assert direction("flows.control.failures.site_down") == "lower"
    assert direction("hdmap.staleness_s.p95") == "lower"
    assert direction("flows.bsm.delivery_ratio") == "higher"
    assert direction("cloud.regional.utilization") == ""
