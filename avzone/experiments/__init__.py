"""Experiments at scale: sweep a scenario over a grid of overrides × replications.

``sweep(path, {"car.fleet.rate_per_h": [1200, 2400]}, replications=5, out="sweeps/rate")``
runs every point with the same seeds (common random numbers), on this process, a local process
pool or Dask, resumes where a stopped sweep left off, and writes runs.csv and summary.csv (mean,
std and a Student-t 95 % interval per point and metric). ``avzone sweep`` is the same from the
command line. See docs/experiments.md.
"""

from avzone.experiments._executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    ProcessExecutor,
    make_executor,
)
from avzone.experiments._grid import build_points, parse_set, replication_seeds, split_values
from avzone.experiments._sweep import SweepResult, run_summary, sweep
from avzone.experiments._tables import ConfidenceInterval, confidence_interval, flatten_summary

__all__ = [
    "ConfidenceInterval",
    "DaskExecutor",
    "Executor",
    "InProcessExecutor",
    "ProcessExecutor",
    "SweepResult",
    "build_points",
    "confidence_interval",
    "flatten_summary",
    "make_executor",
    "parse_set",
    "replication_seeds",
    "run_summary",
    "split_values",
    "sweep",
]
