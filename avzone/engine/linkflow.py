"""Backhaul link queues for the batch evaluator: many messages, one time window at a time.

:class:`BatchLinks` carries messages over paths of directed links with the
FIFO store-and-forward arithmetic of :meth:`avzone.network.transport.LinkState.cross`
(per directed link ``d``: ``start = free_at[d] if free_at[d] > t else t``;
``free_at[d] = start + b·s_per_byte[d]``; the far end at ``free_at[d] + prop_s[d]``),
and counts its statistics into the same :class:`LinkState`, so
``LinkState.rows`` (``links.csv``) works unchanged.

**Windows.** :meth:`BatchLinks.submit` hands over messages entering the
backhaul; :meth:`BatchLinks.advance` ``(end_s)`` computes every link crossing
whose arrival at that link is before ``end_s`` and returns the messages whose
whole path is then computed. A message that reaches a link at or after
``end_s`` waits there, with its time, for a later window.

**Why exact.** A link must serve its messages in the order they arrive at it.
The contract: before ``advance(end_s)`` every message entering before
``end_s`` has been submitted. Links are computed in a topological order of the
*feeds* relation of the paths (``d`` feeds ``e`` when a path crosses ``e``
right after ``d``), so when link ``e`` is computed every link feeding it has
been, and every message reaching ``e`` before ``end_s`` is known (a message
reaching a feeding link at or after ``end_s`` reaches ``e`` later still).
Sorting them by arrival time (ties: submission order) and applying the
recursion gives exactly FIFO; a link's later windows only see later arrivals.
A cycle in the feeds relation has no such order and is an error.

**Checked, and late entries.** Each link keeps the arrival time of the last
message it served. A message may be submitted after its window was advanced
(a reply entering the backhaul when the window's service is computed) and
``advance`` called again with the same end: it is still exact as long as
every link on its way has not yet served a message arriving after it. If one
has, FIFO would be broken: ``strict`` (the default) raises ``ValueError``
naming the link; ``strict=False`` serves it late (after the later ones, the
Lindley recursion from the link's ``free_at``) and counts it in
:attr:`BatchLinks.late`.

**Cost.** One compiled loop (numba) per window: the in-flight messages are
threaded onto per-link lists, each link in topological order sorts its
arrivals before ``end_s`` and pushes them on to their next link. Work per
window is O(in-flight messages + crossings · log + links), no Python per
message. ``benchmarks/linkflow.py`` measures it.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

from avzone.network.transport import LinkState

__all__ = ["BatchLinks", "feeds_order"]

_DENSE_LINKS = 4096
"""Up to this many directed links the feeds seen are also kept as a boolean matrix."""


def feeds_order(paths: np.ndarray, n_links: int) -> np.ndarray:
    """The directed links used by ``paths`` in a topological order of the feeds relation.

    ``paths``: ``(n, H)`` directed link ids padded with ``-1``. Ties are broken
    by link id (deterministic). Raises ``ValueError`` naming the links left on
    a cycle when there is no such order.

    Examples
    --------
    >>> feeds_order(np.array([[4, 2, -1], [0, 2, 6], [3, 5, -1]]), 8).tolist()
    [0, 3, 4, 2, 5, 6]
    """
    paths = np.asarray(paths, dtype=np.int64).reshape(len(paths), -1)
    used = np.unique(paths[paths >= 0])
    edges = _feed_edges(paths, n_links)
    tail, head = edges // n_links, edges % n_links
    indegree = np.zeros(n_links, dtype=np.int64)
    np.add.at(indegree, head, 1)
    out_start = np.searchsorted(tail, np.arange(n_links + 1))  # edges are sorted by tail
    ready = [int(d) for d in used if indegree[d] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        d = heapq.heappop(ready)
        order.append(d)
        for e in head[out_start[d] : out_start[d + 1]].tolist():
            indegree[e] -= 1
            if indegree[e] == 0:
                heapq.heappush(ready, e)
    if len(order) < used.size:
        stuck = sorted(set(used.tolist()) - set(order))
        raise ValueError(
            f"backhaul paths: directed links {stuck} feed each other in a cycle; "
            "expected paths whose link order has no cycle (e.g. up and down routes of a tree)"
        )
    return np.asarray(order, dtype=np.int64)


def _feed_edges(paths: np.ndarray, n_links: int) -> np.ndarray:
    """The sorted unique ``d·n_links + e`` of every link ``d`` followed by ``e`` on a path."""
    if paths.shape[1] < 2:
        return np.zeros(0, dtype=np.int64)
    a, b = paths[:, :-1], paths[:, 1:]
    step = (a >= 0) & (b >= 0)
    return np.unique(a[step] * n_links + b[step])


class BatchLinks:
    """FIFO transmitters of every directed link of ``links``, computed a window at a time.

    ``links``: the run's :class:`LinkState`; its ``free_at`` and statistics are
    read at the start of each :meth:`advance` and written back at its end, so
    ``LinkState.rows`` reports what was carried here (and ``LinkState.cross``
    may still be used between windows). ``strict``: a crossing that would
    break FIFO (a message submitted too late, see the module notes) raises
    ``ValueError`` after the window (whose results then include it); without,
    it is served late and counted in :attr:`late`.

    Examples
    --------
    One 10 Mbit/s link (1250 B take 1 ms) of 1 km (5 µs): the second message,
    0.4 ms after the first, waits 0.6 ms; the third enters in a later window.

    >>> from avzone.network import LinkTable
    >>> table = LinkTable(name=("l",), tier=("access",), a=("x",), b=("y",), length_m=(1000.0,),
    ...                   prop_s=(5e-6,), rate_bps=(10e6,), loss=(0.0,))
    >>> state = LinkState(table)
    >>> batch = BatchLinks(state)
    >>> batch.submit(np.array([7, 8, 9]), np.array([[0], [0], [0]]),
    ...              np.array([0.0, 0.0004, 1.5]), np.array([1250, 1250, 1250]))
    >>> ids, t_out = batch.advance(1.0)
    >>> ids.tolist(), (t_out * 1e6).round(3).tolist()
    ([7, 8], [1005.0, 2005.0])
    >>> ids, t_out = batch.advance(2.0)
    >>> ids.tolist(), state.messages[0], [round(w * 1e6, 3) for w in state.waits[0]]
    ([9], 3, [600.0])
    """

    def __init__(self, links: LinkState, strict: bool = True) -> None:
        self.links = links
        self.strict = strict
        self.n_links = len(links.free_at)
        # per link, the arrival time and submission number of the last message served there
        self._last_t = np.full(self.n_links, -np.inf)
        self._last_sub = np.full(self.n_links, -1, dtype=np.int64)
        self.late = np.zeros(self.n_links, dtype=np.int64)
        """Per directed link, crossings served after a message that arrived later (``strict=False``)."""
        self._s_per_byte = np.asarray(links.s_per_byte, dtype=np.float64)
        self._prop_s = np.asarray(links.prop_s, dtype=np.float64)
        self._edges = np.zeros(0, dtype=np.int64)  # feeds relation seen so far (_feed_edges codes)
        self._used = np.zeros(self.n_links, dtype=np.bool_)
        # the same as a matrix, for a fast check of each submission (up to 16 MB)
        small = self.n_links <= _DENSE_LINKS
        self._known = np.zeros((self.n_links, self.n_links), np.bool_) if small else None
        self._order = np.zeros(0, dtype=np.int64)
        self._end_s = -np.inf  # the last advance
        self._seq = 0
        # in flight: id, path, position along it, time at that link, size, submission number
        self._id = np.zeros(0, dtype=np.int64)
        self._path = np.full((0, 1), -1, dtype=np.int32)
        self._hop = np.zeros(0, dtype=np.int32)
        self._t = np.zeros(0, dtype=np.float64)
        self._size = np.zeros(0, dtype=np.int64)
        self._sub = np.zeros(0, dtype=np.int64)
        self._new: list[tuple[np.ndarray, ...]] = []

    @property
    def in_flight(self) -> int:
        """Messages submitted and not yet returned by :meth:`advance`."""
        return int(self._id.size + sum(part[0].size for part in self._new))

    def renumber(self, new_id: np.ndarray) -> None:
        """Give every message id ``i >= 0`` in flight the id ``new_id[i]`` (the caller
        renumbered its rows; a message in flight must keep an id >= 0)."""
        for ids in [self._id, *(part[0] for part in self._new)]:
            known = ids >= 0
            ids[known] = new_id[ids[known]]

    @property
    def order(self) -> np.ndarray:
        """The directed links used so far, in the topological order they are computed in."""
        return self._order.copy()

    def submit(
        self, ids: np.ndarray, paths: np.ndarray, t_in_s: np.ndarray, size_bytes: np.ndarray
    ) -> None:
        """Messages ``ids`` entering the backhaul at ``t_in_s`` (possibly in a later window).

        ``paths``: ``(n, H)`` directed link ids, padded at the end with ``-1`` (an empty
        path leaves at ``t_in_s``). A message entering before the end of the
        last :meth:`advance` is allowed (then call ``advance`` again with that
        end), exact while no link on its way has already served a later
        arrival (checked there). Raises ``ValueError`` for a link id out of
        range or a NaN time.
        """
        ids = np.array(ids, dtype=np.int64).ravel()  # a copy: renumber changes it in place
        n = ids.size
        if n == 0:
            return
        paths = np.asarray(paths).reshape(n, -1).astype(np.int32)
        t_in = np.asarray(t_in_s, dtype=np.float64).ravel()
        size = np.asarray(size_bytes, dtype=np.int64).ravel()
        if not (t_in.size == size.size == n):
            raise ValueError(
                f"submit: {n} ids, {t_in.size} entry times and {size.size} sizes; expected equal lengths"
            )
        if paths.size and (paths.max() >= self.n_links or paths.min() < -1):
            raise ValueError(
                f"submit: link ids from {paths.min()} to {paths.max()}; expected -1 (padding) "
                f"or 0 … {self.n_links - 1}"
            )
        if np.isnan(t_in).any():
            k = int(np.argmax(np.isnan(t_in)))
            raise ValueError(f"submit: message {ids[k]} enters at nan s; expected a time")
        self._learn(paths)
        self._new.append((ids, paths, t_in, size, self._seq + np.arange(n, dtype=np.int64)))
        self._seq += n

    def _learn(self, paths: np.ndarray) -> None:
        """Add the feeds of ``paths``; recompute the order if a link or a feed is new."""
        if self._known is not None:
            if not _anything_new_dense(paths, self._known, self._used):
                return
        elif not _anything_new(paths, self._edges, self._used, self.n_links):
            return
        edges = _feed_edges(paths.astype(np.int64), self.n_links)
        new_edges = edges[~np.isin(edges, self._edges)]
        links = np.unique(paths[paths >= 0])
        new_links = links[~self._used[links]]
        if new_edges.size == 0 and new_links.size == 0:
            return
        all_edges = np.union1d(self._edges, new_edges)
        used = self._used.copy()
        used[links] = True
        # the order over every link and feed seen so far: two-link paths per edge, one per link
        pairs = np.stack([all_edges // self.n_links, all_edges % self.n_links], axis=1)
        alone = np.stack([np.flatnonzero(used), np.full(int(used.sum()), -1)], axis=1)
        self._order = feeds_order(np.concatenate([pairs, alone]), self.n_links)
        self._edges, self._used = all_edges, used
        if self._known is not None:
            self._known[all_edges // self.n_links, all_edges % self.n_links] = True

    def advance(
        self, end_s: float, hold: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Compute every crossing reaching its link before ``end_s``; the messages done.

        Returns ``(ids, t_out_s)``: the messages whose last link is now
        computed, with their arrival at its far end (which may be after
        ``end_s``), in the order they were completed. Before calling, every
        message entering before ``end_s`` must have been submitted (see the
        module notes on late entries). ``end_s`` never decreases; the same
        end again computes what was submitted since. ``hold``: directed link
        ids not computed in this call (their messages wait for the next), e.g.
        the links of the replies while a window's requests are computed.
        """
        if end_s < self._end_s:
            raise ValueError(
                f"advance: end {end_s!r} s; expected >= {self._end_s!r} s, the previous window's end"
            )
        self._end_s = end_s
        self._take_new()
        state = self.links
        free_at = np.asarray(state.free_at, dtype=np.float64)
        messages = np.asarray(state.messages, dtype=np.int64)
        n_bytes = np.asarray(state.bytes, dtype=np.int64)
        busy_s = np.asarray(state.busy_s, dtype=np.float64)
        order = self._order
        if hold is not None and len(hold):
            order = order[~np.isin(order, np.asarray(hold, dtype=np.int64))]
        done, n_done, exit_order, waits, wait_count, late, first_late = _advance(
            order,
            self._path,
            self._hop,
            self._t,
            self._size,
            self._sub,
            float(end_s),
            free_at,
            self._s_per_byte,
            self._prop_s,
            bool(state.queueing),
            float(state.measure_from_s),
            float(state.until_s),
            messages,
            n_bytes,
            busy_s,
            self._last_t,
            self._last_sub,
        )
        state.free_at[:] = free_at.tolist()
        state.messages[:] = messages.tolist()
        state.bytes[:] = n_bytes.tolist()
        state.busy_s[:] = busy_s.tolist()
        # the kernel emits each link's positive waits together, links in ``order``
        start = 0
        for d in order[wait_count[order] > 0].tolist():
            stop = start + int(wait_count[d])
            state.waits[d].frombytes(waits[start:stop].tobytes())
            start = stop
        finished = exit_order[:n_done]
        ids, t_out = self._id[finished], self._t[finished]
        keep = ~done
        self._id, self._path, self._hop = self._id[keep], self._path[keep], self._hop[keep]
        self._t, self._size, self._sub = self._t[keep], self._size[keep], self._sub[keep]
        self.late += late
        if self.strict and late.any():
            d, t_late, t_before = int(first_late[0]), float(first_late[1]), float(first_late[2])
            raise ValueError(
                f"advance: a message reached directed link {d} ({state.links.name[d // 2]} "
                f"{'up' if d % 2 == 0 else 'down'}) at {t_late!r} s, after the link had served "
                f"one that reached it at {t_before!r} s: FIFO broken; expected every message "
                "submitted before a window that computes that link past its arrival "
                "(or BatchLinks(strict=False) to serve it late, counted in BatchLinks.late)"
            )
        return ids, t_out

    def _take_new(self) -> None:
        """Append the submitted messages to those in flight, by first link then entry time.

        Paths are padded to one width. The order makes each entry link's messages one
        ascending run stored together, and keeps the kernel's memory reads local (a
        link's messages come from a few blocks of the arrays, not from all over them).
        """
        if not self._new:
            return
        width = max(self._path.shape[1], *(part[1].shape[1] for part in self._new))
        ids, paths, t_in, size, sub = (
            np.concatenate([part[k] if k != 1 else _pad(part[1], width) for part in self._new])
            for k in range(5)
        )
        self._new = []
        # one sort on link · span + time: rounding may misplace close times, which costs
        # the kernel a run to merge, never a wrong order (it orders by time and submission)
        low, high = float(t_in.min()), float(t_in.max())
        span = 2.0 * (high - low) + 1.0
        placed = np.argsort(paths[:, 0] * span + (t_in - low))
        self._path = np.concatenate([_pad(self._path, width), paths[placed]])
        self._id = np.concatenate([self._id, ids[placed]])
        self._t = np.concatenate([self._t, t_in[placed]])
        self._size = np.concatenate([self._size, size[placed]])
        self._sub = np.concatenate([self._sub, sub[placed]])
        self._hop = np.concatenate([self._hop, np.zeros(placed.size, dtype=np.int32)])


