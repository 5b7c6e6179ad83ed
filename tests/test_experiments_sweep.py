"""``avzone sweep`` (avzone/experiments/cli.py) and the executors: one-line errors, resume,
and the same tables from every executor, Dask included."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import distributed
import pytest
from test_experiments import GRID, read_csv, tiny_sweep_scenario

from avzone.cli import main
from avzone.experiments import sweep


def sweep_args(scenario: Path, out: Path, *extra: str) -> list[str]:
    """``avzone sweep`` of the 2 × 2 grid with 2 replications, in this process."""
    return [
        "sweep", str(scenario),
        "--set", "car.fleet.count=2,3",
        "--set", "road.rsu.pc5.loss=0.1,0.3",
        "--replications", "2",
        "--out", str(out),
        "--executor", "inprocess",
        *extra,
    ]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_stopped_sweep_resumes_and_redoes_only_the_missing_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tiny_sweep_scenario(tmp_path)
    out = tmp_path / "sweep"
    assert main(sweep_args(scenario, out)) == 0
    first = capsys.readouterr()
    assert first.out.startswith("avzone sweep: 8 runs done, 0 skipped (resumed), 8 total in ")
    assert first.err == ""  # no progress bar when stderr is not a terminal
    before = snapshot(out)
    ids = json.loads((out / "sweep.json").read_text())["runs"]
    assert sorted(before) == sorted(
        ["runs.csv", "summary.csv", "sweep.json", *(f"runs/{i}.json" for i in ids)]
    )

    (out / "runs" / f"{ids[5]}.json").unlink()
    (out / "runs.csv").unlink()
    assert main(sweep_args(scenario, out)) == 0
    assert capsys.readouterr().out.startswith(
        "avzone sweep: 1 runs done, 7 skipped (resumed), 8 total in "
    )
    assert snapshot(out) == before


def test_the_run_file_records_the_run(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = sweep(
        tiny_sweep_scenario(tmp_path),
        {"car.fleet.count": [2]},
        out=out,
        executor="inprocess",
        keep_runs=True,
    )
    (rid,) = result.run_ids
    record = json.loads((out / "runs" / f"{rid}.json").read_text())
    assert list(record) == ["run_id", "scenario", "overrides", "replication", "seed", "summary"]
    assert record["overrides"] == {"car.fleet.count": 2}
    assert record["summary"]["vehicles"]["arrived"] == 2
    kept = json.loads((out / "runs" / rid / "summary.json").read_text())
    assert kept == record["summary"]


def test_list_values_split_on_top_level_commas_and_print_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    args = [
        "sweep", str(tiny_sweep_scenario(tmp_path)),
        "--set", "road.rsu.place.positions_m=[[500, 500]],[[0, 0], [1000, 1000]]",
        "--set", "car.fleet.count=2,3",
        "--zip", "--out", str(out), "--executor", "inprocess", "--quiet",
    ]  # fmt: skip
    assert main(args) == 0
    assert capsys.readouterr() == ("", "")
    runs = read_csv(out / "runs.csv")
    assert [(r["road.rsu.place.positions_m"], r["car.fleet.count"]) for r in runs] == [
        ("[[500,500]]", "2"),
        ("[[0,0],[1000,1000]]", "3"),
    ]
    assert [r["infrastructure.rsus"] for r in runs] == ["1", "2"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "car.fleet.cuont=1,2"], "{file}: car.fleet.cuont: unknown key; did you mean 'count'?"),
        (["--set", "car.fleet.count=1,-5"], "{file}: car.fleet.count: expected an integer > 0, got -5"),
        (["--set", "car.fleet.count=1,2", "--set", "duration_s=10,20,30", "--zip"],
         "--zip: expected the same number of values for every key, got car.fleet.count: 2, duration_s: 3"),
        (["--set", "car.fleet.count=[1,2"], "--set: missing ']' in '[1,2'"),
        (["--set", "car.fleet.count=1", "--set", "car.fleet.count=2"],
         "--set: car.fleet.count is set twice; give all its values in one --set"),
        (["--replications", "0"], "--replications: expected an integer >= 1, got 0"),
        (["--executor", "threads"],
         "--executor: expected inprocess, processes, dask-local or dask://HOST:PORT, got 'threads'"),
        (["--executor", "dask://nohost"],
         "--executor: expected dask://HOST:PORT like dask://10.0.0.5:8786, got 'dask://nohost'"),
        (["--executor", "processes", "--workers", "0"], "--workers: expected an integer >= 1, got 0"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    scenario = tiny_sweep_scenario(tmp_path)
    out = tmp_path / "sweep"
    args = ["sweep", str(scenario), "--out", str(out), "--executor", "inprocess", *extra]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"avzone: error: {message.format(file=scenario)}\n"
    assert not out.exists()


def test_dask_executors_without_dask_ask_for_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    out = tmp_path / "sweep"
    args = [
        "sweep",
        str(tiny_sweep_scenario(tmp_path)),
        "--out",
        str(out),
        "--executor",
        "dask-local",
    ]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        "avzone: error: --executor: dask-local needs dask, which is not installed; "
        'install it with: pip install "avzone[dask]"\n'
    )
    assert not out.exists()


def test_every_executor_writes_the_same_tables(tmp_path: Path) -> None:
    """In this process, a pool of 2 processes, a Dask LocalCluster of 2 worker processes started
    by the sweep, and a client of a running scheduler: byte-identical runs.csv and summary.csv,
    whatever order the runs finish in."""
    scenario = tiny_sweep_scenario(tmp_path)
    tables: dict[str, tuple[bytes, bytes]] = {}

    def run(executor: str, workers: int | None = None) -> None:
        out = tmp_path / executor.replace(":", "").replace("/", "")
        result = sweep(scenario, GRID, replications=2, out=out, executor=executor, workers=workers)
        assert (result.done, result.skipped) == (8, 0)
        tables[executor] = ((out / "runs.csv").read_bytes(), (out / "summary.csv").read_bytes())

    run("inprocess")
    run("processes", workers=2)
    run("dask-local", workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        run(f"dask://{address}")
    assert len(tables) == 4
    assert len(set(tables.values())) == 1
