"""Where and how often the road changes: pure functions over the world's road samples.

A change happens at a road *spot* (a road sample, ≤ 10 m). The spots of one
run form a single Poisson process whose rate per sample is the sum of

- the per-tile rate, spread over the tile's road in proportion to length, and
- the per-km rate of the sample's road class, times its km of road,

where a two-way road counts once (each direction of it carries half the weight).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from avzone.errors import ScenarioError

__all__ = [
    "edge_weights",
    "reverse_edges",
    "road_km_per_tile",
    "snap_to_samples",
    "spot_rates_per_s",
]


def reverse_edges(edges: Sequence[tuple[object, object, int]]) -> np.ndarray:
    """For each directed edge, the index of its opposite direction (−1 when one-way).

    Examples
    --------
    >>> reverse_edges([("a", "b", 0), ("b", "a", 0), ("b", "c", 0)]).tolist()
    [1, 0, -1]
    """
    index = {e: i for i, e in enumerate(edges)}
    return np.array([index.get((v, u, k), -1) for u, v, k in edges], dtype=int)


def edge_weights(reverse: np.ndarray) -> np.ndarray:
    """The share of its road a directed edge stands for: ½ on a two-way road, 1 one-way.

    Examples
    --------
    >>> edge_weights(np.array([1, 0, -1])).tolist()
    [0.5, 0.5, 1.0]
    """
    return np.where(reverse >= 0, 0.5, 1.0)


def road_km_per_tile(
    sample_tile: np.ndarray, sample_length_m: np.ndarray, sample_weight: np.ndarray, n_tiles: int
) -> np.ndarray:
    """Km of road in each tile (a two-way road counted once).

    Examples
    --------
    >>> road_km_per_tile(np.array([0, 0, 1]), np.array([500.0, 500.0, 200.0]),
    ...                  np.array([1.0, 0.5, 1.0]), 2).tolist()
    [0.75, 0.2]
    """
    return np.bincount(sample_tile, sample_length_m * sample_weight, minlength=n_tiles) / 1000


def spot_rates_per_s(
    sample_tile: np.ndarray,
    sample_length_m: np.ndarray,
    sample_weight: np.ndarray,
    sample_class: Sequence[str],
    rate_per_tile_per_h: float,
    rate_per_km_per_h: Mapping[str, float],
) -> np.ndarray:
    """Change rate of each road sample, per second.

    ``rate_per_km_per_h`` maps road classes to rates; the key ``other``
    applies to the classes not named. The per-tile rate is spread over the
    tile's road by length, so each road tile changes at ``rate_per_tile_per_h``.

    Examples
    --------
    One tile of two equal samples at 0.36 per tile per h, no class rates:

    >>> spot_rates_per_s(np.array([0, 0]), np.array([10.0, 10.0]), np.array([1.0, 1.0]),
    ...                  ["primary", "primary"], 0.36, {}).tolist()
    [5e-05, 5e-05]
    """
    weighted_m = sample_length_m * sample_weight
    tile_m = np.bincount(sample_tile, weighted_m)
    rates = rate_per_tile_per_h / 3600 * weighted_m / tile_m[sample_tile]
    if rate_per_km_per_h:
        other = rate_per_km_per_h.get("other", 0.0)
        per_km = np.array([rate_per_km_per_h.get(c, other) for c in sample_class])
        rates = rates + per_km / 3600 * weighted_m / 1000
    return np.asarray(rates, dtype=float)


def snap_to_samples(xy_m: np.ndarray, samples_xy: np.ndarray, key: str) -> np.ndarray:
    """The nearest road sample of each point (n, 2); a point over 100 m from any road is an error."""
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(samples_xy).query(xy_m)
    far = np.flatnonzero(dist > 100.0)
    if far.size:
        x, y = xy_m[far[0]]
        raise ScenarioError(
            key,
            f"change {int(far[0]) + 1} at ({x:.1f}, {y:.1f}) m is {dist[far[0]]:.0f} m from the "
            "nearest road; expected a point within 100 m of a road",
        )
    return np.asarray(idx, dtype=int)
