"""Where Uu cells go: pure placement rules over the map's bounding box."""

from __future__ import annotations

import math

import numpy as np

from avzone.scenario import Placement

__all__ = ["place_cells"]


def place_cells(placement: Placement, bbox_m: tuple[float, float, float, float]) -> np.ndarray:
    """Cell sites in metres, shape (n, 2).

    ``hex``: a hexagonal lattice with ``spacing_m`` between neighbouring sites
    (rows ``spacing_m·√3/2`` apart, every other row shifted by half a spacing);
    ``grid``: a square lattice; both start at the south-west corner and cover
    the box. ``list``: offsets from the south-west corner.

    Examples
    --------
    A 1000 × 1000 m box with a 500 m square grid has 3 × 3 = 9 sites.
    """
    xmin, ymin, xmax, ymax = bbox_m
    if placement.rule == "list":
        return np.asarray(placement.positions_m, dtype=float).reshape(-1, 2) + np.array(
            [xmin, ymin]
        )
    spacing = placement.spacing_m
    row_step = spacing * math.sqrt(3) / 2 if placement.rule == "hex" else spacing
    rows = math.floor((ymax - ymin) / row_step + 1e-9) + 1
    points: list[tuple[float, float]] = []
    for row in range(rows):
        shift = spacing / 2 if placement.rule == "hex" and row % 2 else 0.0
        xs = np.arange(xmin + shift, xmax + 1e-9, spacing)
        points.extend((float(x), ymin + row * row_step) for x in xs)
    return np.asarray(points, dtype=float).reshape(-1, 2)
