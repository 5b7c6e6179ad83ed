"""Running a scenario from Python: ``avzone.run(path)`` → :class:`Results`."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from avzone.checks import CheckResult, evaluate_checks
from avzone.engine import World
from avzone.engine import simulate as simulate_event
from avzone.engine.batch import check_batch_supported, resolve_engine, simulate_batch
from avzone.errors import ScenarioError
from avzone.faults.state import resolve_faults
from avzone.metrics import (
    build_summary,
    coverage_geojson,
    flow_rows,
    link_rows,
    quantile_rows,
    site_timeseries_rows,
    write_run,
)
from avzone.scenario import Scenario, load_scenario

__all__ = ["Results", "build_world", "run", "scenario_record"]


@dataclass(frozen=True)
class Results:
    """What a run produced: the summary (as in summary.json), tables and checks.

    ``wall_s`` is how long the run took; it is not in the summary, which
    depends only on the scenario and the seed.
    """

    scenario: Scenario
    summary: dict[str, Any]
    flows: list[dict[str, Any]]
    site_timeseries: list[dict[str, Any]]
    quantiles: list[dict[str, Any]]
    coverage: dict[str, Any]
    checks: list[CheckResult]
    wall_s: float
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def realtime_factor(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self.scenario.duration_s / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def passed(self) -> bool:
        """Whether every check of the scenario holds."""
        return all(c.passed for c in self.checks)

    def sites(self) -> list[dict[str, Any]]:
        """One row per compute site: the summary's cloud block, flat."""
        rows = []
        for name, block in self.summary["cloud"].items():
            row: dict[str, Any] = {"site": name}
            row.update({k: v for k, v in block.items() if k != "served_by_service"})
            row.update({f"served_{k}": v for k, v in block["served_by_service"].items()})
            rows.append(row)
        return rows

    def tables(self) -> dict[str, Any]:
        """Tidy pandas DataFrames: ``flows``, ``sites``, ``site_timeseries``, ``quantiles``, ``coverage``, ``links``.

        ``coverage`` has one row per directed road edge (covered fraction per
        system); ``links`` one per directed backhaul link (as links.csv). Needs pandas (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Results.tables() needs pandas: pip install pandas") from None
        coverage = [f["properties"] for f in self.coverage["features"]]
        return {
            "flows": pd.DataFrame(self.flows),
            "sites": pd.DataFrame(self.sites()),
            "site_timeseries": pd.DataFrame(self.site_timeseries),
            "quantiles": pd.DataFrame(self.quantiles),
            "coverage": pd.DataFrame(coverage),
            "links": pd.DataFrame(self.links),
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the run folder atomically (summary.json, the CSV tables, coverage.geojson)."""
        return write_run(
            Path(out_dir),
            self.summary,
            self.flows,
            self.coverage,
            self.site_timeseries,
            self.quantiles,
            scenario_record(self.scenario),
            self.links,
        )


def _scenario(
    scenario: Scenario | str | Path, seed: int | None, overrides: Mapping[str, Any] | None = None
) -> Scenario:
    if isinstance(scenario, Scenario):
        if overrides:
            raise TypeError(
                "overrides apply to a scenario file; pass its path, not a parsed Scenario"
            )
        loaded = scenario
    else:
        loaded = load_scenario(scenario, overrides)
    if seed is None:
        return loaded
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError("seed", f"expected an integer >= 0, got {seed!r}", _file(loaded))
    return dataclasses.replace(loaded, seed=seed)


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    """The validated scenario as plain data (written as scenario.json): what actually ran."""
    record: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(scenario), default=str))
    return record


def _file(scenario: Scenario) -> str | None:
    return str(scenario.file) if scenario.file is not None else None


def build_world(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> World:
    """Load and build everything static, and check the scenario's checks name real values.

    This is what ``avzone validate`` does: any bad input raises here.
    """
    parsed = _scenario(scenario, seed, overrides)
    try:
        world = World.build(parsed)
        if parsed.engine == "batch":
            check_batch_supported(world)
        resolve_faults(world)  # targets the built world must have
        evaluate_checks(world.scenario.checks, build_summary(world, None))
    except ScenarioError as exc:  # found after parsing (map, demand, checks): name the file
        raise exc if exc.file or parsed.file is None else exc.in_file(str(parsed.file)) from None
    return world


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> Results:
    """Run a scenario (a file or a parsed :class:`Scenario`); ``seed`` overrides its seed.

    ``overrides`` replaces keys of a scenario file by dotted path before it is
    validated: ``run(path, overrides={"car.fleet.count": 800})``. With
    ``progress``, a bar of simulated time with an ETA goes to stderr.

    Examples
    --------
    From the repository folder::

        results = avzone.run("scenarios/etown-baseline.yaml")
        results.summary["flows"]["control"]["latency_ms"]["p99"]
    """
    started = time.perf_counter()
    world = build_world(scenario, seed=seed, overrides=overrides)
    engine = resolve_engine(world)
    simulate = simulate_batch if engine == "batch" else simulate_event
    if progress:
        with tqdm(
            total=round(world.scenario.duration_s),
            unit="sim s",
            desc=world.scenario.name,
            leave=False,
            file=sys.stderr,
        ) as bar:
            record = simulate(world, lambda now_s: bar.update(round(now_s) - bar.n))
    else:
        record = simulate(world)
    summary = _with_engine(build_summary(world, record), engine)
    checks = evaluate_checks(world.scenario.checks, summary)
    summary["checks"] = [
        {
            "check": c.check.text,
            "value": None if math.isnan(c.value) else c.value,
            "passed": c.passed,
        }
        for c in checks
    ]
    return Results(
        scenario=world.scenario,
        summary=summary,
        flows=flow_rows(summary, world),
        site_timeseries=site_timeseries_rows(world, record),
        quantiles=quantile_rows(world, record),
        coverage=coverage_geojson(world),
        checks=checks,
        wall_s=time.perf_counter() - started,
        links=link_rows(world, record.links),
    )


def _with_engine(summary: dict[str, Any], engine: str) -> dict[str, Any]:
    """The summary with the evaluator that ran it (``engine``) after ``warmup_s``."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        out[key] = value
        if key == "warmup_s":
            out["engine"] = engine
    return out
