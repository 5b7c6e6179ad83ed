"""Time avzone's scenarios: wall seconds, messages, messages per second, peak RSS.

Each case runs in a fresh subprocess so that its peak resident memory is its
own. Usage::

    python -m benchmarks                 # all cases
    python -m benchmarks etown-baseline  # some cases
    python -m benchmarks --out bench.json

Figures go to stdout and, as JSON, to ``--out`` (default runs/benchmarks.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "etown-baseline": ROOT / "scenarios" / "etown-baseline.yaml",
    "etown-sparse-rsu": ROOT / "scenarios" / "etown-sparse-rsu.yaml",
    "etown-central-only": ROOT / "scenarios" / "etown-central-only.yaml",
    "etown-hybrid": ROOT / "scenarios" / "etown-hybrid.yaml",
    "radio-tables": ROOT / "scenarios" / "etown-pc5-uu.yaml",
    # needs ../shared/data/real (the real Yizhuang SUMO net and its 3,600-vehicle demand)
    "yizhuang-real-1800": ROOT / "scenarios" / "yizhuang-real-1800.yaml",
}
RADIO_CASES = {"radio-tables"}
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
results = avzone.run(sys.argv[1])
wall_s = time.perf_counter() - t
messages = sum(f["sent"] for f in results.summary["flows"].values())
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall_s": wall_s, "messages": messages, "simulated_s": results.scenario.duration_s,
                  "peak_rss_mib": rss_kib / 1024}))
"""


def run_case(name: str, path: Path) -> dict[str, float | str]:
    """Run one scenario in a subprocess and return its figures."""
    child = _RADIO_CHILD if name in RADIO_CASES else _CHILD
    out = subprocess.run(
        [sys.executable, "-c", child, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark {name} failed:\n{out.stderr}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["messages_per_s"] = figures["messages"] / figures["wall_s"]
    figures["realtime_factor"] = figures["simulated_s"] / figures["wall_s"]
    if name in RADIO_CASES:
        print(
            f"{name}: radio tables of {figures['samples']:,} samples × {figures['rsus']} RSUs"
            f" + {figures['cells']} cells in {figures['wall_s']:.2f} s"
        )
    return {"case": name, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmarks.json")
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; cases: {', '.join(CASES)}")
    rows = []
    print(
        f"{'case':<22} {'wall s':>8} {'messages':>11} {'msg/s':>9} {'RT factor':>9} {'peak MiB':>9}"
    )
    for name in names:
        row = run_case(name, CASES[name])
        rows.append(row)
        print(
            f"{name:<22} {row['wall_s']:>8.1f} {row['messages']:>11,} {row['messages_per_s']:>9,.0f} "
            f"{row['realtime_factor']:>9.1f} {row['peak_rss_mib']:>9.0f}"
        )
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cases": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