def _pad(paths: np.ndarray, width: int) -> np.ndarray:
    if paths.shape[1] == width:
        return paths
    out = np.full((paths.shape[0], width), -1, dtype=np.int32)
    out[:, : paths.shape[1]] = paths
    return out


@numba.njit(cache=True)
def _anything_new_dense(
    paths: np.ndarray, known: np.ndarray, used: np.ndarray
) -> bool:  # pragma: no cover - compiled
    """Whether ``paths`` use a link not in ``used`` or a feed not ``known[d, e]``."""
    n, width = paths.shape
    for i in range(n):
        previous = -1
        for h in range(width):
            d = paths[i, h]
            if d < 0:
                break
            if not used[d] or (previous >= 0 and not known[previous, d]):
                return True
            previous = d
    return False


@numba.njit(cache=True)
def _anything_new(
    paths: np.ndarray, edges: np.ndarray, used: np.ndarray, n_links: int
) -> bool:  # pragma: no cover - compiled
    """Whether ``paths`` use a link not in ``used`` or a feed not in the sorted ``edges``."""
    n, width = paths.shape
    for i in range(n):
        previous = -1
        for h in range(width):
            d = paths[i, h]
            if d < 0:
                break
            if not used[d]:
                return True
            if previous >= 0:
                code = previous * n_links + d
                k = np.searchsorted(edges, code)
                if k == edges.size or edges[k] != code:
                    return True
            previous = d
    return False


