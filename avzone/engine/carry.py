"""Carrying a message over backhaul links on the SimPy clock.

The links are FIFO transmitters (:class:`~avzone.network.transport.LinkState`);
a route is cut into segments (:func:`~avzone.network.transport.route_segments`)
that each start at a link where messages from several feeds merge. A segment
is computed when the message reaches its first link — a timeout when that is
later than now — so every link is computed in the order its messages arrive:
FIFO, exactly, with one event per merge instead of one per hop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import simpy

from avzone.network.transport import LinkState, Segments

__all__ = ["carry"]


def carry(
    env: simpy.Environment,
    links: LinkState,
    segments: Segments,
    t: float,
    size_bytes: int,
    after_s: float,
    then: Callable[[float], None],
    first: int = 0,
    arrived: bool = False,
) -> None:
    """Carry ``size_bytes`` over ``segments``, reaching the first link at ``t`` (≥ now).

    ``then(t_end)`` runs at ``t_end + after_s``, ``t_end`` the arrival at the
    far end of the last link (``after_s``: a hop after the backhaul, e.g. the
    downlink radio). ``first`` / ``arrived``: resume at segment ``first``, the
    message having just reached it.
    """
    arrived = arrived or not links.queueing  # without queues, the order does not matter
    for i in range(first, len(segments)):
        if t > env.now and not (arrived and i == first):
            _after(
                env,
                t - env.now,
                partial(carry, env, links, segments, t, size_bytes, after_s, then, i, True),
            )
            return
        for d in segments[i]:
            t = links.cross(d, t, size_bytes)
    _after(env, max(0.0, t + after_s - env.now), partial(then, t))


def _after(env: simpy.Environment, delay_s: float, action: Callable[[], None]) -> None:
    """Run ``action`` ``delay_s`` from now (a bare timeout with a callback: no process)."""
    env.timeout(delay_s).callbacks.append(lambda _event: action())
