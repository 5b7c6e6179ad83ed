"""A recorded series of values: exact while small, a quantile sketch past a threshold.

A run records one value per delivered message and stage (latency, wait, ...): 150
million messages make gigabytes of float64. A :class:`Series` keeps every value up to
:data:`EXACT_VALUES` of them, and its statistics are then numpy's on those values, bit
for bit. Past that it folds them into a :class:`~avzone.stats.sketch.QuantileSketch`
(quantiles within ``alpha`` relatively, :data:`~avzone.stats.sketch.RELATIVE_ACCURACY`
by default) and keeps the count, the sum, the smallest and the largest value exactly
(the sum up to floating-point rounding, compensated); its memory no longer grows with
the number of values. The values above ``above_s`` (a deadline) are counted exactly as
they come, folded or not.

Example
-------
>>> s = Series(above_s=2.0, exact_values=4)
>>> s.extend(np.array([0.5, 1.0, 1.5]))
>>> s.append(3.0)
>>> len(s), s.exact, s.above, s.max(scale=1000)
(4, True, 1, 3000.0)
>>> s.append(2.0)  # a fifth value: folded
>>> s.exact, len(s), s.mean(), s.min(), s.above
(False, 5, 1.6, 0.5, 1)
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import numpy as np

from avzone.stats.sketch import RELATIVE_ACCURACY, QuantileSketch

__all__ = ["EXACT_VALUES", "Series"]

EXACT_VALUES = 2**22
"""Values a :class:`Series` keeps exactly (4,194,304: 32 MiB of float64) before it folds
them into a sketch. Every shipped scenario's flows stay below it except etown-peak's
hour and yizhuang-real-1800 (docs/outputs.md, "Bounded statistics")."""

_CHUNK = 2**16
"""Once folded, values are buffered and folded this many at a time (512 KiB)."""

_SLICE = 2**20
"""Values folded into the sketch at once (bounds its temporary arrays to 8 MiB each)."""


class Series:
    """Values (e.g. latencies, s) appended one at a time or as arrays.

    Values must be finite (checked when they are folded into the sketch).

    Parameters
    ----------
    above_s
        Values strictly greater than this are counted in :attr:`above` as they are
        recorded (the deadline; ``inf``: none counted).
    exact_values
        The series keeps at most this many values exactly, then folds (>= 0;
        default :data:`EXACT_VALUES`).
    alpha
        The relative accuracy of the sketch once folded.

    Attributes
    ----------
    above
        Values recorded strictly greater than ``above_s``: exact, folded or not.
    """

    __slots__ = (
        "_alpha",
        "_carry",
        "_limit",
        "_sketch",
        "_sum",
        "_values",
        "above",
        "above_s",
        "exact_values",
    )

    def __init__(
        self,
        above_s: float = math.inf,
        *,
        exact_values: int | None = None,
        alpha: float = RELATIVE_ACCURACY,
    ) -> None:
        if exact_values is None:
            exact_values = EXACT_VALUES  # read now: tests may lower it
        if isinstance(exact_values, bool) or not isinstance(exact_values, int) or exact_values < 0:
            raise ValueError(f"exact_values must be an integer >= 0, got {exact_values!r}")
        QuantileSketch(alpha)  # checks alpha now rather than when folding
        self.above_s = above_s
        self.above = 0
        self.exact_values = exact_values
        self._alpha = alpha
        self._values = array("d")  # every value while exact; then the values not yet folded
        self._limit = exact_values
        self._sketch: QuantileSketch | None = None
        self._sum = 0.0  # of the folded values, with its compensation (Neumaier)
        self._carry = 0.0

    @classmethod
    def of(cls, values: Any, above_s: float = math.inf) -> Series:
        """A series holding ``values`` (anything numpy takes as a 1-D float array)."""
        out = cls(above_s)
        out.extend(np.asarray(values, dtype=np.float64))
        return out

    def __repr__(self) -> str:
        kind = "exact" if self.exact else f"folded, alpha={self._alpha}"
        return f"Series({len(self)} values, {kind})"

    def __len__(self) -> int:
        folded = self._sketch.count if self._sketch is not None else 0
        return folded + len(self._values)

    @property
    def exact(self) -> bool:
        """Whether every value is still kept (statistics exactly numpy's)."""
        return self._sketch is None

    def append(self, value: float) -> None:
        """Record one value."""
        self._values.append(value)
        if value > self.above_s:
            self.above += 1
        if len(self._values) > self._limit:
            self._fold()

    def extend(self, values: np.ndarray) -> None:
        """Record every value of a 1-D array, in order."""
        x = np.ascontiguousarray(values, dtype=np.float64).ravel()
        self.above += int(np.count_nonzero(x > self.above_s))
        if len(self._values) + x.size <= self._limit:
            self._values.frombytes(x.tobytes())
            return
        self._fold()  # past the limit: into the sketch, a slice at a time
        if x.size <= self._limit:
            self._values.frombytes(x.tobytes())
        else:
            for lo in range(0, x.size, _SLICE):
                self._fold_values(x[lo : lo + _SLICE])

    def _fold(self) -> None:
        """Fold the buffered values into the sketch (the first time: all the values)."""
        if self._sketch is None:
            self._sketch = QuantileSketch(self._alpha)
        if len(self._values):
            buffered = np.frombuffer(self._values, dtype=np.float64)
            for lo in range(0, buffered.size, _SLICE):
                self._fold_values(buffered[lo : lo + _SLICE])
            del buffered  # releases the buffer
            self._values = array("d")
        self._limit = _CHUNK

    def _fold_values(self, x: np.ndarray) -> None:
        if self._sketch is None:  # pragma: no cover - _fold makes it first
            raise RuntimeError("series: folding values before the sketch exists")
        self._sketch.add(x)  # checks that every value is finite
        part = float(x.sum())
        total = self._sum + part
        if abs(self._sum) >= abs(part):
            self._carry += (self._sum - total) + part
        else:
            self._carry += (part - total) + self._sum
        self._sum = total

    def _folded(self) -> QuantileSketch:
        """The sketch with every value folded in (once folded)."""
        self._fold()
        if self._sketch is None:  # pragma: no cover - called only once folded
            raise RuntimeError("series: the sketch of an exact series")
        return self._sketch

    def _scaled(self, scale: float) -> np.ndarray | None:
        """Every value times ``scale`` while exact, else None; checks ``scale`` and that
        there is a value."""
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        if len(self) == 0:
            raise ValueError("statistics of an empty series: no value was recorded")
        return np.frombuffer(self._values, dtype=np.float64) * scale if self.exact else None

    def to_array(self) -> np.ndarray:
        """A copy of every value in recording order; only while :attr:`exact`."""
        if not self.exact:
            raise ValueError(
                f"the series holds {len(self)} values, folded into a sketch past "
                f"{self.exact_values}: only its statistics remain"
            )
        return np.array(self._values, dtype=np.float64)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(series)``: :meth:`to_array` (ValueError once folded)."""
        values = self.to_array()
        return values if dtype is None else values.astype(dtype)

    def sum(self) -> float:
        """The sum of the values (0.0 when empty)."""
        if self.exact:
            return float(np.frombuffer(self._values, dtype=np.float64).sum())
        self._fold()
        return self._sum + self._carry

    def mean(self, scale: float = 1.0) -> float:
        """The mean of ``value · scale``; exactly numpy's while :attr:`exact`."""
        values = self._scaled(scale)
        if values is not None:
            return float(values.mean())
        return (self.sum() / len(self)) * scale

    def min(self, scale: float = 1.0) -> float:
        """The smallest ``value · scale`` (exact, folded or not)."""
        values = self._scaled(scale)
        return float(values.min()) if values is not None else self._folded().min * scale

    def max(self, scale: float = 1.0) -> float:
        """The largest ``value · scale`` (exact, folded or not)."""
        values = self._scaled(scale)
        return float(values.max()) if values is not None else self._folded().max * scale

    def quantiles(self, qs: np.ndarray | list[float], scale: float = 1.0) -> np.ndarray:
        """Quantiles of ``value · scale`` at probabilities ``qs`` in [0, 1], by linear
        interpolation (numpy's default): ``np.quantile`` itself while :attr:`exact`,
        then within ``alpha`` relatively (see :mod:`avzone.stats.sketch`).

        ``scale`` multiplies before the statistic, so that ``quantiles(q, 1000)`` is
        bit for bit ``np.quantile(values * 1000, q)`` (ms from s) while exact.
        """
        values = self._scaled(scale)
        if values is not None:
            return np.asarray(np.quantile(values, qs), dtype=np.float64)
        return self._folded().quantiles(qs) * scale

    def sketch(self) -> QuantileSketch:
        """A sketch of every value (a copy: a new one while :attr:`exact`), e.g. to merge."""
        if self.exact:
            out = QuantileSketch(self._alpha)
            out.add(np.frombuffer(self._values, dtype=np.float64))
            return out
        return self._folded().copy()
