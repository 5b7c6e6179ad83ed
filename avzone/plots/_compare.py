"""Figures across runs: variant comparisons, sizing curves, sweeps with confidence bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

if TYPE_CHECKING:
    from avzone.rundir import SweepFolder

from avzone.plots._common import _axes


def plot_coverage_comparison(
    summaries: Mapping[str, Mapping[str, Any]], ax: Axes | None = None
) -> tuple[Figure, Axes]:
    """Grouped bars: road share covered per system (x) for each run (colour).

    ``summaries`` maps a label to a summary as written to summary.json.
    """
    fig, ax = _axes(ax, (8.0, 4.0))
    systems = list(next(iter(summaries.values()))["coverage"]) if summaries else []
    width = 0.8 / max(1, len(summaries))
    x = np.arange(len(systems))
    for i, (label, summary) in enumerate(summaries.items()):
        values = [100 * summary["coverage"][name]["road_fraction"] for name in systems]
        ax.bar(x + (i - (len(summaries) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, systems)
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("road length covered [%]")
    ax.set_title("Coverage by system")
    ax.legend(fontsize="small", loc="upper center", ncols=max(1, len(summaries)), frameon=False)
    return fig, ax


def plot_latency_comparison(
    summaries: Mapping[str, Mapping[str, Any]], flow: str, ax: Axes | None = None
) -> tuple[Figure, Axes]:
    """Bars of one flow's p50 and p99 latency per run, the deadline as a line."""
    fig, ax = _axes(ax, (8.0, 4.0))
    labels = list(summaries)
    x = np.arange(len(labels))
    deadline_ms = None
    highest_ms = 0.0
    for offset, stat in ((-0.2, "p50"), (0.2, "p99")):
        values = []
        for label in labels:
            block = summaries[label]["flows"][flow]
            deadline_ms = block["deadline_ms"]
            value = block["latency_ms"][stat]
            values.append(np.nan if value is None else value)
            highest_ms = max(highest_ms, value or 0.0)
        ax.bar(x + offset, values, 0.4, label=stat)
    if deadline_ms is not None:
        ax.axhline(deadline_ms, color="black", linestyle="--", linewidth=1, label="deadline")
    ax.set_xticks(x, labels)
    ax.set_ylabel(f"{flow} latency [ms]")
    ax.set_ylim(0, 1.25 * max(deadline_ms or 0.0, highest_ms, 1.0))
    ax.set_title(f"Latency of the {flow} flow")
    ax.legend(fontsize="small", loc="upper center", ncols=3, frameon=False)
    return fig, ax


def plot_sizing_curve(
    rows: Sequence[Mapping[str, Any]], ax: Axes | None = None, *, title: str | None = None
) -> tuple[Figure, Axes]:
    """p99 latency against servers per site (rows of ``servers``, ``p99_ms``, ``deadline_ms``)."""
    fig, ax = _axes(ax, (7.0, 4.0))
    servers = [r["servers"] for r in rows]
    p99 = [np.nan if r["p99_ms"] is None else r["p99_ms"] for r in rows]
    ax.plot(servers, p99, marker="o", label="p99")
    if rows:
        ax.axhline(
            rows[0]["deadline_ms"], color="black", linestyle="--", linewidth=1, label="deadline"
        )
    ax.set_yscale("log")
    ax.set_xlabel("servers per site")
    ax.set_ylabel("latency [ms]")
    ax.set_title(title or "Sizing")
    ax.legend(fontsize="small")
    return fig, ax


def _metric_label(metric: str) -> str:
    """A dotted summary path with its unit, e.g. ``hdmap.staleness_s.p95 [s]``."""
    for part in reversed(metric.split(".")):
        for suffix, unit in _UNIT_SUFFIXES:
            if part.endswith(suffix):
                return f"{metric} [{unit}]"
    return metric


_MARKERS = "osD^vP*X"
_UNIT_SUFFIXES = (
    ("_ms", "ms"),
    ("_s", "s"),
    ("_km", "km"),
    ("_fraction", "fraction"),
    ("_ratio", "fraction"),
    ("utilization", "fraction"),
)


