"""FIFO queueing on backhaul links against queueing theory and a per-hop SimPy model.

References: Lindley's recursion and the Pollaczek–Khinchine mean wait of M/D/1
and M/G/1 (REFERENCE.md §9; Kleinrock, *Queueing Systems* vol. 1, ch. 5),
through the closed forms of avzone/cloud/queueing.py; store-and-forward
transmission 8·b/rate and fibre propagation 5 µs/km (REFERENCE.md §7).
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from avzone.cloud.queueing import lindley_waits_s, md1_wait_s, mg1_wait_s
from avzone.engine.carry import carry
from avzone.network import (
    LinkState,
    LinkTable,
    build_backhaul,
    lost_at,
    route_segments,
    route_table,
    truncate,
)
from avzone.scenario import Backhaul
from avzone.scenario.schema import Aggregation, LinkTier


def one_link(rate_bps: float, length_m: float = 1000.0) -> LinkTable:
    """A single link (directed ids 0 up, 1 down)."""
    return LinkTable(
        name=("l",), tier=("access",), a=("x",), b=("y",), length_m=(length_m,),
        prop_s=(length_m * 5e-9,), rate_bps=(rate_bps,), loss=(0.0,),
    )  # fmt: skip


def test_two_back_to_back_messages_by_hand() -> None:
    """1250 B at 10 Mbit/s take 1 ms; 1 km of fibre 5 µs. The second message,
    0.4 ms after the first, waits 0.6 ms; the other direction is independent."""
    links = LinkState(one_link(10e6))
    assert links.cross(0, 0.0, 1250) == pytest.approx(0.001 + 5e-6, abs=1e-15)
    assert links.cross(0, 0.0004, 1250) == pytest.approx(0.002 + 5e-6, abs=1e-15)
    assert links.cross(1, 0.0004, 1250) == pytest.approx(0.0014 + 5e-6, abs=1e-15)  # down: free
    assert links.cross(0, 0.0030, 1250) == pytest.approx(0.004 + 5e-6, abs=1e-15)  # free again
    assert list(links.waits[0]) == pytest.approx([0.0006])
    assert (links.messages[0], links.bytes[0], links.busy_s[0]) == (3, 3750, pytest.approx(0.003))
    row = links.rows(window_s=0.01)[0]
    assert row["utilization"] == pytest.approx(0.3)
    assert row["mean_wait_ms"] == pytest.approx(0.6 / 3)


def test_without_queueing_a_link_only_transmits() -> None:
    links = LinkState(one_link(10e6), queueing=False)
    links.cross(0, 0.0, 1250)
    assert links.cross(0, 0.0004, 1250) == pytest.approx(0.0014 + 5e-6, abs=1e-15)


def test_link_waits_equal_the_lindley_recursion() -> None:
    """Message by message: W_{n+1} = max(0, W_n + S_n − A_{n+1}) (REFERENCE.md §9)."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1e-3, 2000))
    sizes = rng.integers(100, 2000, 2000)
    links = LinkState(one_link(10e6))
    waits = []
    for t, b in zip(arrivals.tolist(), sizes.tolist(), strict=True):
        end = links.cross(0, t, b)
        waits.append(end - 5e-6 - b * 8 / 10e6 - t)
    expected = lindley_waits_s(np.diff(arrivals, prepend=0.0), sizes * 8 / 10e6)
    assert np.asarray(waits) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("rho", [0.5, 0.7])
def test_poisson_messages_on_one_link_match_md1(rho: float) -> None:
    """Fixed 1500 B at 1 Gbit/s (12 µs each), Poisson arrivals: mean wait within
    2 % of Pollaczek–Khinchine for M/D/1, W_q = ρ / (2 μ (1 − ρ))."""
    tx_s = 1500 * 8 / 1e9
    lam = rho / tx_s
    rng = np.random.default_rng(11)
    arrivals = np.cumsum(rng.exponential(1 / lam, 400_000)).tolist()
    links = LinkState(one_link(1e9))
    for t in arrivals:
        links.cross(0, t, 1500)
    mean_wait_s = sum(links.waits[0]) / links.messages[0]
    assert mean_wait_s == pytest.approx(md1_wait_s(lam, 1 / tx_s), rel=0.02)


