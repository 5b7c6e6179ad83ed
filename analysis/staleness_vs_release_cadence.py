"""HD-map staleness against the release cadence: how often must the cloud publish?

Sweeps the batch release interval (hdmap.release.interval_s) with frequent
road changes, and draws the p95 of the stale episodes and the stale
vehicle-km with their 95 % confidence bands. Message flows are switched off:
the map's freshness does not depend on them, and the runs are much faster::

    python analysis/staleness_vs_release_cadence.py --out runs/cadence
    python analysis/staleness_vs_release_cadence.py --intervals 60,600 --replications 2 --duration-s 600

Writes OUT/runs.csv, OUT/summary.csv (a sweep folder) and OUT/staleness_vs_cadence.png.
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
KEY = "hdmap.release.interval_s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", type=Path, default=ROOT / "scenarios" / "etown-baseline.yaml"
    )
    parser.add_argument(
        "--intervals", default="60,300,600,900,1800", help="batch intervals, s, comma-separated"
    )
    parser.add_argument("--changes-per-tile-per-h", type=float, default=4.0)
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=3600.0)
    parser.add_argument("--executor", default="processes")
    parser.add_argument("--out", type=Path, default=Path("runs/cadence"))
    args = parser.parse_args(argv)
    grid: dict[str, list[object]] = {
        KEY: [float(x) for x in args.intervals.split(",")],
        "hdmap.release.mode": ["batch"],
        "hdmap.changes.rate_per_tile_per_h": [args.changes_per_tile_per_h],
        "duration_s": [args.duration_s],
        "warmup_s": [args.duration_s / 6],
        "car.flows": [{}],
        "road.rsu.sensors": [None],
        "checks": [[]],  # the scenario's checks name the flows switched off here
    }
    sweep(args.scenario, grid, replications=args.replications, out=args.out, executor=args.executor)
    results = load_sweep(args.out)
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_sweep(results, "hdmap.staleness_s.p95", KEY, ax=left)
    left.set_ylabel("stale episode p95 [s]")
    plot_sweep(results, "hdmap.stale_vehicle_km", KEY, ax=right)
    right.set_ylabel("vehicle-km on a stale map")
    left.set_title("stale episodes: p95 of their length")
    right.set_title("distance driven on a stale map")
    for ax in (left, right):
        ax.set_xlabel("batch release interval [s]")
    fig.suptitle(
        f"HD-map staleness vs release cadence (mean, 95 % CI, {args.replications} replications)"
    )
    save_figure(fig, args.out / "staleness_vs_cadence.png")
    print(f"wrote {args.out / 'staleness_vs_cadence.png'} and the sweep files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
