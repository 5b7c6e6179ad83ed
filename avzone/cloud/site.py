"""A compute site: ``servers`` identical servers behind one priority FIFO queue.

The queue runs on SimPy's clock: a job that finds a free server starts at
once, the others wait in a heap ordered by (priority, arrival), lower
priority value first, FIFO within a priority, non-preemptive; the end of each
service is a SimPy timeout that hands the server to the next job. This is
what :class:`simpy.PriorityResource` does, without its request and release
events, which cost 40 % of a run's time at millions of messages (measured on
etown-baseline). It is validated job by job against the Lindley recursion and
in the mean against the closed forms (tests/test_cloud_queueing.py).

Each job's arrival, start and end of service are recorded
(:class:`~avzone.cloud.records.JobRecords`), from which :meth:`Site.stats`
computes the statistics exactly for any window ending at or before ``env.now``.
Past :data:`~avzone.cloud.records.EXACT_JOBS` jobs the records are folded into
what the statistics need (memory bounded, wait percentiles then within a
sketch's relative accuracy; docs/outputs.md).

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
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np
import simpy

from avzone.cloud.records import JobRecords
from avzone.cloud.site_stats import SiteStats

__all__ = ["Site", "SiteStats"]

_Done = Callable[[float], None] | None
_Fail = Callable[[str], None] | None
_GONE = object()


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
    exact_jobs
        Jobs recorded one by one before the records fold (see the module text;
        default :data:`~avzone.cloud.records.EXACT_JOBS`).

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
        exact_jobs: int | None = None,
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
        self._records = JobRecords(name, servers, measure_from_s, exact_jobs=exact_jobs)
        if queue_limit is not None and queue_limit < 0:
            raise ValueError(
                f"site {name!r}: queue_limit must be >= 0 or None, got {queue_limit!r}"
            )
        self.queue_limit = queue_limit
        self.up = True
        self._busy = 0
        self._waiting: list[tuple[int, int, float, _Done, _Fail]] = []
        self._in_service: dict[int, _Fail] = {}

    def __repr__(self) -> str:
        return (
            f"Site({self.name!r}, tier={self.tier!r}, servers={self.servers}, speed={self.speed})"
        )

    @property
    def measure_from_s(self) -> float:
        """The warm-up end, s (fixed once the records are folded)."""
        return self._records.measure_from_s

    @measure_from_s.setter
    def measure_from_s(self, value: float) -> None:
        self._records.measure_from_s = value

    @property
    def folded(self) -> bool:
        """Whether the job records are folded (past ``exact_jobs`` jobs)."""
        return self._records.folded is not None

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
            self._records.refuse(cause, self.env.now)
            if on_fail is not None:
                on_fail(cause)
            return
        job = self._records.add(self.env.now, tag)
        hold_s = work_s / self.speed
        if self._busy < self.servers:
            self._busy += 1
            self._start(job, hold_s, on_done, on_fail)
        else:
            heapq.heappush(self._waiting, (priority, job, hold_s, on_done, on_fail))

    def _start(self, job: int, hold_s: float, on_done: _Done, on_fail: _Fail) -> None:
        env = self.env
        records = self._records
        records.started(job, env.now)
        self._in_service[job] = on_fail

        def finished(_event: simpy.Event) -> None:
            if self._in_service.pop(job, _GONE) is _GONE:
                return  # lost when the site failed
            wait_s = records.ended(job, env.now)
            if self._waiting:  # the server goes straight to the next job
                _prio, following, following_hold_s, following_done, following_fail = heapq.heappop(
                    self._waiting
                )
                self._start(following, following_hold_s, following_done, following_fail)
            else:
                self._busy -= 1
            if on_done is not None:
                on_done(wait_s)

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
            self._records.lost_at(job, now)
            if on_fail is not None:
                on_fail("site_down")

    def record_jobs(
        self,
        arrival_s: np.ndarray,
        start_s: np.ndarray,
        end_s: np.ndarray,
        lost: np.ndarray,
        tag: np.ndarray,
        tag_names: Sequence[str],
        horizon_s: float | None = None,
    ) -> None:
        """Record jobs queued elsewhere (the batch evaluator's windowed queue).

        Arrays per job, in arrival order, as :meth:`submit` keeps them: arrival,
        start and end of service (inf: not happened by the end of the run; for a
        job lost in an outage, start and end are at the failure at the latest)
        and whether it was lost; ``tag`` per job an index into ``tag_names`` (the
        names given to :meth:`submit`). Every job handed over must be finished:
        its times do not change later. :meth:`stats` and :meth:`timeseries` then
        cover them.

        May be called repeatedly: ``horizon_s`` promises that no job recorded later
        arrives before it (default ``env.now``: right when the last job has been
        handed over); past ``exact_jobs`` jobs the records fold up to it, and a
        later job arriving before it is refused (ValueError). Below ``exact_jobs``
        the records are kept in the order handed over: arrival order across the
        calls gives the event evaluator's statistics to the last bit.
        """
        self._records.extend(
            arrival_s,
            start_s,
            end_s,
            lost,
            tag,
            tag_names,
            self.env.now if horizon_s is None else horizon_s,
        )

    def record_refused(self, cause: str, at_s: np.ndarray) -> None:
        """Record jobs turned away on arrival (``"rejected"`` or ``"site_down"``) elsewhere."""
        self._records.refuse_all(cause, at_s)

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
        """Waits in queue of the jobs counted in ``stats(until_s).served``, in arrival order, s
        (while the records are not folded)."""
        self._check_until(until_s)
        return self._records.waits_s(until_s)

    def job_times_s(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every job's arrival, start and end of service, in arrival order, s (``inf``: not
        yet); copies, while the records are not folded."""
        if self.folded:
            raise ValueError(
                f"site {self.name!r}: the records of {self._records.jobs} jobs are folded"
            )
        records = self._records
        return (
            np.array(records.arrival_s, dtype=np.float64),
            np.array(records.start_s, dtype=np.float64),
            np.array(records.end_s, dtype=np.float64),
        )

    def stats(self, until_s: float) -> SiteStats:
        """Statistics over ``[measure_from_s, until_s]`` (``until_s <= env.now``).

        Exact for any such window: jobs still in service at ``until_s`` count
        in the busy time up to ``until_s`` but not in ``served``. Note that
        ``env.run(until=t)`` stops *before* the events due at ``t``, so a job
        ending exactly at ``t`` is then still in service. Once the records are
        folded, only windows ending after everything folded.
        """
        from_s = self.measure_from_s
        if not until_s > from_s:
            raise ValueError(
                f"site {self.name!r}: until_s must be > measure_from_s={from_s!r}, got {until_s!r}"
            )
        self._check_until(until_s)
        return self._records.stats(until_s)

    def timeseries(self, until_s: float, bin_s: float) -> dict[str, np.ndarray]:
        """Utilisation and queue length in bins of ``bin_s`` over ``[measure_from_s, until_s]``.

        See :func:`avzone.cloud.timeseries.site_timeseries`; once the records are
        folded, ``bin_s`` must be :data:`~avzone.cloud.records.SITE_BIN_S`.
        """
        self._check_until(until_s)
        return self._records.timeseries(until_s, bin_s)

    def _check_until(self, until_s: float) -> None:
        if until_s > self.env.now:
            raise ValueError(
                f"site {self.name!r}: until_s={until_s!r} is after env.now={self.env.now!r}"
            )
