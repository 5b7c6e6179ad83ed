"""Queueing on the backhaul: every link direction a FIFO transmitter.

A message of ``b`` bytes that reaches directed link ``d`` at ``t`` starts
sending when the link is free (Lindley: ``start = max(t, free_at)``), holds it
for the transmission time ``8·b / rate`` and reaches the far end after the
propagation delay: ``arrival = start + 8·b/rate + prop``. Store and forward:
the next link sees it only once it has fully arrived.

**Why per-link ``free_at`` floats are exact.** The recursion serves a link's
messages in the order they are *computed*; FIFO needs the order they *arrive*.
Computing a link when the message reaches it (a SimPy event per link) gives
that, at one event per hop. :func:`route_segments` saves most of those events:
a directed link fed, over all the routes in use, by exactly one other link
(and by no message entering the backhaul at its tail) sees its messages in
the order they left that link — FIFO with a constant propagation delay keeps
order — so it can be computed right after it, in the same step. Only links
with several feeds (a merge: an aggregation node's uplink, a site's port, the
first link behind a radio hop whose delay varies) start a new *segment* and
need the message to be there first. With that rule every link is computed in
arrival order, which is exactly FIFO; ``tests/test_backhaul_queue.py`` checks it
message by message against a SimPy process per hop.

Pure Python on floats and lists (the event evaluator's hot path); no SimPy.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np

from avzone.network.backhaul import BackhaulRoutes, LinkTable
from avzone.stats import quantile_with_zeros

__all__ = ["LinkState", "Segments", "candidate_pairs", "lost_at", "route_segments", "truncate"]

Segments = tuple[tuple[int, ...], ...]
"""A route as runs of directed link ids; each run starts where the message must
have arrived before its first link is computed."""

_ENTRY = -1


def route_segments(
    routes: BackhaulRoutes, used: Iterable[tuple[int, int]], queueing: bool = True
) -> tuple[list[list[Segments | None]], list[list[Segments | None]]]:
    """The segments of the routes in use, up (access point → site) and down.

    ``used``: the ``(access point, site)`` pairs messages may take. Returns
    ``(up, down)`` indexed ``[ap][site]`` (``None`` for pairs not in use or
    unreachable). Without ``queueing`` links do not interact and every route
    is one segment.

    Examples
    --------
    Two access points behind one aggregation node: their uplinks merge on
    the aggregation link, which starts a new segment; on the way down the
    aggregation link feeds each access link alone.

    >>> from avzone.network.backhaul import build_backhaul, route_table
    >>> from avzone.scenario import Backhaul
    >>> from avzone.scenario.schema import Aggregation
    >>> spec = Backhaul(aggregation=Aggregation(count=1))
    >>> G = build_backhaul(np.array([[0.0, 0.0], [10.0, 0.0]]), [("edge", np.array([0.0, 500.0]))],
    ...                    [], np.array([0.0, 0.0]), spec)
    >>> up, down = route_segments(route_table(G, 2, ["edge"]), [(0, 0), (1, 0)])
    >>> routes = route_table(G, 2, ["edge"])
    >>> routes.links.name  # directed ids: 2·i up, 2·i + 1 down
    ('edge', 'agg-1', 'ap-1', 'ap-2')
    >>> up[0][0], down[0][0]
    (((4,), (2,)), ((3, 5),))
    """
    n_access, n_sites = routes.prop_s.shape
    feeds: dict[int, set[int]] = {}
    pairs = []
    for ap, site in used:
        path = routes.paths[ap][site]
        if path is None:
            continue
        back = tuple(d ^ 1 for d in reversed(path))
        pairs.append((ap, site, path, back))
        for sequence in (path, back):
            previous = _ENTRY
            for d in sequence:
                feeds.setdefault(d, set()).add(previous)
                previous = d

    def split(sequence: tuple[int, ...]) -> Segments:
        if not queueing:
            return (sequence,)
        runs: list[list[int]] = []
        for d in sequence:
            fed = feeds[d]
            if runs and len(fed) == 1 and _ENTRY not in fed:
                runs[-1].append(d)
            else:
                runs.append([d])
        return tuple(tuple(r) for r in runs)

    up: list[list[Segments | None]] = [[None] * n_sites for _ in range(n_access)]
    down: list[list[Segments | None]] = [[None] * n_sites for _ in range(n_access)]
    for ap, site, path, back in pairs:
        up[ap][site] = split(path)
        down[ap][site] = split(back)
    return up, down


def candidate_pairs(candidates: dict[str, np.ndarray]) -> list[tuple[int, int]]:
    """The ``(access point, site)`` pairs of every service's candidate sites, sorted."""
    pairs = {
        (ap, int(site))
        for ranked in candidates.values()
        for ap, row in enumerate(ranked)
        for site in row
    }
    return sorted(pairs)


