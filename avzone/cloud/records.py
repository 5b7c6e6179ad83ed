"""A compute site's per-job records and the statistics computed from them.

Each job's arrival, start and end of service (``inf``: not yet), whether it was lost
in an outage and its tag (the service), in arrival order; and the times of the jobs
turned away. From these :meth:`JobRecords.stats` and :meth:`JobRecords.timeseries`
compute every statistic of a site exactly, for any window ending by now.

A long run has millions of jobs per site (27 bytes each). Past :data:`EXACT_JOBS`
jobs the records fold into what the statistics of the window ``[measure_from_s,
until_s]`` and bins of :data:`SITE_BIN_S` need (:mod:`avzone.cloud.folded`); only the
jobs still waiting or in service stay. The figures stay the same except the wait
percentiles, within the sketch's relative accuracy, and the rounding of sums. Below
the threshold nothing changes.

Jobs come one at a time as they arrive (:meth:`JobRecords.add`, then
:meth:`~JobRecords.started`, :meth:`~JobRecords.ended`, :meth:`~JobRecords.lost_at`) or
finished, as arrays (:meth:`JobRecords.extend`, the batch evaluator).
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from avzone.cloud.folded import Folded, QueueFold
from avzone.cloud.timeseries import (
    bin_edges,
    busy_in_bins,
    queue_length_steps,
    site_timeseries,
    time_weighted_quantiles,
)
from avzone.stats import RELATIVE_ACCURACY, QuantileSketch

__all__ = ["EXACT_JOBS", "SITE_BIN_S", "JobRecords", "SiteStats"]

EXACT_JOBS = 2**22
"""Jobs a site keeps record of one by one (4,194,304: 108 MiB) before it folds them.
The busiest site of a shipped scenario, other than etown-peak's hour, has 3.0 million
(yizhuang-real-1800's edge-4)."""

SITE_BIN_S = 10.0
"""The bin of a site's time series (site_timeseries.csv); once folded, the only one."""

_FOLD_JOBS = 2**18
"""Once folded, the records fold again every this many new jobs (7 MiB)."""


@dataclass(frozen=True)
class SiteStats:
    """Statistics of a site over the window ``[measure_from_s, until_s]``.

    Attributes
    ----------
    served
        Jobs that arrived in the window and completed service by ``until_s``.
    utilization
        Busy server-seconds inside the window (all jobs, partial services
        clipped to the window) / (servers × window length).
    mean_wait_s, p99_wait_s
        Mean and 99th percentile (linear interpolation) of the wait in queue
        of the ``served`` jobs, s; NaN when ``served == 0``.
    max_queue
        Largest number of jobs waiting (not in service) at any time in the
        window, jobs arrived before the window included.
    p50_wait_s
        Median wait in queue of the ``served`` jobs, s; NaN when none.
    queue_p50, queue_p99
        Quantiles of the number of jobs waiting, weighted by time over the window.
    rejected, site_down
        Jobs arriving in the window turned away because the queue was at its
        limit, and jobs lost because the site was down (on arrival, or
        queued or in service when it failed).
    served_by_tag
        ``served`` split by the tag given to :meth:`Site.submit` (the service name).
    """

    served: int
    utilization: float
    mean_wait_s: float
    p99_wait_s: float
    max_queue: int
    p50_wait_s: float = math.nan
    queue_p50: int = 0
    queue_p99: int = 0
    rejected: int = 0
    site_down: int = 0
    served_by_tag: Mapping[str, int] = field(default_factory=dict)


class JobRecords:
    """The records of one site's jobs (see the module text).

    Parameters
    ----------
    name
        The site's name, for messages.
    servers
        Its number of servers (>= 1).
    measure_from_s
        The window's start; fixed once the records are folded.
    exact_jobs
        Jobs kept one by one before folding (>= 0; default :data:`EXACT_JOBS`).
    bin_s
        The time-series bin once folded, s.
    """

    def __init__(
        self,
        name: str,
        servers: int,
        measure_from_s: float = 0.0,
        *,
        exact_jobs: int | None = None,
        bin_s: float = SITE_BIN_S,
        alpha: float = RELATIVE_ACCURACY,
    ) -> None:
        if exact_jobs is None:
            exact_jobs = EXACT_JOBS  # read now: tests may lower it
        if isinstance(exact_jobs, bool) or not isinstance(exact_jobs, int) or exact_jobs < 0:
            raise ValueError(
                f"site {name!r}: exact_jobs must be an integer >= 0, got {exact_jobs!r}"
            )
        self.name = name
        self.servers = servers
        self._from_s = measure_from_s
        self.exact_jobs = exact_jobs
        self.bin_s = bin_s
        self._alpha = alpha
        # One entry per job kept: those still waiting or in service when the records
        # were last folded (job ids in ``_slot``), then every job from ``_first_id`` on.
        self.arrival_s = array("d")
        self.start_s = array("d")  # start of service
        self.end_s = array("d")  # end of service (or of the job's loss in an outage)
        self.lost = array("b")  # 1: lost in an outage
        self.tag = array("H")  # index into tags
        self.tags: dict[str, int] = {}
        self.refused_s: dict[str, array[float]] = {"rejected": array("d"), "site_down": array("d")}
        self._slot: dict[int, int] = {}
        self._first_id = 0
        self._next_id = 0
        self._limit = exact_jobs
        self.folded: Folded | None = None

    @property
    def measure_from_s(self) -> float:
        """The window's start, s."""
        return self._from_s

    @measure_from_s.setter
    def measure_from_s(self, value: float) -> None:
        if self.folded is not None and value != self._from_s:
            raise ValueError(
                f"site {self.name!r}: measure_from_s is fixed at {self._from_s!r} once the "
                f"records are folded (past {self.exact_jobs} jobs), got {value!r}"
            )
        self._from_s = value

    @property
    def jobs(self) -> int:
        """Jobs recorded so far (kept or folded)."""
        return self._next_id

    # -- one job at a time -----------------------------------------------------------

    def index(self, job: int) -> int:
        """Where job ``job`` (an id from :meth:`add`, not yet finished) is kept."""
        return job - self._first_id + len(self._slot) if job >= self._first_id else self._slot[job]

    def add(self, arrival_s: float, tag: str) -> int:
        """Record a job arriving now (nothing recorded later arrives earlier); its id."""
        if len(self.arrival_s) >= self._limit:
            self._fold(arrival_s)
        job = self._next_id
        self._next_id += 1
        self.arrival_s.append(arrival_s)
        self.start_s.append(math.inf)
        self.end_s.append(math.inf)
        self.lost.append(0)
        self.tag.append(self.tags.setdefault(tag, len(self.tags)))
        return job

    def started(self, job: int, at_s: float) -> None:
        """Job ``job`` starts service at ``at_s``."""
        self.start_s[self.index(job)] = at_s

    def ended(self, job: int, at_s: float) -> float:
        """Job ``job`` ends service at ``at_s``; its wait in queue, s."""
        i = self.index(job)
        self.end_s[i] = at_s
        return self.start_s[i] - self.arrival_s[i]

    def lost_at(self, job: int, at_s: float) -> None:
        """Job ``job``, waiting or in service, is lost at ``at_s`` (the site failed)."""
        i = self.index(job)
        self.start_s[i] = min(self.start_s[i], at_s)
        self.end_s[i] = at_s
        self.lost[i] = 1
        self.refused_s["site_down"].append(self.arrival_s[i])

    def refuse(self, cause: str, at_s: float) -> None:
        """A job turned away at ``at_s`` (``"rejected"`` or ``"site_down"``)."""
        self.refused_s[cause].append(at_s)

    # -- jobs in bulk -----------------------------------------------------------------

    def extend(
        self,
        arrival_s: np.ndarray,
        start_s: np.ndarray,
        end_s: np.ndarray,
        lost: np.ndarray,
        tag: np.ndarray,
        tag_names: Sequence[str],
        horizon_s: float,
    ) -> None:
        """Record finished jobs (``inf``: never happened in the run), arrival order.

        ``tag`` per job indexes ``tag_names``; tags are registered in the order
        they first appear. ``horizon_s``: no job recorded later arrives before it.
        """
        arrival = np.asarray(arrival_s, dtype=np.float64)
        start = np.asarray(start_s, dtype=np.float64)
        end = np.asarray(end_s, dtype=np.float64)
        gone = np.asarray(lost, dtype=bool)
        codes = np.asarray(tag, dtype=np.int64)
        n = arrival.size
        if not math.isfinite(horizon_s):
            raise ValueError(f"site {self.name!r}: horizon_s must be finite, got {horizon_s!r}")
        if not (start.size == end.size == gone.size == codes.size == n):
            raise ValueError(
                f"site {self.name!r}: per-job arrays of unequal lengths: arrival {n}, start "
                f"{start.size}, end {end.size}, lost {gone.size}, tag {codes.size}"
            )
        if self.folded is not None and n and arrival.min() < self.folded.queue.known_s:
            raise ValueError(
                f"site {self.name!r}: a job arriving at {float(arrival.min())!r} s, before the "
                f"horizon {self.folded.queue.known_s!r} s up to which the records are folded"
            )
        own = self._register(codes, tag_names)
        if self.folded is None and len(self.arrival_s) + n <= self.exact_jobs:
            self._append(arrival, start, end, gone, own)
            return
        # Folded from now on, a slice at a time: the horizon of each is the next arrival.
        bounds = [*range(0, n, _FOLD_JOBS), n]
        lows = [float(arrival[lo:hi].min()) for lo, hi in itertools.pairwise(bounds)]
        nexts = np.minimum.accumulate([*lows[1:], math.inf][::-1])[::-1].tolist()
        for (lo, hi), after in zip(itertools.pairwise(bounds), nexts, strict=True):
            self._append(arrival[lo:hi], start[lo:hi], end[lo:hi], gone[lo:hi], own[lo:hi])
            self._fold(min(horizon_s, after))
        if n == 0:
            self._fold(horizon_s)

    def _register(self, codes: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The site's tag of each job: names registered in order of first appearance."""
        if codes.size == 0:
            return np.empty(0, dtype=np.uint16)
        if codes.min() < 0 or codes.max() >= len(names):
            raise ValueError(
                f"site {self.name!r}: tags must index the {len(names)} tag names, got "
                f"{int(codes.min())} to {int(codes.max())}"
            )
        present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
        first = [int(np.argmax(codes == c)) for c in present.tolist()]
        for _, c in sorted(zip(first, present.tolist(), strict=True)):
            self.tags.setdefault(names[c], len(self.tags))
        mapping = np.array([self.tags.get(name, 0) for name in names], dtype=np.uint16)
        return mapping[codes]

    def _append(
        self,
        arrival: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        gone: np.ndarray,
        own: np.ndarray,
    ) -> None:
        self.arrival_s.frombytes(np.ascontiguousarray(arrival).tobytes())
        self.start_s.frombytes(np.ascontiguousarray(start).tobytes())
        self.end_s.frombytes(np.ascontiguousarray(end).tobytes())
        self.lost.frombytes(gone.astype(np.int8).tobytes())
        self.tag.frombytes(np.ascontiguousarray(own, dtype=np.uint16).tobytes())
        self.refused_s["site_down"].frombytes(np.ascontiguousarray(arrival[gone]).tobytes())
        self._next_id += arrival.size

    def refuse_all(self, cause: str, at_s: np.ndarray) -> None:
        """Jobs turned away at ``at_s`` (``"rejected"`` or ``"site_down"``)."""
        times = np.ascontiguousarray(at_s, dtype=np.float64)
        if self.folded is not None:
            self.folded.add_refused(cause, times)
        else:
            self.refused_s[cause].frombytes(times.tobytes())

    # -- folding --------------------------------------------------------------------------

    def _fold(self, horizon_s: float) -> None:
        """Fold the finished jobs, and the queue's changes before ``horizon_s`` (before
        which every arrival and start is known); keep the jobs waiting or in service."""
        folded = self.folded
        if folded is None:
            folded = Folded(QueueFold(self._from_s, self.bin_s), QuantileSketch(self._alpha))
        horizon_s = max(horizon_s, folded.queue.known_s)
        arrival = np.array(self.arrival_s, dtype=np.float64)
        start = np.array(self.start_s, dtype=np.float64)
        end = np.array(self.end_s, dtype=np.float64)
        lost = np.frombuffer(self.lost, dtype=np.int8).astype(bool)
        tag = np.frombuffer(self.tag, dtype=np.uint16).astype(np.int64)
        folded.add_queue_changes(arrival, start, horizon_s)
        done = np.isfinite(end)
        served = (arrival >= self._from_s) & ~lost
        folded.add_finished(
            arrival[done], start[done], end[done], served[done], tag[done], len(self.tags)
        )
        for cause, times in self.refused_s.items():
            folded.add_refused(cause, np.frombuffer(times, dtype=np.float64))
            self.refused_s[cause] = array("d")
        # Keep the jobs not finished, with their ids.
        ids = np.concatenate(
            (
                np.fromiter(self._slot, dtype=np.int64, count=len(self._slot)),
                np.arange(self._first_id, self._next_id, dtype=np.int64),
            )
        )
        keep = ~done
        self._slot = dict(zip(ids[keep].tolist(), range(int(keep.sum())), strict=True))
        self._first_id = self._next_id
        for name, values, dtype in (
            ("arrival_s", arrival, "d"),
            ("start_s", start, "d"),
            ("end_s", end, "d"),
            ("lost", lost.astype(np.int8), "b"),
            ("tag", tag.astype(np.uint16), "H"),
        ):
            kept = array(dtype)
            kept.frombytes(values[keep].tobytes())
            setattr(self, name, kept)
        self._limit = len(self.arrival_s) + _FOLD_JOBS
        self.folded = folded

    # -- statistics -------------------------------------------------------------------------

    def _kept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the kept jobs' arrival, start, end and lost (a view would lock the
        arrays against further appends)."""
        return (
            np.array(self.arrival_s, dtype=np.float64),
            np.array(self.start_s, dtype=np.float64),
            np.array(self.end_s, dtype=np.float64),
            np.frombuffer(self.lost, dtype=np.int8).astype(bool),
        )

    def _check_folded(self, until_s: float) -> Folded:
        folded = self.folded
        if folded is None:  # pragma: no cover - callers check
            raise RuntimeError("records not folded")
        earliest = max(folded.until_min_s, folded.queue.known_s)
        if until_s < earliest:
            raise ValueError(
                f"site {self.name!r}: the records are folded up to {earliest!r} s; statistics "
                f"only for until_s at or after it, got {until_s!r}"
            )
        return folded

    def waits_s(self, until_s: float) -> np.ndarray:
        """Waits in queue of the jobs counted in ``stats(until_s).served``, in arrival order, s."""
        if self.folded is not None:
            raise ValueError(
                f"site {self.name!r}: waits of {self.jobs} jobs are folded (past "
                f"{self.exact_jobs}); stats() has their mean and percentiles"
            )
        arrival, start, end, lost = self._kept()
        done = (arrival >= self._from_s) & (end <= until_s) & ~lost
        return start[done] - arrival[done]

    def stats(self, until_s: float) -> SiteStats:
        """Statistics over ``[measure_from_s, until_s]`` (see :class:`SiteStats`)."""
        from_s = self._from_s
        if not until_s > from_s:
            raise ValueError(
                f"site {self.name!r}: until_s must be > measure_from_s={from_s!r}, got {until_s!r}"
            )
        if self.folded is not None:
            return self._folded_stats(until_s)
        arrival, start, end, lost = self._kept()
        busy_s = np.clip(np.minimum(end, until_s) - np.maximum(start, from_s), 0.0, None).sum()
        done = (arrival >= from_s) & (end <= until_s) & ~lost
        waits_s = start[done] - arrival[done]
        served = int(waits_s.size)
        queue_q = time_weighted_quantiles(
            *queue_length_steps(arrival, start), from_s, until_s, [0.5, 0.99]
        )
        tags = np.frombuffer(self.tag, dtype=np.uint16)[: arrival.size][done]
        counts = np.bincount(tags, minlength=len(self.tags))
        refused = {
            cause: int(((np.asarray(t) >= from_s) & (np.asarray(t) <= until_s)).sum())
            for cause, t in self.refused_s.items()
        }
        return SiteStats(
            served=served,
            utilization=float(busy_s) / (self.servers * (until_s - from_s)),
            mean_wait_s=float(waits_s.mean()) if served else math.nan,
            p99_wait_s=float(np.quantile(waits_s, 0.99)) if served else math.nan,
            max_queue=_max_waiting(arrival, start, from_s, until_s),
            p50_wait_s=float(np.quantile(waits_s, 0.5)) if served else math.nan,
            queue_p50=int(queue_q[0]),
            queue_p99=int(queue_q[1]),
            rejected=refused["rejected"],
            site_down=refused["site_down"],
            served_by_tag={tag: int(counts[i]) for tag, i in self.tags.items()},
        )

    def _unfolded_changes(
        self, arrival: np.ndarray, start: np.ndarray, known_s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The kept jobs' queue changes at or after ``known_s`` (the others are folded)."""
        a = arrival[arrival >= known_s]
        s = start[np.isfinite(start) & (start >= known_s)]
        return np.concatenate((a, s)), np.concatenate(
            (np.ones(a.size, np.int64), -np.ones(s.size, np.int64))
        )

    def _folded_stats(self, until_s: float) -> SiteStats:
        folded = self._check_folded(until_s)
        from_s = self._from_s
        arrival, start, end, lost = self._kept()
        busy_s = np.clip(np.minimum(end, until_s) - np.maximum(start, from_s), 0.0, None).sum()
        done = (arrival >= from_s) & (end <= until_s) & ~lost
        waits = folded.waits.copy()
        waits.add(start[done] - arrival[done])
        served = waits.count
        wait_sum_s = sum(folded.wait_sum_s) + float((start[done] - arrival[done]).sum())
        queue, largest = folded.queue_until(
            *self._unfolded_changes(arrival, start, folded.queue.known_s), until_s
        )
        queue_q = queue.quantiles([0.5, 0.99])
        tags = np.frombuffer(self.tag, dtype=np.uint16)[done]
        counts = np.bincount(tags, minlength=len(self.tags))
        counts[: folded.served_by_tag.size] += folded.served_by_tag[: counts.size]
        refused = {}
        for cause, times in self.refused_s.items():
            t = np.frombuffer(times, dtype=np.float64)
            refused[cause] = folded.refused[cause] + int(((t >= from_s) & (t <= until_s)).sum())
        p50, p99 = waits.quantiles([0.5, 0.99]).tolist() if served else (math.nan, math.nan)
        return SiteStats(
            served=served,
            utilization=(sum(folded.busy_s) + float(busy_s)) / (self.servers * (until_s - from_s)),
            mean_wait_s=wait_sum_s / served if served else math.nan,
            p99_wait_s=p99,
            max_queue=largest,
            p50_wait_s=p50,
            queue_p50=int(queue_q[0]),
            queue_p99=int(queue_q[1]),
            rejected=refused["rejected"],
            site_down=refused["site_down"],
            served_by_tag={tag: int(counts[i]) for tag, i in self.tags.items()},
        )

    def timeseries(self, until_s: float, bin_s: float) -> dict[str, np.ndarray]:
        """Utilisation and queue length in bins of ``bin_s`` over ``[measure_from_s, until_s]``
        (see :func:`avzone.cloud.timeseries.site_timeseries`)."""
        arrival, start, end, _lost = self._kept()
        from_s = self._from_s
        if self.folded is None:
            return site_timeseries(arrival, start, end, self.servers, from_s, until_s, bin_s)
        if bin_s != self.bin_s:
            raise ValueError(
                f"site {self.name!r}: the records are folded in bins of {self.bin_s!r} s; "
                f"got bin_s={bin_s!r}"
            )
        edges = bin_edges(from_s, until_s, bin_s)
        folded = self._check_folded(until_s)
        queue, _largest = folded.queue_until(
            *self._unfolded_changes(arrival, start, folded.queue.known_s), until_s
        )
        n_bins = edges.size - 1
        widths = np.diff(edges)

        def merged(per_bin: np.ndarray, how: np.ufunc) -> np.ndarray:
            """Base bins past the last (a sliver before ``until_s``) go into the last."""
            out = per_bin[:n_bins].copy()
            if per_bin.size > n_bins:
                out[-1] = how.reduce(per_bin[n_bins - 1 :])
            return out

        busy = busy_in_bins(start, end, edges) + merged(
            _grown_to(folded.bin_busy, n_bins, 0.0), np.add
        )
        return {
            "t_s": edges[:-1],
            "utilization": busy / (self.servers * widths),
            "queue_mean": merged(_grown_to(queue.integral, n_bins, 0.0), np.add) / widths,
            "queue_max": merged(_grown_to(queue.top, n_bins, 0), np.maximum).astype(np.int64),
        }


def _grown_to(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``a`` with at least ``size`` entries (``fill`` after its own)."""
    if a.size >= size:
        return a
    return np.concatenate((a, np.full(size - a.size, fill, dtype=a.dtype)))


def _max_waiting(arrival_s: np.ndarray, start_s: np.ndarray, from_s: float, until_s: float) -> int:
    """Largest queue length over ``[from_s, until_s]``, from the times jobs joined and left it.

    The queue length is taken after all the joins and departures at one
    instant, so a job served at once on arrival never counts as waiting.
    """
    times_s = np.concatenate((arrival_s, start_s))
    step = np.concatenate((np.ones(arrival_s.size, np.int64), -np.ones(start_s.size, np.int64)))
    keep = times_s <= until_s
    times_s, step = times_s[keep], step[keep]
    if times_s.size == 0:
        return 0
    order = np.argsort(times_s, kind="stable")
    times_s, length = times_s[order], np.cumsum(step[order])
    last_at_instant = np.append(times_s[1:] != times_s[:-1], True)
    times_s, length = times_s[last_at_instant], length[last_at_instant]
    before = times_s <= from_s
    at_from = int(length[before][-1]) if before.any() else 0
    inside = length[~before]
    return max(at_from, int(inside.max())) if inside.size else at_from
