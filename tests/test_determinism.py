"""Same scenario + seed → byte-identical summary.json, whatever executes it.

The reference is ``avzone.run`` in this process; the same run through a sweep on the in-process,
process-pool and Dask LocalCluster executors (``keep_runs`` writes each run's folder), and
through ``avzone run`` in a fresh interpreter with another ``PYTHONHASHSEED`` and working folder
(what differs between machines that run the same code: hash randomisation, paths, process
layout) must write the very same bytes. The scenario touches every random stream: Poisson
arrivals, signal waits, radio and fibre loss, a service with lognormal times, HD-map changes,
and a seeded random fault.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tinyzone import write_scenario

import avzone
from avzone.experiments import sweep
from avzone.metrics import dumps_summary


@pytest.fixture
def busy_scenario(tmp_path: Path, grid_scenario_data: dict[str, Any]) -> Path:
    data = grid_scenario_data
    data["duration_s"] = 40
    data["car"]["fleet"] = {"arrivals": "poisson", "rate_per_h": 1800, "initial_vehicles": 4}
    data["car"]["mobility"] = {"signal_wait_max_s": 20}
    data["road"]["rsu"]["pc5"] = {"loss": 0.05}
    data["network"]["backhaul"] = {"loss": 0.01}
    data["cloud"]["services"]["planning"]["time"] = {"dist": "lognormal", "mean_ms": 4, "cv": 1}
    data["hdmap"] = {"tiles": {"size_m": 500}, "changes": {"rate_per_tile_per_h": 60}}
    data["checks"] = []
    data["faults"] = {"flaky-cell": {"kind": "cell_down", "random": {"mtbf_s": 10, "mttr_s": 2}}}
    return write_scenario(tmp_path, data, "busy.yaml")


def test_summary_bytes_are_the_same_on_every_executor(busy_scenario: Path, tmp_path: Path) -> None:
    grid = {"car.fleet.rate_per_h": [1800]}
    folders = {}
    executors = ["inprocess", "processes", "dask-local"]
    for executor in executors:
        out = tmp_path / executor
        result = sweep(busy_scenario, grid, out=out, executor=executor, workers=1, keep_runs=True)
        (rid,) = result.run_ids
        folders[executor] = out / "runs" / rid
    seed = json.loads((tmp_path / "inprocess" / "sweep.json").read_text())["seeds"][0]
    reference = avzone.run(busy_scenario, seed=seed, overrides={"car.fleet.rate_per_h": 1800})
    assert reference.summary["flows"]["control"]["failures"]["backhaul"] > 0  # the streams ran
    assert reference.summary["hdmap"]["changes"] > 0
    assert reference.summary["faults"]["flaky-cell"]["occurrences"] > 0
    expected = dumps_summary(reference.summary).encode()
    for executor, folder in folders.items():
        assert (folder / "summary.json").read_bytes() == expected, executor


def test_a_fresh_interpreter_with_other_hash_seed_and_folder_writes_the_same_bytes(
    busy_scenario: Path, tmp_path: Path
) -> None:
    outs = []
    for hash_seed, cwd in (("1", tmp_path), ("4242", tmp_path / "elsewhere")):
        cwd.mkdir(exist_ok=True)
        out = tmp_path / f"run-{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "avzone",
                "run",
                str(busy_scenario),
                "--out",
                str(out),
                "--quiet",
            ],
            check=True,
            cwd=cwd,
            env=env,
            timeout=120,
        )
        outs.append(out)
    here = avzone.run(busy_scenario)
    expected = dumps_summary(here.summary).encode()
    assert [(o / "summary.json").read_bytes() for o in outs] == [expected, expected]