def lost_at(segments: Segments, loss: tuple[float, ...], u: float) -> int:
    """Which link (position along the route) loses a message, from one uniform draw.

    Link ``j`` (losing with ``loss[j // 2]``) is reached with probability
    Π_{i<j}(1 − p_i); the message is lost at the first position ``k`` with
    ``u < 1 − Π_{i≤k}(1 − p_i)``. So ``u < route loss`` ⇔ lost, and the link
    is drawn with its exact probability. The last position when rounding
    leaves ``u`` just above.

    Examples
    --------
    >>> lost_at(((0, 2),), (0.5, 0.5), 0.4), lost_at(((0, 2),), (0.5, 0.5), 0.6)
    (0, 1)
    """
    survive = 1.0
    position = -1
    for segment in segments:
        for d in segment:
            position += 1
            survive *= 1.0 - loss[d // 2]
            if u < 1.0 - survive:
                return position
    return position


def truncate(segments: Segments, position: int) -> Segments:
    """The segments up to and including the link at ``position`` (0-based along the route)."""
    out = []
    left = position + 1
    for segment in segments:
        if left <= 0:
            break
        out.append(segment[:left])
        left -= len(segment)
    return tuple(out)


class LinkState:
    """The transmitters of every directed link during a run, and their load.

    Counts messages *arriving* at a link in ``[measure_from_s, until_s)``:
    messages, bytes, busy time (their transmission times) and the positive
    waits (a message that finds the link free waits 0 and adds nothing to
    ``waits``; ``waited`` counts those that waited).
    """

    __slots__ = (
        "busy_s",
        "bytes",
        "free_at",
        "links",
        "measure_from_s",
        "messages",
        "pending",
        "prop_s",
        "queueing",
        "s_per_byte",
        "until_s",
        "waits",
    )

    def __init__(
        self,
        links: LinkTable,
        queueing: bool = True,
        measure_from_s: float = 0.0,
        until_s: float = float("inf"),
    ) -> None:
        n = 2 * len(links)
        self.links = links
        self.queueing = queueing
        self.measure_from_s = measure_from_s
        self.until_s = until_s
        self.free_at = [0.0] * n
        self.s_per_byte = [8.0 / links.rate_bps[d // 2] for d in range(n)]
        self.prop_s = [links.prop_s[d // 2] for d in range(n)]
        self.messages = [0] * n
        self.bytes = [0] * n
        self.busy_s = [0.0] * n
        self.waits = [array("d") for _ in range(n)]
        self.pending = [0] * n  # messages on their way to a link, to be computed on arrival

    def cross(self, d: int, t: float, size_bytes: int) -> float:
        """Send ``size_bytes`` over directed link ``d``, reaching it at ``t``; the arrival at its far end."""
        tx = size_bytes * self.s_per_byte[d]
        start = self.free_at[d]
        if start <= t or not self.queueing:
            start = t
        end = start + tx
        self.free_at[d] = end
        if self.measure_from_s <= t < self.until_s:
            self.messages[d] += 1
            self.bytes[d] += size_bytes
            self.busy_s[d] += tx
            if start > t:
                self.waits[d].append(start - t)
        return end + self.prop_s[d]

    def cross_all(self, links: tuple[int, ...], t: float, size_bytes: int) -> float:
        """:meth:`cross` each of ``links`` in turn (the message at the first at ``t``); the arrival.

        The same arithmetic as :meth:`cross` with the lists bound once (the hot path).
        """
        free_at, s_per_byte, prop_s = self.free_at, self.s_per_byte, self.prop_s
        queueing, start_s, until_s = self.queueing, self.measure_from_s, self.until_s
        for d in links:
            tx = size_bytes * s_per_byte[d]
            start = free_at[d]
            if start <= t or not queueing:
                start = t
            end = start + tx
            free_at[d] = end
            if start_s <= t < until_s:
                self.messages[d] += 1
                self.bytes[d] += size_bytes
                self.busy_s[d] += tx
                if start > t:
                    self.waits[d].append(start - t)
            t = end + prop_s[d]
        return t

    def carry(self, segments: Segments, t: float, size_bytes: int) -> float:
        """Cross every link of ``segments`` now (no waiting for merges); the arrival time.

        Exact only when nothing else uses the links meanwhile (tests, the
        batch of a single flow); the event evaluator steps segment by segment.
        """
        for segment in segments:
            for d in segment:
                t = self.cross(d, t, size_bytes)
        return t

    def rows(self, window_s: float) -> list[dict[str, Any]]:
        """One row per directed link: messages, bytes, utilisation, waits (ms)."""
        links = self.links
        rows = []
        for d in range(2 * len(links)):
            i = d // 2
            waits = np.asarray(self.waits[d], dtype=float)
            n = self.messages[d]
            rows.append(
                {
                    "link": links.name[i],
                    "tier": links.tier[i],
                    "direction": "up" if d % 2 == 0 else "down",
                    "from": links.a[i] if d % 2 == 0 else links.b[i],
                    "to": links.b[i] if d % 2 == 0 else links.a[i],
                    "length_m": links.length_m[i],
                    "rate_gbps": links.rate_bps[i] / 1e9,
                    "messages": n,
                    "bytes": self.bytes[d],
                    "utilization": self.busy_s[d] / window_s if window_s > 0 else None,
                    "waited": int(waits.size),
                    "mean_wait_ms": float(waits.sum()) / n * 1000 if n else None,
                    "p99_wait_ms": _p99_with_zeros(waits, n) * 1000 if n else None,
                }
            )
        return rows


def _p99_with_zeros(positive: np.ndarray, n: int) -> float:
    """The 99th percentile (linear interpolation) of ``n − len(positive)`` zeros and ``positive``,
    without building the ``n`` values (:func:`~avzone.stats.quantile_with_zeros`)."""
    return quantile_with_zeros(np.sort(positive), n, 0.99)
