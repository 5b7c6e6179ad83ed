"""Size the edge: the fewest servers per edge site that meet a flow's p99 deadline.

Runs the scenario once with a generous number of servers per site of an edge
group (``--probe``, 64 by default) to measure the work each site gets: no count
below the busiest site's busy servers can keep its queue stable. From that
bound it doubles until the flow's p99 latency is within its deadline, then
bisects down to the smallest count that still is (assuming more servers never
hurt). Writes every run's figures and a curve of p99 against servers::

    python analysis/size_edge_servers.py                         # etown-baseline, group "edge", flow "control"
    python analysis/size_edge_servers.py scenarios/etown-hybrid.yaml --duration-s 120 --out runs/sizing

Writes OUT/sizing.csv and OUT/sizing.png and prints the answer.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import avzone
from avzone.metrics import atomic_write_text, csv_text
from avzone.plots import plot_sizing_curve, save_figure
from avzone.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def with_servers(scenario: Scenario, group: str, servers: int) -> Scenario:
    """The scenario with ``servers`` servers in every site of the group ``group``."""
    sites = tuple(
        dataclasses.replace(s, servers=servers) if s.name == group else s
        for s in scenario.cloud.sites
    )
    if all(s.name != group for s in sites):
        raise SystemExit(
            f"no site group {group!r} in {scenario.name} (has: {', '.join(s.name for s in sites)})"
        )
    return dataclasses.replace(scenario, cloud=dataclasses.replace(scenario.cloud, sites=sites))


def _site_names(scenario: Scenario, group: str) -> tuple[str, ...]:
    return next(s.names for s in scenario.cloud.sites if s.name == group)


def size(
    scenario: Scenario, group: str, flow: str, max_servers: int = 64
) -> tuple[int | None, list[dict[str, Any]]]:
    """The smallest server count meeting the flow's deadline at p99, and every run's row."""
    deadline_ms = scenario.flow(flow).deadline_ms
    rows: dict[int, dict[str, Any]] = {}

    def meets(servers: int) -> bool:
        if servers not in rows:
            summary = avzone.run(with_servers(scenario, group, servers)).summary
            block = summary["flows"][flow]
            utilization = [
                c["utilization"] for c in summary["cloud"].values() if c["tier"] == "edge"
            ]
            rows[servers] = {
                "servers": servers,
                "p99_ms": block["latency_ms"]["p99"],
                "deadline_ms": deadline_ms,
                "deadline_miss_ratio": block["deadline_miss_ratio"],
                "edge_utilization_max": max(utilization),
                "edge_busy_servers_max": max(utilization) * servers,
            }
        p99 = rows[servers]["p99_ms"]
        return p99 is not None and p99 <= deadline_ms

    probe = max_servers
    if not meets(probe):
        return None, sorted(rows.values(), key=lambda r: r["servers"])
    busy_servers = rows[probe]["edge_busy_servers_max"]
    low = max(0, math.ceil(busy_servers) - 1)  # fewer than the busy servers cannot keep up
    high = max(1, low + 1)
    while not meets(high):
        low, high = high, min(2 * high, probe)
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return high, sorted(rows.values(), key=lambda r: r["servers"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", type=Path, default=ROOT / "scenarios" / "etown-baseline.yaml"
    )
    parser.add_argument(
        "--group", default="edge", help="the edge site group to size (cloud.sites key)"
    )
    parser.add_argument(
        "--flow", default="control", help="the flow whose p99 must meet its deadline_ms"
    )
    parser.add_argument("--duration-s", type=float, help="shorten the runs to this many seconds")
    parser.add_argument(
        "--probe", type=int, default=64, help="servers per site of the first, generous run"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/sizing"))
    args = parser.parse_args(argv)
    scenario = avzone.load_scenario(args.scenario)
    if args.duration_s is not None:  # keep the warm-up share
        share = scenario.warmup_s / scenario.duration_s
        scenario = dataclasses.replace(
            scenario, duration_s=args.duration_s, warmup_s=share * args.duration_s
        )
    answer, rows = size(scenario, args.group, args.flow, args.probe)
    table = csv_text(rows)
    atomic_write_text(args.out / "sizing.csv", table)
    fig, _ = plot_sizing_curve(
        rows, title=f"{scenario.name}: {args.flow} p99 vs servers per {args.group} site"
    )
    save_figure(fig, args.out / "sizing.png")
    print(table, end="")
    if answer is None:
        print(
            f"even {args.probe} servers per site miss the {args.flow} deadline at p99 (raise --probe?)"
        )
        return 1
    print(f"smallest: {answer} servers per {args.group} site ({args.flow} p99 within its deadline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