_CI_LABEL = "95 % confidence interval"


def _follows(rows: Sequence[Mapping[str, Any]], key: str, x_key: str) -> bool:
    """Whether ``key`` takes one value per value of ``x_key`` (a zipped sweep)."""
    seen: dict[Any, set[Any]] = {}
    for row in rows:
        seen.setdefault(row[x_key], set()).add(row[key])
    return all(len(values) == 1 for values in seen.values())


def plot_sweep(
    sweep: SweepFolder,
    metric: str,
    x_key: str,
    ax: Axes | None = None,
    group_key: str | None = None,
    label: str | None = None,
) -> tuple[Figure, Axes]:
    """A metric's mean over replications against one swept key, with its 95 % CI band.

    ``label`` names this sweep's lines, to overlay several sweeps on one ``ax``
    (each call continues the colour cycle).

    Reads ``summary.csv`` of a sweep folder. One line per value of
    ``group_key``; any other swept key that varies also splits the lines (it
    is never averaged over silently). A key swept over names (``nearest``,
    ``least_loaded``) is drawn as categories in sweep order.

    Example::

        sweep = load_sweep("runs/sizing")
        fig, ax = plot_sweep(sweep, "flows.control.latency_ms.p99", "cloud.sites.edge.servers")
    """
    rows = [r for r in sweep.summary if r["metric"] == metric]
    if not rows:
        raise ValueError(f"metric: {metric!r} is not in {sweep.path / 'summary.csv'}")
    for name, key in (("x_key", x_key), ("group_key", group_key)):
        if key is not None and key not in sweep.keys:
            raise ValueError(f"{name}: expected one of {', '.join(sweep.keys)}, got {key!r}")
    if group_key == x_key:
        raise ValueError(f"group_key: must differ from x_key, got {group_key!r} for both")
    split = [group_key] if group_key else []
    split += [
        k for k in sweep.keys
        if k not in (x_key, group_key)
        and len({r[k] for r in rows}) > 1
        and not _follows(rows, k, x_key)  # zipped with x: one value per x, nothing to split
    ]  # fmt: skip
    fig, ax = _axes(ax, (7.5, 4.5))
    x_values = list(dict.fromkeys(r[x_key] for r in rows))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in x_values)
    position = {v: (float(v) if numeric else float(i)) for i, v in enumerate(x_values)}
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in split), []).append(row)
    first = len(ax.lines)
    for i, (group, members) in enumerate(groups.items(), start=first):
        members = sorted(members, key=lambda r: position[r[x_key]])
        x = [position[r[x_key]] for r in members]
        mean, low, high = (
            [np.nan if r[c] is None else float(r[c]) for r in members]
            for c in ("mean", "ci95_low", "ci95_high")
        )
        name = ", ".join(f"{k} = {v}" for k, v in zip(split, group, strict=True))
        line_label = ", ".join(part for part in (label, name) if part) or "mean"
        color = f"C{i % 10}"
        marker = _MARKERS[i % len(_MARKERS)]  # equal curves stay distinguishable
        ax.plot(x, mean, marker=marker, color=color, linewidth=1.8, alpha=0.9, label=line_label)
        ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    handles, _ = ax.get_legend_handles_labels()
    handles = [h for h in handles if h.get_label() != _CI_LABEL]
    handles.append(Patch(color="0.5", alpha=0.3, label=_CI_LABEL))
    ax.legend(handles=handles, fontsize="small", framealpha=0.9)
    if numeric:
        if len(x_values) <= 12:
            ax.set_xticks(sorted(position.values()))
    else:
        ax.set_xticks(list(position.values()), [str(v) for v in x_values])
        ax.set_xlim(-0.5, len(x_values) - 0.5)
    n = [r["n"] for r in rows if r["n"] is not None]
    runs = f"{min(n)}" if n and min(n) == max(n) else f"{min(n, default=0)}–{max(n, default=0)}"
    ax.set_xlabel(x_key)
    ax.set_ylabel(_metric_label(metric))
    ax.set_title(f"{metric} against {x_key}\nmean of {runs} replications per point")
    ax.grid(True, color="0.9")
    return fig, ax
