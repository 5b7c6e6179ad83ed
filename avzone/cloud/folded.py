"""A site's records folded into what its statistics need, for runs of millions of jobs.

:class:`~avzone.cloud.records.JobRecords` keeps every job (arrival, start and end of
service) while there are few; past a threshold it folds them into a :class:`Folded`:

- per finished job (end known): the busy server-seconds inside the window, in total
  and per time-series bin; for the ``served`` jobs their count per tag, the sum of
  their waits and a :class:`~avzone.stats.QuantileSketch` of them (p50, p99);
- the number of jobs waiting as a step function of time, folded in time order up to a
  *horizon* before which every arrival and start is known (:class:`QueueFold`): the
  time spent at each length (for the time-weighted quantiles), the largest length in
  the window, and per bin its integral and its maximum;
- refused jobs as counts in the window.

Everything is exact except the wait quantiles (within the sketch's ``alpha``) and
floating-point rounding of sums: the same numbers as from the full records, computed
in another order. The window's start (``measure_from_s``) and the bins (``bin_s``
from it) are fixed once folded, and statistics can only be asked up to a time at or
after everything folded.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numba
import numpy as np

from avzone.cloud.timeseries import busy_in_bins
from avzone.stats import QuantileSketch

__all__ = ["Folded", "QueueFold", "instants"]


def _grown(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``a`` extended to ``size`` entries with ``fill`` (itself when long enough)."""
    if a.size >= size:
        return a
    out = np.full(max(size, 2 * a.size), fill, dtype=a.dtype)
    out[: a.size] = a
    return out


def _grid(from_s: float, bin_s: float, up_to_s: float) -> np.ndarray:
    """The bin edges ``from_s + bin_s · k`` from ``k = 0`` past ``up_to_s`` (the same floats
    as :func:`~avzone.cloud.timeseries.site_timeseries` computes)."""
    n = max(1, math.floor((up_to_s - from_s) / bin_s) + 2)
    return from_s + bin_s * np.arange(n + 1)


