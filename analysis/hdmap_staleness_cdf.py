"""HD-map freshness of the release and distribution variants: staleness CDFs side by side.

Runs the E-Town HD-map variants (continuous vs batched release; push vs pull
vs prefetch), writes each run folder, and draws from the written quantiles
the CDF of the stale episodes (one per vehicle-tile visit on a stale map),
with a table of the headline figures::

    python analysis/hdmap_staleness_cdf.py --out runs/hdmap-cdf              # 4 runs of 20 min, ~40 s
    python analysis/hdmap_staleness_cdf.py --duration-s 300 --out runs/quick

Writes OUT/RUN/ (one run folder per variant), OUT/hdmap_variants.csv and
OUT/staleness_cdf.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

import avzone
from avzone.metrics import atomic_write_text, csv_text
from avzone.plots import save_figure
from avzone.rundir import RunFolder, load_run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [
    ROOT / "scenarios" / f"etown-hdmap-{v}.yaml"
    for v in ("continuous-push", "batch-push", "continuous-pull", "continuous-prefetch")
]


def run_variants(paths: list[Path], out: Path, duration_s: float | None) -> list[RunFolder]:
    """Run each scenario (optionally shortened, keeping the warm-up share) into OUT/NAME."""
    runs = []
    for path in paths:
        scenario = avzone.load_scenario(path)
        if duration_s is not None:
            share = scenario.warmup_s / scenario.duration_s
            scenario = dataclasses.replace(
                scenario, duration_s=duration_s, warmup_s=share * duration_s
            )
        avzone.run(scenario).write(out / scenario.name)
        runs.append(load_run(out / scenario.name))
    return runs


def table(runs: list[RunFolder]) -> list[dict[str, Any]]:
    """One row per variant: staleness, stale km, the pipeline's p50s, stale control share, volume."""
    rows = []
    for run in runs:
        hd = run.summary["hdmap"]
        row: dict[str, Any] = {"scenario": run.summary["scenario"], "changes": hd["changes"]}
        row.update({f"staleness_{k}_s": hd["staleness_s"][k] for k in ("p50", "p95", "max")})
        row["stale_vehicle_km"] = hd["stale_vehicle_km"]
        row.update({f"to_{k}_p50_s": v["p50"] for k, v in hd["change_to_s"].items()})
        row["control_stale_share"] = hd["control_stale_share"]
        row["map_mb_per_h"] = round(hd["map_bytes_per_h"] / 1e6, 3)
        rows.append(row)
    return rows


def plot_staleness_cdfs(runs: list[RunFolder], ax: Axes) -> None:
    """The CDF of stale-episode durations of each run, from its quantiles.csv."""
    for run in runs:
        q, staleness_s = run.quantile_curve("staleness_s", "hdmap")
        hd = run.summary["hdmap"]
        label = (
            f"{run.summary['scenario']} ({hd['stale_episodes']} episodes, "
            f"{hd['stale_vehicle_km']:.0f} stale veh-km)"
        )
        ax.plot(staleness_s, q, drawstyle="steps-post", label=label)
    ax.set_xlabel("stale episode duration [s]")
    ax.set_ylabel("share of stale vehicle-tile visits")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=Path("runs/hdmap-cdf"))
    parser.add_argument("--duration-s", type=float, help="shorten every run to this many seconds")
    args = parser.parse_args(argv)
    runs = run_variants(args.scenarios, args.out, args.duration_s)
    atomic_write_text(args.out / "hdmap_variants.csv", csv_text(table(runs)))
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.subplots()
    plot_staleness_cdfs(runs, ax)
    ax.set_title("HD-map staleness per vehicle-tile visit: release and distribution variants")
    save_figure(fig, args.out / "staleness_cdf.png")
    print(f"wrote {args.out / 'staleness_cdf.png'}, {args.out / 'hdmap_variants.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
