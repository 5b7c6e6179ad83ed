"""One self-contained HTML report of a run folder or a sweep folder (``avzone report``).

The page needs nothing but a browser: figures are PNG images embedded as
``data:`` URIs, the CSS is inline, there is no script and no external link.
Every string that comes from the results (names, check texts, file paths) is
escaped. The report is built from the written files only
(:mod:`avzone.rundir`), so it can be made long after the run::

    avzone report runs/etown-baseline -o baseline.html
    avzone report runs/sizing-sweep -o sizing.html --metric 'flows.control.*'
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avzone._html import (
    _MISSING,
    _count,
    _e,
    _figure,
    _get,
    _key_value_table,
    _num,
    _page,
    _pct,
    _Raw,
    _table,
)
from avzone.errors import AvzoneError
from avzone.metrics import atomic_write_text
from avzone.rundir import RunFolder, SweepFolder, is_run_dir, is_sweep_dir, load_run, load_sweep

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_SWEEP_METRICS",
    "add_report_parser",
    "render_run_report",
    "render_sweep_report",
    "run_report_command",
    "write_report",
]

DEFAULT_SWEEP_METRICS = (
    "flows.*.latency_ms.p99",
    "coverage.*.road_fraction",
    "hdmap.staleness_s.p95",
)
"""Metrics a sweep report plots by default (glob patterns on dotted summary paths), when present."""


def write_report(
    path_in: str | Path, html_out: str | Path, *, metrics: Sequence[str] | None = None
) -> Path:
    """Write the HTML report of a run folder or a sweep folder to ``html_out`` (atomically).

    Parameters
    ----------
    path_in
        A run folder (``avzone run``) or a sweep folder (``avzone sweep``).
    html_out
        The HTML file to write; its folder is made when missing.
    metrics
        Sweep folders only: glob patterns of the metrics to plot, e.g.
        ``["flows.control.*"]``; default :data:`DEFAULT_SWEEP_METRICS`.

    Returns
    -------
    Path
        ``html_out``.

    Raises
    ------
    AvzoneError
        One line naming the folder or file when it is not a readable run or sweep folder.
    """
    folder = Path(path_in)
    if not folder.is_dir():
        raise AvzoneError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    if is_run_dir(folder):
        if metrics:
            raise AvzoneError(f"{folder}: --metric applies to sweep folders only; this is a run")
        page = render_run_report(load_run(folder))
    elif is_sweep_dir(folder):
        page = render_sweep_report(load_sweep(folder), metrics)
    else:
        raise AvzoneError(
            f"{folder}: not an avzone run folder (no summary.json) "
            "nor a sweep folder (no runs.csv and summary.csv)"
        )
    out = Path(html_out)
    atomic_write_text(out, page)
    return out


# --------------------------------------------------------------------------- run report


def render_run_report(run: RunFolder) -> str:
    """The HTML page of one run folder, as a string."""
    from avzone import plots  # matplotlib only when a report is made, not for every command

    s = run.summary
    sections = [
        ("settings", "Scenario", _settings_table(run)),
        ("checks", "Checks", _checks_block(s["checks"])),
        (
            "coverage",
            "Coverage",
            _coverage_table(s)
            + '<div class="grid">'
            + "".join(
                _figure(
                    plots.plot_coverage_map(run, system)[0],
                    f"{system} coverage map",
                    f"Covered share of each road edge by {system}.",
                )
                for system in s["coverage"]
            )
            + "</div>",
        ),
        (
            "flows",
            "Flows",
            _flows_table(s["flows"])
            + _failures_table(s["flows"])
            + _figure(
                plots.plot_latency_cdf(run)[0],
                "latency CDF",
                "End-to-end latency of delivered messages (quantiles.csv); dashed: each flow's deadline.",
            )
            + _figure(
                plots.plot_latency_breakdown(run)[0],
                "latency breakdown",
                "Mean of each measured stage of delivered messages: access, backhaul, site queue, service, "
                "each way (summary breakdown_ms).",
            ),
        ),
        (
            "cloud",
            "Cloud sites",
            _cloud_table(s["cloud"])
            + _backhaul_table(s.get("network", {}))
            + _figure(
                plots.plot_site_timeseries(run, metric="utilization")[0],
                "site utilisation",
                "Busy server share per 10 s bin (site_timeseries.csv).",
            )
            + _figure(
                plots.plot_site_timeseries(run, metric="queue_mean")[0],
                "site queue length",
                "Time-weighted mean number of jobs waiting per 10 s bin.",
            ),
        ),
        (
            "hdmap",
            "HD map",
            _hdmap_table(s["hdmap"])
            + _figure(
                plots.plot_staleness_cdf(run)[0],
                "staleness CDF",
                "Duration of the stale episodes that began after the warm-up (quantiles.csv).",
            ),
        ),
        ("vehicles", "Vehicles", _vehicles_table(s["vehicles"])),
    ]
    if "fault_timeline" in s:  # a run with faults (docs/faults.md)
        sections.insert(
            2,
            (
                "faults",
                "Faults",
                _figure(
                    plots.plot_fault_timeline(run)[0],
                    "fault timeline",
                    "Share of each flow's messages lost or late per 5 s bin; shaded: the faults.",
                ),
            ),
        )
    subtitle = (
        f"seed {s['seed']} · {_num(s['duration_s'])} s simulated, warm-up {_num(s['warmup_s'])} s"
        f" · {_checks_verdict(s['checks'])}"
    )
    return _page(f"avzone report: {run.name}", subtitle, sections, run.path)


def _settings_table(run: RunFolder) -> str:
    sc, s = run.scenario, run.summary
    map_file = _get(sc, "map.file")
    map_text = f"builtin: {_get(sc, 'map.builtin')}" if map_file is None else map_file
    m = s["map"]
    sites = ", ".join(
        f"{site.get('name')} ×{site.get('count', 1)} ({site.get('tier')}, "
        f"{site.get('servers')} servers)"
        for site in _get(sc, "cloud.sites") or []
    )
    flows = ", ".join(
        f"{f.get('name')} ({_num(f.get('rate_hz'))} Hz via {f.get('via')}, "
        f"deadline {_num(f.get('deadline_ms'))} ms)"
        for f in sc.get("flows") or []
    )
    fleet = sc.get("fleet") or {}
    demand = (
        f"{fleet.get('arrivals')}: {_num(fleet.get('rate_per_h'))} vehicles/h, "
        f"at most {fleet.get('max_vehicles')} in the zone"
        if fleet.get("arrivals") == "poisson"
        else f"{fleet.get('arrivals')}: {fleet.get('count')} vehicles"
    )
    release = f"{_get(sc, 'hdmap.release_mode')}, delay {_num(_get(sc, 'hdmap.release_delay_s'))} s"
    if _get(sc, "hdmap.release_mode") == "batch":
        release += f", every {_num(_get(sc, 'hdmap.release_interval_s'))} s"
    rows = [
        ("scenario", s["scenario"]),
        ("scenario file", sc.get("file")),
        ("seed", s["seed"]),
        ("duration, warm-up", f"{_num(s['duration_s'])} s, {_num(s['warmup_s'])} s"),
        ("engine", sc.get("engine")),
        ("map", map_text),
        (
            "road network",
            f"{m['nodes']} nodes, {m['edges']} directed edges, {_num(m['length_km'])} km, "
            f"{m['signalized']} signalised",
        ),
        (
            "RSUs",
            f"{s['infrastructure']['rsus']} ({_get(sc, 'road.placement.rule')}), "
            f"PC5 range {_num(_get(sc, 'road.pc5.range_m'))} m",
        ),
        (
            "5G cells",
            f"{s['infrastructure']['cells']} ({_get(sc, 'network.cells.placement.rule')}), "
            f"range {_num(_get(sc, 'network.cells.range_m'))} m",
        ),
        ("fleet", demand),
        ("flows", flows),
        ("compute sites", sites),
        (
            "dispatch",
            f"{_get(sc, 'cloud.dispatch')}, fallback {'on' if _get(sc, 'cloud.fallback') else 'off'}, "
            f"{_count(len(_get(sc, 'cloud.outages') or []), 'site outage')}",
        ),
        (
            "HD map",
            f"{_num(_get(sc, 'hdmap.change_rate_per_tile_per_h'))} changes per tile per h, "
            f"release {release}",
        ),
    ]
    return _key_value_table(rows)


def _checks_verdict(checks: Sequence[Mapping[str, Any]]) -> str:
    if not checks:
        return "no checks"
    passed = sum(bool(c["passed"]) for c in checks)
    return f"{passed} of {len(checks)} checks passed"


def _checks_block(checks: Sequence[Mapping[str, Any]]) -> str:
    if not checks:
        return "<p>The scenario has no checks.</p>"
    all_passed = all(c["passed"] for c in checks)
    verdict = (
        f'<p class="verdict"><span class="badge {"pass" if all_passed else "fail"}">'
        f"{'PASS' if all_passed else 'FAIL'}</span> {_e(_checks_verdict(checks))}</p>"
    )
    rows = [
        [
            _Raw(
                f'<span class="badge {"pass" if c["passed"] else "fail"}">'
                f"{'PASS' if c['passed'] else 'FAIL'}</span>"
            ),
            c["check"],
            _num(c["value"]) if c["value"] is not None else "no value",
        ]
        for c in checks
    ]
    return verdict + _table(["result", "check", "measured"], rows)


def _coverage_table(s: Mapping[str, Any]) -> str:
    rows = [[name, _pct(b["road_fraction"])] for name, b in s["coverage"].items()]
    return _table(["system", "road length covered"], rows)


def _flows_table(flows: Mapping[str, Any]) -> str:
    headers = [
        "flow", "sent", "delivered", "lost", "in flight", "delivered %",
        "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "deadline ms", "late", "missed %",
    ]  # fmt: skip
    rows = []
    for name, f in flows.items():
        lat = f["latency_ms"]
        rows.append(
            [
                name, f["sent"], f["delivered"], f["lost"], f["in_flight"], _pct(f["delivery_ratio"]),
                *(_num(lat[k], 2) for k in ("p50", "p95", "p99", "p999", "max")),
                _num(f["deadline_ms"]), f["late"], _pct(f["deadline_miss_ratio"]),
            ]
        )  # fmt: skip
    return _table(headers, rows)


def _failures_table(flows: Mapping[str, Any]) -> str:
    causes = list(next(iter(flows.values()))["failures"]) if flows else []
    rows = [[name, *(f["failures"][c] for c in causes)] for name, f in flows.items()]
    return "<h3>Failures by cause</h3>" + _table(
        ["flow", *(c.replace("_", " ") for c in causes)], rows
    )


def _cloud_table(cloud: Mapping[str, Any]) -> str:
    headers = [
        "site", "tier", "servers", "served", "utilisation", "mean wait ms", "p99 wait ms",
        "queue p99", "max queue", "rejected", "site down", "served by service",
    ]  # fmt: skip
    rows = [
        [
            name, c["tier"], c["servers"], c["served"], _pct(c["utilization"]),
            _num(c["mean_wait_ms"], 3), _num(c["p99_wait_ms"], 3), c["queue_p99"], c["max_queue"],
            c["rejected"], c["site_down"],
            ", ".join(f"{k} {v:,}" for k, v in c["served_by_service"].items()) or _MISSING,
        ]
        for name, c in cloud.items()
    ]  # fmt: skip
    return _table(headers, rows)


def _backhaul_table(network: Mapping[str, Any]) -> str:
    """Link load per tier and at each site (summary ``network``); nothing without it."""
    rows = [
        [f"{kind} {name}", block.get("links"), _num(a["mbps"], 3), _pct(a["max_utilization"]),
         _num(a["p99_wait_ms"], 4), _num(b["mbps"], 3), _pct(b["max_utilization"])]
        for kind, key, (ka, kb) in (("tier", "tiers", ("up", "down")), ("site", "sites", ("in", "out")))
        for name, block in network.get(key, {}).items()
        for a, b in [(block[ka], block[kb])]
    ]  # fmt: skip
    if not rows:
        return ""
    headers = [
        "backhaul",
        "links",
        "up / in Mbit/s",
        "max util",
        "p99 wait ms",
        "down / out Mbit/s",
        "max util",
    ]
    return "<h3>Backhaul link load</h3>" + _table(headers, rows)


def _hdmap_table(hd: Mapping[str, Any]) -> str:
    lag, stale = hd["update_lag_s"], hd["staleness_s"]
    rows = [
        ("map tiles holding road", hd["tiles"]),
        ("world changes after the warm-up", hd["changes"]),
        ("releases", hd["releases"]),
        ("tile deliveries", hd["deliveries"]),
        ("update lag mean / p95 / max", _stats_s(lag, ("mean", "p95", "max"))),
        ("stale episodes", hd["stale_episodes"]),
        ("staleness mean / p50 / p95 / max", _stats_s(stale, ("mean", "p50", "p95", "max"))),
        ("stale vehicle-km", _num(hd["stale_vehicle_km"], 2)),
    ]
    return _key_value_table(rows)


def _vehicles_table(v: Mapping[str, Any]) -> str:
    rows = [
        ("arrived", v["arrived"]),
        ("turned away", v["turned_away"]),
        ("trips completed", v["trips_completed"]),
        ("vehicle-km", _num(v["vehicle_km"], 1)),
    ]
    return "<p>Whole run, warm-up included.</p>" + _key_value_table(rows)


def _stats_s(block: Mapping[str, Any], keys: Iterable[str]) -> str:
    if all(block[k] is None for k in keys):
        return "no sample"
    return " / ".join(_num(block[k], 2) for k in keys) + " s"


# --------------------------------------------------------------------------- sweep report


def render_sweep_report(sweep: SweepFolder, metrics: Sequence[str] | None = None) -> str:
    """The HTML page of one sweep folder, as a string.

    ``metrics`` are glob patterns; a pattern given explicitly must match a
    metric of ``summary.csv``.
    """
    from avzone import plots  # matplotlib only when a report is made

    chosen = _select_metrics(sweep, metrics)
    grid_rows: list[tuple[str, Any]] = [
        (key, ", ".join(str(v) for v in sweep.values(key))) for key in sweep.keys
    ]
    replications = len({r["replication"] for r in sweep.runs})
    grid_rows += [("replications per point", replications), ("runs", len(sweep.runs))]
    grid_html = _key_value_table(grid_rows)
    if sweep.spec:
        grid_html += (
            "<details><summary>sweep.json</summary><pre>"
            + _e(json.dumps(sweep.spec, indent=2))
            + "</pre></details>"
        )
    headers = [*sweep.keys, "metric", "n", "mean", "std", "95 % CI low", "95 % CI high"]

    def rows(selected: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        return [
            [
                *(r[k] for k in sweep.keys),
                r["metric"],
                r["n"],
                *(_num(r[c], 4) for c in ("mean", "std", "ci95_low", "ci95_high")),
            ]
            for r in selected
        ]

    chosen_rows = [r for m in chosen for r in sweep.summary if r["metric"] == m]
    table_html = (
        _table(headers, rows(chosen_rows))
        if chosen_rows
        else "<p>None of the default metrics is in this sweep; see the full table.</p>"
    )
    table_html += (
        "<details><summary>All metrics</summary>"
        + _table(headers, rows(sweep.summary))
        + "</details>"
    )
    if not sweep.keys:
        curves = "<p>No swept key: nothing to draw against.</p>"
    else:
        x_key = sweep.keys[0]
        group_key = sweep.keys[1] if len(sweep.keys) > 1 else None
        curves = (
            "".join(
                _figure(
                    plots.plot_sweep(sweep, metric, x_key, group_key=group_key)[0],
                    f"{metric} against {x_key}",
                    f"Mean of {metric} over replications against {x_key}; band: 95 % confidence interval.",
                )
                for metric in chosen
            )
            or "<p>No metric to draw.</p>"
        )
    sections = [
        ("grid", "Grid", grid_html),
        ("summary", "Summary", table_html),
        ("curves", "Curves", curves),
    ]
    scenario = f"scenario {sweep.spec['scenario']} · " if "scenario" in sweep.spec else ""
    subtitle = (
        f"{scenario}{len(sweep.keys)} swept keys · {len(sweep.runs)} runs · "
        f"{len(sweep.metrics)} metrics in summary.csv"
    )
    return _page(
        f"avzone sweep report: {sweep.path.resolve().name}", subtitle, sections, sweep.path
    )


def _select_metrics(sweep: SweepFolder, patterns: Sequence[str] | None) -> list[str]:
    available = sweep.metrics
    chosen: list[str] = []
    for pattern in patterns or DEFAULT_SWEEP_METRICS:
        matches = [m for m in available if fnmatch.fnmatchcase(m, pattern)]
        if patterns and not matches:
            raise AvzoneError(
                f"{sweep.path / 'summary.csv'}: --metric {pattern!r} matches no metric; "
                f"metrics: {', '.join(available[:8])}{', …' if len(available) > 8 else ''}"
            )
        chosen += [m for m in matches if m not in chosen]
    return chosen


# --------------------------------------------------------------------------- HTML pieces


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avzone report FOLDER -o FILE.html [--metric PATTERN ...]``."""
    report = sub.add_parser(
        "report", help="write a self-contained HTML report of a run or sweep folder"
    )
    report.add_argument(
        "folder", type=Path, help="a run folder (avzone run) or a sweep folder (avzone sweep)"
    )
    report.add_argument("-o", "--output", type=Path, required=True, help="the HTML file to write")
    report.add_argument(
        "--metric",
        action="append",
        metavar="PATTERN",
        help="sweep folders: a metric to plot, glob on dotted summary paths (repeatable); "
        f"default: {', '.join(DEFAULT_SWEEP_METRICS)}",
    )


def run_report_command(args: argparse.Namespace) -> int:
    """Run ``avzone report``; errors propagate as :class:`AvzoneError` (exit 2 in the CLI)."""
    out = write_report(args.folder, args.output, metrics=args.metric)
    print(f"wrote {out}")
    return 0
