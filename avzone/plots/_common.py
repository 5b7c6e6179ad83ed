"""Helpers shared by the figures: axes, atomic saving, log axes, empty-data notes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

if TYPE_CHECKING:
    pass


def _root_figure(ax: Axes) -> Figure:
    parent = ax.get_figure()
    if parent is None:
        raise ValueError("ax: expected axes that belong to a figure")
    root: Figure = parent if isinstance(parent, Figure) else parent.figure
    return root


def _axes(ax: Axes | None, size_in: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=size_in, layout="constrained")
        return fig, fig.add_subplot()
    return _root_figure(ax), ax


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


def _frame_road_map(ax: Axes, segments: list[np.ndarray], *, lonlat: bool) -> None:
    """Fit the axes to the drawn road edges: equal scale (corrected for latitude in
    lon/lat), axis labels in degrees or metres, plain tick labels; a note when empty."""
    ax.autoscale_view()
    if lonlat:
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
