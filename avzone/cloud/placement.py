"""Where edge sites go, and which site serves which access point: pure functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.cluster.vq import kmeans2

from avzone.errors import ScenarioError
from avzone.scenario import Placement

__all__ = ["hosting_sites_by_preference", "place_edge_sites"]


def place_edge_sites(
    placement: Placement,
    count: int,
    bbox_m: tuple[float, float, float, float],
    rsu_xy: np.ndarray,
    rng: np.random.Generator,
    key_path: str,
) -> np.ndarray:
    """Positions (count, 2) of a group of edge sites.

    ``kmeans_rsus``: centroids of k-means (k-means++ start, seeded) over the
    RSU positions; ``grid``: centres of a near-square grid of ``count`` cells
    over the map; ``list``: offsets from the south-west corner; ``center``:
    the centre of the map.
    """
    xmin, ymin, xmax, ymax = bbox_m
    if placement.rule == "kmeans_rsus":
        if len(rsu_xy) < count:
            raise ScenarioError(
                key_path,
                f"kmeans_rsus needs at least {count} RSUs (count), the scenario has {len(rsu_xy)}",
            )
        with warnings.catch_warnings():
            # kmeans2 warns when a cluster empties; k-means++ starts make that rare and harmless
            warnings.simplefilter("ignore", UserWarning)
            centres, _ = kmeans2(rsu_xy, count, seed=rng, minit="++")
        order = np.lexsort((centres[:, 0], centres[:, 1]))
        return np.asarray(centres[order], dtype=float)
    if placement.rule == "grid":
        width, height = xmax - xmin, ymax - ymin
        cols = max(1, math.ceil(math.sqrt(count * width / max(height, 1.0))))
        rows = math.ceil(count / cols)
        cells = [
            (xmin + (c + 0.5) * width / cols, ymin + (r + 0.5) * height / rows)
            for r in range(rows)
            for c in range(cols)
        ]
        return np.array(cells[:count], dtype=float)
    if placement.rule == "list":
        return np.asarray(placement.positions_m, dtype=float).reshape(-1, 2) + np.array(
            [xmin, ymin]
        )
    return np.array([[(xmin + xmax) / 2, (ymin + ymax) / 2]])


def hosting_sites_by_preference(
    prop_s: np.ndarray, hosts: np.ndarray, tier_rank: np.ndarray
) -> np.ndarray:
    """For each access point (rows of ``prop_s``), the hosting sites in order of preference.

    Lowest tier first (edge, regional, central), then least propagation delay;
    ties go to the site listed first. Returns site indices, shape
    ``(n_access, n_hosts)``: column 0 is the nearest site of the lowest tier
    that hosts the service, the last column the top-tier fallback.

    Examples
    --------
    >>> prop_s = np.array([[1.0, 2.0, 0.5, 9.0]])
    >>> hosting_sites_by_preference(prop_s, np.array([True, True, False, True]), np.array([0, 0, 0, 2])).tolist()
    [[0, 1, 3]]
    """
    host_index = np.flatnonzero(hosts)
    keys = prop_s[:, host_index] + tier_rank[host_index][None, :] * 1e9  # tiers dominate any delay
    order = np.argsort(keys, axis=1, kind="stable")
    return host_index[order].astype(int)
