"""Where edge sites go, and which site serves which access point: pure functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.cluster.vq import kmeans2

from avzone.errors import ScenarioError
from avzone.scenario import Placement

__all__ = ["nearest_hosting_site", "place_edge_sites"]


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


def nearest_hosting_site(prop_s: np.ndarray, hosts: np.ndarray) -> np.ndarray:
    """For each access point (rows of ``prop_s``), the hosting site of least delay.

    ``hosts`` is a boolean mask over sites. Ties go to the first site.

    Examples
    --------
    >>> nearest_hosting_site(np.array([[1.0, 2.0, 0.5]]), np.array([True, True, False])).tolist()
    [0]
    """
    delays = np.where(hosts[None, :], prop_s, np.inf)
    return np.argmin(delays, axis=1).astype(int)
