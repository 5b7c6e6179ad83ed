"""p99 control latency against fleet size: edge-only against central-only.

Sweeps the fleet in the edge-only baseline and the central-only variant, with
replications, and draws the mean p99 with its 95 % confidence band for both.
A fleet of N is N vehicles under way from the start (car.fleet.initial_vehicles)
and arrivals that keep it steady (rate_per_h = N · 60 / trip minutes)::

    python analysis/latency_vs_fleet_size.py --out runs/fleet
    python analysis/latency_vs_fleet_size.py --fleets 200,600 --replications 2 --duration-s 120

Writes OUT/edge-only/ and OUT/central-only/ (sweep folders: runs.csv,
summary.csv) and OUT/latency_vs_fleet.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matplotlib.figure import Figure

from avzone.experiments import sweep
from avzone.plots import plot_sweep, save_figure
from avzone.rundir import load_sweep

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "edge-only": ROOT / "scenarios" / "etown-baseline.yaml",
    "central-only": ROOT / "scenarios" / "etown-central-only.yaml",
}
KEY = "car.fleet.initial_vehicles"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fleets", default="200,400,600,800", help="vehicles under way, comma-separated"
    )
    parser.add_argument(
        "--trip-min", type=float, default=10.0, help="mean trip time on the map, minutes"
    )
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--duration-s", type=float, help="shorten the runs (warm-up: a fifth)")
    parser.add_argument("--flow", default="control")
    parser.add_argument("--executor", default="processes")
    parser.add_argument("--out", type=Path, default=Path("runs/fleet"))
    args = parser.parse_args(argv)
    fleets = [int(x) for x in args.fleets.split(",")]
    grid: dict[str, list[object]] = {
        KEY: fleets,
        "car.fleet.rate_per_h": [n * 60 / args.trip_min for n in fleets],
        "car.fleet.max_vehicles": [2 * n for n in fleets],
    }
    if args.duration_s is not None:
        grid["duration_s"] = [args.duration_s] * len(fleets)
        grid["warmup_s"] = [args.duration_s / 5] * len(fleets)
    metric = f"flows.{args.flow}.latency_ms.p99"
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for label, scenario in VARIANTS.items():
        folder = args.out / label
        sweep(
            scenario,
            grid,
            zip=True,
            replications=args.replications,
            out=folder,
            executor=args.executor,
        )
        plot_sweep(load_sweep(folder), metric, KEY, ax=ax, label=label)
    ax.set_xlabel("vehicles under way")
    ax.set_yscale("log")
    ax.set_ylabel(f"{args.flow} p99 latency [ms]")
    ax.set_title(f"{args.flow} p99 vs fleet size (mean, 95 % CI, {args.replications} replications)")
    save_figure(fig, args.out / "latency_vs_fleet.png")
    print(f"wrote {args.out / 'latency_vs_fleet.png'} and the sweep folders under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
