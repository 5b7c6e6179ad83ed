"""Handover tracking for the batch evaluator: every vehicle's A3 state in arrays, walked compiled.

The ``event`` evaluator tracks a vehicle's serving cell with
:meth:`Access.on_edge <avzone.engine.access.Access.on_edge>` (called at every edge
entry and before look-ups), which walks the road samples the vehicle reached through
the A3 state machine :class:`~avzone.radio.handover.A3Tracker`, in Python, one vehicle
at a time. :class:`FleetWalk` is the same walk and the same state machine for all the
vehicles of a run, in one compiled loop (numba):

- :meth:`FleetWalk.on_edge` and :meth:`FleetWalk.leave` take what ``Access.on_edge``
  and ``Access.leave`` take (the vehicle's ident, the time, its edge, edge entry time
  and speed) and only queue it;
- :meth:`FleetWalk.catch_up` ``(now_s)`` applies the queue in order, then walks every
  vehicle in the zone to ``now_s`` (``Access.on_edge(vehicle, now_s)`` for each);
  :meth:`FleetWalk.apply` applies the queue alone. Every change of a vehicle's serving
  cell or interruption goes to a :class:`~avzone.engine.handover_log.HandoverLog` at
  the exact time of the change, as ``A3Tracker.on_change`` reports them.

**Why identical.** Vehicles do not interact, and each vehicle's queued calls are
applied in the order they were made, by the same steps as ``Access.on_edge``,
``Access._walk``, ``A3Tracker.walk``, ``enter``, ``advance`` and ``_evaluate``, with
the same floating-point expressions (``t_enter + k · step / speed``,
``int((t − t_enter) · speed / step)``, ``since + ttt ≤ t``, ``rx₀ > rx_serving +
hysteresis``). The one shortcut: while no A3 candidate is pending, the samples ahead
where nothing can change (the serving cell among the strongest, none other
``hysteresis`` above it) are passed over in one go, which is what entering them one
by one would do. So every vehicle's changes, and the handover and failure counts, are
those of the Python walk given the same calls, to the last bit
(tests/test_handover_walk.py compares them change by change); only the order of
different vehicles' entries in the log differs, which its readers do not see. Calls
are applied before anything reads the states or the log, so queuing them changes
nothing but the cost.

**Cost.** One compiled call per window for all vehicles (and per :meth:`apply`):
a few operations per vehicle, plus the samples where something may change; no Python
per vehicle. On etown-peak (2 000 vehicles) about 0.3 ms per 1-s window, against
8 ms for the Python walk.
"""

from __future__ import annotations

from array import array
from typing import Any

import numba
import numpy as np

from avzone.engine.handover_log import HandoverLog
from avzone.network.coverage import RoadSamples
from avzone.radio import RadioTable
from avzone.scenario._radio import Handover

__all__ = ["STATE_DTYPE", "FleetWalk"]

STATE_DTYPE = np.dtype(
    [
        ("serving", np.int64),  # the serving cell, −1 when none
        ("candidate", np.int64),  # the A3 candidate (the sample's strongest cell), −1 when none
        ("since_s", np.float64),  # when the candidate became one
        ("sample", np.int64),  # the road sample last evaluated
        ("interrupted_until_s", np.float64),
        ("edge", np.int64),  # the edge being walked, −1 before the first
        ("k", np.int64),  # the last sample of the edge entered (−1: none yet)
        ("t_enter_s", np.float64),  # when the vehicle entered the edge
        ("speed_mps", np.float64),  # its speed on the edge
        ("tracked", np.bool_),  # in the zone: entered an edge and has not left
    ],
    align=True,
)
"""One vehicle's Uu link state, the fields of :class:`~avzone.radio.handover.LinkState`
(a vehicle's row is its ident) and whether the vehicle is tracked."""

_ON_EDGE = 0.0
_LEAVE = 1.0
_OP_FIELDS = 6
"""A queued call: (kind, ident, now_s, edge, t_enter_s, speed_mps), as float64 (exact
for idents and edges below 2**53)."""


