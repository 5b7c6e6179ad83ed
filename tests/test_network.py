"""Network hop models, placement and coverage tables against hand-computed values.

Fibre propagation: 5 µs/km (REFERENCE.md §7, ≈ 4.9 µs/km for group index 1.467).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from avzone.network import (
    access_s,
    build_backhaul,
    covered_fraction,
    fibre_s,
    nearest_within,
    place_cells,
    route_table,
    sample_roads,
    transmission_s,
)
from avzone.scenario import Backhaul, Placement


def test_hop_models() -> None:
    assert float(transmission_s(1250, 10e6)) == pytest.approx(1e-3)
    assert float(access_s(300, 0.002, 20e6)) == pytest.approx(0.002 + 300 * 8 / 20e6)
    assert float(fibre_s(1000.0)) == pytest.approx(5e-6)  # 5 µs per km


def test_square_and_hex_cells_cover_the_box() -> None:
    box = (0.0, 0.0, 1000.0, 1000.0)
    grid = place_cells(Placement("grid", spacing_m=500.0), box)
    assert grid.tolist() == [[x, y] for y in (0, 500, 1000) for x in (0, 500, 1000)]
    hexes = place_cells(Placement("hex", spacing_m=500.0), box)
    row_step = 500 * math.sqrt(3) / 2  # 433 m: rows at 0, 433, 866
    assert sorted({round(y, 3) for y in hexes[:, 1]}) == [
        0.0,
        round(row_step, 3),
        round(2 * row_step, 3),
    ]
    # odd rows shift by half a spacing
    assert sorted(hexes[np.isclose(hexes[:, 1], row_step), 0].tolist()) == [250.0, 750.0]
    listed = place_cells(
        Placement("list", positions_m=((10.0, 20.0),)), (100.0, 200.0, 500.0, 500.0)
    )
    assert listed.tolist() == [[110.0, 220.0]]


def test_nearest_within_range() -> None:
    stations = np.array([[0.0, 0.0], [1000.0, 0.0]])
    points = np.array([[100.0, 0.0], [600.0, 0.0], [990.0, 0.0], [500.0, 500.0]])
    assert nearest_within(points, stations, 450.0).tolist() == [0, 1, 1, -1]
    assert nearest_within(points, np.empty((0, 2)), 450.0).tolist() == [-1, -1, -1, -1]


def test_road_samples_and_covered_fraction() -> None:
    G = nx.MultiDiGraph()
    G.add_node(0, x=0.0, y=0.0)
    G.add_node(1, x=25.0, y=0.0)
    G.add_edge(0, 1, geometry=LineString([(0, 0), (25, 0)]), length_m=25.0)
    samples = sample_roads(G, 10.0)
    assert samples.count.tolist() == [3]
    assert samples.xy[:, 0] == pytest.approx([25 / 6, 12.5, 125 / 6])
    assert samples.at(0, 0.0) == 0
    assert samples.at(0, 24.9) == 2
    assert samples.at(0, 25.0) == 2
    assert covered_fraction(np.array([True, False, True]), samples.length_m) == pytest.approx(2 / 3)


def test_backhaul_routes_hand_computed() -> None:
    """Access point 0 at (0, 0) → edge site at (300, 400) (500 m) → core at (0, 0);
    regional site 25 km from the core. Detour 1.2, 10 Gbit/s, loss 0.001 per link."""
    spec = Backhaul(fibre_detour=1.2, rate_gbps=10, loss=0.001, core_ms=1)
    graph = build_backhaul(
        np.array([[0.0, 0.0]]),
        [("edge", np.array([300.0, 400.0]))],
        [("regional", "regional", 25.0)],
        np.array([0.0, 0.0]),
        spec,
    )
    routes = route_table(graph, 1, ["edge", "regional"])
    ap_edge_m = 500 * 1.2
    assert routes.prop_s[0, 0] == pytest.approx(ap_edge_m * 5e-9)
    assert routes.prop_s[0, 1] == pytest.approx((ap_edge_m + 500 * 1.2 + 25_000) * 5e-9)
    assert routes.hops[0].tolist() == [1, 3]
    assert routes.loss[0, 1] == pytest.approx(1 - 0.999**3)
    assert routes.delay_s(0, 1, 1250) == pytest.approx((ap_edge_m * 2 + 25_000) * 5e-9 + 3 * 1e-6)
