"""Figures. Plotting lives here only; functions take ``ax=None`` and return ``(fig, ax)``.

Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`),
never pyplot, so they work in any backend (Agg in tests and on servers) and
leave no global state behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

if TYPE_CHECKING:
    from avzone.rundir import RunFolder, SweepFolder

__all__ = [
    "ROAD_CLASS_COLORS",
    "plot_coverage_comparison",
    "plot_coverage_map",
    "plot_latency_breakdown",
    "plot_latency_cdf",
    "plot_latency_comparison",
    "plot_map",
    "plot_site_timeseries",
    "plot_sizing_curve",
    "plot_staleness_cdf",
    "plot_sweep",
    "save_figure",
]

ROAD_CLASS_COLORS: Mapping[str, str] = {
    "motorway": "#b2182b",
    "trunk": "#d6604d",
    "primary": "#e08214",
    "secondary": "#d8b365",
    "tertiary": "#4393c3",
    "residential": "#7f9fbf",
    "unclassified": "#8c8c8c",
    "service": "#b0b0b0",
}
"""Line colour by road class; classes not listed (``*_link``, ...) use their base class or grey."""

_OTHER_COLOR = "#b0b0b0"
_MISSING_COLOR = "#d9d9d9"  # edges without a value in ``edge_values``
_SIGNAL_COLOR = "#c51b7d"


def _class_color(road_class: str) -> str:
    return ROAD_CLASS_COLORS.get(road_class.removesuffix("_link"), _OTHER_COLOR)


def _root_figure(ax: Axes) -> Figure:
    parent = ax.get_figure()
    if parent is None:
        raise ValueError("ax: expected axes that belong to a figure")
    root: Figure = parent if isinstance(parent, Figure) else parent.figure
    return root


def plot_map(
    G: nx.MultiDiGraph,
    ax: Axes | None = None,
    *,
    edge_values: Mapping[str, float] | None = None,
    title: str | None = None,
    cmap: str = "viridis",
    value_label: str | None = None,
) -> tuple[Figure, Axes]:
    """Draw a road graph: edges as lines, signalised nodes as dots.

    Parameters
    ----------
    G
        The road graph (metres).
    ax
        Axes to draw into; a new figure is made when ``None``.
    edge_values
        Optional value per edge ``id`` (e.g. coverage share); edges are then
        coloured with ``cmap`` and a colour bar, edges without a value grey.
        Without it, edges are coloured by road class with a legend.
    title
        Axes title; defaults to the graph's ``name``.
    cmap
        Matplotlib colour map name for ``edge_values``.
    value_label
        Colour bar label for ``edge_values``.

    Returns
    -------
    (Figure, Axes)
        The figure and the axes drawn into. Line width grows with the number
        of lanes; the two directions of a road are drawn on top of each other.
    """
    if ax is None:
        fig = Figure(figsize=(8.0, 7.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = _root_figure(ax)
    edges = list(G.edges(data=True))
    if edge_values is not None:  # grey edges first, so that they never hide a value
        edges.sort(key=lambda edge: edge[2]["id"] in edge_values)
    segments = [np.asarray(d["geometry"].coords) for _, _, d in edges]
    widths = [0.4 + 0.4 * int(d["lanes"]) for _, _, d in edges]
    if edge_values is None:
        colors = np.array([to_rgba(_class_color(d["road_class"])) for _, _, d in edges])
    else:
        values = np.array([float(edge_values.get(d["id"], np.nan)) for _, _, d in edges])
        known = ~np.isnan(values)
        norm = Normalize(*(values[known].min(), values[known].max()) if known.any() else (0, 1))
        mapper = ScalarMappable(norm=norm, cmap=cmap)
        colors = np.array(mapper.to_rgba(values)).reshape(-1, 4)
        colors[~known] = to_rgba(_MISSING_COLOR)
        fig.colorbar(mapper, ax=ax, label=value_label, shrink=0.8)
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths), autolim=True)

    signals = np.array(
        [(d["x"], d["y"]) for _, d in G.nodes(data=True) if d.get("signalized", False)]
    ).reshape(-1, 2)
    if len(signals):
        ax.scatter(signals[:, 0], signals[:, 1], s=4, color=_SIGNAL_COLOR, zorder=3, linewidths=0)
    if edge_values is None:
        _legend(ax, sorted({d["road_class"] for _, _, d in edges}), has_signals=len(signals) > 0)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(title if title is not None else str(G.graph.get("name", "")))
    return fig, ax


def _legend(ax: Axes, road_classes: list[str], *, has_signals: bool) -> None:
    handles = [Line2D([], [], color=_class_color(c), label=c) for c in road_classes]
    if has_signals:
        handles.append(
            Line2D(
                [],
                [],
                color=_SIGNAL_COLOR,
                marker="o",
                linestyle="",
                markersize=3,
                label="signalised",
            )
        )
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize="small", framealpha=0.8)


def _axes(ax: Axes | None, size_in: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=size_in, layout="constrained")
        return fig, fig.add_subplot()
    return _root_figure(ax), ax


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


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` atomically (temporary file in the same folder, then rename).

    The format follows the file suffix (``.png``, ``.svg``, ``.pdf``...).
    Returns ``path``.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or None)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------------
# Figures of written results: a run folder or a sweep folder (avzone.rundir).
# ---------------------------------------------------------------------------

_TIER_STYLES: Mapping[str, str] = {"edge": "-", "regional": "--", "central": ":"}
_BREAKDOWN_COLORS: Mapping[str, str] = {
    "network": "#4393c3",
    "wait": "#e08214",
    "service": "#5aae61",
}
_SITE_METRICS: Mapping[str, tuple[str, float]] = {
    "utilization": ("utilisation [%]", 100.0),
    "queue_mean": ("mean number of jobs waiting", 1.0),
    "queue_max": ("largest number of jobs waiting", 1.0),
}


def _log_x(ax: Axes) -> None:
    """Log x axis with plain tick labels (0.1, 1, 10 rather than 10⁻¹, 10⁰, 10¹)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def _no_data(ax: Axes, text: str) -> None:
    """Write ``text`` in the middle of empty axes, so an empty sample still reads as a figure."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.35",
        fontsize="large",
    )


def plot_coverage_map(
    run: RunFolder, system: str, ax: Axes | None = None, *, cmap: str = "RdYlBu"
) -> tuple[Figure, Axes]:
    """Roads coloured by the covered fraction of one radio or sensing system.

    Reads ``coverage.geojson`` of a run folder. Edges with gaps are drawn last
    so that they are never hidden under a covered edge. Lon/lat maps keep
    their shape: the aspect is 1 / cos(latitude).

    Parameters
    ----------
    run
        A run folder (:func:`avzone.rundir.load_run`).
    system
        ``pc5``, ``uu``, ``perception``, ``any_radio`` or ``dual_radio``.
    ax
        Axes to draw into; a new figure is made when ``None``.
    cmap
        Matplotlib colour map over [0, 1] (red: uncovered, blue: covered by default).

    Example::

        fig, ax = plot_coverage_map(load_run("runs/etown-baseline"), "pc5")
    """
    systems = list(run.summary["coverage"])
    if system not in systems:
        raise ValueError(f"system: expected one of {', '.join(systems)}, got {system!r}")
    fig, ax = _axes(ax, (7.0, 6.0))
    features = run.coverage.get("features", [])
    segments = [np.asarray(f["geometry"]["coordinates"], dtype=float) for f in features]
    values = np.array([f["properties"].get(system, np.nan) for f in features], dtype=float)
    order = np.argsort(-np.nan_to_num(values, nan=-1.0), kind="stable")  # gaps on top
    lines = LineCollection(
        [segments[i] for i in order], cmap=cmap, norm=Normalize(0.0, 1.0), linewidths=1.4
    )
    lines.set_array(values[order])
    ax.add_collection(lines, autolim=True)
    bar = fig.colorbar(lines, ax=ax, shrink=0.8, format=PercentFormatter(xmax=1.0))
    bar.set_label("share of the road edge covered")
    ax.autoscale_view()
    if run.lonlat:
        points = np.concatenate(segments) if segments else np.zeros((1, 2))
        ax.set_aspect(1.0 / np.cos(np.radians(points[:, 1].mean())))
        ax.set_xlabel("longitude [°]")
        ax.set_ylabel("latitude [°]")
    else:
        ax.set_aspect("equal")
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)
    if not segments:
        _no_data(ax, "no road edges")
    share = run.summary["coverage"][system]["road_fraction"]
    ax.set_title(f"{run.name}: {system} coverage, {100 * share:.1f} % of road length")
    return fig, ax


def plot_latency_cdf(
    run: RunFolder, flows: Sequence[str] | None = None, ax: Axes | None = None
) -> tuple[Figure, Axes]:
    """Cumulative distribution of each flow's end-to-end latency, log x, deadlines dashed.

    Reads ``quantiles.csv`` (kind ``latency_ms``) and each flow's
    ``deadline_ms`` from ``summary.json``. A flow with nothing delivered is
    listed in the legend as such.

    Example::

        fig, ax = plot_latency_cdf(load_run("runs/etown-baseline"), flows=["control"])
    """
    known = list(run.summary["flows"])
    names = known if flows is None else list(flows)
    for name in names:
        if name not in known:
            raise ValueError(f"flows: expected names among {', '.join(known)}, got {name!r}")
    fig, ax = _axes(ax, (8.0, 4.5))
    handles = []
    drawn = False
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        deadline_ms = run.summary["flows"][name]["deadline_ms"]
        q, value_ms = run.quantile_curve("latency_ms", name)
        pairs = [(v, p) for v, p in zip(value_ms, q, strict=True) if v > 0]  # log axis
        if pairs:
            ax.plot([v for v, _ in pairs], [p for _, p in pairs], color=color, linewidth=1.8)
            drawn = True
            label = f"{name} (deadline {deadline_ms:g} ms)"
        else:
            label = f"{name}: nothing delivered"
        ax.axvline(deadline_ms, color=color, linestyle="--", linewidth=1.0)
        handles.append(Line2D([], [], color=color, linewidth=1.8, label=label))
    handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label="deadline"))
    _log_x(ax)
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.grid(True, which="major", color="0.9")
    ax.set_xlabel("end-to-end latency [ms] (log scale)")
    ax.set_ylabel("delivered messages at or below [%]")
    ax.set_title(f"{run.name}: latency distribution per flow")
    if not drawn:
        _no_data(ax, "no delivered messages after the warm-up")
    ax.legend(handles=handles, fontsize="small", loc="best", framealpha=0.9)
    return fig, ax


def plot_latency_breakdown(run: RunFolder, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """Stacked bars per flow: mean network, queue-wait and service time of delivered messages.

    Reads ``breakdown_ms`` of each flow in ``summary.json``; the total on top
    of each bar is the mean end-to-end latency.
    """
    fig, ax = _axes(ax, (8.0, 4.5))
    flows = run.summary["flows"]
    names = list(flows)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for part, color in _BREAKDOWN_COLORS.items():
        means = [flows[n]["breakdown_ms"][part]["mean"] for n in names]
        heights = np.array([0.0 if m is None else m for m in means])
        ax.bar(x, heights, 0.6, bottom=bottom, color=color, label=part)
        bottom += heights
    for xi, name, total in zip(x, names, bottom, strict=True):
        delivered = flows[name]["latency_ms"]["mean"] is not None
        text = f"{total:.1f} ms" if delivered else "nothing delivered"
        ax.annotate(
            text, (xi, total), xytext=(0, 3), textcoords="offset points", ha="center",
            fontsize="small",
        )  # fmt: skip
    ax.set_xticks(x, names)
    ax.set_ylim(0.0, 1.2 * max(1.0, float(bottom.max(initial=0.0))))
    ax.set_xlabel("flow")
    ax.set_ylabel("mean latency of delivered messages [ms]")
    ax.set_title(f"{run.name}: where the latency goes")
    ax.legend(fontsize="small", loc="upper left", ncols=3, frameon=False)
    if not names:
        _no_data(ax, "no flows")
    return fig, ax


def plot_site_timeseries(
    run: RunFolder, ax: Axes | None = None, metric: str = "utilization"
) -> tuple[Figure, Axes]:
    """One line per compute site over simulated time, in 10 s bins from the warm-up.

    Reads ``site_timeseries.csv``. ``metric`` is ``utilization`` (shown in %),
    ``queue_mean`` or ``queue_max`` (jobs waiting). Line style shows the tier:
    edge solid, regional dashed, central dotted.
    """
    if metric not in _SITE_METRICS:
        raise ValueError(f"metric: expected one of {', '.join(_SITE_METRICS)}, got {metric!r}")
    label, scale = _SITE_METRICS[metric]
    fig, ax = _axes(ax, (9.0, 4.5))
    end_s = float(run.summary["duration_s"])
    sites: dict[str, list[Mapping[str, Any]]] = {}
    for row in run.site_timeseries:
        sites.setdefault(row["site"], []).append(row)
    for i, (site, rows) in enumerate(sites.items()):
        t_s = [float(r["t_s"]) for r in rows] + [end_s]
        y = [scale * float(r[metric]) for r in rows]
        tier = rows[0]["tier"]
        ax.step(
            t_s, [*y, y[-1]], where="post", color=f"C{i % 10}",
            linestyle=_TIER_STYLES.get(tier, "-"), linewidth=1.5, label=f"{site} ({tier})",
        )  # fmt: skip
    ax.set_xlim(float(run.summary["warmup_s"]), end_s)
    ax.set_ylim(bottom=0.0, top=100.0 if metric == "utilization" else None)
    if metric != "utilization" and ax.get_ylim()[1] <= 0.0:
        ax.set_ylim(0.0, 1.0)  # a queue that never formed: keep a visible scale
    ax.set_xlabel("simulated time [s]")
    ax.set_ylabel(label)
    ax.set_title(f"{run.name}: {label.split(' [')[0]} per compute site")
    ax.grid(True, color="0.9")
    if sites:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        _no_data(ax, "no compute sites")
    return fig, ax


def plot_staleness_cdf(run: RunFolder, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """Cumulative distribution of HD-map stale-episode durations (log x when drawn).

    Reads ``quantiles.csv`` (kind ``staleness_s``); the release delay of the
    scenario is a dashed line. Without stale episodes after the warm-up the
    axes say so.
    """
    fig, ax = _axes(ax, (8.0, 4.5))
    hd = run.summary["hdmap"]
    q, staleness_s = run.quantile_curve("staleness_s", "hdmap")
    pairs = [(v, p) for v, p in zip(staleness_s, q, strict=True) if v > 0]
    if pairs:
        ax.plot([v for v, _ in pairs], [p for _, p in pairs], color="C0", linewidth=1.8,
                label="stale episodes")  # fmt: skip
        _log_x(ax)
        delay_s = run.scenario.get("hdmap", {}).get("release_delay_s")
        if delay_s:
            ax.axvline(delay_s, color="0.3", linestyle="--", linewidth=1.0,
                       label=f"release delay ({delay_s:g} s)")  # fmt: skip
        ax.legend(fontsize="small", loc="lower right")
        ax.grid(True, which="major", color="0.9")
    else:
        ax.set_xticks([])
        _no_data(ax, "no stale episodes after the warm-up")
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("stale episode duration [s]" + (" (log scale)" if pairs else ""))
    ax.set_ylabel("episodes at or below [%]")
    ax.set_title(
        f"{run.name}: HD-map staleness, {hd['stale_episodes']} episodes, "
        f"{hd['stale_vehicle_km']:.1f} stale vehicle-km"
    )
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