class FleetWalk:
    """The A3 handover states of all the vehicles of a run.

    Parameters
    ----------
    table
        The Uu radio table: per road sample the ``TOP_K`` strongest cells and their
        received power (dBm), and whether the strongest is usable (``serving ≥ 0``).
    samples
        The road samples: per edge the first sample, the count and the length (m).
    handover
        The A3 offset (dB), time-to-trigger and interruption (ms).
    log
        Where the changes go.
    """

    def __init__(
        self, table: RadioTable, samples: RoadSamples, handover: Handover, log: HandoverLog
    ) -> None:
        top = np.ascontiguousarray(table.top, dtype=np.int64)
        self._radio = (
            top,
            np.ascontiguousarray(table.top_rx_dbm, dtype=np.float64),
            np.ascontiguousarray(table.serving >= 0),
            np.ascontiguousarray(top[:, 0]),
            float(handover.hysteresis_db),
            handover.ttt_ms / 1000,
            handover.interruption_ms / 1000,
        )
        count = np.asarray(samples.count, dtype=np.int64)
        self._road = (
            np.asarray(samples.start, dtype=np.int64),
            count,
            np.asarray(samples.step_m, dtype=np.float64),
        )
        # changes one queued call or catch-up can log, at most: per sample entered
        # three (a handover fired, an attach or failure, a handover with no TTT), on the
        # edge left and the edge entered, and an expiry of the TTT after each
        self._budget = 6 * int(count.max(initial=1)) + 8
        self.log = log
        self.log.reserve(4 * self._budget)
        self.states = np.zeros(1024, dtype=STATE_DTYPE)
        self.counts = np.zeros(2, dtype=np.int64)  # handovers, radio link failures
        self._queue = array("d")

    @property
    def handovers(self) -> int:
        """Handovers so far (all vehicles; queued calls applied first)."""
        self.apply()
        return int(self.counts[0])

    @property
    def failures(self) -> int:
        """Radio link failures so far (queued calls applied first)."""
        self.apply()
        return int(self.counts[1])

    @property
    def tracked(self) -> np.ndarray:
        """Per vehicle ident, whether it is in the zone (queued calls applied first)."""
        self.apply()
        tracked: np.ndarray = self.states["tracked"]
        return tracked

    def on_edge(
        self, ident: int, now_s: float, edge: int, t_enter_s: float, speed_mps: float
    ) -> None:
        """``Access.on_edge`` for the vehicle ``ident`` now on ``edge`` (entered at
        ``t_enter_s`` at ``speed_mps``), at ``now_s``: queued."""
        self._queue.extend((_ON_EDGE, ident, now_s, edge, t_enter_s, speed_mps))

    def leave(
        self, ident: int, now_s: float, edge: int, t_enter_s: float, speed_mps: float
    ) -> None:
        """``Access.leave``: the vehicle is walked to ``now_s``, then forgotten; queued."""
        self._queue.extend((_LEAVE, ident, now_s, edge, t_enter_s, speed_mps))

    def apply(self) -> None:
        """Apply the queued calls, in order."""
        if self._queue:
            self._run(np.nan, walk_all=False)

    def catch_up(self, now_s: float) -> None:
        """Apply the queued calls, then walk every tracked vehicle to ``now_s``: every
        change up to ``now_s`` is then in the log."""
        self._run(now_s, walk_all=True)

    def _run(self, now_s: float, walk_all: bool) -> None:
        queue, self._queue = self._queue, array("d")
        ops = np.frombuffer(queue, dtype=np.float64).reshape(-1, _OP_FIELDS)
        if ops.size:
            self._grow(int(ops[:, 1].max()) + 1)
        log = self.log
        item, n_items = 0, ops.shape[0] + (self.states.size if walk_all else 0)
        while item < n_items:
            log.reserve(4 * self._budget)
            item = _apply(
                ops,
                now_s,
                walk_all,
                item,
                self.states,
                self._radio,
                self._road,
                (log.who, log.when, log.serving, log.until, log.n),
                self.counts,
                self._budget,
            )

    def _grow(self, n_vehicles: int) -> None:
        if n_vehicles > self.states.size:
            grown = np.zeros(max(n_vehicles, 2 * self.states.size), dtype=STATE_DTYPE)
            grown[: self.states.size] = self.states
            self.states = grown


# -- the compiled walk: Access.on_edge / _walk and A3Tracker, step for step -------------------
#
# ``s`` is one vehicle's row of ``states`` (a record: writes go to the array), ``v`` its
# ident; ``radio``, ``road``, ``log`` and ``counts`` are unpacked where used. The small
# functions called per sample are inlined (``inline="always"``): a call costs more than
# their work. That triples the first compilation (about 10 s, then cached beside the
# module), so the functions with several call sites (_on_edge, _walk) stay calls.

_Row = Any
"""One row of a :data:`STATE_DTYPE` array (a numba record)."""
_Radio = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, float]
"""(top, top_rx_dbm, covered, first, hysteresis_db, ttt_s, interruption_s)."""
_Road = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(start, count, step_m) per edge."""
_Log = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""A :class:`HandoverLog`'s (who, when, serving, until, n)."""


