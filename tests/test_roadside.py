"""RSU placement rules on hand-checkable roads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tinyzone import X0, Y0, road, write_map

from avzone.roads import load_map
from avzone.roadside import place_rsus
from avzone.scenario import Placement


def test_along_arterials_every_spacing_on_a_straight_road(tmp_path: Path) -> None:
    """A 1000 m two-way primary road, spacing 400 m: RSUs at 0, 400 and 800 m (once, not per direction)."""
    G = load_map(write_map(tmp_path, [road("r", (0, 0), (1000, 0))]))
    xy = place_rsus(G, Placement("along_arterials", spacing_m=400.0), (X0, Y0, X0 + 1000, Y0))
    np.testing.assert_allclose(xy - (X0, Y0), [[0, 0], [400, 0], [800, 0]], atol=1e-6)


def test_along_arterials_spans_short_blocks_and_skips_local_roads(tmp_path: Path) -> None:
    """Five 300 m blocks in a row with 700 m spacing: RSUs 700 m apart along the chain
    (short blocks do not reset the spacing); a residential street gets none."""
    blocks = [road(f"b{i}", (300 * i, 0), (300 * (i + 1), 0)) for i in range(5)]
    side = road("side", (0, 100), (1500, 100), road_class="residential")
    G = load_map(write_map(tmp_path, [*blocks, side]))
    xy = place_rsus(G, Placement("along_arterials", spacing_m=700.0), (X0, Y0, X0 + 1500, Y0 + 100))
    np.testing.assert_allclose(xy - (X0, Y0), [[0, 0], [700, 0], [1400, 0]], atol=1e-6)


def test_signalized_and_listed(tmp_path: Path) -> None:
    G = load_map(write_map(tmp_path, [road("r", (0, 0), (1000, 0))]))
    assert place_rsus(G, Placement("signalized_intersections"), (0, 0, 1, 1)).shape == (0, 2)
    listed = place_rsus(
        G, Placement("list", positions_m=((10.0, 20.0),)), (100.0, 200.0, 300.0, 400.0)
    )
    assert listed.tolist() == [[110.0, 220.0]]
    assert place_rsus(G, Placement("none"), (0, 0, 1, 1)).shape == (0, 2)