@numba.njit(cache=False, inline="always")
def _before(i: int, j: int, t: np.ndarray, sub: np.ndarray) -> bool:  # pragma: no cover
    """Whether message ``i`` reaches its link before ``j`` (ties: submitted before)."""
    return t[i] < t[j] or (t[i] == t[j] and sub[i] < sub[j])


@numba.njit(cache=True)
def _advance(
    order: np.ndarray,
    path: np.ndarray,
    hop: np.ndarray,
    t: np.ndarray,
    size: np.ndarray,
    sub: np.ndarray,
    end_s: float,
    free_at: np.ndarray,
    s_per_byte: np.ndarray,
    prop_s: np.ndarray,
    queueing: bool,
    measure_from_s: float,
    until_s: float,
    messages: np.ndarray,
    n_bytes: np.ndarray,
    busy_s: np.ndarray,
    last_t: np.ndarray,
    last_sub: np.ndarray,
) -> tuple[
    np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:  # pragma: no cover - compiled
    """One window: updates ``hop``, ``t`` (and the link arrays) in place.

    Returns ``done`` (per message), the number done, the done messages in
    completion order, the positive waits (each link's together, links in
    ``order``), the count of waits per link, the count of late crossings
    per link (served after a message that arrived later) and the first of
    them as ``(link, its arrival, the later arrival already served)``.
    """
    n, width = path.shape
    n_links = free_at.size
    # per link, a list (in the order they were put there) of the messages waiting there
    head = np.full(n_links, -1, dtype=np.int64)
    tail = np.full(n_links, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    exits = np.empty(n, dtype=np.int64)
    n_done = 0
    for i in range(n):
        h = hop[i]
        if h >= width or path[i, h] < 0:  # an empty path
            done[i] = True
            exits[n_done] = i
            n_done += 1
        else:
            d = path[i, h]
            if tail[d] == -1:
                head[d] = i
            else:
                nxt[tail[d]] = i
            tail[d] = i
    waits = np.empty(n * width, dtype=np.float64)
    wait_count = np.zeros(n_links, dtype=np.int64)
    n_waits = 0
    here = np.empty(n, dtype=np.int64)
    other = np.empty(n, dtype=np.int64)
    runs = np.empty(n + 1, dtype=np.int64)  # where each ascending run of ``here`` starts
    late = np.zeros(n_links, dtype=np.int64)
    first_late = np.full(3, np.nan)
    for r in range(order.size):
        d = order[r]
        # take the messages reaching d before end_s off its list, noting its ascending runs
        # (each feeding link delivers one: FIFO with a constant propagation keeps order)
        count = 0
        n_runs = 0
        keep_head = -1
        keep_tail = -1
        i = head[d]
        while i != -1:
            following = nxt[i]
            nxt[i] = -1
            if t[i] < end_s:
                if count == 0 or _before(i, here[count - 1], t, sub):
                    runs[n_runs] = count
                    n_runs += 1
                here[count] = i
                count += 1
            else:
                if keep_tail == -1:
                    keep_head = i
                else:
                    nxt[keep_tail] = i
                keep_tail = i
            i = following
        head[d] = keep_head
        tail[d] = keep_tail
        if count == 0:
            continue
        # natural merge sort by (arrival, submission): merge neighbouring runs until one is left
        served = here
        spare = other
        while n_runs > 1:
            runs[n_runs] = count
            merged = 0
            for j in range(0, n_runs, 2):
                lo = runs[j]
                hi = runs[j + 2] if j + 2 <= n_runs else count
                mid = runs[j + 1] if j + 1 < n_runs else hi
                a = lo
                b = mid
                for k in range(lo, hi):
                    if b >= hi or (a < mid and not _before(served[b], served[a], t, sub)):
                        spare[k] = served[a]
                        a += 1
                    else:
                        spare[k] = served[b]
                        b += 1
                runs[merged] = lo
                merged += 1
            n_runs = merged
            served, spare = spare, served
        # LinkState.cross, message by message in arrival order
        fa = free_at[d]
        spb = s_per_byte[d]
        pr = prop_s[d]
        for k in range(count):
            i = served[k]
            ti = t[i]
            if ti > last_t[d] or (ti == last_t[d] and sub[i] > last_sub[d]):
                last_t[d] = ti
                last_sub[d] = sub[i]
            else:  # it arrived before a message already served: FIFO broken
                if np.isnan(first_late[0]):
                    first_late[0] = d
                    first_late[1] = ti
                    first_late[2] = last_t[d]
                late[d] += 1
            tx = size[i] * spb
            start = fa
            if start <= ti or not queueing:
                start = ti
            end = start + tx
            fa = end
            if measure_from_s <= ti < until_s:
                messages[d] += 1
                n_bytes[d] += size[i]
                busy_s[d] += tx
                if start > ti:
                    waits[n_waits] = start - ti
                    n_waits += 1
                    wait_count[d] += 1
            t[i] = end + pr
            h = hop[i] + 1
            hop[i] = h
            if h >= width or path[i, h] < 0:
                done[i] = True
                exits[n_done] = i
                n_done += 1
            else:
                e = path[i, h]
                if tail[e] == -1:
                    head[e] = i
                else:
                    nxt[tail[e]] = i
                tail[e] = i
        free_at[d] = fa
    return done, n_done, exits, waits[:n_waits], wait_count, late, first_late
