"""Reading written results back (avzone/rundir.py): run folders, sweep folders, one-line errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import avzone
from avzone.rundir import RUN_FILES, is_run_dir, is_sweep_dir, load_run, load_sweep

Variant = Callable[[dict[str, Any], str], Path]

SWEEP_RUNS = """\
run_id,cloud.sites.edge.servers,cloud.dispatch,replication,seed,flows.control.latency_ms.p99
a1,1,nearest,0,11,41.5
a2,1,nearest,1,12,
b1,2,least_loaded,0,11,30.25
b2,2,least_loaded,1,12,31.75
"""
SWEEP_SUMMARY = """\
cloud.sites.edge.servers,cloud.dispatch,metric,n,mean,std,ci95_low,ci95_high
1,nearest,flows.control.latency_ms.p99,1,41.5,,,
2,least_loaded,flows.control.latency_ms.p99,2,31.0,1.06066,21.47,40.53
"""


@pytest.fixture
def run_dir(grid_variant: Variant, tmp_path: Path) -> Path:
    """The 3 × 3 grid zone (tests/conftest.py) with HD-map changes, written to tmp_path/run."""
    scenario = grid_variant(
        {
            "warmup_s": 10,
            "hdmap": {"tiles": {"size_m": 500}, "changes": {"rate_per_tile_per_h": 300}},
        },
        "grid.yaml",
    )
    avzone.run(scenario).write(tmp_path / "run")
    return tmp_path / "run"


def write_sweep(folder: Path, runs: str = SWEEP_RUNS, summary: str = SWEEP_SUMMARY) -> Path:
    folder.mkdir()
    (folder / "runs.csv").write_text(runs)
    (folder / "summary.csv").write_text(summary)
    return folder


def test_load_run_reads_every_file_with_typed_cells(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert run.path == run_dir
    assert run.summary == json.loads((run_dir / "summary.json").read_text())
    assert run.name == "grid"
    assert [r["flow"] for r in run.flows] == ["bsm", "control"]
    bsm, control = run.flows
    assert (bsm["service"], control["service"]) == (None, "planning")  # an empty cell is None
    assert isinstance(control["sent"], int)
    assert control["latency_p99_ms"] == run.summary["flows"]["control"]["latency_ms"]["p99"]
    assert {r["site"] for r in run.site_timeseries} == {"edge"}
    assert [r["t_s"] for r in run.site_timeseries] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert {(r["kind"], r["name"]) for r in run.quantiles} == {
        ("latency_ms", "bsm"),
        ("latency_ms", "control"),
        ("staleness_s", "hdmap"),
    }
    assert run.scenario["name"] == "grid"
    assert len(run.coverage["features"]) == run.summary["map"]["edges"]
    assert run.lonlat  # the tiny map has a CRS, so coverage.geojson is in lon/lat


def test_quantile_curve_is_sorted_by_q_and_matches_the_summary(run_dir: Path) -> None:
    run = load_run(run_dir)
    q, value_ms = run.quantile_curve("latency_ms", "control")
    assert q == sorted(q)
    assert (q[0], q[-1], len(q)) == (0.0, 1.0, 104)  # 0 … 1 by 0.01, then 99.5, 99.9, 99.99 %
    assert value_ms == sorted(value_ms)
    latency = run.summary["flows"]["control"]["latency_ms"]
    assert value_ms[q.index(0.99)] == pytest.approx(latency["p99"], abs=1e-5)
    assert value_ms[-1] == pytest.approx(latency["max"], abs=1e-5)
    assert run.quantile_curve("latency_ms", "nothing") == ([], [])


def test_is_run_dir_and_is_sweep_dir(run_dir: Path, tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    assert (is_run_dir(run_dir), is_sweep_dir(run_dir)) == (True, False)
    assert (is_run_dir(sweep), is_sweep_dir(sweep)) == (False, True)
    assert not is_run_dir(tmp_path / "missing")
    assert not is_sweep_dir(tmp_path / "missing")


def _drop(folder: Path, name: str) -> None:
    (folder / name).unlink()


def _replace_json(folder: Path, name: str, change: Callable[[Any], Any]) -> None:
    path = folder / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _drop(d, "summary.json"), "{d}: not an avzone run folder (no summary.json)"),
        (
            lambda d: (_drop(d, "quantiles.csv"), _drop(d, "scenario.json")),
            "{d}: incomplete run folder (no quantiles.csv, scenario.json); "
            "rerun it with this version of avzone",
        ),
        (
            lambda d: (d / "summary.json").write_text("{"),
            "{d}/summary.json: not valid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        (
            lambda d: _replace_json(d, "summary.json", lambda s: {**s, "schema_version": 2}),
            "{d}/summary.json: schema_version: expected 1, got 2",
        ),
        (
            lambda d: _replace_json(d, "scenario.json", lambda s: [s]),
            "{d}/scenario.json: expected a JSON dict, got list",
        ),
        (
            lambda d: _replace_json(d, "coverage.geojson", lambda c: {"type": "Feature"}),
            "{d}/coverage.geojson: expected a GeoJSON FeatureCollection, got type 'Feature'",
        ),
        (
            lambda d: (d / "quantiles.csv").write_text("kind,name,value\nlatency_ms,bsm,1\n"),
            "{d}/quantiles.csv: missing column q; header: kind,name,value",
        ),
        (
            lambda d: (d / "quantiles.csv").write_text("kind,name,q,value\nlatency_ms,bsm,1\n"),
            "{d}/quantiles.csv: line 2: expected 4 cells",
        ),
    ],
)
def test_a_damaged_run_folder_is_one_line_naming_the_file(
    run_dir: Path, damage: Callable[[Path], object], message: str
) -> None:
    damage(run_dir)
    with pytest.raises(avzone.AvzoneError) as excinfo:
        load_run(run_dir)
    assert str(excinfo.value) == message.format(d=run_dir)


def test_load_run_of_a_missing_path_or_a_file(tmp_path: Path) -> None:
    with pytest.raises(avzone.AvzoneError, match=r"missing: no such folder$"):
        load_run(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(avzone.AvzoneError, match=r"file\.txt: not a folder$"):
        load_run(tmp_path / "file.txt")


def test_load_sweep_finds_the_swept_keys_and_types_the_cells(tmp_path: Path) -> None:
    folder = write_sweep(tmp_path / "sweep")
    (folder / "sweep.json").write_text('{"scenario": "s.yaml", "replications": 2}')
    sweep = load_sweep(folder)
    assert sweep.keys == ("cloud.sites.edge.servers", "cloud.dispatch")  # run_id is not swept
    assert sweep.spec == {"scenario": "s.yaml", "replications": 2}
    assert sweep.metrics == ["flows.control.latency_ms.p99"]
    assert sweep.values("cloud.sites.edge.servers") == [1, 2]
    assert sweep.values("cloud.dispatch") == ["nearest", "least_loaded"]
    assert sweep.runs[1] == {
        "run_id": "a2",
        "cloud.sites.edge.servers": 1,
        "cloud.dispatch": "nearest",
        "replication": 1,
        "seed": 12,
        "flows.control.latency_ms.p99": None,
    }
    assert sweep.summary[0]["std"] is None
    assert sweep.summary[1]["ci95_high"] == 40.53
    with pytest.raises(avzone.AvzoneError, match=r"'seed' is not a swept key; swept: cloud"):
        sweep.values("seed")


def test_load_sweep_without_sweep_json_or_run_id(tmp_path: Path) -> None:
    runs = "x,replication,seed,m\n1,0,5,2.0\n"
    summary = "x,metric,n,mean,std,ci95_low,ci95_high\n1,m,1,2.0,,,\n"
    sweep = load_sweep(write_sweep(tmp_path / "sweep", runs, summary))
    assert (sweep.keys, sweep.spec, sweep.metrics) == (("x",), {}, ["m"])


def test_load_sweep_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(avzone.AvzoneError) as excinfo:
        load_sweep(tmp_path)
    assert (
        str(excinfo.value)
        == f"{tmp_path}: not an avzone sweep folder (no runs.csv and summary.csv)"
    )
    folder = write_sweep(
        tmp_path / "sweep", summary=SWEEP_SUMMARY.replace("cloud.dispatch,metric", "other,metric")
    )
    with pytest.raises(avzone.AvzoneError) as excinfo:
        load_sweep(folder)
    assert str(excinfo.value) == (
        f"{folder}/summary.csv: expected the swept keys "
        "['cloud.sites.edge.servers', 'cloud.dispatch'] before 'metric', "
        "got ['cloud.sites.edge.servers', 'other']"
    )


def test_run_files_are_the_files_avzone_run_writes(run_dir: Path, tmp_path: Path) -> None:
    assert sorted(RUN_FILES) == sorted(p.name for p in run_dir.iterdir())
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    assert load_run(copy).summary == load_run(run_dir).summary
