"""Radio access per message: HARQ, slot alignment, transmission time, handover.

Used by the ``event`` evaluator for the systems whose radio model is not
``disk`` (:mod:`avzone.radio`). A hop's outcome at road sample ``j``:

- the station: PC5, the best RSU where its SINR reaches ``sinr_min_db``;
  Uu, the vehicle's serving cell from the A3 handover state machine, if
  its SINR there reaches the threshold — else out of coverage;
- during a handover interruption the message waits for its end
  (``handover.during: wait``) or is lost (``lose``);
- link adaptation picks the spectral efficiency η for the SINR; the block
  error rate of one try follows (:mod:`avzone.radio.link`); HARQ draws the
  number of tries from one uniform number, and more than ``harq.max_tx``
  means lost;
- delay = the system's fixed latency (``latency_ms`` / ``uplink_latency_ms``
  / ``downlink_latency_ms``: processing) + a wait for the next slot boundary
  (uniform over one slot of the numerology) + whole slots of transmission at
  ``min(η·B, rate cap)`` + ``(tries − 1) · harq.rtt_ms``.

The Uu downlink uses the table's SINR (cell transmit power, co-channel
interference). The uplink's SNR is the same path (and shadowing) with the
vehicle's power, the uplink bandwidth and the base station's noise figure,
less ``uplink_interference_db`` for the other cells' users.

Handovers are tracked for every vehicle as it enters each edge
(:meth:`Access.on_edge`, called by the mobility process) and before every
look-up; the hop's random numbers come from their own stream
(:func:`avzone.radio.radio_seeds`), so runs with a ``disk`` model keep their
draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avzone.engine.draws import Stream
from avzone.engine.world import World
from avzone.radio import (
    A3Tracker,
    LinkState,
    RadioTable,
    adapted_efficiency,
    block_error_rate,
    noise_dbm,
    radio_seeds,
    slot_s,
    transmission_slots,
)
from avzone.scenario._radio import Radio
from avzone.vehicles.mobility import Vehicle

__all__ = ["LOST", "OUT_OF_COVERAGE", "Access", "leg_arrays"]

OUT_OF_COVERAGE = -1
"""Hop outcome: no station serves the vehicle where it is."""

LOST = -2
"""Hop outcome: lost on the air (all HARQ tries failed, or a handover interruption with ``lose``)."""


def leg_arrays(
    sinr_db: np.ndarray,
    size_bytes: int,
    radio: Radio,
    *,
    bandwidth_hz: float,
    rate_cap_bps: float,
    fixed_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per SINR: (delay before retransmissions and slot alignment in s, block error rate).

    The delay is ``fixed_s`` + whole slots of ``size_bytes`` at
    ``min(η(SINR) · bandwidth, rate cap)``.

    >>> from avzone.scenario._radio import UU_RADIO
    >>> base, bler = leg_arrays(np.array([15.0]), 1200, UU_RADIO, bandwidth_hz=100e6,
    ...                         rate_cap_bps=50e6, fixed_s=0.004)
    >>> round(float(base[0]), 4), round(float(bler[0]), 4)   # one 0.5 ms slot, the 10 % target
    (0.0045, 0.1)
    """
    eta = adapted_efficiency(
        sinr_db,
        bler_target=radio.bler_target,
        diversity=radio.diversity,
        gap_db=radio.gap_db,
        eta_min=radio.eta_min,
        eta_max=radio.eta_max,
    )
    rate = np.minimum(eta * bandwidth_hz, rate_cap_bps)
    slot = slot_s(radio.numerology)
    base = fixed_s + transmission_slots(size_bytes, rate, slot) * slot
    bler = block_error_rate(sinr_db, eta, diversity=radio.diversity, gap_db=radio.gap_db)
    return base, bler


def _log_bler(bler: np.ndarray) -> np.ndarray:
    """ln of the block error rate for the HARQ draw: −inf for 0, and just below 0 for 1
    (every try fails)."""
    with np.errstate(divide="ignore"):
        return np.log(np.minimum(bler, 1.0 - 1e-12))


@dataclass(frozen=True)
class _Leg:
    """What a hop of one size needs, as lists for the per-message path."""

    station: list[int]
    base_s: list[float]
    log_bler: list[float]
    max_tx: int
    rtt_s: float
    slot_s: float
    sinr_min_db: float


@dataclass(frozen=True)
class _Direction:
    """One direction of one system: its table, SINR shift, bandwidth, rate cap, fixed delay."""

    table: RadioTable
    sinr_shift_db: float  # 0 for the table's own direction; the uplink's offset otherwise
    bandwidth_hz: float
    rate_cap_bps: float
    fixed_s: float


