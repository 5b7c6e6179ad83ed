"""Per-key step functions of time, logged as a run goes and read back in bulk.

The batch evaluator needs, for many (vehicle, time) pairs at once, the state
a vehicle was in at that time: which edge it was driving and since when, or
whether its map was stale. Those states change in SimPy (a vehicle enters an
edge, a map turns stale) and are logged here as they change: an entry
``(key, t, values…)`` means "from ``t`` on, until the key's next entry". A
look-up gives the key's last entry at or before each time.

Look-ups only ask about the current window (times at or after the last
:meth:`StepLog.advance`), so each key's entries before the window fold into
one index per key (``current``) and a look-up only searches the entries
logged since — a few per key — rather than the whole run's log.

Example: vehicle 7 enters edges at 0 s and 5 s, vehicle 2 at 1 s.

>>> log = StepLog(edge="q")
>>> log.append(7, 0.0, edge=10); log.append(2, 1.0, edge=30); log.append(7, 5.0, edge=11)
>>> log.find(np.array([7, 7, 2, 2]), np.array([4.9, 5.0, 0.5, 3.0])).tolist()
[0, 2, -1, 1]
>>> log.advance()          # a window ends at 6 s
>>> log.append(7, 8.0, edge=12)
>>> log["edge"][log.find(np.array([7, 7, 2]), np.array([7.0, 8.0, 9.0]))].tolist()
[11, 12, 30]
"""

from __future__ import annotations

from array import array
from typing import Any

import numba
import numpy as np

__all__ = ["StepLog"]


class StepLog:
    """Entries ``(key, t, columns…)`` appended in time order; look-ups by (key, time).

    ``columns``: name → array typecode (``"q"`` int64, ``"d"`` float64, ``"b"`` int8).
    """

    def __init__(self, **columns: str) -> None:
        self.key = array("q")
        self.t = array("d")
        self.columns = {name: array(code) for name, code in columns.items()}
        self._current = np.full(1024, -1, dtype=np.int64)  # key → its last entry before the window
        self._seen = 0  # entries before this were folded into ``_current``

    def append(self, key: int, t: float, **values: Any) -> None:
        """Log that ``key`` takes ``values`` from ``t`` on (``t`` not before its last entry)."""
        self.key.append(key)
        self.t.append(t)
        for name, column in self.columns.items():
            column.append(values[name])

    def __len__(self) -> int:
        return len(self.key)

    def __getitem__(self, name: str) -> np.ndarray:
        """A column as an array (a view: take what you need before appending again)."""
        column = self.columns[name]
        dtype = {"q": np.int64, "d": np.float64, "b": np.int8}[column.typecode]
        return np.frombuffer(column, dtype=dtype) if len(column) else np.empty(0, dtype)

    def find(self, key: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Index of each key's last entry at or before each time (−1: none).

        Times must be at or after the last :meth:`advance`.
        """
        n_current = self._current.size
        found = np.full(key.size, -1, dtype=np.int64)
        inside = key < n_current
        found[inside] = self._current[key[inside]]
        if len(self.key) == self._seen or key.size == 0:
            return found
        new_key = np.frombuffer(self.key, dtype=np.int64)[self._seen :]
        new_t = np.frombuffer(self.t, dtype=np.float64)[self._seen :]
        _find_new(
            np.ascontiguousarray(key, np.int64),
            np.ascontiguousarray(t_s, np.float64),
            new_key,
            new_t,
            self._seen,
            found,
        )
        return found

    def advance(self) -> None:
        """A window ends: fold each key's entries so far into its latest one."""
        keys = np.frombuffer(self.key, dtype=np.int64)[self._seen :]
        if keys.size:
            top = int(keys.max())
            if top >= self._current.size:
                grown = np.full(max(2 * self._current.size, top + 1), -1, dtype=np.int64)
                grown[: self._current.size] = self._current
                self._current = grown
            # the last entry per key: the first in the reversed order
            unique, first_reversed = np.unique(keys[::-1], return_index=True)
            self._current[unique] = self._seen + keys.size - 1 - first_reversed
        self._seen = len(self.key)


@numba.njit(cache=True)
def _find_new(
    key: np.ndarray,
    t_s: np.ndarray,
    new_key: np.ndarray,
    new_t: np.ndarray,
    seen: int,
    found: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Set ``found[j]`` to ``seen + i`` for the last new entry ``i`` of ``key[j]`` at or
    before ``t_s[j]`` (left as it is when there is none).

    The new entries are threaded into one list per key in log (= time) order, so each
    look-up walks only its key's few entries of the window: O(queries + entries).
    """
    top = -1
    for k in new_key:
        top = max(top, k)
    head = np.full(top + 1, -1, dtype=np.int64)
    following = np.empty(new_key.size, dtype=np.int64)
    for i in range(new_key.size - 1, -1, -1):
        k = new_key[i]
        following[i] = head[k]
        head[k] = i
    for j in range(key.size):
        k = key[j]
        if k < 0 or k > top:
            continue
        i = head[k]
        while i >= 0 and new_t[i] <= t_s[j]:
            found[j] = seen + i
            i = following[i]
