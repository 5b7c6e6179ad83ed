"""Closed forms of single-queue waiting times, used to validate :class:`avzone.cloud.Site`.

Pure functions (REFERENCE.md §9; Kleinrock, *Queueing Systems* vol. 1, 1975,
§3.2 M/M/1, §3.5 M/M/m, ch. 5 M/G/1; Cobham 1954 for priority classes).
Rates are per second and the returned times are the mean wait in queue
``W_q`` in seconds, service excluded. Every function requires a stable queue
(utilisation ρ < 1) and raises ``ValueError`` naming the values otherwise.

Example
-------
>>> mm1_wait_s(lam=0.5, mu=1.0)
1.0
>>> md1_wait_s(lam=0.5, mu=1.0)
0.5
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "erlang_c",
    "lindley_waits_s",
    "md1_wait_s",
    "mg1_priority_waits_s",
    "mg1_wait_s",
    "mm1_wait_s",
    "mmc_wait_s",
]


def _check_stable(lam: float, service_rate: float, what: str) -> float:
    """Return ρ = lam / service_rate after checking 0 <= lam < service_rate."""
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"arrival rate lam must be a finite number >= 0 /s, got {lam!r}")
    if not (math.isfinite(service_rate) and service_rate > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {service_rate!r}")
    rho = lam / service_rate
    if rho >= 1:
        raise ValueError(
            f"unstable queue: utilisation {rho!r} >= 1 (lam={lam!r}, {what}={service_rate!r})"
        )
    return rho


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival to M/M/c has to wait (Erlang C).

    Computed through the Erlang B recursion ``B_k = a B_{k−1} / (k + a B_{k−1})``,
    ``B_0 = 1``, and ``C = c B_c / (c − a (1 − B_c))``, which is stable for
    large ``c`` (Erlang's C formula, Kleinrock vol. 1 §3.5).

    Parameters
    ----------
    c
        Number of servers (>= 1).
    a
        Offered load in erlangs, ``λ / μ`` (0 <= a < c).

    Examples
    --------
    >>> round(erlang_c(2, 1.0), 12)  # M/M/2 at ρ = 0.5: 2ρ² / (1 + ρ)
    0.333333333333
    """
    if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
        raise ValueError(f"number of servers c must be an integer >= 1, got {c!r}")
    if not (math.isfinite(a) and 0 <= a < c):
        raise ValueError(f"offered load a must satisfy 0 <= a < c={c}, got {a!r}")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mm1_wait_s(lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/1, ``W_q = ρ / (μ − λ)``, s.

    Parameters
    ----------
    lam
        Poisson arrival rate λ, 1/s.
    mu
        Service rate μ (1 / mean service time), 1/s.
    """
    rho = _check_stable(lam, mu, "service rate mu")
    return rho / (mu - lam)


def md1_wait_s(lam: float, mu: float) -> float:
    """Mean wait in queue of M/D/1, ``W_q = ρ / (2 μ (1 − ρ))``, s.

    Parameters
    ----------
    lam
        Poisson arrival rate λ, 1/s.
    mu
        Service rate μ (1 / the constant service time), 1/s.
    """
    rho = _check_stable(lam, mu, "service rate mu")
    return rho / (2.0 * mu * (1.0 - rho))


def mg1_wait_s(lam: float, mean_s: float, second_moment_s2: float) -> float:
    """Mean wait in queue of M/G/1 (Pollaczek–Khinchine), ``W_q = λ E[S²] / (2 (1 − ρ))``, s.

    Parameters
    ----------
    lam
        Poisson arrival rate λ, 1/s.
    mean_s
        Mean service time E[S], s.
    second_moment_s2
        Second moment of the service time E[S²], s² (>= E[S]²); e.g. a
        distribution's ``second_moment_s2``.
    """
    if not (math.isfinite(mean_s) and mean_s > 0):
        raise ValueError(f"mean service time mean_s must be a finite number > 0, got {mean_s!r}")
    rho = _check_stable(lam, 1.0 / mean_s, "service rate 1/mean_s")
    if not (math.isfinite(second_moment_s2) and second_moment_s2 >= mean_s**2 * (1 - 1e-12)):
        raise ValueError(
            f"second_moment_s2 must be >= mean_s² = {mean_s**2!r}, got {second_moment_s2!r}"
        )
    return lam * second_moment_s2 / (2.0 * (1.0 - rho))


def mg1_priority_waits_s(
    lams: list[float] | tuple[float, ...] | np.ndarray,
    means_s: list[float] | tuple[float, ...] | np.ndarray,
    second_moments_s2: list[float] | tuple[float, ...] | np.ndarray,
) -> np.ndarray:
    """Mean wait in queue of each class of a non-preemptive priority M/G/1 queue (Cobham), s.

    Class 0 is served first, FIFO within a class, and a job in service is
    never interrupted. With ``ρ_i = λ_i E[S_i]``, ``σ_k = Σ_{i<=k} ρ_i`` and
    the mean residual work ``W0 = Σ_i λ_i E[S_i²] / 2``,

        ``W_k = W0 / ((1 − σ_{k−1}) (1 − σ_k))``, ``σ_{−1} = 0``

    (A. Cobham, "Priority assignment in waiting line problems", Operations
    Research 2, 1954; Kleinrock vol. 2 ch. 3). One class gives
    Pollaczek–Khinchine.

    Parameters
    ----------
    lams
        Poisson arrival rate of each class, 1/s, highest priority first.
    means_s
        Mean service time of each class, s (> 0).
    second_moments_s2
        E[S²] of each class, s² (>= mean²).

    Examples
    --------
    >>> mg1_priority_waits_s([0.25, 0.25], [1.0, 1.0], [2.0, 2.0]).tolist()  # M/M/1, ρ = 0.5
    [0.6666666666666666, 1.3333333333333333]
    """
    lam = np.asarray(lams, dtype=np.float64)
    mean_s = np.asarray(means_s, dtype=np.float64)
    second_s2 = np.asarray(second_moments_s2, dtype=np.float64)
    if not (lam.ndim == 1 and lam.size >= 1 and lam.shape == mean_s.shape == second_s2.shape):
        raise ValueError(
            "lams, means_s and second_moments_s2 must be 1-D of equal length >= 1, "
            f"got lengths {lam.size}, {mean_s.size}, {second_s2.size}"
        )
    for k, (lam_k, mean_k, second_k) in enumerate(
        zip(lam.tolist(), mean_s.tolist(), second_s2.tolist(), strict=True)
    ):
        if not (math.isfinite(lam_k) and lam_k >= 0):
            raise ValueError(f"class {k}: arrival rate must be a finite number >= 0, got {lam_k!r}")
        if not (math.isfinite(mean_k) and mean_k > 0):
            raise ValueError(f"class {k}: mean_s must be a finite number > 0, got {mean_k!r}")
        if not (math.isfinite(second_k) and second_k >= mean_k**2 * (1 - 1e-12)):
            raise ValueError(
                f"class {k}: second moment must be >= mean_s² = {mean_k**2!r}, got {second_k!r}"
            )
    sigma = np.cumsum(lam * mean_s)
    if sigma[-1] >= 1:
        raise ValueError(f"unstable queue: utilisation {float(sigma[-1])!r} >= 1")
    w0_s = float(np.sum(lam * second_s2)) / 2.0
    sigma_before = np.concatenate(([0.0], sigma[:-1]))
    return w0_s / ((1.0 - sigma_before) * (1.0 - sigma))


def mmc_wait_s(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c, ``W_q = C(c, a) / (c μ − λ)`` with ``a = λ / μ``, s.

    Parameters
    ----------
    lam
        Poisson arrival rate λ, 1/s.
    mu
        Service rate of one server μ, 1/s.
    c
        Number of servers (>= 1).
    """
    _check_stable(lam, c * mu, "total service rate c*mu")
    return erlang_c(c, lam / mu) / (c * mu - lam)


def lindley_waits_s(interarrival_s: np.ndarray, service_s: np.ndarray) -> np.ndarray:
    """Waits in queue of every job of a FIFO single-server queue (Lindley recursion), s.

    ``W_0 = 0`` and ``W_{n+1} = max(0, W_n + S_n − A_{n+1})``, evaluated in
    closed form as ``W = C − min.accumulate(C)`` with ``C`` the running sum of
    ``S_n − A_{n+1}`` from a zero start (REFERENCE.md §9).

    Parameters
    ----------
    interarrival_s
        ``A``: gap before each arrival, s (``A[0]``, from time 0 to the first
        arrival, does not affect the waits).
    service_s
        ``S``: service time of each job, s; same length as ``interarrival_s``.

    Examples
    --------
    >>> lindley_waits_s(np.array([0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 2.0]
    """
    a = np.asarray(interarrival_s, dtype=np.float64)
    s = np.asarray(service_s, dtype=np.float64)
    if a.shape != s.shape or a.ndim != 1:
        raise ValueError(
            f"interarrival_s and service_s must be 1-D of equal length, got {a.shape} and {s.shape}"
        )
    if a.size == 0:
        return a.copy()
    c = np.cumsum(np.concatenate(([0.0], s[:-1] - a[1:])))
    return c - np.minimum.accumulate(c)
