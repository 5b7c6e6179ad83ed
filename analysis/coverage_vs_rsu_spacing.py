"""Coverage against RSU spacing: how far apart can roadside units be?

Places RSUs every SPACING m along the arterials (road.rsu.place.rule
along_arterials) for each spacing, and reads the static coverage tables —
no simulation is needed, so this is quick even on the full map::

    python analysis/coverage_vs_rsu_spacing.py --out runs/rsu-spacing
    python analysis/coverage_vs_rsu_spacing.py --spacings 200,400,800 scenarios/etown-baseline.yaml

Writes OUT/coverage_vs_spacing.csv and OUT/coverage_vs_spacing.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import avzone
from avzone.metrics import atomic_write_text, build_summary, csv_text
from avzone.plots import save_figure

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("pc5", "perception", "any_radio", "dual_radio")


def coverage_by_spacing(scenario: Path, spacings_m: list[float]) -> list[dict[str, Any]]:
    """One row per spacing: RSU count and road share covered per system."""
    rows = []
    for spacing_m in spacings_m:
        world = avzone.build_world(
            scenario,
            overrides={"road.rsu.place": {"rule": "along_arterials", "spacing_m": spacing_m}},
        )
        coverage = build_summary(world, None)["coverage"]
        row: dict[str, Any] = {"spacing_m": spacing_m, "rsus": world.n_rsus}
        row.update({name: coverage[name]["road_fraction"] for name in SYSTEMS})
        rows.append(row)
    return rows


def plot(rows: list[dict[str, Any]], title: str) -> Figure:
    """Coverage per system against spacing, with the RSU count on a second axis."""
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    spacing = [r["spacing_m"] for r in rows]
    for name in SYSTEMS:
        ax.plot(spacing, [100 * r[name] for r in rows], marker="o", label=name)
    ax.set_xlabel("RSU spacing along arterials [m]")
    ax.set_ylabel("road length covered [%]")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    count = ax.twinx()
    count.plot(
        spacing, [r["rsus"] for r in rows], color="grey", linestyle=":", marker="x", label="RSUs"
    )
    count.set_ylabel("RSUs")
    lines = ax.get_legend_handles_labels()
    extra = count.get_legend_handles_labels()
    ax.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize="small", loc="lower left")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", type=Path, default=ROOT / "scenarios" / "etown-baseline.yaml"
    )
    parser.add_argument(
        "--spacings", default="200,300,400,600,800,1200,1600", help="comma-separated metres"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/rsu-spacing"))
    args = parser.parse_args(argv)
    spacings = [float(x) for x in args.spacings.split(",")]
    rows = coverage_by_spacing(args.scenario, spacings)
    table = csv_text(rows)
    atomic_write_text(args.out / "coverage_vs_spacing.csv", table)
    save_figure(
        plot(rows, f"Coverage vs RSU spacing ({args.scenario.stem})"),
        args.out / "coverage_vs_spacing.png",
    )
    print(table, end="")
    print(
        f"wrote {args.out / 'coverage_vs_spacing.csv'} and {args.out / 'coverage_vs_spacing.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
