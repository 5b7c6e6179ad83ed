"""Radio access hops in bulk, for the ``batch`` evaluator: numpy arrays of messages.

The ``batch`` evaluator lets vehicles drive in SimPy as the ``event`` one does
(the same mobility, the same ``on_edge`` hook), but evaluates a time
window's messages together after the window's end, at arbitrary
(vehicle, time) pairs inside it. :class:`BatchAccess` gives it
:meth:`Access.hop <avzone.engine.access.Access.hop>`'s outcome for arrays of
such messages:

- **handover log.** The A3 state machine (:mod:`avzone.radio.handover`) is
  the event evaluator's, walked by the same code (:meth:`Access.on_edge`).
  Its ``on_change`` hook records every change of a vehicle's serving cell or
  interruption as (vehicle, time, serving, interrupted until) at the exact
  time of the change (sample entry or expiry of the time-to-trigger), so the
  state in force at any time is the last change at or before it —
  :meth:`BatchAccess.state_at`, one ``lexsort`` of log and queries. The
  evaluator calls :meth:`BatchAccess.catch_up` at each window end (walks
  every vehicle up to then) and :meth:`BatchAccess.fold` at each window
  start (keeps per vehicle only the last change before it), so the log holds
  a window's changes plus one entry per vehicle;
- **hop.** :meth:`BatchAccess.hop` applies ``Access.hop``'s rules to arrays,
  with the uniforms given (one for HARQ, one for the slot alignment, per
  message): the same stations, losses and delays as ``Access.hop`` fed the
  same uniforms (tested), except at times exactly on a sample boundary, where
  the event evaluator's ``int((t − t_enter)·v / step)`` may round down.

It subclasses :class:`~avzone.engine.access.Access`: the tables, the per-size
legs (:meth:`Access._leg`), the tracker and the walk are inherited unchanged,
so both evaluators share one definition of the radio; only the log, the
look-up and the vectorised hop are new.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numba
import numpy as np

from avzone.engine.access import LOST, OUT_OF_COVERAGE, Access, _log_bler, leg_arrays
from avzone.engine.world import World
from avzone.radio import LinkState
from avzone.vehicles.mobility import Vehicle

__all__ = ["BatchAccess"]


@dataclass(frozen=True)
class _LegArrays:
    """A leg (:class:`avzone.engine.access._Leg`) as numpy arrays, per sample."""

    station: np.ndarray
    base_s: np.ndarray
    log_bler: np.ndarray
    max_tx: int
    rtt_s: float
    slot_s: float
    sinr_min_db: float


class BatchAccess(Access):
    """:class:`~avzone.engine.access.Access` with a handover log and vectorised hops.

    Drive it as ``Access`` (``on_edge`` at each edge entry, ``leave``), then per
    window: ``catch_up(active vehicles, window end)``, ``hop(...)`` on the
    window's messages, ``fold(next window start)``.
    """

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._who = array("q")
        self._when = array("d")
        self._serving = array("q")
        self._until = array("d")
        self._by_vehicle: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._arrays: dict[tuple[str, int], _LegArrays] = {}
        if self.tracker is not None:
            self.tracker.on_change = self._record
            table = world.uu_table
            assert table is not None
            self._best_np = table.best
            self._uu_sinr_np = table.sinr_db

    # -- the handover log ------------------------------------------------------

    def _record(self, state: LinkState, t_s: float) -> None:
        self._who.append(state.owner)
        self._when.append(t_s)
        self._serving.append(state.serving)
        self._until.append(state.interrupted_until_s)

    def on_edge(self, vehicle: Vehicle, now_s: float) -> None:
        """As :meth:`Access.on_edge`; a new vehicle's link state carries its ident."""
        if self.tracker is not None and vehicle not in self.states:
            state = self.states[vehicle] = self.tracker.new_state()
            state.owner = vehicle.ident
        super().on_edge(vehicle, now_s)

    def catch_up(self, vehicles: list[Vehicle], now_s: float) -> None:
        """Walk every given (active) vehicle's handover state up to ``now_s``: afterwards
        :meth:`state_at` is exact for them at every time ≤ ``now_s``."""
        if self.tracker is None:
            return
        for vehicle in vehicles:
            self.on_edge(vehicle, now_s)

    def fold(self, before_s: float) -> None:
        """Forget changes no query at ``t ≥ before_s`` needs: per vehicle, keep the last
        change before ``before_s`` and every later one; vehicles that left the zone
        (:meth:`leave`) and changed nothing since keep nothing."""
        if not self._who:
            return
        who = np.frombuffer(self._who, dtype=np.int64)
        when = np.frombuffer(self._when, dtype=np.float64)
        old = when < before_s
        # the last old entry per vehicle: old entries, in log order (time order per vehicle)
        index = np.flatnonzero(old)
        order = np.argsort(who[index], kind="stable")
        sorted_who = who[index][order]
        is_last = np.ones(index.size, dtype=bool)
        is_last[:-1] = sorted_who[1:] != sorted_who[:-1]
        keep = ~old
        last = index[order[is_last]]
        active = np.fromiter((v.ident for v in self.states), np.int64, len(self.states))
        keep[last[np.isin(who[last], active)]] = True
        self._who = array("q", who[keep].tobytes())
        self._when = array("d", when[keep].tobytes())
        self._serving = array("q", np.frombuffer(self._serving, np.int64)[keep].tobytes())
        self._until = array("d", np.frombuffer(self._until, np.float64)[keep].tobytes())
        self._by_vehicle = None

    @property
    def log_size(self) -> int:
        """Entries in the handover log now."""
        return len(self._who)

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The log sorted by vehicle, then time, then log order, and per vehicle ident v
        its entries' range ``offsets[v] : offsets[v + 1]`` (cached until the log changes)."""
        if self._by_vehicle is None or self._by_vehicle[1].size != len(self._who):
            who = np.frombuffer(self._who, dtype=np.int64)
            when = np.frombuffer(self._when, dtype=np.float64)
            order = np.lexsort((np.arange(who.size), when, who))
            offsets = np.zeros(int(who.max(initial=-1)) + 2, dtype=np.int64)
            np.cumsum(np.bincount(who, minlength=offsets.size - 1), out=offsets[1:])
            self._by_vehicle = (
                offsets,
                when[order],
                np.frombuffer(self._serving, dtype=np.int64)[order],
                np.frombuffer(self._until, dtype=np.float64)[order],
            )
        return self._by_vehicle

    def state_at(self, vehicle: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each vehicle's (serving cell, interrupted until) in force at each time: the last
        logged change at or before it; (−1, −1.0) before the vehicle's first change.

        Exact for times up to the last :meth:`catch_up` and from the last :meth:`fold` on.
        A binary search per query inside its vehicle's part of the sorted log: as many
        vectorised steps as log2 of the most changes one vehicle has in the log.
        """
        vehicle = np.asarray(vehicle, dtype=np.int64)
        t_s = np.asarray(t_s, dtype=np.float64)
        n = vehicle.size
        serving = np.full(n, -1, dtype=np.int64)
        until = np.full(n, -1.0)
        if len(self._who) == 0 or n == 0:
            return serving, until
        offsets, when, log_serving, log_until = self._sorted()
        _state_at(
            np.ascontiguousarray(vehicle),
            np.ascontiguousarray(t_s),
            offsets,
            when,
            log_serving,
            log_until,
            serving,
            until,
        )
        return serving, until

    # -- hops ------------------------------------------------------------------

    def _leg_np(self, system: str, size_bytes: int) -> _LegArrays:
        key = (system, size_bytes)
        got = self._arrays.get(key)
        if got is None:
            leg = self._legs.get(key) or self._leg(system, size_bytes)
            got = self._arrays[key] = _LegArrays(
                np.asarray(leg.station, dtype=np.int64),
                np.asarray(leg.base_s, dtype=np.float64),
                np.asarray(leg.log_bler, dtype=np.float64),
                leg.max_tx,
                leg.rtt_s,
                leg.slot_s,
                leg.sinr_min_db,
            )
        return got

    def hop(  # type: ignore[override]
        self,
        system: str,
        vehicle: np.ndarray,
        sample: np.ndarray,
        size_bytes: int,
        t_s: np.ndarray,
        u_harq: np.ndarray,
        u_slot: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Radio hops of ``size_bytes`` for arrays of messages: vehicle idents, road samples,
        times, and one HARQ and one slot uniform each. Returns (station, delay_s) with
        :data:`~avzone.engine.access.OUT_OF_COVERAGE` / :data:`~avzone.engine.access.LOST`
        stations (delay 0) as :meth:`Access.hop` gives. Uu look-ups need
        :meth:`catch_up` to the latest time first."""
        sample = np.asarray(sample, dtype=np.int64)
        t_s = np.asarray(t_s, dtype=np.float64)
        u_harq = np.asarray(u_harq, dtype=np.float64)
        u_slot = np.asarray(u_slot, dtype=np.float64)
        leg = self._leg_np(system, size_bytes)
        n = sample.size
        if system == "pc5":
            station = leg.station[sample]
            covered = station >= 0
            base = leg.base_s[sample]
            log_p = leg.log_bler[sample]
            until = np.full(n, -np.inf)  # no handover interruption on PC5
        else:
            station, until = self.state_at(vehicle, t_s)
            covered = (station >= 0) & (self._uu_sinr_np[sample] >= leg.sinr_min_db)
            base = leg.base_s[sample]
            log_p = leg.log_bler[sample]
            other = np.flatnonzero(covered & (station != self._best_np[sample]))
            if other.size:
                ok, b, lp = self._other_cells(system, station[other], sample[other], size_bytes)
                covered[other[~ok]] = False
                base[other] = b
                log_p[other] = lp
        with np.errstate(divide="ignore"):
            log_u = np.log(np.where(u_harq == 0.0, 1e-300, u_harq))
        out = np.empty(n, dtype=np.int64)
        delay = np.empty(n)
        _finish_hops(
            covered,
            station,
            base,
            log_p,
            log_u,
            until,
            t_s,
            u_slot,
            self._lose_in_handover,
            leg.max_tx,
            leg.slot_s,
            leg.rtt_s,
            out,
            delay,
        )
        return out, delay

    def _other_cells(
        self, system: str, cell: np.ndarray, sample: np.ndarray, size_bytes: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (cell, sample), through a cell that is not the sample's best (during A3):
        (usable, delay before HARQ, ln BLER), as ``Access._other_cell`` one by one."""
        d = self._directions[system]
        table = d.table
        top = table.top[sample]
        match = top == cell[:, None]
        ok = match.any(axis=1)
        rank = np.argmax(match, axis=1)
        rx = table.top_rx_dbm[sample, rank]
        s = 10.0 ** (rx / 10.0)
        interference = np.maximum(0.0, table.total_mw[sample] - s) * table.radio.load
        with np.errstate(divide="ignore", invalid="ignore"):
            sinr = 10.0 * np.log10(s / (table.noise_mw + interference))
        ok &= sinr >= table.radio.sinr_min_db
        if system == "uu_up":
            sinr = rx + self._ul_offset_db
        sinr = np.where(ok, sinr, 0.0)  # no NaN into the link model
        base, bler = leg_arrays(
            sinr,
            size_bytes,
            table.radio,
            bandwidth_hz=d.bandwidth_hz,
            rate_cap_bps=d.rate_cap_bps,
            fixed_s=d.fixed_s,
        )
        return ok, base, _log_bler(bler)


@numba.njit(cache=True)
def _state_at(
    vehicle: np.ndarray,
    t_s: np.ndarray,
    offsets: np.ndarray,
    when: np.ndarray,
    log_serving: np.ndarray,
    log_until: np.ndarray,
    serving: np.ndarray,
    until: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """For each query, a binary search in its vehicle's part ``offsets[v] : offsets[v+1]``
    of the log sorted by vehicle then time: the last change at or before ``t_s``."""
    n_vehicles = offsets.size - 1
    for j in range(vehicle.size):
        v = vehicle[j]
        if v < 0 or v >= n_vehicles:
            continue
        first, lo, hi = offsets[v], offsets[v], offsets[v + 1]
        t = t_s[j]
        while lo < hi:  # the first entry later than t
            mid = (lo + hi) >> 1
            if when[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        if lo - 1 >= first:
            serving[j] = log_serving[lo - 1]
            until[j] = log_until[lo - 1]


@numba.njit(cache=True, error_model="numpy")
def _finish_hops(
    covered: np.ndarray,
    station: np.ndarray,
    base_s: np.ndarray,
    log_p: np.ndarray,
    log_u: np.ndarray,
    until_s: np.ndarray,
    t_s: np.ndarray,
    u_slot: np.ndarray,
    lose_in_handover: bool,
    max_tx: int,
    slot_s: float,
    rtt_s: float,
    out: np.ndarray,
    delay_s: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Each hop's outcome as :meth:`Access.hop` computes it, in the same floating-point
    order: failures before the first success ``floor(ln u / ln p)`` (``p = 0``: none),
    lost past ``max_tx`` tries or (``lose_in_handover``) while interrupted, else the
    delay ``wait + base + u_slot · slot + failures · rtt``."""
    for j in range(out.size):
        delay_s[j] = 0.0
        if not covered[j]:
            out[j] = OUT_OF_COVERAGE
            continue
        waiting = t_s[j] < until_s[j]
        failures = np.floor(log_u[j] / log_p[j])
        if failures >= max_tx or (waiting and lose_in_handover):
            out[j] = LOST
            continue
        out[j] = station[j]
        extra = until_s[j] - t_s[j] if waiting else 0.0
        delay_s[j] = extra + base_s[j] + u_slot[j] * slot_s + failures * rtt_s
