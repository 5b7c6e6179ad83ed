"""A sweep: one scenario over a grid of overrides × replications, resumable, on any executor."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from avzone.experiments._executors import Executor, check_executor, make_executor
from avzone.experiments._grid import build_points, replication_seeds, run_id
from avzone.experiments._tables import format_csv, tables
from avzone.metrics import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SweepResult", "run_summary", "sweep"]


def run_summary(
    scenario: str, overrides: dict[str, Any], seed: int, keep_dir: str | None = None
) -> dict[str, Any]:
    """One run of a sweep: the summary of ``avzone.run(scenario, seed=seed, overrides=overrides)``,
    and its run folder written to ``keep_dir`` when given.

    This is what the executors call: a top-level function of plain data, so it pickles.
    """
    from avzone.runner import run

    results = run(scenario, seed=seed, overrides=overrides)
    if keep_dir is not None:
        results.write(keep_dir)
    return results.summary


@dataclass(frozen=True)
class _Run:
    """One run of the plan: grid point ``point`` (an index), replication and its seed."""

    run_id: str
    point: int
    replication: int
    seed: int


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced.

    ``runs`` are the rows of runs.csv and ``summary`` those of summary.csv (plain values; a
    ``None`` is an empty cell). ``done`` runs executed and ``skipped`` ones were found in the
    output folder from an earlier sweep; ``wall_s`` is the wall time.
    """

    scenario: Path
    points: list[dict[str, Any]]
    run_ids: list[str]
    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    done: int
    skipped: int
    wall_s: float
    out: Path | None

    def to_pandas(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(runs, summary)`` as pandas DataFrames (``None`` becomes NaN in numeric columns)."""
        import pandas as pd

        return pd.DataFrame(self.runs), pd.DataFrame(self.summary)


def sweep(
    scenario: str | Path,
    grid: Mapping[str, Sequence[Any]],
    *,
    replications: int = 1,
    zip: bool = False,
    out: str | Path | None = None,
    executor: str = "processes",
    workers: int | None = None,
    progress: bool = False,
    keep_runs: bool = False,
) -> SweepResult:
    """Run ``scenario`` at every point of ``grid`` (dotted key → values), ``replications`` times.

    Points are the cartesian product of the values, or with ``zip=True`` the i-th values
    together. Replication ``r`` has the same seed at every point (common random numbers),
    spawned from the scenario's seed. Every point is validated before anything runs; bad input
    raises :class:`avzone.ScenarioError` and writes nothing.

    With ``out``, each finished run is stored as ``out/runs/RUN_ID.json`` and a sweep that was
    stopped resumes: runs whose file exists are not run again. At the end ``runs.csv`` and
    ``summary.csv`` are written from the run files, ``sweep.json`` at the start; ``keep_runs``
    also writes each run's folder to ``out/runs/RUN_ID/``. See docs/experiments.md.

    ``executor`` is ``"inprocess"``, ``"processes"`` (a local pool of ``workers`` processes,
    default one per CPU), ``"dask-local"`` (a Dask LocalCluster of ``workers`` processes) or
    ``"dask://HOST:PORT"`` (a running Dask scheduler). ``progress`` shows a bar on stderr.

    Examples
    --------
    From the repository folder::

        result = sweep("scenarios/etown-baseline.yaml",
                       {"car.fleet.rate_per_h": [1200, 2400]}, replications=5, out="sweeps/rate")
        runs, summary = result.to_pandas()
    """
    from avzone.scenario import load_scenario

    started = time.perf_counter()
    path = Path(scenario)
    if keep_runs and out is None:
        raise ValueError("keep_runs writes into out/runs/; give out as well")
    check_executor(executor, workers)
    points = build_points(grid, zip=zip)
    seeds = replication_seeds(load_scenario(path).seed, replications)
    _validate(path, points, progress)
    scenario_bytes = path.read_bytes()
    plan = [
        _Run(run_id(scenario_bytes, point, seed), index, r, seed)
        for index, point in enumerate(points)
        for r, seed in enumerate(seeds)
    ]
    out_dir = Path(out) if out is not None else None
    summaries: dict[str, dict[str, Any]] = {}
    if out_dir is not None:
        for run in plan:
            stored = _load_run(out_dir, run.run_id)
            if stored is not None:
                summaries[run.run_id] = stored
        sweep_record = {
            "scenario": str(path),
            "grid": {key: list(values) for key, values in grid.items()},
            "zip": zip,
            "replications": replications,
            "seeds": seeds,
            "executor": executor,
            "runs": [run.run_id for run in plan],
        }
        atomic_write_text(out_dir / "sweep.json", _dumps(sweep_record))
    skipped = len(summaries)
    todo = [run for run in plan if run.run_id not in summaries]
    if todo:
        with (
            make_executor(executor, workers) as pool,
            tqdm(
                total=len(plan),
                initial=skipped,
                unit="run",
                desc="sweep",
                file=sys.stderr,
                disable=not progress,
            ) as bar,
        ):
            for run, summary in _execute(pool, path, points, todo, out_dir, keep_runs):
                summaries[run.run_id] = summary
                bar.update(1)

    runs = [{**dataclasses.asdict(run), "summary": summaries[run.run_id]} for run in plan]
    run_rows, summary_rows = tables(list(grid), points, runs)
    if out_dir is not None:
        atomic_write_text(out_dir / "runs.csv", format_csv(run_rows))
        atomic_write_text(out_dir / "summary.csv", format_csv(summary_rows))
    return SweepResult(
        scenario=path,
        points=points,
        run_ids=[run.run_id for run in plan],
        runs=run_rows,
        summary=summary_rows,
        done=len(todo),
        skipped=skipped,
        wall_s=time.perf_counter() - started,
        out=out_dir,
    )


def _validate(path: Path, points: list[dict[str, Any]], progress: bool) -> None:
    """Build every grid point once, so that bad input fails before anything runs."""
    from avzone.runner import build_world

    for point in tqdm(points, desc="validate", unit="point", leave=False, disable=not progress):
        build_world(path, overrides=point)


def _execute(
    pool: Executor,
    path: Path,
    points: list[dict[str, Any]],
    todo: list[_Run],
    out_dir: Path | None,
    keep_runs: bool,
) -> Iterator[tuple[_Run, dict[str, Any]]]:
    """Run ``todo`` on ``pool``; store each run's file in ``out_dir/runs/`` as it finishes and
    yield ``(run, summary)`` in completion order."""
    tasks = [
        (
            str(path.resolve()),
            points[run.point],
            run.seed,
            str((out_dir / "runs" / run.run_id).resolve()) if out_dir and keep_runs else None,
        )
        for run in todo
    ]
    for index, summary in pool.map(run_summary, tasks):
        run = todo[index]
        record = {
            "run_id": run.run_id,
            "scenario": str(path),
            "overrides": points[run.point],
            "replication": run.replication,
            "seed": run.seed,
            "summary": summary,
        }
        text = _dumps(record)
        if out_dir is not None:
            atomic_write_text(out_dir / "runs" / f"{run.run_id}.json", text)
        # through JSON, so that a fresh run and a resumed one give the same rows
        yield run, json.loads(text)["summary"]


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _load_run(out_dir: Path, rid: str) -> dict[str, Any] | None:
    """The summary stored for run ``rid``, or None when there is none (or it is unreadable: then
    the run is done again and the file replaced)."""
    try:
        data = json.loads((out_dir / "runs" / f"{rid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("run_id") != rid:
        return None
    summary = data.get("summary")
    return summary if isinstance(summary, dict) else None
