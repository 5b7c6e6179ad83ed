"""A3 handover between cells, as a vehicle passes road samples: a small state machine.

Event A3 (TS 38.331 §5.5.4.4): a neighbour becomes better than the serving
cell by an offset. Here "better" is the received power (RSRP, including
shadowing) of the sample the vehicle is on; the condition
``RSRP_neighbour > RSRP_serving + hysteresis`` must hold without a break
for the time-to-trigger, then the vehicle hands over at that instant and
the link is interrupted for ``interruption_s``. The strongest cell is the
only candidate; when it changes, the time-to-trigger restarts.

The received powers are constant over a sample, so the state changes only
when the vehicle enters a sample (:meth:`A3Tracker.enter`) or when a pending
time-to-trigger expires (:meth:`A3Tracker.advance`, also called before
every look-up): the handover times are exact for the sampled road, whatever
the times at which the engine asks.

A vehicle with no serving cell attaches to the strongest cell as soon as its
SINR reaches the coverage threshold (not a handover). A serving cell that
drops out of the sample's ``TOP_K`` strongest is a radio link failure: the
vehicle re-establishes on the strongest cell (counted in ``failures``) with
the same interruption.

Example: cells 0 and 1, four samples with RSRP (cell 0, cell 1) of (−60, −90),
(−70, −80), (−80, −70), (−90, −60), one second each, 3 dB hysteresis and
no time-to-trigger: one handover, entering the third sample.

>>> top = [[0, 1], [0, 1], [1, 0], [1, 0]]
>>> rx = [[-60, -90], [-70, -80], [-70, -80], [-60, -90]]
>>> t = A3Tracker(top, rx, [True] * 4, hysteresis_db=3, ttt_s=0, interruption_s=0.05)
>>> state = t.new_state()
>>> for k in range(4):
...     t.enter(state, k, float(k))
>>> t.handovers, state.serving, state.interrupted_until_s
(1, 1, 2.05)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["A3Tracker", "LinkState"]


class LinkState:
    """One vehicle's Uu link: serving cell, A3 candidate, interruption, where it is."""

    __slots__ = (
        "candidate",
        "edge",
        "interrupted_until_s",
        "k",
        "owner",
        "sample",
        "serving",
        "since_s",
        "speed_mps",
        "t_enter_s",
    )

    def __init__(self) -> None:
        self.serving = -1
        self.candidate = -1
        self.since_s = 0.0
        self.sample = -1
        self.interrupted_until_s = -1.0
        self.edge = -1
        self.k = -1
        self.t_enter_s = 0.0
        self.speed_mps = 1.0
        self.owner = -1  # the vehicle's ident, for :attr:`A3Tracker.on_change`


class A3Tracker:
    """A3 handovers over per-sample cell rankings.

    Parameters
    ----------
    top, top_rx_dbm
        Per sample, the strongest cells (−1 padded) and their received power in
        dBm, strongest first (lists of lists: this runs per message).
    covered
        Per sample, whether the strongest cell's SINR reaches the coverage threshold.
    hysteresis_db, ttt_s, interruption_s
        The A3 offset, the time-to-trigger and the interruption after a handover.
    """

    def __init__(
        self,
        top: list[list[int]],
        top_rx_dbm: list[list[float]],
        covered: list[bool],
        *,
        hysteresis_db: float,
        ttt_s: float,
        interruption_s: float,
    ) -> None:
        self.top = top
        self.top_rx = top_rx_dbm
        self.covered = covered
        self.hysteresis_db = hysteresis_db
        self.ttt_s = ttt_s
        self.interruption_s = interruption_s
        self.handovers = 0
        self.failures = 0
        self.first = [cells[0] for cells in top]  # the strongest cell per sample
        self.on_change: Callable[[LinkState, float], None] | None = None
        """Called with the state and the time at every change of the serving cell or the
        interruption (attach, handover, radio link failure, loss of coverage)."""

    @staticmethod
    def new_state() -> LinkState:
        """A vehicle that is not attached yet."""
        return LinkState()

    def enter(self, state: LinkState, sample: int, t_s: float) -> None:
        """The vehicle enters ``sample`` at ``t_s``."""
        self.advance(state, t_s)
        state.sample = sample
        self._evaluate(state, t_s)
        self.advance(state, t_s)

    def advance(self, state: LinkState, t_s: float) -> None:
        """Let time pass to ``t_s`` on the current sample: fire an expired time-to-trigger."""
        while state.candidate >= 0 and state.since_s + self.ttt_s <= t_s:
            at_s = state.since_s + self.ttt_s
            state.serving = state.candidate
            state.candidate = -1
            state.interrupted_until_s = at_s + self.interruption_s
            self.handovers += 1
            if self.on_change is not None:
                self.on_change(state, at_s)
            self._evaluate(state, at_s)

    def walk(
        self,
        state: LinkState,
        start: int,
        k_from: int,
        k_to: int,
        t0_s: float,
        step_m: float,
        speed_mps: float,
    ) -> None:
        """Enter samples ``start + k`` for k in ``k_from..k_to`` at ``t0_s + k · step_m / speed_mps``.

        The same as :meth:`enter` on each, faster: with no A3 candidate pending,
        :meth:`advance` has nothing to do, and entering a sample whose strongest cell is
        the serving one changes nothing but the sample.
        """
        first = self.first
        last = start + k_to
        for j in range(start + k_from, last + 1):
            if state.candidate >= 0:
                self.enter(state, j, t0_s + (j - start) * step_m / speed_mps)
            elif first[j] != state.serving or state.serving < 0:  # enter(), no A3 pending
                t_s = t0_s + (j - start) * step_m / speed_mps
                state.sample = j
                self._evaluate(state, t_s)
                if state.candidate >= 0:
                    self.advance(state, t_s)
        if k_to >= k_from:
            state.sample = last

    def _evaluate(self, state: LinkState, t_s: float) -> None:
        j = state.sample
        cells = self.top[j]
        if state.serving < 0:
            state.candidate = -1
            if self.covered[j]:
                state.serving = cells[0]
                if self.on_change is not None:
                    self.on_change(state, t_s)
            return
        try:
            rank = cells.index(state.serving)
        except ValueError:  # radio link failure: re-establish on the strongest cell
            self.failures += 1
            state.candidate = -1
            state.serving = cells[0] if self.covered[j] else -1
            state.interrupted_until_s = t_s + self.interruption_s
            if self.on_change is not None:
                self.on_change(state, t_s)
            return
        rx = self.top_rx[j]
        if rank > 0 and rx[0] > rx[rank] + self.hysteresis_db:
            if state.candidate != cells[0]:
                state.candidate = cells[0]
                state.since_s = t_s
        else:
            state.candidate = -1