@numba.njit(cache=True)
def _apply(
    ops: np.ndarray,
    now_s: float,
    walk_all: bool,
    item: int,
    states: np.ndarray,
    radio: _Radio,
    road: _Road,
    log: _Log,
    counts: np.ndarray,
    budget: int,
) -> int:  # pragma: no cover - compiled
    """Apply ``ops`` from ``item`` on, then (``walk_all``) walk every tracked vehicle to
    ``now_s``; stop before an item that might not fit in the log. Returns the next item."""
    n_ops = ops.shape[0]
    n_items = n_ops + (states.size if walk_all else 0)
    capacity = log[0].size
    n = log[4]
    while item < n_items:
        if n[0] + budget > capacity:
            return item
        if item < n_ops:
            kind, v, at_s = ops[item, 0], int(ops[item, 1]), ops[item, 2]
            edge, t_enter_s, speed_mps = int(ops[item, 3]), ops[item, 4], ops[item, 5]
            s = states[v]
            if kind == _ON_EDGE:
                if not s.tracked:  # a new state (LinkState())
                    _reset(s)
                    s.tracked = True
                _on_edge(v, s, at_s, edge, t_enter_s, speed_mps, radio, road, log, counts)
            elif s.tracked:  # Access.leave: up to now, then forgotten
                _on_edge(v, s, at_s, edge, t_enter_s, speed_mps, radio, road, log, counts)
                s.tracked = False
        else:
            v = item - n_ops
            s = states[v]
            if s.tracked and not _skip_ahead(s, now_s, radio, road):
                _walk(v, s, now_s, False, radio, road, log, counts)  # on_edge, the same edge
        item += 1
    return item


@numba.njit(cache=False, inline="always")
def _skip_ahead(s: _Row, now_s: float, radio: _Radio, road: _Road) -> bool:  # pragma: no cover
    """Move the vehicle over the samples of its edge where nothing can change; whether
    that leaves nothing for ``Access.on_edge(vehicle, now_s)`` to do.

    Nothing can change on a sample while no A3 candidate is pending, the serving cell is
    among the sample's strongest and no other is ``hysteresis_db`` above it: there
    ``_evaluate`` leaves the state as it is (``A3Tracker.walk`` does not even evaluate the
    samples where the serving cell is the strongest) and ``advance`` has nothing to do.
    Entering such samples early, even past where the vehicle is at ``now_s``, is then
    the same as entering them when the vehicle gets there: ``k`` (the last sample entered)
    may run ahead of the vehicle, ``sample`` is not read before the next change, and
    the samples after ``k`` are walked as ``A3Tracker.walk`` does. Each sample of an edge
    is looked at once, and a vehicle with nothing to do costs a few operations per window.
    """
    if s.candidate >= 0 or s.serving < 0:
        return False
    starts, counts_per_edge, steps_m = road
    step_m, count = steps_m[s.edge], counts_per_edge[s.edge]
    k_now = min(count - 1, int((now_s - s.t_enter_s) * s.speed_mps / step_m))
    if k_now <= s.k:
        return True
    top, top_rx, first, hysteresis_db = radio[0], radio[1], radio[3], radio[4]
    start, k = starts[s.edge], s.k
    while k + 1 < count:
        j = start + k + 1
        if first[j] != s.serving:
            rank = _rank(top, j, s.serving)
            if rank < 0 or top_rx[j, 0] > top_rx[j, rank] + hysteresis_db:
                break  # something may change entering j
        k += 1
    if k > s.k:
        s.k = k
        s.sample = start + k
    return k >= k_now


@numba.njit(cache=False, inline="always")
def _rank(top: np.ndarray, j: int, cell: int) -> int:  # pragma: no cover - compiled
    """The place of ``cell`` among sample ``j``'s strongest (0: the strongest); −1 if none."""
    for r in range(top.shape[1]):
        if top[j, r] == cell:
            return r
    return -1


@numba.njit(cache=True)
def _reset(s: _Row) -> None:  # pragma: no cover - compiled
    """``LinkState()``: not attached, no edge yet."""
    s.serving = -1
    s.candidate = -1
    s.since_s = 0.0
    s.sample = -1
    s.interrupted_until_s = -1.0
    s.edge = -1
    s.k = -1
    s.t_enter_s = 0.0
    s.speed_mps = 1.0


