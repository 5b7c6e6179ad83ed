"""Figures of the road map: road classes and per-edge values, coverage per system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

if TYPE_CHECKING:
    from avzone.rundir import RunFolder

from avzone.plots._common import _axes, _frame_road_map, _root_figure

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
    _frame_road_map(ax, segments, lonlat=run.lonlat)
    share = run.summary["coverage"][system]["road_fraction"]
    ax.set_title(f"{run.name}: {system} coverage, {100 * share:.1f} % of road length")
    return fig, ax
