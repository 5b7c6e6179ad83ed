"""A compute site's queue evaluated a time window at a time, for the batch evaluator.

The event evaluator's :class:`~avzone.cloud.site.Site` serves jobs one by one on
SimPy's clock. The batch evaluator knows a whole window of arrivals at once
(numpy arrays) and needs each job's start of service. Two exact ways:

- one server, one priority, no queue limit: Lindley's recursion in closed
  form (REFERENCE.md §9). With ``S`` the running sum of hold times, job ``i``
  ends at ``S_i + max(free_at, max_{j ≤ i}(a_j − S_{j−1}))``, a
  ``maximum.accumulate``; the server's ``free_at`` carries the queue to the
  next window. No Python loop.
- several servers, one priority, no queue limit: FIFO with the earliest-free
  server, ``start_i = max(a_i, earliest free time)``, the servers' free
  times in a binary heap — a compiled loop (numba), no Python per job;
- otherwise (priority classes, a queue limit): the same
  discipline as :class:`Site` (non-preemptive priority, FIFO within a
  priority, earliest-free server) as one loop over the window's jobs, with
  the servers' free times and the jobs still waiting at the window's end
  carried to the next window. A job left waiting may be overtaken by a
  higher-priority job of the next window, exactly as in the event evaluator.

Both give the start of service of every job to floating-point rounding of
the event evaluator's (tests/test_cloud_windowed.py compares them job by job).

Example
-------
>>> import numpy as np
>>> q = WindowedQueue(servers=1)
>>> first = q.window(np.array([0.0, 0.5]), np.array([2.0, 1.0]), until_s=1.0)
>>> first.start_s.tolist(), q.free_at_s
([0.0, 2.0], [3.0])
>>> second = q.window(np.array([1.5]), np.array([1.0]), until_s=10.0)
>>> second.start_s.tolist()
[3.0]
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["WindowResult", "WindowedQueue", "fifo_one_server", "fifo_servers"]


def fifo_one_server(
    arrival_s: np.ndarray, hold_s: np.ndarray, free_at_s: float = -math.inf
) -> np.ndarray:
    """Start of service of each job of a FIFO single-server queue, in closed form.

    ``arrival_s`` sorted ascending; ``hold_s`` the time each job holds the
    server; ``free_at_s`` when the server finishes the work it already has.

    >>> fifo_one_server(np.array([0.0, 0.5, 3.5]), np.array([2.0, 1.0, 1.0])).tolist()
    [0.0, 2.0, 3.5]
    >>> fifo_one_server(np.array([1.0]), np.array([1.0]), free_at_s=4.0).tolist()
    [4.0]
    """
    a = np.asarray(arrival_s, dtype=np.float64)
    h = np.asarray(hold_s, dtype=np.float64)
    if a.size == 0:
        return a.copy()
    before = np.concatenate(([0.0], np.cumsum(h[:-1])))  # S_{i-1}
    # start_i = max(free_at, max_{j<=i}(a_j - S_{j-1})) + S_{i-1}; the outer maximum
    # keeps a job that finds the server idle at exactly its arrival (no rounding).
    return np.maximum(np.maximum(np.maximum.accumulate(a - before), free_at_s) + before, a)


@numba.njit(cache=True, nogil=True)
def _fifo_servers(arrival_s: np.ndarray, hold_s: np.ndarray, free: np.ndarray) -> np.ndarray:
    """FIFO over ``free.size`` servers: each job starts when it arrives or when the
    earliest-free server frees, whichever is later. ``free``: the servers' free
    times as a binary min-heap, updated in place."""
    n = arrival_s.size
    m = free.size
    start = np.empty(n)
    for i in range(n):
        at = free[0]
        s = arrival_s[i] if at <= arrival_s[i] else at
        start[i] = s
        value = s + hold_s[i]
        j = 0  # sift the new free time down from the root
        while True:
            child = 2 * j + 1
            if child >= m:
                break
            if child + 1 < m and free[child + 1] < free[child]:
                child += 1
            if free[child] < value:
                free[j] = free[child]
                j = child
            else:
                break
        free[j] = value
    return start


def fifo_servers(
    arrival_s: np.ndarray, hold_s: np.ndarray, free_at_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Start of service of each job of a FIFO queue with ``len(free_at_s)`` servers.

    ``free_at_s``: when each server finishes the work it already has. Returns
    the starts and the servers' free times after the jobs (ascending).

    >>> start, free = fifo_servers(np.array([0.0, 0.1, 0.2]), np.array([1.0, 1.0, 1.0]),
    ...                            np.array([-np.inf, -np.inf]))
    >>> start.tolist(), free.tolist()
    ([0.0, 0.1, 1.0], [1.1, 2.0])
    """
    free = np.sort(np.asarray(free_at_s, dtype=np.float64))  # a sorted array is a heap
    start = _fifo_servers(
        np.ascontiguousarray(arrival_s, dtype=np.float64),
        np.ascontiguousarray(hold_s, dtype=np.float64),
        free,
    )
    return start, np.sort(free)