@numba.njit(cache=True)
def _on_edge(
    v: int,
    s: _Row,
    now_s: float,
    edge: int,
    t_enter_s: float,
    speed_mps: float,
    radio: _Radio,
    road: _Road,
    log: _Log,
    counts: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``Access.on_edge``: a new edge (or entry time) finishes the old edge and waits
    there until the new one; then the samples reached by ``now_s``."""
    if s.edge != edge or s.t_enter_s != t_enter_s:
        if s.edge >= 0:
            _walk(v, s, now_s, True, radio, road, log, counts)
            _advance(v, s, t_enter_s, radio, log, counts)
        s.edge = edge
        s.t_enter_s = t_enter_s
        s.speed_mps = speed_mps
        s.k = -1
    _walk(v, s, now_s, False, radio, road, log, counts)


@numba.njit(cache=True)
def _walk(
    v: int,
    s: _Row,
    upto_s: float,
    to_end: bool,
    radio: _Radio,
    road: _Road,
    log: _Log,
    counts: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``Access._walk``: enter every sample of the edge reached by ``upto_s`` (``to_end``:
    all of them, and no time passes)."""
    starts, counts_per_edge, steps_m = road
    step_m, count = steps_m[s.edge], counts_per_edge[s.edge]
    k_now = count - 1
    if not to_end:
        k_now = min(k_now, int((upto_s - s.t_enter_s) * s.speed_mps / step_m))
    start = starts[s.edge]
    first = radio[3]
    # A3Tracker.walk over start + k for k in k + 1 .. k_now: enter() on every sample but
    # those where nothing can change (no A3 pending, the serving cell is the strongest);
    # with no A3 pending its first and last ``advance`` have nothing to do
    t0_s, speed = s.t_enter_s, s.speed_mps
    k_from = s.k + 1
    last = start + k_now
    for j in range(start + k_from, last + 1):
        if s.candidate >= 0 or first[j] != s.serving or s.serving < 0:
            t_s = t0_s + (j - start) * step_m / speed
            _advance(v, s, t_s, radio, log, counts)
            s.sample = j
            _evaluate(v, s, t_s, radio, log, counts)
            _advance(v, s, t_s, radio, log, counts)
    if k_now >= k_from:
        s.sample = last
    s.k = max(s.k, k_now)
    if not to_end:
        _advance(v, s, upto_s, radio, log, counts)


@numba.njit(cache=False, inline="always")
def _advance(
    v: int, s: _Row, t_s: float, radio: _Radio, log: _Log, counts: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``A3Tracker.advance``: time passes to ``t_s``: fire an expired time-to-trigger."""
    ttt_s, interruption_s = radio[5], radio[6]
    while s.candidate >= 0 and s.since_s + ttt_s <= t_s:
        at_s = s.since_s + ttt_s
        s.serving = s.candidate
        s.candidate = -1
        s.interrupted_until_s = at_s + interruption_s
        counts[0] += 1
        _record(v, s, at_s, log)
        _evaluate(v, s, at_s, radio, log, counts)


@numba.njit(cache=False, inline="always")
def _evaluate(
    v: int, s: _Row, t_s: float, radio: _Radio, log: _Log, counts: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``A3Tracker._evaluate`` on the state's sample at ``t_s``: attach, radio link
    failure, or the A3 candidate."""
    top, top_rx, covered = radio[0], radio[1], radio[2]
    hysteresis_db, interruption_s = radio[4], radio[6]
    j = s.sample
    if s.serving < 0:
        s.candidate = -1
        if covered[j]:
            s.serving = top[j, 0]
            _record(v, s, t_s, log)
        return
    rank = _rank(top, j, s.serving)
    if rank < 0:  # radio link failure: re-establish on the strongest cell
        counts[1] += 1
        s.candidate = -1
        s.serving = top[j, 0] if covered[j] else -1
        s.interrupted_until_s = t_s + interruption_s
        _record(v, s, t_s, log)
        return
    if rank > 0 and top_rx[j, 0] > top_rx[j, rank] + hysteresis_db:
        if s.candidate != top[j, 0]:
            s.candidate = top[j, 0]
            s.since_s = t_s
    else:
        s.candidate = -1


@numba.njit(cache=False, inline="always")
def _record(v: int, s: _Row, t_s: float, log: _Log) -> None:  # pragma: no cover - compiled
    """``A3Tracker.on_change``: the state's (serving, interrupted until) from ``t_s`` on."""
    who, when, serving, until, n = log
    i = n[0]
    if i >= who.size:
        raise IndexError("handover log full: the per-call budget is too small")
    who[i] = v
    when[i] = t_s
    serving[i] = s.serving
    until[i] = s.interrupted_until_s
    n[0] = i + 1
