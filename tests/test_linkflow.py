"""The batch evaluator's link queues (avzone/engine/linkflow.py) against per-hop models.

References: the FIFO store-and-forward arithmetic of ``LinkState.cross``
(avzone/network/transport.py) driven hop by hop in global arrival-time order;
a SimPy process per message with a FIFO resource per directed link
(tests/test_backhaul_queue.py); the Pollaczek–Khinchine mean wait of M/D/1
(REFERENCE.md §9; Kleinrock, *Queueing Systems* vol. 1, ch. 5).
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from test_backhaul_queue import one_link, reference_arrivals

from avzone.cloud.queueing import md1_wait_s
from avzone.engine import linkflow
from avzone.engine.linkflow import BatchLinks, feeds_order
from avzone.network import LinkState, LinkTable, build_backhaul, route_table, truncate
from avzone.scenario import Backhaul
from avzone.scenario.schema import Aggregation, LinkTier

Message = tuple[float, tuple[int, ...], int]  # entry time, directed links, bytes


def hand_drawn() -> tuple[LinkTable, list[tuple[int, ...]]]:
    """Five access points behind two aggregation nodes, two edge sites joined at the
    core and a regional site 30 km away; slow links so that queues form. Every up and
    down route between an access point and a site: merges at the aggregation uplinks
    and the sites' ports, down routes fanning out, routes of 2 to 4 links."""
    spec = Backhaul(
        fibre_detour=1.0,
        rate_gbps=0.05,
        aggregation=Aggregation(count=2),
        links=(LinkTier("access", 0.01, 0.0), LinkTier("aggregation", 0.02, 0.0)),
    )
    access_xy = np.array([[0.0, 0.0], [800.0, 0.0], [0.0, 900.0], [6000.0, 0.0], [6500.0, 700.0]])
    edges = [("edge-a", np.array([500.0, 2000.0])), ("edge-b", np.array([6000.0, 2000.0]))]
    G = build_backhaul(access_xy, edges, [("regional", "regional", 30.0)], np.zeros(2), spec)
    routes = route_table(G, 5, ["edge-a", "edge-b", "regional"])
    paths = []
    for row in routes.paths:
        for up in row:
            assert up is not None
            paths += [up, tuple(d ^ 1 for d in reversed(up))]
    return routes.links, paths


def per_hop(state: LinkState, messages: list[Message]) -> list[float]:
    """``LinkState.cross`` one hop at a time, in global order of arrival at the link
    (ties: message order): exactly FIFO store and forward, as the event evaluator."""
    heap = [(t, k, 0) for k, (t, _, _) in enumerate(messages)]
    heapq.heapify(heap)
    out = [0.0] * len(messages)
    while heap:
        t, k, h = heapq.heappop(heap)
        _, path, size = messages[k]
        if h == len(path):
            out[k] = t
        else:
            heapq.heappush(heap, (state.cross(path[h], t, size), k, h + 1))
    return out


