"""Service-time distributions of cloud requests, in seconds.

Small frozen objects in the style of Ciw: each knows its mean, variance and
second moment in closed form (for the queueing formulas of
:mod:`avzone.cloud.queueing`) and draws vectorised samples from a
``numpy.random.Generator`` passed in by the caller.

Measured service times (:class:`Empirical`, resampled with replacement) are
read from a CSV file of milliseconds by :func:`avzone.cloud.samples.load_samples_ms`.

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
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

__all__ = [
    "DISTRIBUTIONS",
    "Constant",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "ServiceTime",
    "make_distribution",
]

DISTRIBUTIONS = ("constant", "exponential", "lognormal", "gamma", "empirical")


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


@dataclass(frozen=True, repr=False)
class Empirical:
    """Measured service times ``samples_s``, resampled with replacement (the bootstrap).

    Each draw is one of the samples, every sample equally likely, so the
    moments are those of the samples themselves: ``mean_s`` is their mean
    and ``variance_s2`` their variance with divisor N (``numpy.var``).

    Examples
    --------
    >>> d = Empirical((0.01, 0.02, 0.03, 0.06))
    >>> round(d.mean_s, 12), round(d.variance_s2, 12)
    (0.03, 0.00035)
    >>> d
    Empirical(<4 samples, mean 0.03 s>)
    """

    samples_s: tuple[float, ...]
    _values_s: np.ndarray = field(init=False, compare=False)

    def __post_init__(self) -> None:
        samples_s = tuple(self.samples_s)
        if not samples_s:
            raise ValueError("samples_s must hold at least one service time, got none")
        try:
            raw = np.asarray(samples_s)
        except ValueError:  # ragged, e.g. a list among the numbers
            raw = np.asarray(samples_s, dtype=object)
        if raw.ndim != 1 or raw.dtype.kind not in "iuf":  # strings, booleans, nested sequences
            kinds = int | float | np.integer | np.floating
            i = next(
                (
                    i
                    for i, x in enumerate(samples_s)
                    if isinstance(x, bool) or not isinstance(x, kinds)
                ),
                0,
            )
            raise ValueError(f"samples_s[{i}] must be a finite number >= 0, got {samples_s[i]!r}")
        values_s = raw.astype(np.float64)
        bad = ~(np.isfinite(values_s) & (values_s >= 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"samples_s[{i}] must be a finite number >= 0, got {samples_s[i]!r}")
        values_s.flags.writeable = False
        object.__setattr__(self, "samples_s", tuple(values_s.tolist()))
        object.__setattr__(self, "_values_s", values_s)

    def __repr__(self) -> str:
        return f"Empirical(<{len(self.samples_s)} samples, mean {self.mean_s:.6g} s>)"

    @property
    def mean_s(self) -> float:
        """Mean of the samples, s."""
        return float(np.mean(self._values_s))

    @property
    def variance_s2(self) -> float:
        """Variance of the samples (divisor N, as in ``numpy.var``), s²."""
        return float(np.var(self._values_s))

    @property
    def second_moment_s2(self) -> float:
        """E[S²], the mean of the squared samples, s²."""
        return float(np.mean(self._values_s**2))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` samples drawn independently with replacement, s."""
        _check_count(n)
        return rng.choice(self._values_s, n)


ServiceTime: TypeAlias = Constant | Exponential | Lognormal | Gamma | Empirical
"""Any service-time distribution of this module."""


def make_distribution(
    dist: str, mean_s: float, cv: float | None, samples_s: tuple[float, ...] | None = None
) -> ServiceTime:
    """Build a service-time distribution from a scenario's ``dist``, mean and cv.

    Parameters
    ----------
    dist
        One of ``"constant"``, ``"exponential"``, ``"lognormal"``, ``"gamma"``,
        ``"empirical"``.
    mean_s
        Mean service time, s (> 0; ``>= 0`` for ``"constant"``; ignored for
        ``"empirical"``, whose mean is that of its samples).
    cv
        Coefficient of variation (> 0), required for ``"lognormal"`` and
        ``"gamma"``; ignored for ``"constant"`` (cv 0), ``"exponential"``
        (cv 1) and ``"empirical"``, so a scenario's default ``cv=0.0`` may be
        passed through.
    samples_s
        Measured service times, s, required for ``"empirical"`` (e.g.
        :func:`avzone.cloud.samples.load_samples_ms` divided by 1000); ignored otherwise.

    Raises
    ------
    ValueError
        Unknown ``dist``, a missing ``cv`` or ``samples_s``, or a value out of
        range; the message names the value.

    Examples
    --------
    >>> make_distribution("gamma", 0.01, 2.0).shape
    0.25
    >>> make_distribution("empirical", 0.0, None, samples_s=(0.01, 0.03)).mean_s
    0.02
    """
    if dist == "constant":
        return Constant(mean_s)
    if dist == "exponential":
        return Exponential(mean_s)
    if dist in ("lognormal", "gamma"):
        if cv is None:
            raise ValueError(f"{dist} service time needs a cv > 0, got cv=None")
        return Lognormal(mean_s, cv) if dist == "lognormal" else Gamma(mean_s, cv)
    if dist == "empirical":
        if samples_s is None:
            raise ValueError("empirical service time needs samples_s, got samples_s=None")
        return Empirical(samples_s)
    raise ValueError(
        f"unknown service-time distribution {dist!r}; expected one of {', '.join(DISTRIBUTIONS)}"
    )