@pytest.mark.slow
def test_poisson_messages_on_one_link_match_md1_at_rho_09() -> None:
    """ρ = 0.9: waits are long-correlated, so 4 million messages (≈ 12 s) for 2 %."""
    tx_s = 1500 * 8 / 1e9
    lam = 0.9 / tx_s
    arrivals = np.cumsum(np.random.default_rng(11).exponential(1 / lam, 4_000_000)).tolist()
    links = LinkState(one_link(1e9))
    for t in arrivals:
        links.cross(0, t, 1500)
    mean_wait_s = sum(links.waits[0]) / links.messages[0]
    assert mean_wait_s == pytest.approx(md1_wait_s(lam, 1 / tx_s), rel=0.02)


def test_mixed_sizes_match_mg1() -> None:
    """Requests of 1200 B and replies of 200 B mixed 1:1 at 100 Mbit/s, ρ = 0.6:
    mean wait within 2 % of M/G/1 W_q = λ E[S²] / (2 (1 − ρ))."""
    s1, s2 = 1200 * 8 / 100e6, 200 * 8 / 100e6
    mean_s, second_s2 = (s1 + s2) / 2, (s1**2 + s2**2) / 2
    lam = 0.6 / mean_s
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1 / lam, 400_000)).tolist()
    sizes = np.where(rng.random(400_000) < 0.5, 1200, 200).tolist()
    links = LinkState(one_link(100e6))
    for t, b in zip(arrivals, sizes, strict=True):
        links.cross(0, t, b)
    mean_wait_s = sum(links.waits[0]) / links.messages[0]
    assert mean_wait_s == pytest.approx(mg1_wait_s(lam, mean_s, second_s2), rel=0.02)


# -- exact FIFO on a network: segments against a process per hop -------------------------


