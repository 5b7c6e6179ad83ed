"""A compute site: ``servers`` identical servers behind one priority FIFO queue.

The queue runs on SimPy's clock: a job that finds a free server starts at
once, the others wait in a heap ordered by (priority, arrival), lower
priority value first, FIFO within a priority, non-preemptive; the end of each
service is a SimPy timeout that hands the server to the next job. This is
what :class:`simpy.PriorityResource` does, without its request and release
events, which cost 40 % of a run's time at millions of messages (measured on
etown-baseline). It is validated job by job against the Lindley recursion and
in the mean against the closed forms (tests/test_cloud_queueing.py).

Each job's arrival, start and end of service are recorded, from which
:meth:`Site.stats` computes the statistics exactly for any window ending at
or before ``env.now``.

Example
-------
>>> import simpy
>>> env = simpy.Environment()
>>> site = Site(env, "edge-1", "edge", servers=1)
>>> for _ in range(3):
...     _ = env.process(site.serve(1.0))
>>> env.run()
>>> stats = site.stats(until_s=3.0)
>>> stats.served, stats.utilization, stats.mean_wait_s, stats.max_queue
(3, 1.0, 1.0, 2)

After ``env.run(until=3.0)`` instead, the third job would still be in
service (SimPy stops before the events due at 3.0): ``served=2`` and the same
utilisation, its busy time counted up to 3.0.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from avzone.cloud.timeseries import queue_length_steps, site_timeseries, time_weighted_quantiles

__all__ = ["Site", "SiteStats"]

_Done = Callable[[float], None] | None
_Fail = Callable[[str], None] | None
_GONE = object()


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


class Site:
    """A compute site: ``servers`` identical servers of relative ``speed`` and one queue.

    Parameters
    ----------
    env
        The simulation environment.
    name
        Site name, e.g. ``"edge-3"``.
    tier
        ``"edge"``, ``"regional"`` or ``"central"`` (stored, not interpreted).
    servers
        Number of identical servers (>= 1).
    speed
        Work done per second of service by one server (> 0): a job of work
        ``w`` seconds (at speed 1) holds a server for ``w / speed`` s.
    measure_from_s
        Warm-up end, s: waits and ``served`` count only jobs arriving at or
        after it; utilisation and ``max_queue`` cover ``[measure_from_s, until_s]``.
        May be changed at any time; statistics are computed from the records.
    queue_limit
        Admission control: a job arriving while this many jobs wait is
        rejected (``None``: no limit).

    A site can fail (:meth:`fail`) and be repaired (:meth:`repair`): while it
    is down, arriving jobs are lost, and the jobs waiting or in service when it
    fails are lost at that moment (their busy time up to then counts).
    """

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        tier: str,
        servers: int,
        speed: float = 1.0,
        measure_from_s: float = 0.0,
        queue_limit: int | None = None,
    ) -> None:
        if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
            raise ValueError(f"site {name!r}: servers must be an integer >= 1, got {servers!r}")
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"site {name!r}: speed must be a finite number > 0, got {speed!r}")
        self.env = env
        self.name = name
        self.tier = tier
        self.servers = servers
        self.speed = speed
        self.measure_from_s = measure_from_s
        if queue_limit is not None and queue_limit < 0:
            raise ValueError(
                f"site {name!r}: queue_limit must be >= 0 or None, got {queue_limit!r}"
            )
        self.queue_limit = queue_limit
        self.up = True
        self._busy = 0
        self._waiting: list[tuple[int, int, float, _Done, _Fail]] = []
        self._in_service: dict[int, _Fail] = {}
        # One entry per job, in arrival order; inf = not yet happened.
        self._arrival_s = array("d")
        self._start_s = array("d")  # start of service
        self._end_s = array("d")  # end of service (or of the job's loss in an outage)
        self._lost = array("b")  # 1: lost in an outage
        self._tag = array("H")  # index into _tags
        self._tags: dict[str, int] = {}
        self._refused_s: dict[str, array[float]] = {"rejected": array("d"), "site_down": array("d")}

    def __repr__(self) -> str:
        return (
            f"Site({self.name!r}, tier={self.tier!r}, servers={self.servers}, speed={self.speed})"
        )

    @property
    def waiting(self) -> int:
        """Number of jobs waiting in the queue now."""
        return len(self._waiting)

    @property
    def in_service(self) -> int:
        """Number of busy servers now."""
        return self._busy

    @property
    def load(self) -> float:
        """Jobs at the site (waiting and in service) per server, now."""
        return (self._busy + len(self._waiting)) / self.servers

    def admits(self) -> bool:
        """Whether a job arriving now would be taken: the site is up, and a server is
        free or the queue is below its limit."""
        return self.up and (
            self.queue_limit is None
            or self._busy < self.servers
            or len(self._waiting) < self.queue_limit
        )

    def submit(
        self,
        work_s: float,
        priority: int = 0,
        on_done: _Done = None,
        on_fail: _Fail = None,
        tag: str = "",
    ) -> None:
        """Queue a job now; ``on_done(wait_s)`` runs when its service ends.

        Parameters
        ----------
        work_s
            Service demand at speed 1, s (>= 0); the job holds a server for
            ``work_s / speed``.
        priority
            Lower values are served first; FIFO among equal priorities.
        on_done
            Called with the job's wait in queue, s, at the end of its service.
        on_fail
            Called with ``"rejected"`` (queue at its limit) or ``"site_down"``
            when the job is not served.
        tag
            A label counted in ``SiteStats.served_by_tag`` (the service name).
        """
        if not (math.isfinite(work_s) and work_s >= 0):
            raise ValueError(
                f"site {self.name!r}: work_s must be a finite number >= 0, got {work_s!r}"
            )
        if not self.admits():
            cause = "rejected" if self.up else "site_down"
            self._refused_s[cause].append(self.env.now)
            if on_fail is not None:
                on_fail(cause)
            return
        job = len(self._arrival_s)
        self._arrival_s.append(self.env.now)
        self._start_s.append(math.inf)
        self._end_s.append(math.inf)
        self._lost.append(0)
        self._tag.append(self._tags.setdefault(tag, len(self._tags)))
        hold_s = work_s / self.speed
        if self._busy < self.servers:
            self._busy += 1
            self._start(job, hold_s, on_done, on_fail)
        else:
            heapq.heappush(self._waiting, (priority, job, hold_s, on_done, on_fail))

    def _start(self, job: int, hold_s: float, on_done: _Done, on_fail: _Fail) -> None:
        env = self.env
        self._start_s[job] = env.now
        self._in_service[job] = on_fail

        def finished(_event: simpy.Event) -> None:
            if self._in_service.pop(job, _GONE) is _GONE:
                return  # lost when the site failed
            self._end_s[job] = env.now
            if self._waiting:  # the server goes straight to the next job
                _prio, following, following_hold_s, following_done, following_fail = heapq.heappop(
                    self._waiting
                )
                self._start(following, following_hold_s, following_done, following_fail)
            else:
                self._busy -= 1
            if on_done is not None:
                on_done(self._start_s[job] - self._arrival_s[job])

        env.timeout(hold_s).callbacks.append(finished)

    def fail(self) -> None:
        """The site goes down now: every job waiting or in service is lost."""
        now = self.env.now
        self.up = False
        lost: list[tuple[int, _Fail]] = [(job, fail) for _p, job, _h, _d, fail in self._waiting]
        lost += list(self._in_service.items())
        self._waiting.clear()
        self._in_service.clear()
        self._busy = 0
        for job, on_fail in sorted(lost):
            self._start_s[job] = min(self._start_s[job], now)
            self._end_s[job] = now
            self._lost[job] = 1
            self._refused_s["site_down"].append(self._arrival_s[job])
            if on_fail is not None:
                on_fail("site_down")

    def record_jobs(
        self,
        arrival_s: np.ndarray,
        start_s: np.ndarray,
        end_s: np.ndarray,
        lost: np.ndarray,
        tags: list[str],
    ) -> None:
        """Record jobs queued elsewhere (the batch evaluator's windowed queue).

        Arrays per job as :meth:`submit` keeps them: arrival, start and end of
        service (inf: not happened by the end of the run; for a job lost in an
        outage, start and end are at the failure at the latest) and whether it
        was lost; ``tags`` per job as given to :meth:`submit`. :meth:`stats` and
        :meth:`timeseries` then cover them.
        """
        self._arrival_s.extend(np.asarray(arrival_s, dtype=np.float64).tolist())
        self._start_s.extend(np.asarray(start_s, dtype=np.float64).tolist())
        self._end_s.extend(np.asarray(end_s, dtype=np.float64).tolist())
        self._lost.extend(np.asarray(lost, dtype=np.int8).tolist())
        self._tag.extend([self._tags.setdefault(tag, len(self._tags)) for tag in tags])
        self._refused_s["site_down"].extend(np.asarray(arrival_s)[np.asarray(lost, bool)].tolist())

    def record_refused(self, cause: str, at_s: np.ndarray) -> None:
        """Record jobs turned away on arrival (``"rejected"`` or ``"site_down"``) elsewhere."""
        self._refused_s[cause].extend(np.asarray(at_s, dtype=np.float64).tolist())

    def repair(self) -> None:
        """The site is back up (empty)."""
        self.up = True

    def serve(self, work_s: float, priority: int = 0) -> Generator[simpy.Event, Any, float]:
        """Queue for a server, hold it for ``work_s / speed`` s, release it; return the wait, s.

        The process form of :meth:`submit`: use as ``wait_s = yield
        env.process(site.serve(work_s))`` or ``wait_s = yield from
        site.serve(work_s)``. ``work_s`` is checked at once, not when the
        process starts.
        """
        if not (math.isfinite(work_s) and work_s >= 0):
            raise ValueError(
                f"site {self.name!r}: work_s must be a finite number >= 0, got {work_s!r}"
            )
        return self._await(work_s, priority)

    def _await(self, work_s: float, priority: int) -> Generator[simpy.Event, Any, float]:
        done = self.env.event()

        def succeed(wait_s: float) -> None:
            done.succeed(wait_s)

        self.submit(work_s, priority, succeed)
        wait_s: float = yield done
        return wait_s

    def waits_s(self, until_s: float) -> np.ndarray:
        """Waits in queue of the jobs counted in ``stats(until_s).served``, in arrival order, s."""
        arrival, start, end = self._records(until_s)
        done = self._served_mask(arrival, end, until_s)
        return start[done] - arrival[done]

    def _served_mask(self, arrival: np.ndarray, end: np.ndarray, until_s: float) -> np.ndarray:
        lost = np.frombuffer(self._lost, dtype=np.int8)[: arrival.size].astype(bool)
        return (arrival >= self.measure_from_s) & (end <= until_s) & ~lost

    def stats(self, until_s: float) -> SiteStats:
        """Statistics over ``[measure_from_s, until_s]`` (``until_s <= env.now``).

        Exact for any such window: jobs still in service at ``until_s`` count
        in the busy time up to ``until_s`` but not in ``served``. Note that
        ``env.run(until=t)`` stops *before* the events due at ``t``, so a job
        ending exactly at ``t`` is then still in service.
        """
        from_s = self.measure_from_s
        if not until_s > from_s:
            raise ValueError(
                f"site {self.name!r}: until_s must be > measure_from_s={from_s!r}, got {until_s!r}"
            )
        arrival, start, end = self._records(until_s)
        busy_s = np.clip(np.minimum(end, until_s) - np.maximum(start, from_s), 0.0, None).sum()
        done = self._served_mask(arrival, end, until_s)
        waits_s = start[done] - arrival[done]
        served = int(waits_s.size)
        queue_q = time_weighted_quantiles(
            *queue_length_steps(arrival, start), from_s, until_s, [0.5, 0.99]
        )
        tags = np.frombuffer(self._tag, dtype=np.uint16)[: arrival.size][done]
        counts = np.bincount(tags, minlength=len(self._tags))
        refused = {
            cause: int(((np.asarray(t) >= from_s) & (np.asarray(t) <= until_s)).sum())
            for cause, t in self._refused_s.items()
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
            served_by_tag={tag: int(counts[i]) for tag, i in self._tags.items()},
        )

    def timeseries(self, until_s: float, bin_s: float) -> dict[str, np.ndarray]:
        """Utilisation and queue length in bins of ``bin_s`` over ``[measure_from_s, until_s]``.

        See :func:`avzone.cloud.timeseries.site_timeseries`.
        """
        arrival, start, end = self._records(until_s)
        return site_timeseries(
            arrival, start, end, self.servers, self.measure_from_s, until_s, bin_s
        )

    def _records(self, until_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if until_s > self.env.now:
            raise ValueError(
                f"site {self.name!r}: until_s={until_s!r} is after env.now={self.env.now!r}"
            )
        # Copies: a view would lock the arrays against further appends.
        return (
            np.array(self._arrival_s, dtype=np.float64),
            np.array(self._start_s, dtype=np.float64),
            np.array(self._end_s, dtype=np.float64),
        )


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
