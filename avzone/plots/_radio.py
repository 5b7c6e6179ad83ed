"""The radio coverage picture: road edges coloured by a per-edge SINR percentile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from avzone.plots._common import _axes, _frame_road_map

if TYPE_CHECKING:
    from avzone.rundir import RunFolder

__all__ = ["plot_sinr_map", "show_coverage"]

_NO_SINR_COLOR = "#7f7f7f"


def plot_sinr_map(
    run: RunFolder,
    system: str,
    stat: str = "p10",
    ax: Axes | None = None,
    *,
    cmap: str = "RdYlBu",
    range_db: tuple[float, float] = (-10.0, 30.0),
) -> tuple[Figure, Axes]:
    """Roads coloured by the SINR percentile ``stat`` (``p10`` or ``p50``) of ``system``.

    Reads ``coverage.geojson`` (properties ``SYSTEM_sinr_db_p10`` / ``_p50``,
    docs/outputs.md) of a run whose ``system`` uses a SINR model; edges with no
    station in reach are grey. The colour bar spans ``range_db`` and marks the
    system's coverage threshold. Worst edges are drawn on top.

    Example::

        fig, ax = plot_sinr_map(load_run("runs/etown-pc5-uu"), "uu", "p10")
    """
    key = f"{system}_sinr_db_{stat}"
    features = run.coverage.get("features", [])
    if stat not in ("p10", "p50") or not any(key in f["properties"] for f in features):
        raise ValueError(
            f"system: {run.name} has no SINR for {system!r} (a SINR radio model writes "
            f"{key}; stat is p10 or p50)"
        )
    fig, ax = _axes(ax, (7.0, 6.0))
    segments = [np.asarray(f["geometry"]["coordinates"], dtype=float) for f in features]
    raw = [f["properties"].get(key) for f in features]
    values = np.array([np.nan if v is None else v for v in raw], dtype=float)
    order = np.argsort(-np.nan_to_num(values, nan=-1e9), kind="stable")  # worst on top
    colours = colormaps[cmap].with_extremes(bad=_NO_SINR_COLOR)
    lines = LineCollection(
        [segments[i] for i in order], cmap=colours, norm=Normalize(*range_db), linewidths=1.4
    )
    lines.set_array(np.ma.masked_invalid(values[order]))
    ax.add_collection(lines, autolim=True)
    bar = fig.colorbar(lines, ax=ax, shrink=0.8, extend="both")
    bar.set_label(f"{system} SINR {stat} per road edge [dB]")
    threshold = run.summary["coverage"].get(system, {}).get("sinr_min_db")
    if threshold is not None:
        bar.ax.axhline(threshold, color="black", linewidth=1.5)
    _frame_road_map(ax, segments, lonlat=run.lonlat)
    share = run.summary["coverage"][system]["road_fraction"]
    ax.set_title(f"{run.name}: {system} SINR {stat}, covered {100 * share:.1f} % of road length")
    return fig, ax


def show_coverage(run_dir: Path, system: str, stat: str, output: Path) -> int:
    """``avzone map show --coverage RUN_DIR``: draw one system's coverage of a run to ``output``.

    ``stat``: ``p10`` / ``p50`` (per-edge SINR, :func:`plot_sinr_map`) or
    ``fraction`` (covered share per edge, :func:`~avzone.plots.plot_coverage_map`).
    """
    from avzone.errors import AvzoneError
    from avzone.plots._common import save_figure
    from avzone.plots._maps import plot_coverage_map
    from avzone.rundir import load_run

    run = load_run(run_dir)
    try:
        if stat == "fraction":
            fig, _ = plot_coverage_map(run, system)
        else:
            fig, _ = plot_sinr_map(run, system, stat)
    except ValueError as exc:
        raise AvzoneError(f"{run_dir}: --system {system}: {exc}") from None
    save_figure(fig, output)
    print(f"wrote {output}")
    return 0
