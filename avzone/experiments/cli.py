"""``avzone sweep``: the arguments and the printing; the work is in :func:`sweep`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from avzone.errors import ScenarioError

__all__ = ["add_sweep_parser", "run_sweep_command"]


def add_sweep_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to the ``avzone`` subparsers ``sub``."""
    sweep = sub.add_parser(
        "sweep",
        help="run a scenario over a grid of overrides × replications (runs.csv, summary.csv)",
        description=(
            "Run SCENARIO at every point of the grid the --set options span, --replications times "
            "each (replication r has the same seed at every point). A stopped sweep resumes in "
            "the same --out. See docs/experiments.md."
        ),
    )
    sweep.add_argument("scenario", type=Path)
    sweep.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a swept key and its values, read as YAML; commas inside [...] or quotes stay",
    )
    sweep.add_argument(
        "--zip", action="store_true", help="pair the i-th values of every --set instead of crossing"
    )
    sweep.add_argument(
        "--replications", type=int, default=1, metavar="N", help="runs per grid point (default 1)"
    )
    sweep.add_argument("--out", type=Path, required=True, metavar="DIR", help="the sweep folder")
    sweep.add_argument(
        "--executor",
        default="processes",
        metavar="EXECUTOR",
        help="inprocess, processes (default), dask-local or dask://HOST:PORT",
    )
    sweep.add_argument(
        "--workers", type=int, metavar="N", help="processes or dask-local workers (default: CPUs)"
    )
    sweep.add_argument(
        "--keep-runs", action="store_true", help="also write each run's folder to OUT/runs/RUN_ID/"
    )
    sweep.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return sweep


def run_sweep_command(args: argparse.Namespace) -> int:
    """Run ``avzone sweep``; a progress bar on stderr when it is a terminal, one line at the end."""
    from avzone.experiments import parse_set, sweep

    grid: dict[str, list[Any]] = {}
    for text in args.sets:
        key, values = parse_set(text)
        if key in grid:
            raise ScenarioError("--set", f"{key} is set twice; give all its values in one --set")
        grid[key] = values
    result = sweep(
        args.scenario,
        grid,
        replications=args.replications,
        zip=args.zip,
        out=args.out,
        executor=args.executor,
        workers=args.workers,
        progress=not args.quiet and sys.stderr.isatty(),
        keep_runs=args.keep_runs,
    )
    if not args.quiet:
        total = result.done + result.skipped
        print(
            f"avzone sweep: {result.done} runs done, {result.skipped} skipped (resumed), "
            f"{total} total in {result.wall_s:.1f} s wall; "
            f"results: {args.out / 'runs.csv'}, summary.csv, sweep.json"
        )
    return 0
