"""A mergeable quantile sketch with a relative-accuracy guarantee (DDSketch), fed numpy arrays.

Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", PVLDB 12(12), 2019. With ``gamma = (1 + alpha) / (1 - alpha)``
a positive value ``x`` is counted in bucket ``i = ceil(log(x) / log(gamma))``, which
holds ``(gamma**(i - 1), gamma**i]``; every value of the bucket is represented by
``2 * gamma**i / (gamma + 1)``, within ``alpha`` of it relatively. Negative values are
counted the same way by magnitude, and zeros apart, exactly. The counts live in a
contiguous int64 array per sign, from the smallest to the largest key seen: about
``log(max / min) / (2 * alpha)`` buckets, 8 bytes each (23,000 buckets, 184 KiB, for ten
decades at ``alpha = 0.0005``), whatever the number of values.

Quantiles follow numpy's default definition (linear interpolation between order
statistics, "type 7"): the two order statistics around the position ``(n - 1) * q`` are
estimated each within ``alpha`` and interpolated, so the estimate is within ``alpha`` of
numpy's exact quantile, relatively, whenever those two have the same sign (always, for
non-negative data such as latencies). The smallest and largest values are kept exactly,
and estimates are clamped to them.

Two sketches with the same ``alpha`` merge by adding their counts: the result is the
sketch of the union, bucket for bucket.

Example
-------
>>> s = QuantileSketch(alpha=0.01)
>>> s.add(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
>>> s.count, s.min, s.max
(5, 1.0, 100.0)
>>> bool(abs(s.quantiles([0.5])[0] - 3.0) <= 0.01 * 3.0)
True
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["RELATIVE_ACCURACY", "QuantileSketch"]

RELATIVE_ACCURACY = 0.0005
"""The default ``alpha`` of :class:`QuantileSketch`: quantiles within 0.05 % relatively."""

_SLACK = 64
"""Spare buckets added on each side when a store grows, so it rarely grows."""


@numba.njit(cache=True, nogil=True)
def _count(
    keys: np.ndarray, counts: np.ndarray, offset: int
) -> None:  # pragma: no cover - compiled
    """``counts[key - offset] += 1`` for every key (a compiled loop: np.bincount is 5x slower)."""
    for key in keys:
        counts[key - offset] += 1


class _Store:
    """Counts per integer key, in a contiguous array starting at key ``offset``."""

    __slots__ = ("counts", "offset")

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.int64)
        self.offset = 0

    def copy(self) -> _Store:
        out = _Store()
        out.counts = self.counts.copy()
        out.offset = self.offset
        return out

    def _cover(self, lo: int, hi: int) -> None:
        """Grow so that keys ``lo`` to ``hi`` (inclusive) have a slot."""
        counts, offset = self.counts, self.offset
        if counts.size and offset <= lo and hi < offset + counts.size:
            return
        if counts.size:
            lo, hi = min(lo, offset), max(hi, offset + counts.size - 1)
        lo, hi = lo - _SLACK, hi + _SLACK
        grown = np.zeros(hi - lo + 1, dtype=np.int64)
        if counts.size:
            grown[offset - lo : offset - lo + counts.size] = counts
        self.counts, self.offset = grown, lo

    def add(self, keys: np.ndarray) -> None:
        if keys.size == 0:
            return
        self._cover(int(keys.min()), int(keys.max()))
        _count(keys, self.counts, self.offset)

    def merge(self, other: _Store) -> None:
        used = np.flatnonzero(other.counts)
        if used.size == 0:
            return
        lo, hi = other.offset + int(used[0]), other.offset + int(used[-1])
        self._cover(lo, hi)
        start = lo - self.offset
        self.counts[start : start + hi - lo + 1] += other.counts[used[0] : used[-1] + 1]


class QuantileSketch:
    """Counts of values in log-spaced buckets; any quantile within ``alpha`` relatively.

    Parameters
    ----------
    alpha
        Relative accuracy, in (0, 1): every value is represented within
        ``alpha · |value|`` (see the module text).

    Attributes
    ----------
    count
        Values added.
    min, max
        The smallest and largest value added (``inf`` and ``-inf`` while empty), exact.
    """

    __slots__ = (
        "_gamma",
        "_ln_gamma",
        "_negative",
        "_positive",
        "alpha",
        "count",
        "max",
        "min",
        "zeros",
    )

    def __init__(self, alpha: float = RELATIVE_ACCURACY) -> None:
        if not (isinstance(alpha, int | float) and 0 < alpha < 1):
            raise ValueError(f"sketch accuracy alpha must be in (0, 1), got {alpha!r}")
        self.alpha = float(alpha)
        self._gamma = (1 + self.alpha) / (1 - self.alpha)
        self._ln_gamma = math.log(self._gamma)
        self._positive = _Store()
        self._negative = _Store()
        self.zeros = 0
        self.count = 0
        self.min = math.inf
        self.max = -math.inf

    def __repr__(self) -> str:
        return f"QuantileSketch(alpha={self.alpha}, count={self.count})"

    @property
    def buckets(self) -> int:
        """Bucket slots held (both signs): what the sketch's size grows with, 8 bytes each."""
        return int(self._positive.counts.size + self._negative.counts.size)

    def _keys(self, magnitude: np.ndarray) -> np.ndarray:
        scaled = np.log(magnitude)
        scaled *= 1.0 / self._ln_gamma
        return np.ceil(scaled, out=scaled).astype(np.int64)

    def add(self, values: np.ndarray) -> None:
        """Count every value of ``values`` (finite floats; a 1-D array or anything numpy takes).

        Raises ValueError, adding nothing, when a value is NaN or infinite.
        """
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return
        lo, hi = float(x.min()), float(x.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            bad = float(x[~np.isfinite(x)][0])
            raise ValueError(f"a quantile sketch takes finite values only, got {bad!r}")
        if lo > 0:  # the common case: latencies, all positive
            self._positive.add(self._keys(x))
        else:
            self._positive.add(self._keys(x[x > 0]))
            self._negative.add(self._keys(-x[x < 0]))
            self.zeros += int(np.count_nonzero(x == 0))
        self.count += int(x.size)
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s counts: this becomes the sketch of both samples together."""
        if other.alpha != self.alpha:
            raise ValueError(
                f"cannot merge sketches of different accuracy: alpha {self.alpha} and {other.alpha}"
            )
        self._positive.merge(other._positive)
        self._negative.merge(other._negative)
        self.zeros += other.zeros
        self.count += other.count
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> QuantileSketch:
        """An independent copy (merging into it leaves this one as it is)."""
        out = QuantileSketch(self.alpha)
        out._positive = self._positive.copy()
        out._negative = self._negative.copy()
        out.zeros, out.count, out.min, out.max = self.zeros, self.count, self.min, self.max
        return out

    def bucket_counts(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The used buckets, for comparing sketches: ``(positive, negative, zeros)``, each
        store as a 2-row array of keys (ascending) and their counts, and the zero count."""
        rows = []
        for store in (self._positive, self._negative):
            used = np.flatnonzero(store.counts)
            rows.append(np.stack((used + store.offset, store.counts[used])))
        return rows[0], rows[1], self.zeros

    def _values_at(self, ranks: np.ndarray) -> np.ndarray:
        """The estimate of each order statistic (0-based rank), ascending order of values."""
        neg, pos = self._negative, self._positive
        counts = np.concatenate((neg.counts[::-1], [self.zeros], pos.counts))
        cumulative = np.cumsum(counts)
        slot = np.searchsorted(cumulative, ranks, side="right")
        n_neg = neg.counts.size
        middle = 2.0 / (self._gamma + 1.0)  # bucket i is represented by middle · gamma**i
        out = np.zeros(ranks.shape)
        below = slot < n_neg  # the negative store is reversed: most negative first
        key = neg.offset + (n_neg - 1 - slot[below])
        out[below] = -np.exp(key * self._ln_gamma) * middle
        above = slot > n_neg  # slot n_neg holds the zeros
        key = pos.offset + (slot[above] - n_neg - 1)
        out[above] = np.exp(key * self._ln_gamma) * middle
        out = np.clip(out, self.min, self.max)
        out[ranks == 0] = self.min
        out[ranks == self.count - 1] = self.max
        return out

    def quantiles(self, qs: np.ndarray | list[float]) -> np.ndarray:
        """The quantiles at probabilities ``qs`` (each in [0, 1]), as numpy's default
        (linear interpolation, "type 7") would give them within ``alpha``.

        Raises ValueError when the sketch is empty or a probability is outside [0, 1].
        """
        q = np.asarray(qs, dtype=np.float64)
        if self.count == 0:
            raise ValueError("quantiles of an empty sketch: no value was added")
        if not ((q >= 0) & (q <= 1)).all():
            raise ValueError(f"quantile probabilities must be in [0, 1], got {qs!r}")
        n = self.count
        position = (n - 1) * q
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        below, above = self._values_at(lo), self._values_at(hi)
        return below + (position - lo) * (above - below)
