"""Carrying a message over backhaul links on the SimPy clock.

The links are FIFO transmitters (:class:`~avzone.network.transport.LinkState`);
a route is cut into segments (:func:`~avzone.network.transport.route_segments`)
that each start at a link where messages from several feeds merge. A segment
is computed when the message reaches its first link — a timeout when that is
later than now — so every link is computed in the order its messages arrive:
FIFO, exactly, with one event per merge instead of one per hop.

One more event is saved at the entry (the first link after the radio hop):
a message may be computed when it is *sent* if no message can still reach
that link before it — none is waiting for its timeout to that link
(``LinkState.pending``), and every later message takes at least
``lookahead_s`` (a lower bound of the access delay) to get there. This is
the lookahead of conservative parallel simulation (Chandy–Misra).
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
    lookahead_s: float = 0.0,
) -> None:
    """Carry ``size_bytes`` over ``segments``, reaching the first link at ``t`` (≥ now).

    ``then(t_end)`` runs at ``t_end + after_s``, ``t_end`` the arrival at the
    far end of the last link (``after_s``: a hop after the backhaul, e.g. the
    downlink radio). ``lookahead_s``: no message entering the backhaul after
    now reaches the first link sooner than ``lookahead_s`` from now.
    """
    now = env.now
    if links.queueing and t > now:
        entry = segments[0][0]
        if links.pending[entry] or t > now + lookahead_s:
            links.pending[entry] += 1
            resume = partial(_entered, env, links, segments, t, size_bytes, after_s, then)
            _after(env, t - now, resume)
            return
    if len(segments) == 1:  # the common case, inline
        end = links.cross_all(segments[0], t, size_bytes)
        env.timeout(end + after_s - now).callbacks.append(lambda _event: then(end))
        return
    _walk(env, links, segments, 0, t, size_bytes, after_s, then)


def _entered(
    env: simpy.Environment,
    links: LinkState,
    segments: Segments,
    t: float,
    size_bytes: int,
    after_s: float,
    then: Callable[[float], None],
) -> None:
    links.pending[segments[0][0]] -= 1
    _walk(env, links, segments, 0, t, size_bytes, after_s, then)


def _walk(
    env: simpy.Environment,
    links: LinkState,
    segments: Segments,
    i: int,
    t: float,
    size_bytes: int,
    after_s: float,
    then: Callable[[float], None],
) -> None:
    """Cross segment ``i`` now (the message is at its first link), then wait for the next."""
    t = links.cross_all(segments[i], t, size_bytes)
    i += 1
    if i < len(segments) and links.queueing:
        resume = partial(_walk, env, links, segments, i, t, size_bytes, after_s, then)
        _after(env, t - env.now, resume)
        return
    for segment in segments[i:]:  # without queueing: the rest at once
        t = links.cross_all(segment, t, size_bytes)
    end = t
    env.timeout(max(0.0, end + after_s - env.now)).callbacks.append(lambda _event: then(end))


def _after(env: simpy.Environment, delay_s: float, action: Callable[[], None]) -> None:
    """Run ``action`` ``delay_s`` from now (a bare timeout with a callback: no process)."""
    env.timeout(delay_s).callbacks.append(lambda _event: action())
