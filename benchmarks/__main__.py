"""Time avzone's scenarios: wall seconds, messages, messages per second, peak RSS.

Each case runs in a fresh subprocess so that its peak resident memory is its
own. Usage::

    python -m benchmarks                 # all cases
    python -m benchmarks etown-baseline  # some cases
    python -m benchmarks --out bench.json
    python -m benchmarks --list          # the cases and what they run

Figures go to stdout and, as JSON, to ``--out`` (default runs/benchmarks.json).
Cases: the shipped scenarios; ``etown-peak``, about 2,000 vehicles under way
for an hour (the batch evaluator's target: ≤ 60 s, ≤ 2 GiB); ``small-event``
and ``small-batch``, the same one-minute baseline in each evaluator;
``scale-N``, the baseline with about N vehicles under way for 60 simulated
seconds (the scaling curve: cost should be linear in vehicles);
``naive-simpy``, a per-message SimPy model of the same two flows for 500
vehicles (benchmarks/naive_simpy.py), the baseline the evaluators are
measured against; ``yizhuang-real`` (3,600 SUMO routes, 1,800 s, full stack)
and, when eclipse-sumo is installed, ``sumo-yizhuang``: SUMO alone on the
same net and routes. The ratios avzone / SUMO and batch / naive messages per
second are printed when both sides ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@dataclass(frozen=True)
class Case:
    """A scenario with overrides, or (``naive``) the per-message SimPy baseline."""

    scenario: Path | None
    overrides: dict[str, object] = field(default_factory=dict)
    naive_vehicles: int = 0
    naive_duration_s: float = 60.0
    sumo: bool = False  # time SUMO alone on the scenario's net and routes

    def describe(self) -> str:
        if self.sumo and self.scenario is not None:
            return f"SUMO alone on the net and routes of {self.scenario.relative_to(ROOT)}"
        if self.scenario is None:
            return f"naive SimPy model, {self.naive_vehicles} vehicles, {self.naive_duration_s:g} s"
        sets = " ".join(f"{k}={v}" for k, v in self.overrides.items())
        return f"{self.scenario.relative_to(ROOT)} {sets}".strip()


def _scale(vehicles: int) -> Case:
    return Case(
        SCENARIOS / "etown-baseline.yaml",
        {  # the baseline keeps ~330 under way with 2000/h arrivals on 6 × 12 edge servers:
            # scale all three, so that the curve measures cost, not a saturated cloud
            "car.fleet.initial_vehicles": vehicles,
            "cloud.sites.edge.servers": max(1, round(12 * vehicles / 330)),
            "car.fleet.rate_per_h": round(2000 * vehicles / 330),
            "car.fleet.max_vehicles": 2 * vehicles,
            "duration_s": 60,
            "warmup_s": 10,
            "engine": "batch",
        },
    )


def _small(engine: str) -> Case:
    """The baseline for one simulated minute in one evaluator (the same case for both)."""
    return Case(
        SCENARIOS / "etown-baseline.yaml", {"duration_s": 60, "warmup_s": 10, "engine": engine}
    )


CASES = {
    "etown-baseline": Case(SCENARIOS / "etown-baseline.yaml"),
    "etown-peak": Case(SCENARIOS / "etown-peak.yaml"),
    "small-event": _small("event"),
    "small-batch": _small("batch"),
    "etown-sparse-rsu": Case(SCENARIOS / "etown-sparse-rsu.yaml"),
    "etown-central-only": Case(SCENARIOS / "etown-central-only.yaml"),
    "etown-hybrid": Case(SCENARIOS / "etown-hybrid.yaml"),
    "radio-tables": Case(SCENARIOS / "etown-pc5-uu.yaml"),
    # needs ../shared/data/real (the real Yizhuang SUMO net and its 3,600-vehicle demand)
    "yizhuang-real": Case(SCENARIOS / "yizhuang-real-1800.yaml"),
    "sumo-yizhuang": Case(SCENARIOS / "yizhuang-real-1800.yaml", sumo=True),
    **{f"scale-{n}": _scale(n) for n in (500, 1000, 2000, 4000)},
    "naive-simpy": Case(None, naive_vehicles=500),
}
RADIO_CASES = {"radio-tables"}
RATIOS = (  # (what, numerator case, denominator case, figure, the target)
    ("avzone / SUMO wall time", "yizhuang-real", "sumo-yizhuang", "wall_s", "≤ 1"),
    (
        "batch / naive SimPy messages per second",
        "etown-peak",
        "naive-simpy",
        "messages_per_s",
        "≥ 100",
    ),
    ("event / batch wall time, same case", "small-event", "small-batch", "wall_s", ""),
)
"""Cases that time only the radio tables of World.build (all RSUs and cells, 10 m samples)."""

_RADIO_CHILD = """
import json, sys, time, resource
from avzone.engine.world import SAMPLE_STEP_M, load_road_graph
from avzone.network import place_cells, sample_roads
from avzone.radio.tables import system_tables
from avzone.roads import bbox_m
from avzone.roadside import place_rsus
from avzone.scenario import load_scenario
scenario = load_scenario(sys.argv[1])
G = load_road_graph(scenario)
box = bbox_m(G)
samples = sample_roads(G, SAMPLE_STEP_M)
rsu_xy = place_rsus(G, scenario.road.placement, box)
cell_xy = place_cells(scenario.network.cells.placement, box)
t = time.perf_counter()
system_tables(scenario.seed, samples, rsu_xy, cell_xy, scenario.road.pc5.radio, scenario.network.cells.radio)
wall_s = time.perf_counter() - t
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall_s": wall_s, "messages": 0, "simulated_s": 0,
                  "samples": len(samples.xy), "rsus": len(rsu_xy), "cells": len(cell_xy),
                  "peak_rss_mib": rss_kib / 1024}))
