"""Crash safety: ``avzone run`` and ``avzone sweep`` killed with SIGKILL at random moments leave
no partial result file.

Real subprocesses, killed at seeded random moments over their measured wall time. After each
kill every file in the output folder is either a hidden temporary file of an atomic write
(``.NAME.XXXX.tmp``, never read by avzone) or complete: JSON that parses, CSV whose every row
has the header's cells; a run folder with ``summary.json`` loads as a whole
(:func:`avzone.rundir.load_run`), and a killed sweep resumes to the same tables as one that was
never stopped.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tinyzone import write_scenario

from avzone.rundir import is_run_dir, load_run

TRIES_RUN = 2
TRIES_SWEEP = 1


@pytest.fixture
def scenario(tmp_path: Path, grid_scenario_data: dict[str, Any]) -> Path:
    data = grid_scenario_data
    data["duration_s"] = 120
    data["car"]["fleet"]["count"] = 8
    return write_scenario(tmp_path, data, "crash.yaml")


def _start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "avzone", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the test cleans up workers it leaves
    )


def _kill_at(argv: list[str], after_s: float) -> None:
    proc = _start(argv)
    try:
        proc.wait(timeout=after_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:  # sweep workers exit by themselves when their parent dies; make sure of it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _assert_no_partial_file(folder: Path) -> int:
    """Every file complete (or a hidden .tmp of an atomic write); returns the complete ones."""
    complete = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".json", ".geojson"):
            json.loads(text)
            assert text.endswith("\n"), path
        elif path.suffix == ".csv":
            rows = list(csv.reader(text.splitlines()))
            assert rows, path
            assert all(len(r) == len(rows[0]) for r in rows), path
            assert text.endswith("\n"), path
        else:
            pytest.fail(f"unexpected file {path}")
        complete += 1
    return complete


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    proc = _start(argv)
    assert proc.wait(timeout=300) == 0
    return time.perf_counter() - started


def test_killed_runs_leave_only_complete_files(scenario: Path, tmp_path: Path) -> None:
    full_s = _timed(["run", str(scenario), "--out", str(tmp_path / "full"), "--quiet"])
    rng = np.random.default_rng(9)
    for i, moment in enumerate(rng.uniform(0.3, 1.1, TRIES_RUN) * full_s):
        out = tmp_path / f"out{i}"
        _kill_at(["run", str(scenario), "--out", str(out), "--quiet"], float(moment))
        if out.exists():
            _assert_no_partial_file(out)
            if is_run_dir(out):
                load_run(out)  # summary.json is written last: its presence means all six are there
    assert load_run(tmp_path / "full").summary["vehicles"]["arrived"] == 8


def test_a_run_killed_while_writing_its_folder_leaves_no_summary(
    scenario: Path, tmp_path: Path
) -> None:
    """Killed the moment its first result file appears (polling every ms): the files there are
    complete and, unless the whole folder made it, there is no summary.json; an older complete
    folder being overwritten loses its summary.json first, so it is never mixed with new files."""
    out = tmp_path / "out"
    assert _timed(["run", str(scenario), "--out", str(out), "--quiet", "--seed", "5"]) > 0
    old = load_run(out).summary
    proc = _start(["run", str(scenario), "--out", str(out), "--quiet"])
    try:
        deadline = time.monotonic() + 120
        while (out / "summary.json").exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    files = _assert_no_partial_file(out)
    assert files >= 5  # the old flows.csv ... or their new versions
    if is_run_dir(out):  # only if every file was written before the kill landed
        assert load_run(out).summary != old


@pytest.mark.parametrize(
    "executor", ["inprocess", pytest.param("processes", marks=pytest.mark.slow)]
)
def test_killed_sweeps_leave_only_complete_files_and_resume(
    scenario: Path, tmp_path: Path, executor: str
) -> None:
    def argv(out: Path) -> list[str]:
        return [
            "sweep", str(scenario), "--set", "car.fleet.count=2,3", "--replications", "2",
            "--set", "duration_s=40", "--out", str(out), "--executor", executor,
            "--workers", "2", "--keep-runs", "--quiet",
        ]  # fmt: skip

    full_s = _timed(argv(tmp_path / "full"))
    rng = np.random.default_rng(11)
    out = tmp_path / "out"
    for moment in rng.uniform(0.2, 1.0, TRIES_SWEEP) * full_s:
        _kill_at(argv(out), float(moment))
        if out.exists():
            _assert_no_partial_file(out)
    assert subprocess.run([sys.executable, "-m", "avzone", *argv(out)], timeout=300).returncode == 0
    for name in ("runs.csv", "summary.csv"):
        assert (out / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
