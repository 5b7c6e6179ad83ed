"""A compute site's per-job records.

Each job's arrival, start and end of service (``inf``: not yet), whether it was lost
in an outage and its tag (the service), in arrival order; and the times of the jobs
turned away. From these :meth:`JobRecords.stats` and :meth:`JobRecords.timeseries`
compute every statistic of a site exactly, for any window ending by now
(:mod:`avzone.cloud.site_stats`).

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
from collections.abc import Sequence

import numpy as np

from avzone.cloud.folded import Folded, QueueFold
from avzone.cloud.site_stats import Kept, SiteStats, exact_stats, folded_stats, folded_timeseries
from avzone.cloud.timeseries import bin_edges, site_timeseries
from avzone.stats import RELATIVE_ACCURACY, QuantileSketch

__all__ = ["EXACT_JOBS", "SITE_BIN_S", "JobRecords"]

EXACT_JOBS = 2**21
"""Jobs a site keeps record of one by one (2,097,152: 54 MiB) before it folds them.
The busiest sites of the shipped scenarios that pass it: etown-peak's hour (12 M per edge
site) and yizhuang-real-1800's edge-4 (3.0 M); etown-baseline's busiest has 0.63 M. Folding
copies the records a few times over, so with six sites near the threshold at once a lower
one keeps the hour of etown-peak within its memory budget."""

SITE_BIN_S = 10.0
"""The bin of a site's time series (site_timeseries.csv); once folded, the only one."""

_FOLD_JOBS = 2**18
"""Once folded, the records fold again every this many new jobs (7 MiB)."""


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
            folded.add_refused(cause, np.array(times, dtype=np.float64))
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

    def _kept(self) -> Kept:
        """Copies of the kept jobs' records (a view would lock the arrays against appends)."""
        return Kept(
            np.array(self.arrival_s, dtype=np.float64),
            np.array(self.start_s, dtype=np.float64),
            np.array(self.end_s, dtype=np.float64),
            np.frombuffer(self.lost, dtype=np.int8).astype(bool),
            np.frombuffer(self.tag, dtype=np.uint16).copy(),
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
        kept = self._kept()
        done = (kept.arrival_s >= self._from_s) & (kept.end_s <= until_s) & ~kept.lost
        return kept.start_s[done] - kept.arrival_s[done]

    def stats(self, until_s: float) -> SiteStats:
        """Statistics over ``[measure_from_s, until_s]`` (see :class:`SiteStats`)."""
        from_s = self._from_s
        if not until_s > from_s:
            raise ValueError(
                f"site {self.name!r}: until_s must be > measure_from_s={from_s!r}, got {until_s!r}"
            )
        refused = {cause: np.array(t, dtype=np.float64) for cause, t in self.refused_s.items()}
        if self.folded is None:
            return exact_stats(self._kept(), self.tags, refused, self.servers, from_s, until_s)
        folded = self._check_folded(until_s)
        return folded_stats(folded, self._kept(), self.tags, refused, self.servers, until_s)

    def timeseries(self, until_s: float, bin_s: float) -> dict[str, np.ndarray]:
        """Utilisation and queue length in bins of ``bin_s`` over ``[measure_from_s, until_s]``
        (see :func:`avzone.cloud.timeseries.site_timeseries`)."""
        kept = self._kept()
        from_s = self._from_s
        if self.folded is None:
            return site_timeseries(
                kept.arrival_s, kept.start_s, kept.end_s, self.servers, from_s, until_s, bin_s
            )
        if bin_s != self.bin_s:
            raise ValueError(
                f"site {self.name!r}: the records are folded in bins of {self.bin_s!r} s; "
                f"got bin_s={bin_s!r}"
            )
        edges = bin_edges(from_s, until_s, bin_s)
        return folded_timeseries(self._check_folded(until_s), kept, self.servers, edges)
