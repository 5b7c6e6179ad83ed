"""Buffered random draws: numpy's speed for scalar use in SimPy processes.

Calling a numpy Generator once per message costs microseconds; drawing blocks
and handing them out one by one keeps the draws identical for a given seed
while costing a list index.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["N_STREAMS", "Stream", "run_seeds"]


class Stream:
    """Hand out values of ``draw(rng, block)`` one at a time.

    Examples
    --------
    >>> s = Stream(np.random.default_rng(1), lambda rng, n: rng.random(n), block=4)
    >>> a = [s() for _ in range(6)]
    >>> b = np.random.default_rng(1).random(8)[:6].tolist()
    >>> a == b
    True
    """

    __slots__ = ("_array", "_block", "_buffer", "_draw", "_next", "_rng")

    def __init__(
        self,
        rng: np.random.Generator,
        draw: Callable[[np.random.Generator, int], np.ndarray],
        block: int = 8192,
    ) -> None:
        self._rng = rng
        self._draw = draw
        self._block = block
        self._array = np.empty(0)  # the current block
        self._buffer: list[float] | None = []  # the same as a list, made on the first call
        self._next = 0

    def _refill(self) -> None:
        self._array = np.asarray(self._draw(self._rng, self._block), dtype=np.float64)
        self._buffer = None
        self._next = 0

    def __call__(self) -> float:
        if self._next == self._array.size:
            self._refill()
        if self._buffer is None:
            self._buffer = self._array.tolist()
        value = self._buffer[self._next]
        self._next += 1
        return value

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` values, as ``n`` calls would give them.

        >>> s, t = (Stream(np.random.default_rng(2), lambda g, n: g.random(n), block=3) for _ in "st")
        >>> s.take(7).tolist() == [t() for _ in range(7)]
        True
        """
        out = np.empty(n)
        filled = 0
        while filled < n:
            if self._next == self._array.size:
                self._refill()
            part = min(n - filled, self._array.size - self._next)
            out[filled : filled + part] = self._array[self._next : self._next + part]
            self._next += part
            filled += part
        return out


N_STREAMS = 8
"""Independent streams of a run: 0 placement, 1 demand, 2 signal waits, 3 losses,
4 phases and start times, 5 HD-map changes, 6 service times, 7 spare."""


def run_seeds(seed: int) -> list[np.random.SeedSequence]:
    """The run's independent seed sequences, spawned once from the scenario seed."""
    return np.random.SeedSequence(seed).spawn(N_STREAMS)
