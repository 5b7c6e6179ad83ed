"""Plain-text tables of a run for the terminal."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from avzone.runner import Results

__all__ = ["format_checks", "format_run"]


def _num(value: object, fmt: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def format_run(results: Results, out: Path | None = None) -> str:
    """The run's headline numbers as a few aligned tables."""
    s = results.summary
    lines = [
        f"avzone: {s['scenario']} (seed {s['seed']}), {s['duration_s']:g} s simulated "
        f"in {results.wall_s:.1f} s wall ({results.realtime_factor:.1f}× real time)",
        f"map: {s['map']['source']}: {s['map']['nodes']} nodes, {s['map']['edges']} edges, "
        f"{s['map']['length_km']:.1f} km; {s['infrastructure']['rsus']} RSUs, "
        f"{s['infrastructure']['cells']} cells, {s['infrastructure']['sites']} sites",
        f"vehicles: {s['vehicles']['arrived']} arrived, {s['vehicles']['turned_away']} turned away, "
        f"{s['vehicles']['vehicle_km']:.0f} vehicle-km",
        "",
        "coverage (share of road length)",
    ]
    for name, block in s["coverage"].items():
        lines.append(f"  {name:<12} {block['road_fraction'] * 100:6.1f} %")
    lines += [
        "",
        f"  {'flow':<10} {'sent':>9} {'lost':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'miss':>7}",
    ]
    for name, f in s["flows"].items():
        lat = f["latency_ms"]
        miss = f["deadline_miss_ratio"]
        lines.append(
            f"  {name:<10} {f['sent']:>9} {f['lost']:>7} {_num(lat['p50'], '.2f'):>8} "
            f"{_num(lat['p99'], '.2f'):>8} {_num(lat['max'], '.2f'):>8} "
            f"{'-' if miss is None else f'{miss * 100:.2f}%':>7}"
        )
    lines += [
        "",
        f"  {'site':<10} {'tier':<9} {'servers':>7} {'util':>6} {'wait ms':>8} {'served':>8}",
    ]
    for name, c in s["cloud"].items():
        util = c["utilization"]
        lines.append(
            f"  {name:<10} {c['tier']:<9} {c['servers']:>7} "
            f"{'-' if util is None else f'{util * 100:.0f}%':>6} {_num(c['mean_wait_ms'], '.3f'):>8} {c['served']:>8}"
        )
    tiers = s.get("network", {}).get("tiers", {})
    if tiers:
        lines += [
            "",
            f"  {'backhaul':<12} {'links':>5} {'up Mbit/s':>10} {'max util':>9} {'p99 wait ms':>12}",
        ]
    for tier, t in tiers.items():
        up = t["up"]
        util = up["max_utilization"]
        lines.append(
            f"  {tier:<12} {t['links']:>5} {_num(up['mbps'], '.1f'):>10} "
            f"{'-' if util is None else f'{util * 100:.2f}%':>9} {_num(up['p99_wait_ms'], '.3f'):>12}"
        )
    hd = s["hdmap"]
    lines += [
        "",
        f"hd map: {hd['changes']} changes, {hd['releases']} releases, {hd['stale_episodes']} stale episodes, "
        f"staleness p95 {_num(hd['staleness_s']['p95'])} s, {hd['stale_vehicle_km']:.1f} stale vehicle-km",
    ]
    if results.checks:
        lines += ["", format_checks(results, None)]
    if out is not None:
        lines += [
            "",
            f"results: {out}/summary.json, flows.csv, site_timeseries.csv, quantiles.csv, coverage.geojson, links.csv",
        ]
    return "\n".join(lines)


def format_checks(results: Results, path: Path | None) -> str:
    """One line per check: PASS/FAIL, the check, the measured value."""
    head = f"checks of {path}:" if path else "checks:"
    lines = [head]
    for c in results.checks:
        lines.append(
            f"  {'PASS' if c.passed else 'FAIL'}  {c.check.text}  (measured {c.value:.6g})"
        )
    if not results.checks:
        lines.append("  (the scenario has no checks)")
    return "\n".join(lines)
