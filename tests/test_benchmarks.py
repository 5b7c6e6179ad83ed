"""The benchmark tools run (so their docs do not rot): the stage timer on a short
E-Town run prints the batch evaluator's stages, nested within the SimPy loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stage_timer_prints_the_batch_stages() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.stages",
            "scenarios/etown-baseline.yaml",
            '{"duration_s": 12, "warmup_s": 4}',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "12 s simulated" in out
    assert "(batch)" in out
    seconds = {
        line.split()[0]: float(line.split()[1]) for line in out.splitlines()[2:] if line.strip()
    }
    assert {"_EventRun.run", "_BatchRun._window", "_BatchRun._requests"} <= set(seconds)
    assert 0 < seconds["_BatchRun._requests"] < seconds["_BatchRun._window"]
    assert seconds["_BatchRun._window"] < seconds["_EventRun.run"]
