"""HD-map tiles: a square grid over the map, or one tile per road; pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TileGrid", "edge_tile_segments", "road_tiles"]


@dataclass(frozen=True)
class TileGrid:
    """Square tiles of ``size_m`` from the south-west corner of the map.

    Tile ids run row by row: ``id = row · columns + column``.
    """

    xmin: float
    ymin: float
    size_m: float
    columns: int
    rows: int

    @classmethod
    def over(cls, bbox_m: tuple[float, float, float, float], size_m: float) -> TileGrid:
        """The grid covering ``bbox_m``."""
        xmin, ymin, xmax, ymax = bbox_m
        columns = max(1, int(np.ceil((xmax - xmin) / size_m + 1e-9)))
        rows = max(1, int(np.ceil((ymax - ymin) / size_m + 1e-9)))
        return cls(xmin, ymin, size_m, columns, rows)

    def tile_of(self, xy: np.ndarray) -> np.ndarray:
        """Tile id of each point (n, 2) → (n,); points on the far edges go to the last tile.

        Examples
        --------
        >>> grid = TileGrid(0.0, 0.0, 1000.0, 3, 2)
        >>> grid.tile_of(np.array([[10.0, 10.0], [2500.0, 1500.0]])).tolist()
        [0, 5]
        """
        col = np.clip(((xy[:, 0] - self.xmin) // self.size_m).astype(int), 0, self.columns - 1)
        row = np.clip(((xy[:, 1] - self.ymin) // self.size_m).astype(int), 0, self.rows - 1)
        return row * self.columns + col


def edge_tile_segments(
    sample_tiles: np.ndarray, start: int, count: int, step_m: float
) -> list[tuple[float, int]]:
    """Where an edge enters each tile: ``[(s_m, tile), ...]`` from ``s_m = 0``.

    Boundaries are resolved to the sample length (≤ 10 m by default).

    Examples
    --------
    >>> edge_tile_segments(np.array([4, 4, 5, 5, 5]), 0, 5, 10.0)
    [(0.0, 4), (20.0, 5)]
    """
    tiles = sample_tiles[start : start + count]
    change = np.flatnonzero(np.diff(tiles)) + 1
    points = np.concatenate([[0], change])
    return [(float(k * step_m), int(tiles[k])) for k in points]


def road_tiles(
    by: str, grid: TileGrid, samples_xy: np.ndarray, sample_edge: np.ndarray, reverse: np.ndarray
) -> np.ndarray:
    """The tile of every road sample.

    ``by == "grid"``: the square of ``grid`` it lies in. ``by == "edge"``: one
    tile per road, both directions of a two-way road sharing the tile
    numbered by the lower of their edge indices (``reverse`` gives each
    edge's opposite, −1 for one-way edges).

    Examples
    --------
    >>> grid = TileGrid(0.0, 0.0, 1000.0, 1, 1)
    >>> road_tiles("edge", grid, np.zeros((4, 2)), np.array([0, 0, 1, 2]),
    ...            np.array([1, 0, -1])).tolist()
    [0, 0, 0, 2]
    """
    if by == "grid":
        return grid.tile_of(samples_xy)
    own = np.arange(len(reverse))
    tile_of_edge = np.where(reverse >= 0, np.minimum(own, reverse), own)
    return np.asarray(tile_of_edge[sample_edge], dtype=int)
