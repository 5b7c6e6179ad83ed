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
>>> site.stats(until_s=3.0)
SiteStats(served=3, utilization=1.0, mean_wait_s=1.0, p99_wait_s=1.98, max_queue=2)

After ``env.run(until=3.0)`` instead, the third job would still be in
service (SimPy stops before the events due at 3.0): ``served=2`` and the same
utilisation, its busy time counted up to 3.0.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

__all__ = ["Site", "SiteStats"]


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
    """

    served: int
    utilization: float
    mean_wait_s: float
    p99_wait_s: float
    max_queue: int


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
    """

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        tier: str,
        servers: int,
        speed: float = 1.0,
        measure_from_s: float = 0.0,
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
        self._busy = 0
        self._waiting: list[tuple[int, int, float, Callable[[float], None] | None]] = []
        # One entry per job, in arrival order; inf = not yet happened.
        self._arrival_s = array("d")
        self._start_s = array("d")  # start of service
        self._end_s = array("d")  # end of service

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

    def submit(
        self,
        work_s: float,
        priority: int = 0,
        on_done: Callable[[float], None] | None = None,
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
        """
        if not (math.isfinite(work_s) and work_s >= 0):
            raise ValueError(
                f"site {self.name!r}: work_s must be a finite number >= 0, got {work_s!r}"
            )
        job = len(self._arrival_s)
        self._arrival_s.append(self.env.now)
        self._start_s.append(math.inf)
        self._end_s.append(math.inf)
        hold_s = work_s / self.speed
        if self._busy < self.servers:
            self._busy += 1
            self._start(job, hold_s, on_done)
        else:
            heapq.heappush(self._waiting, (priority, job, hold_s, on_done))

    def _start(self, job: int, hold_s: float, on_done: Callable[[float], None] | None) -> None:
        env = self.env
        self._start_s[job] = env.now

        def finished(_event: simpy.Event) -> None:
            self._end_s[job] = env.now
            if self._waiting:  # the server goes straight to the next job
                _prio, following, following_hold_s, following_done = heapq.heappop(self._waiting)
                self._start(following, following_hold_s, following_done)
            else:
                self._busy -= 1
            if on_done is not None:
                on_done(self._start_s[job] - self._arrival_s[job])

        env.timeout(hold_s).callbacks.append(finished)

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
        done = (arrival >= self.measure_from_s) & (end <= until_s)
        return start[done] - arrival[done]

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
        waits_s = self.waits_s(until_s)
        served = int(waits_s.size)
        return SiteStats(
            served=served,
            utilization=float(busy_s) / (self.servers * (until_s - from_s)),
            mean_wait_s=float(waits_s.mean()) if served else math.nan,
            p99_wait_s=float(np.quantile(waits_s, 0.99)) if served else math.nan,
            max_queue=_max_waiting(arrival, start, from_s, until_s),
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
