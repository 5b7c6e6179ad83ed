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
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "ROAD_CLASS_COLORS",
    "plot_coverage_comparison",
    "plot_latency_comparison",
    "plot_map",
    "plot_sizing_curve",
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