def instants(times_s: np.ndarray, change: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """The queue's instants: distinct ``times_s`` (sorted) and the length after all the
    changes (+1 arrival, -1 start of service) of each, starting from ``level``."""
    if times_s.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    # the length after an instant's last change does not depend on the order of its
    # changes: any sort will do (a quicksort, several times faster than a stable one)
    order = np.argsort(times_s)
    return _instants(
        np.ascontiguousarray(times_s, np.float64),
        np.ascontiguousarray(change, np.int64),
        order,
        level,
    )


@numba.njit(cache=True)
def _instants(
    times_s: np.ndarray, change: np.ndarray, order: np.ndarray, level: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The running length in ``order``, kept at the last change of each distinct time."""
    n = order.size
    times = np.empty(n)
    levels = np.empty(n, dtype=np.int64)
    m = 0
    length = level
    for k in range(n):
        i = order[k]
        length += change[i]
        if k + 1 == n or times_s[order[k + 1]] != times_s[i]:
            times[m] = times_s[i]
            levels[m] = length
            m += 1
    return times[:m], levels[:m]


def _sum_add(total: tuple[float, float], part: float) -> tuple[float, float]:
    """Neumaier's compensated sum: ``(sum, compensation)`` with ``part`` added."""
    s, c = total
    t = s + part
    c += (s - t) + part if abs(s) >= abs(part) else (part - t) + s
    return t, c


@dataclass
class QueueFold:
    """The number of jobs waiting, folded in time order up to ``known_s``.

    ``level`` is the length after every instant before ``known_s``; ``time_at[n]``
    the time at length ``n`` inside the window (from ``from_s``); ``at_from`` the
    length at ``from_s`` (after its instant's changes; None until known);
    ``max_in`` the largest length after an instant in ``(from_s, known_s)`` (-1:
    none); per bin ``k`` of ``[from_s + k·bin_s, from_s + (k + 1)·bin_s)``,
    ``integral[k]`` (jobs × s) and ``top[k]``, the largest length held in it (-1:
    not reached yet).
    """

    from_s: float
    bin_s: float
    known_s: float = -math.inf
    level: int = 0
    at_from: int | None = None
    max_in: int = -1
    time_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    integral: np.ndarray = field(default_factory=lambda: np.zeros(0))
    top: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def advance(self, times_s: np.ndarray, levels: np.ndarray, to_s: float) -> None:
        """Take the instants ``times_s`` (distinct, ascending, in ``[known_s, to_s)``) with
        the length after each, and the constant length from the last to ``to_s``."""
        from_s = self.from_s
        seg_level = np.concatenate(([self.level], levels))
        if to_s > from_s:
            lo = np.maximum(np.concatenate(([self.known_s], times_s)), from_s)
            hi = np.maximum(np.append(times_s, to_s), from_s)
            held = hi > lo
            lo, hi, at = lo[held], hi[held], seg_level[held]
            weights = np.bincount(at, weights=hi - lo)
            self.time_at = _grown(self.time_at, weights.size, 0.0)
            self.time_at[: weights.size] += weights
            if self.at_from is None:  # from_s lies in [known_s, to_s)
                j = int(np.searchsorted(times_s, from_s, side="right"))
                self.at_from = int(seg_level[j])
            inside = times_s > from_s
            if inside.any():
                self.max_in = max(self.max_in, int(levels[inside].max()))
            self._bins(times_s, levels, seg_level, lo, hi, at, to_s)
        if levels.size:
            self.level = int(levels[-1])
        self.known_s = to_s

    def _bins(
        self,
        times_s: np.ndarray,
        levels: np.ndarray,
        seg_level: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        at: np.ndarray,
        to_s: float,
    ) -> None:
        grid = _grid(self.from_s, self.bin_s, to_s)
        n_bins = grid.size - 1
        self.integral = _grown(self.integral, n_bins, 0.0)
        self.top = _grown(self.top, n_bins, -1)
        # Integral: each segment at its length, split over the bins it covers.
        first = np.searchsorted(grid, lo, side="right") - 1
        last = np.searchsorted(grid, hi, side="left") - 1
        one = first == last
        # (bincount: ufunc.at is an order of magnitude slower on millions of segments)
        inside_one = np.bincount(first[one], weights=at[one] * (hi[one] - lo[one]))
        self.integral[: inside_one.size] += inside_one
        many = ~one
        f, la, w = first[many], last[many], at[many]
        np.add.at(self.integral, f, w * (grid[f + 1] - lo[many]))
        np.add.at(self.integral, la, w * (hi[many] - grid[la]))
        covering = np.zeros(n_bins + 1, dtype=np.int64)
        np.add.at(covering, f + 1, w)
        np.add.at(covering, la, -w)
        self.integral[:n_bins] += np.cumsum(covering[:-1]) * np.diff(grid)
        # Maximum: the lengths after the instants in each bin, and those carried into it.
        inside = times_s >= self.from_s
        k = np.searchsorted(grid, times_s[inside], side="right") - 1  # ascending
        if k.size:
            bins, first_of = np.unique(k, return_index=True)
            highest = np.maximum.reduceat(levels[inside], first_of)
            self.top[bins] = np.maximum(self.top[bins], highest)
        edges = grid[:-1]
        new = (edges >= self.known_s) & (edges < to_s)
        j = np.searchsorted(times_s, edges[new], side="right")
        np.maximum.at(self.top, np.flatnonzero(new), seg_level[j])

    def quantiles(self, qs: list[float]) -> np.ndarray:
        """Time-weighted quantiles of the length, as
        :func:`~avzone.cloud.timeseries.time_weighted_quantiles` selects them."""
        held = np.flatnonzero(self.time_at > 0)
        cumulative = np.cumsum(self.time_at[held])
        total = cumulative[-1]
        q = np.asarray(qs, dtype=np.float64)
        index = np.searchsorted(cumulative, q * total - 1e-12 * total, side="left")
        return held[np.minimum(index, held.size - 1)].astype(np.int64)


@dataclass
class Folded:
    """What a site's statistics need of the jobs folded so far (see the module text).

    ``until_min_s``: statistics are for windows ending at or after it (everything
    folded happened by then); ``pending_t`` / ``pending_change``: queue changes of
    folded jobs at or after the horizon ``queue.known_s``, not yet in ``queue``.
    """

    queue: QueueFold
    waits: QuantileSketch
    until_min_s: float = -math.inf
    busy_s: tuple[float, float] = (0.0, 0.0)
    bin_busy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    served: int = 0
    served_by_tag: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    wait_sum_s: tuple[float, float] = (0.0, 0.0)
    refused: dict[str, int] = field(default_factory=lambda: {"rejected": 0, "site_down": 0})
    pending_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    pending_change: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def add_queue_changes(
        self, arrival_s: np.ndarray, start_s: np.ndarray, horizon_s: float
    ) -> None:
        """Fold the arrivals and starts in ``[queue.known_s, horizon_s)``, with the pending
        ones before ``horizon_s``, into the queue; keep the pending ones after it."""
        known = self.queue.known_s
        a = arrival_s[(arrival_s >= known) & (arrival_s < horizon_s)]
        s = start_s[(start_s >= known) & (start_s < horizon_s)]
        due = self.pending_t < horizon_s
        times = np.concatenate((a, s, self.pending_t[due]))
        change = np.concatenate(
            (np.ones(a.size, np.int64), -np.ones(s.size, np.int64), self.pending_change[due])
        )
        self.pending_t, self.pending_change = self.pending_t[~due], self.pending_change[~due]
        self.queue.advance(*instants(times, change, self.queue.level), horizon_s)

    def add_finished(
        self,
        arrival_s: np.ndarray,
        start_s: np.ndarray,
        end_s: np.ndarray,
        served: np.ndarray,
        tag: np.ndarray,
        n_tags: int,
    ) -> None:
        """Fold jobs whose service ended (or that were lost) by ``end_s``: busy time, the
        served ones' waits and tags, and their queue changes not yet folded."""
        if end_s.size == 0:
            return
        from_s, bin_s = self.queue.from_s, self.queue.bin_s
        busy = np.clip(end_s - np.maximum(start_s, from_s), 0.0, None)
        self.busy_s = _sum_add(self.busy_s, float(busy.sum()))
        top_s = float(end_s.max())
        if top_s > from_s:
            grid = _grid(from_s, bin_s, top_s)
            per_bin = busy_in_bins(start_s, end_s, grid)
            self.bin_busy = _grown(self.bin_busy, per_bin.size, 0.0)
            self.bin_busy[: per_bin.size] += per_bin
        waits_s = start_s[served] - arrival_s[served]
        self.served += int(waits_s.size)
        self.wait_sum_s = _sum_add(self.wait_sum_s, float(waits_s.sum()))
        self.waits.add(waits_s)
        counts = np.bincount(tag[served], minlength=n_tags)
        self.served_by_tag = _grown(self.served_by_tag, counts.size, 0)
        self.served_by_tag[: counts.size] += counts
        self.until_min_s = max(self.until_min_s, top_s)
        known = self.queue.known_s
        later_a = arrival_s[arrival_s >= known]
        later_s = start_s[np.isfinite(start_s) & (start_s >= known)]
        self.pending_t = np.concatenate((self.pending_t, later_a, later_s))
        self.pending_change = np.concatenate(
            (
                self.pending_change,
                np.ones(later_a.size, np.int64),
                -np.ones(later_s.size, np.int64),
            )
        )

    def add_refused(self, cause: str, at_s: np.ndarray) -> None:
        """Count refused jobs (``"rejected"`` or ``"site_down"``) in the window."""
        if at_s.size:
            self.refused[cause] += int(np.count_nonzero(at_s >= self.queue.from_s))
            self.until_min_s = max(self.until_min_s, float(at_s.max()))

    def queue_until(
        self, times_s: np.ndarray, change: np.ndarray, until_s: float
    ) -> tuple[QueueFold, int]:
        """The queue carried to ``until_s`` with the changes not folded yet (``times_s``,
        ``change``, all at or after the horizon) and the pending ones, on a copy; and the
        largest length at an instant in the window, ``until_s`` included."""
        queue = copy.deepcopy(self.queue)
        times = np.concatenate((times_s, self.pending_t))
        change = np.concatenate((change, self.pending_change))
        t, levels = instants(times[times <= until_s], change[times <= until_s], queue.level)
        before = t < until_s
        queue.advance(t[before], levels[before], until_s)
        largest = max(queue.at_from or 0, queue.max_in)
        if (~before).any():  # an instant exactly at until_s counts for the maximum
            largest = max(largest, int(levels[-1]))
        return queue, largest
