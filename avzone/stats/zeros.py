"""Quantiles of a sample that is mostly zeros, without building it.

A link's waits are kept only when positive (a message that finds the link free waits 0),
and the summary gives the 99th percentile over all its messages: millions of zeros and
a few waits. :func:`quantile_with_zeros` computes it from the positive values alone,
bit for bit as ``np.quantile`` does on the whole sample (linear interpolation between
order statistics at position ``(n - 1) · q``, then numpy's two-sided lerp).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["quantile_with_zeros"]


def quantile_with_zeros(positive_sorted: np.ndarray, n: int, q: float) -> float:
    """The ``q``-quantile of ``n - len(positive_sorted)`` zeros and ``positive_sorted``.

    Parameters
    ----------
    positive_sorted
        The values other than zero, ascending (at most ``n``; all >= 0).
    n
        The size of the whole sample (>= 1).
    q
        The probability, in [0, 1].

    Examples
    --------
    >>> quantile_with_zeros(np.array([2.0, 4.0]), 5, 0.9)
    3.2
    >>> float(np.quantile([0.0, 0.0, 0.0, 2.0, 4.0], 0.9))
    3.2
    """
    k = positive_sorted.size
    if not n >= 1 or k > n:
        raise ValueError(f"need 1 <= n and at most n positive values, got n={n}, {k} values")
    if not 0 <= q <= 1:
        raise ValueError(f"quantile probability must be in [0, 1], got {q!r}")
    zeros = n - k

    def at(i: int) -> float:
        return 0.0 if i < zeros else float(positive_sorted[i - zeros])

    position = (n - 1) * q
    if position >= n - 1:
        return at(n - 1)
    below = math.floor(position)
    t = position - below
    a, b = at(below), at(below + 1)
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
