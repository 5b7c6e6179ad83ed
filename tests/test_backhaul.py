"""The backhaul transport graph: topology, link figures, routes and cuts, by hand.

References: fibre propagation 5 µs/km (REFERENCE.md §7, ≈ 4.9 µs/km for group
index 1.467); link lengths are straight lines × the detour factor, computed
here with math.hypot; the expected routes are read off the drawn topology
(a tree, so each route is the unique path), not computed by the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

import avzone
from avzone.network import build_backhaul, place_aggregation, route_table
from avzone.scenario import Backhaul
from avzone.scenario.schema import Aggregation, LinkTier

Variant = Any

US_PER_KM = 5e-6
DETOUR = 1.5
RATES_GBPS = {"access": 1.0, "aggregation": 10.0, "metro": 100.0, "regional": 40.0, "central": 10.0}


def zone() -> nx.Graph:
    """RSU rsu-1 (0, 0), rsu-2 (100, 0), cell-1 (2000, 0); aggregation one per 1 km grid
    cell → agg-1 (50, 0) for the two RSUs, agg-2 (2000, 0) for the cell; edge-1 (50, 1000),
    edge-2 (2000, 1500); core (1000, 0); regional 25 km, central 1200 km (via regional)."""
    spec = Backhaul(
        fibre_detour=DETOUR,
        aggregation=Aggregation(spacing_m=1000.0),
        links=tuple(LinkTier(t, r, 0.001) for t, r in RATES_GBPS.items()),
    )
    return build_backhaul(
        np.array([[0.0, 0.0], [100.0, 0.0], [2000.0, 0.0]]),
        [("edge-1", np.array([50.0, 1000.0])), ("edge-2", np.array([2000.0, 1500.0]))],
        [("regional", "regional", 25.0), ("central", "central", 1200.0)],
        np.array([1000.0, 0.0]),
        spec,
        n_rsus=2,
    )


SITES = ["edge-1", "edge-2", "regional", "central"]
LENGTH_M = {
    "rsu-1": 50 * DETOUR,
    "rsu-2": 50 * DETOUR,
    "cell-1": 1.0,  # co-located with agg-2: the 1 m minimum
    "agg-1": 1000 * DETOUR,
    "agg-2": 1500 * DETOUR,
    "edge-1": math.hypot(950, 1000) * DETOUR,
    "edge-2": math.hypot(1000, 1500) * DETOUR,
    "regional": 25_000.0,
    "central": 1_175_000.0,  # 1200 km from the core, 25 of them shared with regional
}
TIER = {
    "rsu-1": "access", "rsu-2": "access", "cell-1": "access", "agg-1": "aggregation",
    "agg-2": "aggregation", "edge-1": "metro", "edge-2": "metro", "regional": "regional",
    "central": "central",
}  # fmt: skip


def test_links_have_their_length_tier_rate_and_propagation() -> None:
    G = zone()
    by_name = {data["name"]: data for _, _, data in G.edges(data=True)}
    assert set(by_name) == set(LENGTH_M)
    for name, data in by_name.items():
        assert data["length_m"] == pytest.approx(LENGTH_M[name], rel=1e-12)
        assert data["delay_s"] == pytest.approx(LENGTH_M[name] / 1000 * US_PER_KM, rel=1e-12)
        assert data["tier"] == TIER[name]
        assert data["rate_bps"] == RATES_GBPS[TIER[name]] * 1e9
        assert data["loss"] == 0.001
    ends = {
        data["name"]: (G.nodes[data["a"]]["name"], G.nodes[data["b"]]["name"])
        for data in by_name.values()
    }
    assert ends == {
        "rsu-1": ("rsu-1", "agg-1"), "rsu-2": ("rsu-2", "agg-1"), "cell-1": ("cell-1", "agg-2"),
        "agg-1": ("agg-1", "edge-1"), "agg-2": ("agg-2", "edge-2"), "edge-1": ("edge-1", "core"),
        "edge-2": ("edge-2", "core"), "regional": ("core", "regional"), "central": ("regional", "central"),
    }  # fmt: skip


ROUTES = {  # (access point, site): the links on the way, read off the tree
    (0, "edge-1"): ["rsu-1", "agg-1"],
    (0, "edge-2"): ["rsu-1", "agg-1", "edge-1", "edge-2"],
    (2, "edge-1"): ["cell-1", "agg-2", "edge-2", "edge-1"],
    (2, "regional"): ["cell-1", "agg-2", "edge-2", "regional"],
    (1, "central"): ["rsu-2", "agg-1", "edge-1", "regional", "central"],
}
# direction of each hop: up (toward the core and the higher tiers) unless it goes down a link
DOWN_HOPS = {(0, "edge-2"): {"edge-2"}, (2, "edge-1"): {"edge-1"}}


@pytest.mark.parametrize(("ap", "site"), list(ROUTES))
def test_routes_are_the_hand_drawn_paths(ap: int, site: str) -> None:
    routes = route_table(zone(), 3, SITES)
    k = SITES.index(site)
    names = ROUTES[(ap, site)]
    path = routes.paths[ap][k]
    assert path is not None
    assert [routes.links.name[d // 2] for d in path] == names
    down = DOWN_HOPS.get((ap, site), set())
    assert [d % 2 for d in path] == [1 if n in down else 0 for n in names]
    assert routes.prop_s[ap, k] == pytest.approx(sum(LENGTH_M[n] for n in names) / 1000 * US_PER_KM)
    assert routes.bit_s[ap, k] == pytest.approx(sum(1 / (RATES_GBPS[TIER[n]] * 1e9) for n in names))
    assert routes.loss[ap, k] == pytest.approx(1 - 0.999 ** len(names))
    assert routes.hops[ap, k] == len(names)
    # a 1250-byte message unloaded: propagation + store and forward on every link
    assert routes.delay_s(ap, k, 1250) == pytest.approx(
        sum(LENGTH_M[n] * 5e-9 + 1e4 / (RATES_GBPS[TIER[n]] * 1e9) for n in names)
    )


def test_central_keeps_its_distance_from_the_core() -> None:
    """Central hangs off regional, but core → central is still distance_km = 1200 km."""
    routes = route_table(zone(), 3, SITES)
    to_core = (LENGTH_M["rsu-2"] + LENGTH_M["agg-1"] + LENGTH_M["edge-1"]) * 5e-9
    assert routes.prop_s[1, 3] - to_core == pytest.approx(1200 * US_PER_KM)


def test_a_cut_link_reroutes_over_a_protection_fibre_or_cuts_the_site_off() -> None:
    """A protection fibre agg-1 ↔ edge-2 of 3000 m: with agg-1's uplink cut, rsu-1
    reaches edge-1 over it and back through the core; with no path, the site is
    unreachable (prop inf, loss 1, no path)."""
    G = zone()
    G.add_edge(
        ("agg", 0), ("site", "edge-2"), index=G.number_of_edges(), name="protect-1",
        tier="aggregation", a=("agg", 0), b=("site", "edge-2"), length_m=3000.0,
        delay_s=3000 * 5e-9, rate_bps=10e9, loss=0.0,
    )  # fmt: skip
    normal = route_table(G, 3, SITES)
    assert [normal.links.name[d // 2] for d in normal.paths[0][0]] == ["rsu-1", "agg-1"]  # type: ignore[union-attr]
    cut = route_table(G, 3, SITES, without=["agg-1"])
    path = cut.paths[0][0]
    assert path is not None
    assert [cut.links.name[d // 2] for d in path] == ["rsu-1", "protect-1", "edge-2", "edge-1"]
    assert cut.prop_s[0, 0] == pytest.approx(
        (LENGTH_M["rsu-1"] + 3000 + LENGTH_M["edge-2"] + LENGTH_M["edge-1"]) * 5e-9
    )
    alone = route_table(G, 3, SITES, without=["rsu-1"])
    assert alone.paths[0] == (None, None, None, None)
    assert np.isinf(alone.prop_s[0]).all()
    assert (alone.loss[0] == 1).all()
    with pytest.raises(ValueError, match="no link named 'rsu-9'"):
        route_table(G, 3, SITES, without=["rsu-9"])


def test_aggregation_by_count_finds_the_clusters() -> None:
    """Three tight clusters of access points: k-means with k = 3 puts a node at each mean."""
    centres = [(0.0, 0.0), (3000.0, 0.0), (1500.0, 2500.0)]
    rng = np.random.default_rng(0)
    xy = np.vstack([np.array(c) + rng.normal(0, 30, (20, 2)) for c in centres])
    placed = place_aggregation(xy, Aggregation(count=3))
    means = [xy[20 * i : 20 * (i + 1)].mean(axis=0) for i in range(3)]
    for mean in means:
        assert np.hypot(*(placed - mean).T).min() == pytest.approx(0.0, abs=1e-9)
    assert (place_aggregation(xy, Aggregation(count=3)) == placed).all()  # no random draw


def test_without_aggregation_access_points_hang_off_the_nearest_edge_site() -> None:
    G = build_backhaul(
        np.array([[0.0, 0.0], [900.0, 0.0]]),
        [("a", np.array([0.0, 100.0])), ("b", np.array([1000.0, 0.0]))],
        [],
        np.array([500.0, 0.0]),
        Backhaul(fibre_detour=1.0),
    )
    ends = sorted(
        (d["name"], G.nodes[d["b"]]["name"], d["length_m"]) for *_, d in G.edges(data=True)
    )
    assert ends == [("a", "core", pytest.approx(math.hypot(500, 100))), ("ap-1", "a", 100.0),
                    ("ap-2", "b", 100.0), ("b", "core", 500.0)]  # fmt: skip


# -- the scenario keys and the run ------------------------------------------------------


def test_scenario_keys_parse(grid_variant: Variant) -> None:
    path = grid_variant(
        {
            "network.backhaul": {
                "rate_gbps": 10,
                "loss": 0.001,
                "aggregation": {"count": 1},
                "links": {"access": {"rate_gbps": 1}, "metro": {"loss": 0}},
                "queueing": False,
            }
        }
    )
    backhaul = avzone.load_scenario(path).network.backhaul
    assert backhaul.aggregation == Aggregation(count=1)
    assert backhaul.tier("access") == LinkTier("access", 1.0, 0.001)
    assert backhaul.tier("metro") == LinkTier("metro", 10.0, 0.0)
    assert backhaul.tier("central") == LinkTier("central", 10.0, 0.001)
    assert backhaul.queueing is False
    assert avzone.load_scenario(grid_variant({})).network.backhaul.queueing is True


AGG = "network.backhaul.aggregation"
LINKS = "network.backhaul.links"
ONE_OF = "expected exactly one of 'count' or 'spacing_m'"


@pytest.mark.parametrize(
    ("backhaul", "message"),
    [
        ({"aggregation": {"count": 2, "spacing_m": 500}}, f"{AGG}: {ONE_OF}"),
        ({"aggregation": {}}, f"{AGG}: {ONE_OF}"),
        ({"aggregation": {"count": 0}}, f"{AGG}.count: expected an integer > 0, got 0"),
        ({"aggregation": {"spacing_m": -1}}, f"{AGG}.spacing_m: expected a number > 0, got -1"),
        ({"links": {"acess": {"rate_gbps": 1}}}, f"{LINKS}.acess: unknown key; did you mean 'access'?"),
        ({"links": {"metro": {"rate_gbps": 0}}}, f"{LINKS}.metro.rate_gbps: expected a number > 0, got 0"),
        ({"links": {"metro": {"loss": 1}}}, f"{LINKS}.metro.loss: expected a probability in [0, 1), got 1"),
        ({"queueing": "yes"}, "network.backhaul.queueing: expected true or false, got 'yes'"),
    ],
)  # fmt: skip
def test_bad_backhaul_keys_are_one_error(
    backhaul: dict[str, Any], message: str, grid_variant: Variant
) -> None:
    path = grid_variant({"network.backhaul": backhaul}, "bad.yaml")
    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.load_scenario(path)
    assert str(caught.value) == f"{path}: {message}"


def test_more_aggregation_nodes_than_access_points_is_a_build_error(grid_variant: Variant) -> None:
    path = grid_variant({"network.backhaul": {"aggregation": {"count": 4}}}, "bad.yaml")
    with pytest.raises(avzone.ScenarioError) as caught:
        avzone.build_world(path)
    assert str(caught.value) == (
        f"{path}: network.backhaul.aggregation.count: expected at most 3 (the access points), got 4"
    )


def test_a_run_shows_the_load_of_every_link(grid_variant: Variant, tmp_path: Path) -> None:
    """Grid zone, 2 RSUs and a cell behind one aggregation node: the control flow's
    requests and replies are the only backhaul traffic; every delivered request
    crossed the cell's access link up and the aggregation uplink (1200 B each),
    every reply both down (200 B); utilisation = bytes · 8 / rate / window."""
    path = grid_variant(
        {"network.backhaul": {"aggregation": {"count": 1}, "rate_gbps": 0.1, "loss": 0}}
    )
    results = avzone.run(path)
    control = results.summary["flows"]["control"]
    network = results.summary["network"]
    assert control["failures"]["backhaul"] == 0
    n, in_flight = control["delivered"], control["in_flight"]
    agg = network["links"]["agg-1"]
    assert (agg["tier"], agg["a"], agg["b"]) == ("aggregation", "agg-1", "edge")
    up, down = agg["up"]["messages"], agg["down"]["messages"]
    # requests lost after the site (downlink radio, reply out of coverage) crossed up only
    after_site = control["failures"]["radio"] + control["failures"]["out_of_coverage"]
    assert n <= up <= n + in_flight + after_site
    assert n <= down <= n + in_flight
    assert (agg["up"]["bytes"], agg["down"]["bytes"]) == (1200 * up, 200 * down)
    assert agg["up"]["max_utilization"] == pytest.approx(1200 * 8 * up / 0.1e9 / 60, abs=1e-6)
    access = network["tiers"]["access"]
    assert access["links"] == 3
    assert (access["up"]["messages"], access["down"]["bytes"]) == (up, 200 * down)
    assert network["sites"]["edge"]["in"]["messages"] == up
    assert network["sites"]["edge"]["out"]["bytes"] == 200 * down
    rows = {(r["link"], r["direction"]): r for r in results.links}
    assert rows[("cell-1", "up")]["messages"] == up
    assert rows[("rsu-1", "up")]["messages"] == 0
    assert rows[("agg-1", "down")]["from"] == "edge"
    results.write(tmp_path / "out")
    assert (tmp_path / "out" / "links.csv").read_text().splitlines()[0] == (
        "link,tier,direction,from,to,length_m,rate_gbps,messages,bytes,utilization,waited,"
        "mean_wait_ms,p99_wait_ms"
    )


def test_checks_can_gate_on_link_load(grid_variant: Variant) -> None:
    """`avzone validate` knows the network paths before any run; a run evaluates them."""
    checks = [
        "network.sites.edge.in.max_utilization <= 0.5",
        "network.tiers.access.up.messages >= 1",
    ]
    path = grid_variant({"network.backhaul": {"aggregation": {"count": 1}}, "checks": checks})
    world = avzone.build_world(path)  # raises if a path does not exist
    assert world.routes.links.name == ("edge", "agg-1", "rsu-1", "rsu-2", "cell-1")
    results = avzone.run(path)
    assert results.passed
    bad = grid_variant({"checks": ["network.links.agg-9.up.messages >= 1"]}, "bad.yaml")
    with pytest.raises(avzone.ScenarioError, match=r"no 'agg-9' in network\.links"):
        avzone.build_world(bad)