@dataclass(frozen=True)
class WindowResult:
    """What happened to the jobs handed to :meth:`WindowedQueue.window`.

    ``start_s``: start of service per job of this window (inf: still waiting
    at the window's end, see ``carried``); ``rejected``: turned away at
    arrival (queue at its limit); ``carried_started``: jobs of earlier windows
    that started in this one, as (job id, start) pairs — a job's id is its
    index among all jobs ever handed to the queue.
    """

    start_s: np.ndarray
    rejected: np.ndarray
    carried_started: list[tuple[int, float]]


class WindowedQueue:
    """A site's queue state carried from window to window (see the module text).

    Parameters
    ----------
    servers
        Identical servers (>= 1).
    queue_limit
        A job arriving while this many jobs wait is rejected (``None``: no limit),
        as :meth:`Site.admits`.
    """

    def __init__(self, servers: int, queue_limit: int | None = None) -> None:
        if servers < 1:
            raise ValueError(f"servers must be >= 1, got {servers}")
        self.servers = servers
        self.queue_limit = queue_limit
        self._free: list[float] = [-math.inf] * servers  # a heap of server free times
        self._waiting: list[tuple[int, int, float]] = []  # heap of (priority, job id, hold_s)
        self._jobs = 0

    @property
    def free_at_s(self) -> list[float]:
        """When each server finishes the work it has, ascending."""
        return sorted(self._free)

    @property
    def jobs(self) -> int:
        """Jobs handed to the queue so far: the next job's id."""
        return self._jobs

    @property
    def waiting(self) -> int:
        """Jobs waiting (not started) at the end of the last window."""
        return len(self._waiting)

    def window(
        self,
        arrival_s: np.ndarray,
        hold_s: np.ndarray,
        until_s: float,
        priority: np.ndarray | None = None,
    ) -> WindowResult:
        """Serve one window's jobs (arrivals sorted ascending, all before ``until_s``).

        Jobs that have not started by ``until_s`` wait for the next window.
        """
        a = np.asarray(arrival_s, dtype=np.float64)
        h = np.asarray(hold_s, dtype=np.float64)
        n = a.size
        first_id = self._jobs
        self._jobs += n
        one_class = priority is None or n == 0 or bool(np.all(priority == priority[0]))
        if one_class and self.queue_limit is None and not self._waiting:
            if self.servers == 1:
                start = fifo_one_server(a, h, self._free[0])
                if n:
                    self._free[0] = float(start[-1] + h[-1])
            else:  # a sorted list is a heap: the Python loop can take over later
                start, free = fifo_servers(a, h, np.array(self._free))
                self._free = free.tolist()
            return WindowResult(start, np.zeros(n, dtype=bool), [])
        return self._loop(a, h, until_s, priority, first_id)

    def _loop(
        self,
        a: np.ndarray,
        h: np.ndarray,
        until_s: float,
        priority: np.ndarray | None,
        first_id: int,
    ) -> WindowResult:
        n = a.size
        start = np.full(n, math.inf)
        rejected = np.zeros(n, dtype=bool)
        carried: list[tuple[int, float]] = []
        free = self._free
        waiting = self._waiting
        limit = self.queue_limit
        prio = [0] * n if priority is None else priority.tolist()
        holds = h.tolist()

        def start_waiting(up_to_s: float) -> None:
            # Servers that free up by ``up_to_s`` take the waiting jobs, best first.
            while waiting and free[0] <= up_to_s:
                at_s = free[0]
                _, job, hold = heapq.heappop(waiting)
                heapq.heapreplace(free, at_s + hold)
                if job >= first_id:
                    start[job - first_id] = at_s
                else:
                    carried.append((job, at_s))

        for i, t in enumerate(a.tolist()):
            start_waiting(t)
            if free[0] <= t:  # a server is idle (so nothing waits)
                start[i] = t
                heapq.heapreplace(free, t + holds[i])
            elif limit is not None and len(waiting) >= limit:
                rejected[i] = True
            else:
                heapq.heappush(waiting, (prio[i], first_id + i, holds[i]))
        start_waiting(until_s)
        return WindowResult(start, rejected, carried)
