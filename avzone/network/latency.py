"""Per-hop latency models: pure functions in SI units (seconds, bits, metres).

These are the hop models both flow evaluators call. REFERENCE.md §7: fibre
propagation ≈ 4.9 µs/km (group index 1.467), rounded to 5 µs/km.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["FIBRE_S_PER_M", "access_s", "fibre_s", "transmission_s"]

FIBRE_S_PER_M = 5e-9
"""Propagation delay in optical fibre: 5 µs per km (REFERENCE.md §7)."""


def transmission_s(size_bytes: ArrayLike, rate_bps: float) -> np.ndarray:
    """Serialisation time of ``size_bytes`` at ``rate_bps``: 8·size / rate.

    Examples
    --------
    >>> float(transmission_s(1250, 10e6))
    0.001
    """
    return np.asarray(size_bytes, dtype=float) * 8.0 / rate_bps


def access_s(size_bytes: ArrayLike, latency_s: float, rate_bps: float) -> np.ndarray:
    """One radio access hop: a fixed air-interface latency plus serialisation."""
    return latency_s + transmission_s(size_bytes, rate_bps)


def fibre_s(length_m: ArrayLike) -> np.ndarray:
    """Propagation over ``length_m`` of fibre.

    Examples
    --------
    >>> float(fibre_s(25_000.0))  # 25 km
    0.000125
    """
    return np.asarray(length_m, dtype=float) * FIBRE_S_PER_M
