"""Tests of plot_map and save_figure (avzone/plots/) on road graphs, in the Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import networkx as nx
import pytest
from matplotlib.figure import Figure

from avzone.plots import plot_map, save_figure
from avzone.roads import etown_synthetic

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def etown() -> nx.MultiDiGraph:
    return etown_synthetic()


def test_plot_map_by_class_writes_a_png(etown: nx.MultiDiGraph, tmp_path: Path) -> None:
    """A class-coloured map is saved atomically as a non-empty PNG with metre axes."""
    fig, ax = plot_map(etown)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "x [m]",
        "y [m]",
        "etown-synthetic",
    )
    path = save_figure(fig, tmp_path / "map.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png"]  # no temporary file left


def test_plot_map_with_values_and_given_axes(etown: nx.MultiDiGraph, tmp_path: Path) -> None:
    """edge_values colour edges with a colour bar; missing ids are grey; the given axes are used."""
    fig = Figure()
    ax = fig.add_subplot()
    values = {d["id"]: float(i % 7) for i, (_, _, d) in enumerate(etown.edges(data=True)) if i % 2}
    got_fig, got_ax = plot_map(etown, ax, edge_values=values, title="t", value_label="coverage")
    assert (got_fig, got_ax) == (fig, ax)
    assert len(fig.axes) == 2  # the map and its colour bar
    assert save_figure(fig, tmp_path / "values.png").stat().st_size > 10_000