def as_arrays(messages: list[Message]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width = max(1, *(len(p) for _, p, _ in messages))
    paths = np.full((len(messages), width), -1)
    for k, (_, path, _) in enumerate(messages):
        paths[k, : len(path)] = path
    return (
        paths,
        np.array([t for t, _, _ in messages]),
        np.array([b for _, _, b in messages]),
    )


def batched(
    state: LinkState, messages: list[Message], window_s: float, seed: int = 0
) -> np.ndarray:
    """Carry ``messages`` with :class:`BatchLinks`, submitting each window's entries
    (shuffled) just before advancing to its end; the exit time per message."""
    paths, t_in, size = as_arrays(messages)
    batch = BatchLinks(state)
    out = np.full(len(messages), np.nan)
    rng = np.random.default_rng(seed)
    end = 0.0
    while batch.in_flight or end <= t_in.max():
        end += window_s
        new = np.flatnonzero((t_in >= end - window_s) & (t_in < end))
        new = rng.permutation(new)
        batch.submit(new, paths[new], t_in[new], size[new])
        ids, t_out = batch.advance(end)
        assert np.isnan(out[ids]).all()  # each message leaves once
        out[ids] = t_out
    return out


def poisson_messages(paths: list[tuple[int, ...]], n: int, seed: int) -> list[Message]:
    """Poisson entries over 3 s, a random route each, 1200 or 4000 B (requests up) or
    200 B; some routes cut short (a message lost on the way, transport.truncate)."""
    rng = np.random.default_rng(seed)
    t_in = np.sort(rng.uniform(0.0, 3.0, n))
    messages = []
    for t in t_in.tolist():
        path = paths[int(rng.integers(len(paths)))]
        if rng.random() < 0.1:
            path = truncate((path,), int(rng.integers(len(path))))[0]
        messages.append((t, path, int(rng.choice([200, 1200, 4000]))))
    return messages


@pytest.mark.parametrize(("window_s", "dense"), [(0.1, True), (1.0, True), (0.3, False)])
def test_exits_and_statistics_equal_cross_hop_by_hop(
    window_s: float, dense: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Message by message, the exit times equal ``LinkState.cross`` driven hop by hop
    in arrival order, exactly, and so do messages, bytes, busy time and every
    positive wait per link (counted in [0.5 s, 2.5 s)); messages queue for several
    windows and cross window ends on the way. ``dense``: the feeds seen kept as a
    matrix (else as sorted codes, the way for more than 4096 directed links)."""
    if not dense:
        monkeypatch.setattr(linkflow, "_DENSE_LINKS", 0)
    table, paths = hand_drawn()
    messages = poisson_messages(paths, 2500, seed=3)
    expected_state = LinkState(table, measure_from_s=0.5, until_s=2.5)
    expected = per_hop(expected_state, messages)
    state = LinkState(table, measure_from_s=0.5, until_s=2.5)
    got = batched(state, messages, window_s)
    assert got.tolist() == expected
    assert state.messages == expected_state.messages
    assert state.bytes == expected_state.bytes
    assert state.busy_s == expected_state.busy_s
    assert [list(w) for w in state.waits] == [list(w) for w in expected_state.waits]
    assert state.free_at == expected_state.free_at
    assert sum(len(w) for w in state.waits) > 300  # the links did queue
    t_in = np.array([t for t, _, _ in messages])
    assert (np.floor(got / window_s) > np.floor(t_in / window_s)).sum() > 5  # across windows
    assert state.rows(2.0) == expected_state.rows(2.0)


def test_exits_equal_a_simpy_process_per_hop() -> None:
    """The same against tests/test_backhaul_queue.py's SimPy model (a process per
    message, a FIFO resource per directed link): within 1e-12 s (it sums 8·b/rate
    where the links multiply b by 8/rate)."""
    table, paths = hand_drawn()
    messages = poisson_messages(paths, 1500, seed=4)
    expected = reference_arrivals(table, messages)
    got = batched(LinkState(table), messages, 0.5)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_results_do_not_depend_on_the_window() -> None:
    """The same exits and waits with windows of 0.1 s and 5 s (the whole run in one)."""
    table, paths = hand_drawn()
    messages = poisson_messages(paths, 2000, seed=5)
    short, long = LinkState(table), LinkState(table)
    assert batched(short, messages, 0.1).tolist() == batched(long, messages, 5.0).tolist()
    assert [list(w) for w in short.waits] == [list(w) for w in long.waits]


def test_poisson_messages_on_one_link_match_md1() -> None:
    """Fixed 1500 B at 1 Gbit/s (12 µs), Poisson at ρ = 0.7 in 1 s windows: the mean
    wait within 2 % of Pollaczek–Khinchine for M/D/1, W_q = ρ / (2 μ (1 − ρ))."""
    tx_s = 1500 * 8 / 1e9
    lam = 0.7 / tx_s
    t_in = np.cumsum(np.random.default_rng(11).exponential(1 / lam, 400_000))
    state = LinkState(one_link(1e9))
    batch = BatchLinks(state)
    paths = np.zeros((t_in.size, 1), dtype=np.int64)
    for end in range(1, int(t_in[-1]) + 2):
        new = np.flatnonzero((t_in >= end - 1) & (t_in < end))
        batch.submit(new, paths[new], t_in[new], np.full(new.size, 1500))
        batch.advance(float(end))
    assert state.messages[0] == t_in.size
    mean_wait_s = sum(state.waits[0]) / state.messages[0]
    assert mean_wait_s == pytest.approx(md1_wait_s(lam, 1 / tx_s), rel=0.02)


def test_without_queueing_the_exit_is_a_sum_of_delays() -> None:
    """``queueing=False``: t_out = t_in + Σ (b·8/rate + prop) over the path, link by
    link, whatever else is on the links; no waits."""
    table, paths = hand_drawn()
    messages = poisson_messages(paths, 1000, seed=6)
    state = LinkState(table, queueing=False)
    got = batched(state, messages, 0.7)
    for k, (t, path, size) in enumerate(messages):
        for d in path:
            t = t + size * (8.0 / table.rate_bps[d // 2]) + table.prop_s[d // 2]
        assert got[k] == t
    assert sum(len(w) for w in state.waits) == 0


def test_windows_empty_later_entries_and_empty_paths() -> None:
    """An empty window returns nothing; a message submitted early for a later window
    stays in flight until then; an empty path leaves at once at its entry time.
    1250 B at 10 Mbit/s: 1 ms, plus 5 µs of fibre."""
    state = LinkState(one_link(10e6))
    batch = BatchLinks(state)
    ids, t_out = batch.advance(1.0)
    assert (ids.size, t_out.size) == (0, 0)
    batch.submit(np.array([1, 2]), np.array([[0], [-1]]), np.array([2.5, 1.2]), np.array([1250, 9]))
    ids, t_out = batch.advance(2.0)
    assert (ids.tolist(), t_out.tolist()) == ([2], [1.2])
    assert (batch.in_flight, state.messages[0]) == (1, 0)
    ids, t_out = batch.advance(3.0)
    assert ids.tolist() == [1]
    assert t_out[0] == pytest.approx(2.501005, abs=1e-12)
    assert batch.in_flight == 0


def test_a_lost_message_loads_the_links_up_to_the_losing_one() -> None:
    """A route cut after its first link (transport.truncate) loads only that link and
    leaves after it; a whole route submitted beside it (paths of other widths) loads all."""
    table, paths = hand_drawn()
    path = next(p for p in paths if len(p) == 4)
    state = LinkState(table)
    batch = BatchLinks(state)
    cut = truncate((path,), 0)[0]
    batch.submit(np.array([0]), np.array([cut]), np.array([0.1]), np.array([1000]))
    batch.submit(np.array([1]), np.array([path]), np.array([0.5]), np.array([1000]))
    ids, t_out = batch.advance(1.0)
    d = path[0]
    assert ids.tolist() == [0, 1]
    assert t_out[0] == 0.1 + 1000 * (8.0 / table.rate_bps[d // 2]) + table.prop_s[d // 2]
    assert [state.messages[e] for e in path] == [2, 1, 1, 1]


def test_equal_arrivals_are_served_in_submission_order() -> None:
    """Three messages reaching the link at the same instant: FIFO by submission order
    (1250 B at 10 Mbit/s: 1 ms each; prop 5 µs), also across two submit calls."""
    state = LinkState(one_link(10e6))
    batch = BatchLinks(state)
    batch.submit(np.array([30, 10]), np.array([[0], [0]]), np.array([0.5, 0.5]), np.full(2, 1250))
    batch.submit(np.array([20]), np.array([[0]]), np.array([0.5]), np.array([1250]))
    ids, t_out = batch.advance(1.0)
    order = np.argsort(t_out)
    assert ids[order].tolist() == [30, 10, 20]
    assert (t_out[order] - 0.5 - 5e-6) == pytest.approx([0.001, 0.002, 0.003], abs=1e-12)


def test_feeds_with_a_cycle_are_refused() -> None:
    """Links 0 → 2 on one path and 2 → 0 on another have no order to compute them in."""
    assert feeds_order(np.array([[0, 2, 4], [6, 2, -1]]), 8).tolist() == [0, 6, 2, 4]
    batch = BatchLinks(LinkState(one_link(1e9)))
    with pytest.raises(ValueError, match=r"directed links \[0, 1\] feed each other in a cycle"):
        batch.submit(np.array([0, 1]), np.array([[0, 1], [1, 0]]), np.zeros(2), np.ones(2))


def test_bad_calls_are_refused() -> None:
    """Going back in time, unknown links and NaN entry times are refused."""
    batch = BatchLinks(LinkState(one_link(1e9)))
    batch.advance(1.0)
    with pytest.raises(ValueError, match="link ids from 0 to 5"):
        batch.submit(np.array([0]), np.array([[0, 5]]), np.array([1.5]), np.array([100]))
    with pytest.raises(ValueError, match="enters at nan s"):
        batch.submit(np.array([0]), np.array([[0]]), np.array([np.nan]), np.array([100]))
    with pytest.raises(ValueError, match=r"expected >= 1\.0 s"):
        batch.advance(0.5)


def round_trips(
    table: LinkTable, requests: list[Message], back: list[tuple[int, ...]], service_s: np.ndarray
) -> tuple[list[float], LinkState]:
    """Per hop in global arrival order (``LinkState.cross``): each request, then after
    ``service_s`` at the site its 200 B reply down ``back``; the reply's arrival."""
    state = LinkState(table)
    heap = [(t, k, 0, 0) for k, (t, _, _) in enumerate(requests)]  # time, message, leg, hop
    heapq.heapify(heap)
    out = [0.0] * len(requests)
    while heap:
        t, k, leg, h = heapq.heappop(heap)
        path, size = (
            (requests[k][1], requests[k][2]) if leg == 0 else (back[k - len(requests)], 200)
        )
        if h < len(path):
            heapq.heappush(heap, (state.cross(path[h], t, size), k, leg, h + 1))
        elif leg == 0:
            heapq.heappush(heap, (t + service_s[k], k + len(requests), 1, 0))
        else:
            out[k - len(requests)] = t
    return out, state


def test_replies_submitted_late_in_their_window_are_exact() -> None:
    """Requests up, service, replies down, the way a batch evaluator steps a window:
    submit the window's requests, advance holding the replies' links, compute the
    services, submit the replies entering before the window's end, advance to the
    same end again. Where replies use other links than the requests (one edge site
    behind one aggregation node) every reply arrives exactly as per hop in global
    order, with no late crossing; without holding, replies already in flight would
    be served before earlier ones submitted late (FIFO broken, refused)."""
    table, up, down = _one_site()
    rng = np.random.default_rng(8)
    n = 1500
    ap = rng.integers(0, len(up), n)
    requests = [(t, up[a], 1200) for t, a in zip(np.sort(rng.uniform(0, 3, n)), ap, strict=True)]
    back = [down[a] for a in ap]
    service_s = rng.exponential(0.003, n)
    expected, expected_state = round_trips(table, requests, back, service_s)

    state = LinkState(table)
    batch = BatchLinks(state)
    paths, t_in, size = as_arrays(requests)
    back_paths = np.array(back)
    got = np.full(n, np.nan)
    replies_t = np.full(n, np.nan)
    end = 0.0
    reply_links = np.unique(back_paths)
    while end < 3.0 or batch.in_flight or np.isfinite(replies_t).any():
        end += 0.25
        new = np.flatnonzero((t_in >= end - 0.25) & (t_in < end))
        due = np.flatnonzero(replies_t < end)  # replies computed in an earlier window
        batch.submit(new, paths[new], t_in[new], size[new])
        batch.submit(n + due, back_paths[due], replies_t[due], np.full(due.size, 200))
        replies_t[due] = np.nan
        for hold in (reply_links, None):  # the requests, then the replies entering in the window
            ids, t_out = batch.advance(end, hold)
            served = ids[ids < n]
            replies_t[served] = t_out[ids < n] + service_s[served]
            got[ids[ids >= n] - n] = t_out[ids >= n]
            now = np.flatnonzero(replies_t < end)
            batch.submit(n + now, back_paths[now], replies_t[now], np.full(now.size, 200))
            replies_t[now] = np.nan
    assert got.tolist() == expected
    assert state.waits == expected_state.waits
    assert batch.late.sum() == 0
    assert sum(len(w) for w in state.waits) > 100

    unheld = BatchLinks(LinkState(table))  # a reply in flight, served in the first pass
    unheld.submit(np.array([0]), back_paths[:1], np.array([0.9999]), np.array([200]))
    unheld.advance(1.0)
    unheld.submit(np.array([1]), back_paths[:1], np.array([0.98]), np.array([200]))
    with pytest.raises(ValueError, match="FIFO broken"):
        unheld.advance(1.0)


def test_a_late_message_that_would_break_fifo_is_refused_or_counted() -> None:
    """A message entering at 0.5 s, submitted after the link served one entering at
    0.6 s: FIFO would have served it first. Strict: an error naming the link;
    otherwise it is served after (1 ms each at 10 Mbit/s) and counted late."""
    for strict in (True, False):
        state = LinkState(one_link(10e6))
        batch = BatchLinks(state, strict=strict)
        batch.submit(np.array([0]), np.array([[0]]), np.array([0.6]), np.array([1250]))
        batch.advance(1.0)
        batch.submit(np.array([1]), np.array([[0]]), np.array([0.5]), np.array([1250]))
        if strict:
            with pytest.raises(ValueError, match=r"directed link 0 \(l up\) at 0\.5 s"):
                batch.advance(1.0)
        else:
            _, t_out = batch.advance(1.0)
            assert t_out[0] == pytest.approx(0.602005, abs=1e-12)
            assert batch.late.tolist() == [1, 0]


def _one_site() -> tuple[LinkTable, list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Three access points behind one aggregation node, one edge site, 10 Mbit/s."""
    spec = Backhaul(
        fibre_detour=1.0,
        rate_gbps=0.01,
        aggregation=Aggregation(count=1),
        links=(LinkTier("access", 0.01, 0.0),),
    )
    access_xy = np.array([[0.0, 0.0], [3000.0, 0.0], [0.0, 800.0]])
    G = build_backhaul(access_xy, [("edge", np.array([5000.0, 5000.0]))], [], np.zeros(2), spec)
    routes = route_table(G, 3, ["edge"])
    up = [p for (p,) in routes.paths]
    return routes.links, up, [tuple(d ^ 1 for d in reversed(p)) for p in up]  # type: ignore[arg-type]