"""

_CHILD = """
import json, sys, time, resource
import avzone
t = time.perf_counter()
results = avzone.run(sys.argv[1], overrides=json.loads(sys.argv[2]))
wall_s = time.perf_counter() - t
messages = sum(f["sent"] for f in results.summary["flows"].values())
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall_s": wall_s, "messages": messages, "simulated_s": results.scenario.duration_s,
                  "peak_rss_mib": rss_kib / 1024, "engine": results.summary["engine"],
                  "checks_passed": results.passed,
                  "peak_under_way": results.summary["vehicles"]["peak_under_way"]}))
"""


_SUMO_CHILD = """
import json, subprocess, sys, time, resource
from avzone.scenario import load_scenario
from avzone.vehicles.sumo_run import sumo_binary
scenario = load_scenario(sys.argv[1])
binary = sumo_binary()
if binary is None:
    print(json.dumps({"skipped": "eclipse-sumo is not installed (pip install 'avzone[sumo]')"}))
    sys.exit(0)
command = [str(binary), "-n", str(scenario.map.file), "-r", str(scenario.fleet.routes_file),
           "--begin", "0", "--end", str(scenario.duration_s), "--no-step-log", "true",
           "--no-warnings", "true", "--duration-log.statistics", "true"]
t = time.perf_counter()
out = subprocess.run(command, capture_output=True, text=True, check=True)
wall_s = time.perf_counter() - t
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall_s": wall_s, "messages": 0, "simulated_s": scenario.duration_s,
                  "peak_rss_mib": rss_kib / 1024}))
"""


def run_case(name: str, case: Case) -> dict[str, float | str] | None:
    """Run one case in a subprocess and return its figures (None: skipped, says why)."""
    if case.sumo:
        command = [sys.executable, "-c", _SUMO_CHILD, str(case.scenario)]
    elif case.scenario is None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.naive_simpy",
            f"--vehicles={case.naive_vehicles}",
            f"--duration-s={case.naive_duration_s}",
        ]
    elif name in RADIO_CASES:
        command = [sys.executable, "-c", _RADIO_CHILD, str(case.scenario)]
    else:
        command = [sys.executable, "-c", _CHILD, str(case.scenario), json.dumps(case.overrides)]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"benchmark {name} failed:\n{out.stderr}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if "skipped" in figures:
        print(f"{name}: skipped, {figures['skipped']}")
        return None
    figures["messages_per_s"] = figures["messages"] / figures["wall_s"]
    figures["realtime_factor"] = figures["simulated_s"] / figures["wall_s"]
    if name in RADIO_CASES:
        print(
            f"{name}: radio tables of {figures['samples']:,} samples × {figures['rsus']} RSUs"
            f" + {figures['cells']} cells in {figures['wall_s']:.2f} s"
        )
    return {"case": name, "runs": case.describe(), **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmarks.json")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, case in CASES.items():
            print(f"{name:<22} {case.describe()}")
        return 0
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; cases: {', '.join(CASES)}")
    rows = []
    print(
        f"{'case':<22} {'wall s':>8} {'messages':>11} {'msg/s':>9} {'RT factor':>9} "
        f"{'peak MiB':>9}  engine"
    )
    for name in names:
        row = run_case(name, CASES[name])
        if row is None:
            continue
        rows.append(row)
        print(
            f"{name:<22} {row['wall_s']:>8.1f} {row['messages']:>11,} {row['messages_per_s']:>9,.0f} "
            f"{row['realtime_factor']:>9.1f} {row['peak_rss_mib']:>9.0f}  {row.get('engine', '')}"
        )
    by_case = {row["case"]: row for row in rows}
    ratios = []
    for what, top, bottom, figure, target in RATIOS:
        if top in by_case and bottom in by_case and float(by_case[bottom][figure]):
            value = float(by_case[top][figure]) / float(by_case[bottom][figure])
            ratios.append({"ratio": what, "value": value, "target": target})
            print(f"{what}: {value:,.2f}" + (f" (target {target})" if target else ""))
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cases": rows,
        "ratios": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