class Access:
    """The radio access of a run (systems with a SINR model).

    ``hop(system, vehicle, sample, size_bytes, now_s)`` returns ``(station,
    delay_s)``; ``station`` is :data:`OUT_OF_COVERAGE` or :data:`LOST` when the
    message does not get through.
    """

    def __init__(self, world: World) -> None:
        scenario = world.scenario
        self.world = world
        self.draw = Stream(
            np.random.default_rng(radio_seeds(scenario.seed)[2]), lambda g, n: g.random(n)
        )
        self._directions: dict[str, _Direction] = {}
        pc5, cells = scenario.road.pc5, scenario.network.cells
        if world.pc5_table is not None:
            self._directions["pc5"] = _Direction(
                world.pc5_table,
                0.0,
                pc5.radio.bandwidth_mhz * 1e6,
                pc5.rate_mbps * 1e6,
                pc5.latency_ms / 1000,
            )
        self.tracker: A3Tracker | None = None
        self._lose_in_handover = False  # messages during a handover interruption: lost or wait
        self.states: dict[Vehicle, LinkState] = {}
        if world.uu_table is not None:
            table, radio = world.uu_table, cells.radio
            self._directions["uu_down"] = _Direction(
                table,
                0.0,
                radio.bandwidth_mhz * 1e6,
                cells.downlink_rate_mbps * 1e6,
                cells.downlink_latency_ms / 1000,
            )
            # uplink SINR = DL received power − P_BS + P_UE − uplink noise − margin, minus the DL SINR
            ul_noise = noise_dbm(radio.uplink_bandwidth_mhz * 1e6, radio.bs_noise_figure_db)
            self._ul_offset_db = radio.ue_tx_power_dbm - radio.tx_power_dbm - ul_noise
            self._ul_offset_db -= radio.uplink_interference_db
            self._directions["uu_up"] = _Direction(
                table,
                math.nan,
                radio.uplink_bandwidth_mhz * 1e6,
                cells.uplink_rate_mbps * 1e6,
                cells.uplink_latency_ms / 1000,
            )
            ho = cells.handover
            self.tracker = A3Tracker(
                table.top.tolist(),
                table.top_rx_dbm.tolist(),
                (table.serving >= 0).tolist(),
                hysteresis_db=ho.hysteresis_db,
                ttt_s=ho.ttt_ms / 1000,
                interruption_s=ho.interruption_ms / 1000,
            )
            self._lose_in_handover = ho.during == "lose"
            self._best: list[int] = table.best.tolist()
            self._uu_sinr: list[float] = table.sinr_db.tolist()
        samples = world.samples
        self._start: list[int] = samples.start.tolist()
        self._count: list[int] = samples.count.tolist()
        self._step: list[float] = samples.step_m.tolist()
        self._legs: dict[tuple[str, int], _Leg] = {}

    def has(self, system: str) -> bool:
        """Whether ``system`` (``pc5``, ``uu_up``, ``uu_down``) uses a SINR model."""
        return system in self._directions

    # -- handover ------------------------------------------------------------------

    def on_edge(self, vehicle: Vehicle, now_s: float) -> None:
        """The vehicle entered a new edge at ``now_s`` (or a look-up happens): catch up."""
        tracker = self.tracker
        if tracker is None:
            return
        state = self.states.get(vehicle)
        if state is None:
            state = self.states[vehicle] = tracker.new_state()
        if state.edge != vehicle.edge or state.t_enter_s != vehicle.t_enter_s:
            if state.edge >= 0:  # finish the edge it left, then wait there until the new one
                self._walk(state, math.inf)
                tracker.advance(state, vehicle.t_enter_s)
            state.edge = vehicle.edge
            state.t_enter_s = vehicle.t_enter_s
            state.speed_mps = vehicle.speed_mps
            state.k = -1
        self._walk(state, now_s)

    def leave(self, vehicle: Vehicle, now_s: float) -> None:
        """The vehicle left the zone: count what happened up to now, then forget it."""
        if vehicle in self.states:
            self.on_edge(vehicle, now_s)
            del self.states[vehicle]

    def _walk(self, state: LinkState, upto_s: float) -> None:
        """Enter every sample of the state's edge reached by ``upto_s`` (inf: to the end)."""
        assert self.tracker is not None
        edge = state.edge
        step, count = self._step[edge], self._count[edge]
        if upto_s == math.inf:
            k_now = count - 1
        else:
            k_now = min(count - 1, int((upto_s - state.t_enter_s) * state.speed_mps / step))
        start = self._start[edge]
        self.tracker.walk(state, start, state.k + 1, k_now, state.t_enter_s, step, state.speed_mps)
        state.k = max(state.k, k_now)
        if upto_s != math.inf:
            self.tracker.advance(state, upto_s)

    @property
    def handovers(self) -> int:
        """Handovers so far (all vehicles)."""
        return self.tracker.handovers if self.tracker else 0

    @property
    def link_failures(self) -> int:
        """Radio link failures so far (serving cell lost without a handover)."""
        return self.tracker.failures if self.tracker else 0

    # -- one hop -------------------------------------------------------------------

    def _leg(self, system: str, size_bytes: int) -> _Leg:
        """Per sample for the best station: station (−1: not covered), delay before HARQ
        and slot alignment, ln(BLER); and the system's HARQ and slot constants."""
        key = (system, size_bytes)
        leg = self._legs.get(key)
        if leg is None:
            d = self._directions[system]
            sinr = d.table.sinr_db
            if system == "uu_up":
                sinr = d.table.rx_dbm + self._ul_offset_db
            radio = d.table.radio
            base, bler = leg_arrays(
                sinr,
                size_bytes,
                radio,
                bandwidth_hz=d.bandwidth_hz,
                rate_cap_bps=d.rate_cap_bps,
                fixed_s=d.fixed_s,
            )
            leg = self._legs[key] = _Leg(
                d.table.serving.tolist(),
                base.tolist(),
                _log_bler(bler).tolist(),
                radio.harq.max_tx,
                radio.harq.rtt_ms / 1000,
                slot_s(radio.numerology),
                radio.sinr_min_db,
            )
        return leg

    def hop(
        self, system: str, vehicle: Vehicle, sample: int, size_bytes: int, now_s: float
    ) -> tuple[int, float]:
        """One radio hop of ``size_bytes`` from (or to) the vehicle on ``sample`` at ``now_s``."""
        leg = self._legs.get((system, size_bytes)) or self._leg(system, size_bytes)
        extra_s = 0.0
        if system == "pc5":
            station = leg.station[sample]
            if station < 0:
                return OUT_OF_COVERAGE, 0.0
            base_s, log_p = leg.base_s[sample], leg.log_bler[sample]
        else:
            state = self.states.get(vehicle)
            if (
                state is None
                or state.edge != vehicle.edge
                or state.t_enter_s != vehicle.t_enter_s
                or state.candidate >= 0
                or state.k != sample - self._start[state.edge]
            ):
                self.on_edge(vehicle, now_s)  # catch up (else nothing can have changed)
                state = self.states[vehicle]
            station = state.serving
            if station < 0 or self._uu_sinr[sample] < leg.sinr_min_db:
                return OUT_OF_COVERAGE, 0.0
            if station == self._best[sample]:
                base_s, log_p = leg.base_s[sample], leg.log_bler[sample]
            else:
                got = self._other_cell(system, station, sample, size_bytes)
                if got is None:
                    return OUT_OF_COVERAGE, 0.0
                base_s, log_p = got
            if now_s < state.interrupted_until_s:
                if self._lose_in_handover:
                    return LOST, 0.0
                extra_s = state.interrupted_until_s - now_s
        # failures before the first success: floor(ln u / ln p); p = 0 gives ln p = −inf → 0
        failures = int(math.log(self.draw() or 1e-300) / log_p)
        if failures >= leg.max_tx:
            return LOST, 0.0
        return station, extra_s + base_s + self.draw() * leg.slot_s + failures * leg.rtt_s

    def _other_cell(
        self, system: str, cell: int, sample: int, size_bytes: int
    ) -> tuple[float, float] | None:
        """(delay before HARQ, ln BLER) through a cell that is not the sample's best (during A3)."""
        d = self._directions[system]
        table = d.table
        top = table.top[sample].tolist()
        if cell not in top:
            return None
        rx = float(table.top_rx_dbm[sample, top.index(cell)])
        sinr = table.sinr_of_db(sample, rx)
        if sinr < table.radio.sinr_min_db:
            return None
        if system == "uu_up":
            sinr = rx + self._ul_offset_db
        base, bler = leg_arrays(
            np.array([sinr]),
            size_bytes,
            table.radio,
            bandwidth_hz=d.bandwidth_hz,
            rate_cap_bps=d.rate_cap_bps,
            fixed_s=d.fixed_s,
        )
        return float(base[0]), float(_log_bler(bler)[0])