def merging_network() -> tuple[LinkTable, list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Three access points behind one aggregation node, one edge site; 10 Mbit/s
    links so that queues form where the uplinks merge. Returns the links and,
    per access point, its up and down routes (directed link ids)."""
    spec = Backhaul(
        fibre_detour=1.0,
        rate_gbps=0.01,
        aggregation=Aggregation(count=1),
        links=(LinkTier("access", 0.01, 0.0),),
    )
    access_xy = np.array([[0.0, 0.0], [3000.0, 0.0], [0.0, 800.0]])
    G = build_backhaul(access_xy, [("edge", np.array([5000.0, 5000.0]))], [], np.zeros(2), spec)
    routes = route_table(G, 3, ["edge"])
    up = [routes.paths[i][0] for i in range(3)]
    return routes.links, up, [tuple(d ^ 1 for d in reversed(p)) for p in up]  # type: ignore[arg-type]


def reference_arrivals(
    links: LinkTable, messages: list[tuple[float, tuple[int, ...], int]]
) -> list[float]:
    """Obviously correct: a SimPy process per message, a FIFO resource per directed
    link held for the transmission, then the propagation delay."""
    env = simpy.Environment()
    ports = [simpy.Resource(env, capacity=1) for _ in range(2 * len(links))]
    done = [0.0] * len(messages)

    def message(k: int, t: float, path: tuple[int, ...], size: int):  # type: ignore[no-untyped-def]
        yield env.timeout(t)
        for d in path:
            with ports[d].request() as request:
                yield request
                yield env.timeout(size * 8 / links.rate_bps[d // 2])
            yield env.timeout(links.prop_s[d // 2])
        done[k] = env.now

    for k, (t, path, size) in enumerate(messages):
        env.process(message(k, t, path, size))
    env.run()
    return done


@pytest.mark.parametrize("lookahead_s", [0.0, 0.002])
def test_segments_give_exact_fifo_on_merging_links(lookahead_s: float) -> None:
    """Random requests with radio delays of 2, 5 or 8 ms (so they reach the links
    out of send order) and replies: every arrival time equals the per-hop model's,
    also when requests are computed at send time whenever the 2 ms lookahead allows
    (avzone/engine/carry.py); the naive way (the whole route computed at send time)
    is wrong."""
    table, up, down = merging_network()
    routes_up, routes_down = route_segments(_routes_for(table, up), [(0, 0), (1, 0), (2, 0)])
    rng = np.random.default_rng(7)
    messages = []
    for _ in range(3000):
        ap = int(rng.integers(3))
        sent = float(rng.uniform(0, 2.0))
        radio_s = float(rng.choice([0.002, 0.005, 0.008]))  # e.g. 0, 1 or 2 HARQ retransmissions
        if rng.random() < 0.7:
            messages.append((sent, radio_s, ap, "up", int(rng.choice([1200, 4000]))))
        else:
            messages.append((sent, 0.0, ap, "down", 200))
    expected = reference_arrivals(
        table, [(s + r, up[ap] if way == "up" else down[ap], b) for s, r, ap, way, b in messages]
    )

    env = simpy.Environment()
    state = LinkState(table)
    got = [0.0] * len(messages)

    def send(k: int) -> None:
        _, radio_s, ap, way, size = messages[k]
        segments = (routes_up if way == "up" else routes_down)[ap][0]
        assert segments is not None

        def arrived(t_end: float) -> None:
            got[k] = env.now
            assert t_end == env.now or abs(t_end - env.now) < 1e-12

        carry(env, state, segments, env.now + radio_s, size, 0.0, arrived, lookahead_s)

    for k, (sent, *_rest) in enumerate(messages):
        env.timeout(sent).callbacks.append(lambda _e, k=k: send(k))
    env.run()
    assert got == pytest.approx(expected, abs=1e-12)
    assert sum(len(w) for w in state.waits) > 500  # the links did queue

    naive = LinkState(table)
    order = sorted(range(len(messages)), key=lambda k: messages[k][0])
    naive_end = [0.0] * len(messages)
    for k in order:
        sent, radio_s, ap, way, size = messages[k]
        path = up[ap] if way == "up" else down[ap]
        naive_end[k] = naive.carry(((*path,),), sent + radio_s, size)
    assert max(abs(a - b) for a, b in zip(naive_end, expected, strict=True)) > 1e-4


def _routes_for(table: LinkTable, up: list[tuple[int, ...]]):  # type: ignore[no-untyped-def]
    from avzone.network.backhaul import BackhaulRoutes

    n = len(up)
    return BackhaulRoutes(
        prop_s=np.zeros((n, 1)), bit_s=np.zeros((n, 1)), loss=np.zeros((n, 1)),
        hops=np.zeros((n, 1), dtype=int), links=table, paths=tuple((p,) for p in up),
    )  # fmt: skip


def test_lost_messages_are_drawn_per_link_with_the_route_probability() -> None:
    """P(lost at link k) = Π_{i<k}(1 − p_i) · p_k; one uniform draw decides."""
    loss = (0.1, 0.2, 0.3)
    segments = ((0,), (2, 4))
    u = np.random.default_rng(1).random(200_000)
    route_loss = 1 - 0.9 * 0.8 * 0.7
    lost = u[u < route_loss]
    where = np.array([lost_at(segments, loss, x) for x in lost])
    shares = np.bincount(where, minlength=3) / len(u)
    assert shares == pytest.approx([0.1, 0.9 * 0.2, 0.9 * 0.8 * 0.3], abs=0.003)
    assert truncate(segments, 1) == ((0,), (2,))
    assert truncate(segments, 0) == ((0,),)
