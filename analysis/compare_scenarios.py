"""Compare deployment variants: coverage and control latency side by side.

Runs each scenario (the three E-Town variants by default), writes a table of
the headline figures and a figure, so a planner can show what sparse RSUs or a
central-only cloud cost against the baseline::

    python analysis/compare_scenarios.py --out runs/compare
    python analysis/compare_scenarios.py scenarios/a.yaml scenarios/b.yaml --duration-s 120

Writes OUT/comparison.csv and OUT/comparison.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import avzone
from avzone.metrics import atomic_write_text, csv_text
from avzone.plots import plot_coverage_comparison, plot_latency_comparison, save_figure

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [
    ROOT / "scenarios" / "etown-baseline.yaml",
    ROOT / "scenarios" / "etown-sparse-rsu.yaml",
    ROOT / "scenarios" / "etown-central-only.yaml",
]


def run_variants(
    paths: list[Path], duration_s: float | None, seed: int | None
) -> dict[str, dict[str, Any]]:
    """Run each scenario (optionally shortened) and return its summary by scenario name."""
    summaries = {}
    for path in paths:
        scenario = avzone.load_scenario(path)
        if duration_s is not None:  # a shorter run: keep the warm-up share
            share = scenario.warmup_s / scenario.duration_s
            scenario = dataclasses.replace(
                scenario, duration_s=duration_s, warmup_s=share * duration_s
            )
        summaries[scenario.name] = avzone.run(scenario, seed=seed).summary
    return summaries


def table(summaries: dict[str, dict[str, Any]], flow: str) -> list[dict[str, Any]]:
    """One row per variant: coverage per system and the flow's latency."""
    rows = []
    for name, s in summaries.items():
        row: dict[str, Any] = {"scenario": name, "rsus": s["infrastructure"]["rsus"]}
        row.update({f"coverage_{k}": v["road_fraction"] for k, v in s["coverage"].items()})
        block = s["flows"][flow]
        row.update({f"{flow}_{k}_ms": block["latency_ms"][k] for k in ("p50", "p99")})
        row[f"{flow}_deadline_miss_ratio"] = block["deadline_miss_ratio"]
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=Path("runs/compare"))
    parser.add_argument("--flow", default="control", help="flow whose latency is compared")
    parser.add_argument("--duration-s", type=float, help="shorten every run to this many seconds")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    summaries = run_variants(args.scenarios, args.duration_s, args.seed)
    rows = table(summaries, args.flow)
    text = csv_text(rows)
    atomic_write_text(args.out / "comparison.csv", text)
    fig = Figure(figsize=(12.0, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_coverage_comparison(summaries, ax=left)
    plot_latency_comparison(summaries, args.flow, ax=right)
    save_figure(fig, args.out / "comparison.png")
    print(text, end="")
    print(f"wrote {args.out / 'comparison.csv'} and {args.out / 'comparison.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
