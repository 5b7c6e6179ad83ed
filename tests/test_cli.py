"""The avzone command (avzone/cli.py): exit codes, one-line errors, what run and check write.

In-process ``main([...])`` where the exit code and printed text suffice;
subprocesses only to prove that bad input gives no traceback and writes nothing.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tinyzone import X0, Y0, grid_map

from avzone.cli import main

Variant = Callable[[dict[str, Any], str], Path]


def avzone_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m avzone.cli ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "avzone.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- bad input: exit 2, one line on stderr, no traceback, nothing written ---------------

MIDDLE_ZONE = {
    "zones": {
        "west": {"at_m": [0, 0], "radius_m": 100},
        "middle": {"at_m": [250, 250], "radius_m": 100},
    },
    "od": [{"from": "west", "to": "middle"}],
}

BAD_COMMANDS = [
    pytest.param(
        ["run", "{bad}", "--out", "{out}"],
        {"car.fleet.count": -5},
        "{bad}: car.fleet.count: expected an integer > 0, got -5",
        id="run-out-of-range",
    ),
    pytest.param(
        ["run", "{bad}", "--out", "{out}"],
        "duration_s: 60\nmap: {builtin: etown\nseed: 3\n",
        "{bad}: malformed YAML at line 3, column 5: expected ',' or '}', but got ':'",
        id="run-yaml-syntax",
    ),
    pytest.param(
        ["run", "{bad}"],
        {"car.flets": {"count": 5}},
        "{bad}: car.flets: unknown key; did you mean 'fleet'?",
        id="run-unknown-key-default-out",
    ),
    pytest.param(
        ["run", "{bad}", "--out", "{out}"],
        {"car.demand": MIDDLE_ZONE},
        "{bad}: car.demand.zones.middle: no road node within 100 m of at_m [250.0, 250.0] "
        "(offsets from the map's south-west corner; map is 1000 × 1000 m)",
        id="run-zone-without-road",
    ),
    pytest.param(
        ["run", "{good}", "--seed", "-1", "--out", "{out}"],
        {},
        "--seed: expected an integer >= 0, got -1",
        id="run-negative-seed",
    ),
    pytest.param(
        ["validate", "{bad}"],
        {"map.file": "nope.geojson"},
        "{bad}: map.file: map file not found: nope.geojson (looked at {dir}/nope.geojson)",
        id="validate-map-missing",
    ),
    pytest.param(
        ["validate", "{dir}/nope.yaml"],
        {},
        "{dir}/nope.yaml: scenario file not found",
        id="validate-scenario-missing",
    ),
    pytest.param(
        ["check", "{good}", "{bad}", "--out", "{out}"],
        {"checks": ["flows.nope.sent > 0"]},
        "{bad}: checks[0]: flows.nope.sent: no 'nope' in flows (has: bsm, control)",
        id="check-names-no-value",
    ),
    pytest.param(
        ["check", "{good}", "{bad}", "--out", "{out}"],
        {"checks": ["flows.control.p99 < fast"]},
        "{bad}: checks[0]: expected 'PATH OP NUMBER' with OP one of <= >= == != < > "
        "(e.g. 'flows.control.latency_ms.p99 <= 50'), got 'flows.control.p99 < fast'",
        id="check-malformed",
    ),
    pytest.param(
        ["check", "{bad}"],
        {"car.flows.control.service": "plan"},
        "{bad}: car.flows.control.service: unknown service 'plan' (defined: planning)",
        id="check-unknown-service",
    ),
]


def bad_command(
    args: list[str], bad: dict[str, Any] | str, message: str, good: Path, variant: Variant
) -> tuple[list[str], str]:
    """Write the bad scenario; return the filled-in arguments and the expected stderr."""
    folder = good.parent
    if isinstance(bad, str):
        bad_path = folder / "bad.yaml"
        bad_path.write_text(bad)
    else:
        bad_path = variant(bad, "bad.yaml")
    names = {"{bad}": bad_path, "{good}": good, "{out}": folder / "out", "{dir}": folder}

    def fill(text: str) -> str:
        for name, value in names.items():
            text = text.replace(name, str(value))
        return text

    return [fill(a) for a in args], f"avzone: error: {fill(message)}\n"


@pytest.mark.parametrize(("args", "bad", "message"), BAD_COMMANDS)
def test_bad_input_is_one_line_exit_2_nothing_written(
    args: list[str],
    bad: dict[str, Any] | str,
    message: str,
    grid_scenario: Path,
    grid_variant: Variant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, stderr = bad_command(args, bad, message, grid_scenario, grid_variant)
    monkeypatch.chdir(tmp_path)  # where a run without --out would write runs/NAME
    before = files_under(tmp_path)

    assert main(argv) == 2

    assert capsys.readouterr() == ("", stderr)
    assert files_under(tmp_path) == before  # no out folder, no runs/, no summary.json


IN_SUBPROCESS = (
    "run-out-of-range",
    "run-zone-without-road",
    "run-negative-seed",
    "check-malformed",
)


@pytest.mark.parametrize(
    ("args", "bad", "message"), [p for p in BAD_COMMANDS if p.id in IN_SUBPROCESS]
)
def test_bad_input_in_a_subprocess_gives_no_traceback(
    args: list[str],
    bad: dict[str, Any] | str,
    message: str,
    grid_scenario: Path,
    grid_variant: Variant,
    tmp_path: Path,
) -> None:
    argv, stderr = bad_command(args, bad, message, grid_scenario, grid_variant)
    before = files_under(tmp_path)

    done = avzone_cli(*argv, cwd=tmp_path)

    assert (done.returncode, done.stdout, done.stderr) == (2, "", stderr)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(None, "file not found", id="missing"),
        pytest.param(
            '{"type": "FeatureCollection", "features": [\n', "not valid JSON", id="broken"
        ),
        pytest.param(
            '{"type": "Feature"}', "expected a GeoJSON FeatureCollection", id="not-a-collection"
        ),
    ],
)
def test_map_info_bad_file_is_one_line_exit_2(
    content: str | None, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "zone.geojson"
    if content is not None:
        path.write_text(content)

    assert main(["map", "info", str(path), "--json"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"avzone: error: {path}: {problem}")
    assert err.count("\n") == 1


def test_map_info_broken_file_in_a_subprocess_gives_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "zone.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [\n')

    done = avzone_cli("map", "info", path, "--json", cwd=tmp_path)

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"avzone: error: {path}: not valid JSON (line 2, column 1: Expecting value)\n"
    )


# --- validate -----------------------------------------------------------------------------


def test_validate_ok(grid_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(grid_scenario)]) == 0

    out, err = capsys.readouterr()
    assert out == (
        f"{grid_scenario}: ok — grid: 9 nodes, 24 edges, 2 RSUs, 1 cells, 1 sites, 2 flows, "
        "2 checks\n"
    )
    assert err == ""


def test_validate_reports_good_files_then_stops_at_a_bad_one(
    grid_scenario: Path, grid_variant: Variant, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = grid_variant({"duration_s": "abc"}, "bad.yaml")

    assert main(["validate", str(grid_scenario), str(bad), str(grid_scenario)]) == 2

    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{grid_scenario}: ok — grid: 9 nodes, 24 edges, 2 RSUs, 1 cells, 1 sites, 2 flows, "
        "2 checks"
    ]
    assert err == f"avzone: error: {bad}: duration_s: expected a number > 0, got 'abc'\n"


# --- map info -----------------------------------------------------------------------------


@pytest.fixture
def signal_grid(tmp_path: Path) -> Path:
    """The 3 × 3 grid of 500 m roads with a traffic signal on the centre node."""
    path = grid_map(tmp_path)
    doc = json.loads(path.read_text())
    doc["features"].append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X0 + 500, Y0 + 500]},
            "properties": {"signalized": True},
        }
    )
    path.write_text(json.dumps(doc))
    return path


def test_map_info_json(signal_grid: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "info", str(signal_grid), "--json"]) == 0

    out, _ = capsys.readouterr()
    info = json.loads(out)
    assert list(info) == ["nodes", "edges", "length_km", "signalized", "bbox"]
    # 9 nodes; 12 roads of 500 m, two directions each
    assert info == {
        "nodes": 9,
        "edges": 24,
        "length_km": 12.0,
        "signalized": 1,
        "bbox": [X0, Y0, X0 + 1000, Y0 + 1000],
    }


def test_map_info_text(signal_grid: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "info", str(signal_grid)]) == 0

    out, _ = capsys.readouterr()
    assert out == (
        f"{signal_grid}: 9 nodes (1 signalised), 24 edges, 12.0 km of directed road, 1.0 × 1.0 km\n"
    )


# --- check --------------------------------------------------------------------------------


def test_check_all_pass_exit_0(
    grid_variant: Variant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = [
        "vehicles.arrived == 5",
        "infrastructure.rsus >= 2",
        "flows.control.latency_ms.p99 <= 50",
    ]
    path = grid_variant({"checks": checks}, "grid.yaml")
    out_dir = tmp_path / "out"

    assert main(["check", str(path), "--out", str(out_dir)]) == 0

    p99 = json.loads((out_dir / "grid" / "summary.json").read_text())["flows"]["control"][
        "latency_ms"
    ]["p99"]
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"checks of {path}:",
        "  PASS  vehicles.arrived == 5  (measured 5)",
        "  PASS  infrastructure.rsus >= 2  (measured 2)",
        f"  PASS  flows.control.latency_ms.p99 <= 50  (measured {p99:.6g})",
        "3 passed, 0 failed",
    ]
    assert err == ""
    assert json.loads((out_dir / "checks.json").read_text()) == [
        {
            "scenario": "grid",
            "file": str(path),
            "seed": 1,
            "passed": True,
            "checks": [
                {"check": checks[0], "value": 5.0, "passed": True},
                {"check": checks[1], "value": 2.0, "passed": True},
                {"check": checks[2], "value": p99, "passed": True},
            ],
        }
    ]


def test_check_a_failure_exit_1(
    grid_scenario: Path, grid_variant: Variant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = ["infrastructure.rsus >= 3", "hdmap.staleness_s.p95 <= 300", "vehicles.arrived == 5"]
    # no map changes, so no staleness is measured: a check on it fails
    failing = grid_variant(
        {"name": "failing", "checks": checks, "hdmap.changes.rate_per_tile_per_h": 0},
        "failing.yaml",
    )
    out_dir = tmp_path / "out"

    assert main(["check", str(grid_scenario), str(failing), "--out", str(out_dir)]) == 1

    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"checks of {grid_scenario}:",
        "  PASS  vehicles.arrived == 5  (measured 5)",
        "  PASS  infrastructure.rsus >= 2  (measured 2)",
        f"checks of {failing}:",
        "  FAIL  infrastructure.rsus >= 3  (measured 2)",
        "  FAIL  hdmap.staleness_s.p95 <= 300  (measured nan)",
        "  PASS  vehicles.arrived == 5  (measured 5)",
        "3 passed, 2 failed",
    ]
    assert err == ""
    assert files_under(out_dir) == [
        "checks.json",
        "failing",
        "failing/coverage.geojson",
        "failing/flows.csv",
        "failing/links.csv",
        "failing/quantiles.csv",
        "failing/scenario.json",
        "failing/site_timeseries.csv",
        "failing/summary.json",
        "grid",
        "grid/coverage.geojson",
        "grid/flows.csv",
        "grid/links.csv",
        "grid/quantiles.csv",
        "grid/scenario.json",
        "grid/site_timeseries.csv",
        "grid/summary.json",
    ]
    report = json.loads((out_dir / "checks.json").read_text())  # strict JSON: nan is written null
    assert [(r["scenario"], r["passed"]) for r in report] == [("grid", True), ("failing", False)]
    assert report[1]["checks"] == [
        {"check": checks[0], "value": 2.0, "passed": False},
        {"check": checks[1], "value": None, "passed": False},
        {"check": checks[2], "value": 5.0, "passed": True},
    ]


def test_check_exit_codes_in_a_subprocess(
    grid_scenario: Path, grid_variant: Variant, tmp_path: Path
) -> None:
    failing = grid_variant({"checks": ["infrastructure.rsus >= 3"]}, "failing.yaml")

    passed = avzone_cli("check", grid_scenario, cwd=tmp_path)
    failed = avzone_cli("check", failing, cwd=tmp_path)

    assert (passed.returncode, passed.stderr) == (0, "")
    assert passed.stdout.splitlines()[-1] == "2 passed, 0 failed"
    assert (failed.returncode, failed.stderr) == (1, "")
    assert failed.stdout.splitlines() == [
        f"checks of {failing}:",
        "  FAIL  infrastructure.rsus >= 3  (measured 2)",
        "0 passed, 1 failed",
    ]


# --- run ----------------------------------------------------------------------------------


def run_summary(scenario: Path, out_dir: Path, seed: int) -> bytes:
    assert main(["run", str(scenario), "--out", str(out_dir), "--seed", str(seed), "--quiet"]) == 0
    return (out_dir / "summary.json").read_bytes()


def test_run_writes_six_files_and_no_temporary_ones(
    grid_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out" / "nested"

    assert main(["run", str(grid_scenario), "--out", str(out_dir), "--seed", "7"]) == 0

    assert files_under(out_dir) == [
        "coverage.geojson",
        "flows.csv",
        "links.csv",
        "quantiles.csv",
        "scenario.json",
        "site_timeseries.csv",
        "summary.json",
    ]
    summary = json.loads((out_dir / "summary.json").read_text())
    assert (summary["scenario"], summary["seed"], summary["duration_s"]) == ("grid", 7, 60.0)
    assert summary["map"] == {
        "source": "tiny.geojson",
        "nodes": 9,
        "edges": 24,
        "length_km": 12.0,
        "signalized": 0,
    }
    assert summary["infrastructure"] == {"rsus": 2, "cells": 1, "sites": 1}
    with (out_dir / "flows.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["flow"], r["via"], r["service"]) for r in rows] == [
        ("bsm", "pc5", ""),
        ("control", "uu", "planning"),
    ]
    assert [r["sent"] for r in rows] == [
        str(summary["flows"]["bsm"]["sent"]),
        str(summary["flows"]["control"]["sent"]),
    ]
    coverage = json.loads((out_dir / "coverage.geojson").read_text())
    assert (coverage["type"], len(coverage["features"])) == ("FeatureCollection", 24)
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("avzone: grid (seed 7), 60 s simulated in ")
    assert out.splitlines()[-1] == (
        f"results: {out_dir}/summary.json, flows.csv, site_timeseries.csv, quantiles.csv, coverage.geojson, links.csv"
    )
    with (out_dir / "site_timeseries.csv").open(newline="") as handle:
        series = list(csv.DictReader(handle))
    with (out_dir / "quantiles.csv").open(newline="") as handle:
        quantiles = list(csv.DictReader(handle))
    control = [
        float(r["value"]) for r in quantiles if (r["kind"], r["name"]) == ("latency_ms", "control")
    ]
    assert len(control) == 104  # every percent and three tail points
    assert control[0] <= control[50] <= control[100]
    assert control[50] == pytest.approx(summary["flows"]["control"]["latency_ms"]["p50"], abs=1e-5)
    # one site, 60 s in 10 s bins
    assert [(r["site"], r["t_s"]) for r in series] == [
        ("edge", f"{t:.1f}") for t in range(0, 60, 10)
    ]
    assert err == ""


def test_run_quiet_prints_nothing(
    grid_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_summary(grid_scenario, tmp_path / "out", 7)

    assert capsys.readouterr() == ("", "")


def test_run_same_seed_gives_byte_identical_summary(grid_scenario: Path, tmp_path: Path) -> None:
    first = run_summary(grid_scenario, tmp_path / "a", 7)
    second = run_summary(grid_scenario, tmp_path / "b", 7)

    assert first == second


def test_run_other_seed_gives_other_results(grid_scenario: Path, tmp_path: Path) -> None:
    seven = json.loads(run_summary(grid_scenario, tmp_path / "a", 7))
    eight = json.loads(run_summary(grid_scenario, tmp_path / "b", 8))

    assert (seven.pop("seed"), eight.pop("seed")) == (7, 8)
    assert seven != eight  # more than the seed differs


def test_run_takes_the_scenario_seed_by_default(grid_scenario: Path, tmp_path: Path) -> None:
    assert main(["run", str(grid_scenario), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    by_default = (tmp_path / "a" / "summary.json").read_bytes()

    assert json.loads(by_default)["seed"] == 1
    assert by_default == run_summary(grid_scenario, tmp_path / "b", 1)


def test_check_out_refuses_two_scenarios_of_one_name(
    grid_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs would share OUT/NAME: refused before anything runs or is written."""
    twin = tmp_path / "twin.yaml"
    twin.write_text(grid_scenario.read_text())
    out = tmp_path / "out"
    assert main(["check", str(grid_scenario), str(twin), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"avzone: error: {twin}: name: ")
    assert not out.exists()
