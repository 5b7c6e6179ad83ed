"""Radio access hops in bulk, for the ``batch`` evaluator: numpy arrays of messages.

The ``batch`` evaluator lets vehicles drive in SimPy as the ``event`` one does
(the same mobility, the same ``on_edge`` hook), but evaluates a time
window's messages together after the window's end, at arbitrary
(vehicle, time) pairs inside it. :class:`BatchAccess` gives it
:meth:`Access.hop <avzone.engine.access.Access.hop>`'s outcome for arrays of
such messages:

- **handover log.** The A3 state machine of the event evaluator
  (:meth:`Access.on_edge`, :class:`~avzone.radio.handover.A3Tracker`) is
  walked for all vehicles at once by a compiled copy of it
  (:class:`~avzone.engine.handover_walk.FleetWalk`, tested change by change
  against the Python walk). It logs every change of a vehicle's serving cell
  or interruption as (vehicle, time, serving, interrupted until) at the exact
  time of the change (sample entry or expiry of the time-to-trigger), so the
  state in force at any time is the last change at or before it —
  :meth:`BatchAccess.state_at` (:class:`~avzone.engine.handover_log.HandoverLog`).
  Edge entries and departures are queued as they happen; the evaluator calls
  :meth:`BatchAccess.catch_up` at each window end (applies them and walks
  every vehicle up to then) and :meth:`BatchAccess.fold` at each window start
  (keeps per vehicle only the last change before it), so the log holds a
  window's changes plus one entry per vehicle;
- **hop.** :meth:`BatchAccess.hop` applies ``Access.hop``'s rules to arrays,
  with the uniforms given (one for HARQ, one for the slot alignment, per
  message): the same stations, losses and delays as ``Access.hop`` fed the
  same uniforms (tested), except at times exactly on a sample boundary, where
  the event evaluator's ``int((t − t_enter)·v / step)`` may round down.

It subclasses :class:`~avzone.engine.access.Access`: the tables and the
per-size legs (:meth:`Access._leg`) are inherited unchanged, so both
evaluators share one definition of the radio; the walk is the compiled twin
of ``Access.on_edge`` (the Python one stays the event evaluator's, and the
reference); the log, the look-up and the vectorised hop are new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from avzone.engine.access import LOST, OUT_OF_COVERAGE, Access, _log_bler, leg_arrays
from avzone.engine.handover_log import HandoverLog
from avzone.engine.handover_walk import FleetWalk
from avzone.engine.world import World
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
    window: ``catch_up(window end)``, ``hop(...)`` on the window's messages,
    ``fold(next window start)``.
    """

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.log = HandoverLog()
        self.fleet: FleetWalk | None = None
        self._arrays: dict[tuple[str, int], _LegArrays] = {}
        if self.tracker is not None:
            table = world.uu_table
            assert table is not None
            handover = world.scenario.network.cells.handover
            self.fleet = FleetWalk(table, world.samples, handover, self.log)
            self._best_np = table.best
            self._uu_sinr_np = table.sinr_db

    # -- the handover log ------------------------------------------------------

    def on_edge(self, vehicle: Vehicle, now_s: float) -> None:
        """As :meth:`Access.on_edge`, queued (:class:`~avzone.engine.handover_walk.FleetWalk`):
        applied, in order, before the states or the log are read."""
        if self.fleet is not None:
            self.fleet.on_edge(
                vehicle.ident, now_s, vehicle.edge, vehicle.t_enter_s, vehicle.speed_mps
            )

    def leave(self, vehicle: Vehicle, now_s: float) -> None:
        """As :meth:`Access.leave` (count what happened up to now, then forget), queued."""
        if self.fleet is not None:
            self.fleet.leave(
                vehicle.ident, now_s, vehicle.edge, vehicle.t_enter_s, vehicle.speed_mps
            )

    def catch_up(self, now_s: float) -> None:
        """Walk every vehicle in the zone (entered an edge, not left) up to ``now_s``:
        afterwards :meth:`state_at` is exact for them at every time ≤ ``now_s``."""
        if self.fleet is not None:
            self.fleet.catch_up(now_s)

    def fold(self, before_s: float) -> None:
        """Forget changes no query at ``t ≥ before_s`` needs: per vehicle, keep the last
        change before ``before_s`` and every later one; vehicles that left the zone
        (:meth:`leave`) and changed nothing since keep nothing."""
        if self.fleet is not None:
            self.log.fold(before_s, self.fleet.tracked)

    @property
    def handovers(self) -> int:
        """Handovers so far (all vehicles)."""
        return self.fleet.handovers if self.fleet is not None else 0

    @property
    def link_failures(self) -> int:
        """Radio link failures so far (serving cell lost without a handover)."""
        return self.fleet.failures if self.fleet is not None else 0

    @property
    def log_size(self) -> int:
        """Entries in the handover log now."""
        return self.log.size

    def state_at(self, vehicle: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each vehicle's (serving cell, interrupted until) in force at each time
        (:meth:`HandoverLog.state_at <avzone.engine.handover_log.HandoverLog.state_at>`):
        exact for times up to the last :meth:`catch_up` and from the last :meth:`fold` on."""
        if self.fleet is not None:
            self.fleet.apply()
        return self.log.state_at(vehicle, t_s)

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
