"""Service-time distributions of cloud requests, in seconds.

Small frozen objects in the style of Ciw: each knows its mean, variance and
second moment in closed form (for the queueing formulas of
:mod:`avzone.cloud.queueing`) and draws vectorised samples from a
``numpy.random.Generator`` passed in by the caller.

Example
-------
>>> import numpy as np
>>> d = make_distribution("lognormal", mean_s=0.02, cv=0.5)
>>> round(d.second_moment_s2, 6)  # mean² (1 + cv²)
0.0005
>>> d.sample(np.random.default_rng(1), 3).shape
(3,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

__all__ = [
    "DISTRIBUTIONS",
    "Constant",
    "Exponential",
    "Gamma",
    "Lognormal",
    "ServiceTime",
    "make_distribution",
]

DISTRIBUTIONS = ("constant", "exponential", "lognormal", "gamma")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_count(n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"sample size must be an integer >= 0, got {n!r}")


@dataclass(frozen=True)
class Constant:
    """Deterministic service time ``value_s`` (the D of M/D/1)."""

    value_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value_s) and self.value_s >= 0):
            raise ValueError(f"value_s must be a finite number >= 0, got {self.value_s!r}")

    @property
    def mean_s(self) -> float:
        """Mean service time, s."""
        return self.value_s

    @property
    def variance_s2(self) -> float:
        """Variance, s² (zero)."""
        return 0.0

    @property
    def second_moment_s2(self) -> float:
        """E[S²], s²."""
        return self.value_s**2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` service times, s (all equal; ``rng`` is not advanced)."""
        _check_count(n)
        return np.full(n, self.value_s, dtype=np.float64)


@dataclass(frozen=True)
class Exponential:
    """Exponential service time with mean ``mean_s`` (cv = 1; the M of M/M/1)."""

    mean_s: float

    def __post_init__(self) -> None:
        _check_positive("mean_s", self.mean_s)

    @property
    def variance_s2(self) -> float:
        """Variance, s² (mean²)."""
        return self.mean_s**2

    @property
    def second_moment_s2(self) -> float:
        """E[S²] = 2 mean², s²."""
        return 2.0 * self.mean_s**2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` independent service times, s."""
        _check_count(n)
        return rng.exponential(self.mean_s, n)


@dataclass(frozen=True)
class Lognormal:
    """Lognormal service time given by its mean ``mean_s`` and coefficient of variation ``cv``.

    ``S = exp(X)`` with ``X ~ Normal(log_mu, log_sigma²)``, where
    ``log_sigma² = ln(1 + cv²)`` and ``log_mu = ln(mean_s) − log_sigma² / 2``,
    so that ``E[S] = mean_s`` and ``sd(S) = cv · mean_s`` exactly.
    """

    mean_s: float
    cv: float

    def __post_init__(self) -> None:
        _check_positive("mean_s", self.mean_s)
        _check_positive("cv", self.cv)

    @property
    def log_sigma(self) -> float:
        """Standard deviation of ``ln S`` (dimensionless)."""
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def log_mu(self) -> float:
        """Mean of ``ln S`` (S in seconds)."""
        return math.log(self.mean_s) - 0.5 * math.log1p(self.cv**2)

    @property
    def variance_s2(self) -> float:
        """Variance, s² ((cv · mean)²)."""
        return (self.cv * self.mean_s) ** 2

    @property
    def second_moment_s2(self) -> float:
        """E[S²] = mean² (1 + cv²), s²."""
        return self.mean_s**2 * (1.0 + self.cv**2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` independent service times, s."""
        _check_count(n)
        return rng.lognormal(self.log_mu, self.log_sigma, n)


@dataclass(frozen=True)
class Gamma:
    """Gamma service time given by its mean ``mean_s`` and coefficient of variation ``cv``.

    Shape ``k = 1 / cv²`` and scale ``θ = mean_s · cv²`` (cv = 1 is exponential).
    """

    mean_s: float
    cv: float

    def __post_init__(self) -> None:
        _check_positive("mean_s", self.mean_s)
        _check_positive("cv", self.cv)

    @property
    def shape(self) -> float:
        """Shape parameter k (dimensionless)."""
        return 1.0 / self.cv**2

    @property
    def scale_s(self) -> float:
        """Scale parameter θ, s."""
        return self.mean_s * self.cv**2

    @property
    def variance_s2(self) -> float:
        """Variance, s² ((cv · mean)²)."""
        return (self.cv * self.mean_s) ** 2

    @property
    def second_moment_s2(self) -> float:
        """E[S²] = mean² (1 + cv²), s²."""
        return self.mean_s**2 * (1.0 + self.cv**2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` independent service times, s."""
        _check_count(n)
        return rng.gamma(self.shape, self.scale_s, n)


ServiceTime: TypeAlias = Constant | Exponential | Lognormal | Gamma
"""Any service-time distribution of this module."""


def make_distribution(dist: str, mean_s: float, cv: float | None) -> ServiceTime:
    """Build a service-time distribution from a scenario's ``dist``, mean and cv.

    Parameters
    ----------
    dist
        One of ``"constant"``, ``"exponential"``, ``"lognormal"``, ``"gamma"``.
    mean_s
        Mean service time, s (> 0; ``>= 0`` for ``"constant"``).
    cv
        Coefficient of variation (> 0), required for ``"lognormal"`` and
        ``"gamma"``; ignored for ``"constant"`` (cv 0) and ``"exponential"``
        (cv 1), so a scenario's default ``cv=0.0`` may be passed through.

    Raises
    ------
    ValueError
        Unknown ``dist``, a missing ``cv``, or a value out of range; the
        message names the value.

    Examples
    --------
    >>> make_distribution("gamma", 0.01, 2.0).shape
    0.25
    """
    if dist == "constant":
        return Constant(mean_s)
    if dist == "exponential":
        return Exponential(mean_s)
    if dist in ("lognormal", "gamma"):
        if cv is None:
            raise ValueError(f"{dist} service time needs a cv > 0, got cv=None")
        return Lognormal(mean_s, cv) if dist == "lognormal" else Gamma(mean_s, cv)
    raise ValueError(
        f"unknown service-time distribution {dist!r}; expected one of {', '.join(DISTRIBUTIONS)}"
    )
