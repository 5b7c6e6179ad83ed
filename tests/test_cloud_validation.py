"""Validation of :class:`avzone.cloud.Site` against queueing theory, within 3 %.

Every test sends Poisson arrivals through :meth:`Site.submit` (the path the
event evaluator takes) from a SimPy process, with arrival gaps, classes and
service times pre-drawn from a fixed seed; discards the first 2 % of the jobs
as warm-up (``measure_from_s`` = arrival of the first measured job); runs
until every job is served; and compares a mean over the measured jobs with a
closed form from Kleinrock, *Queueing Systems* vol. 1 (1975), REFERENCE.md
§9, Cobham (1954) or Jackson (1957).

The job counts make each tolerance at least 3 standard errors of the
estimate, so that passing means something. The standard error stated in each
docstring is the standard deviation of the relative error over 40 to 60
independent replications with other seeds, of the test's size or, where
stated, of a smaller size scaled by 1/√n (single-server FIFO queues by the
Lindley recursion and M/M/c by the Kiefer–Wolfowitz recursion, which Site
reproduces job for job, see tests/test_cloud_queueing.py; the priority queue
with Site itself). Each test also estimates the standard error of its own run
by batch means (30 batches) and fails if the tolerance is under 2.5 of those,
so a change that shortens the runs cannot silently make the tests
meaningless. Run with ``--log-cli-level=INFO`` to see the measured errors.
The whole file takes about 2 minutes on 2 cores.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator

import numpy as np
import pytest
import simpy

from avzone.cloud.distributions import Constant, Exponential, Lognormal, ServiceTime
from avzone.cloud.queueing import mg1_priority_waits_s, mg1_wait_s, mm1_wait_s, mmc_wait_s
from avzone.cloud.site import Site

log = logging.getLogger(__name__)

MEAN_SERVICE_S = 0.01  # 10 ms; service rate μ = 100 /s
MU = 1.0 / MEAN_SERVICE_S
WARMUP = 0.02  # fraction of the jobs discarded at the start
BATCHES = 30
MIN_STANDARD_ERRORS = 2.5


def _poisson_jobs(
    env: simpy.Environment,
    interarrival_s: np.ndarray,
    columns: tuple[np.ndarray, ...],
    submit: Callable[..., None],
) -> Generator[simpy.Event, object, None]:
    """Call ``submit(*row)`` for job i of ``columns`` ``interarrival_s[i]`` after job i − 1.

    The arrays are turned into lists a chunk at a time to save memory and time.
    """
    chunk = 1 << 16
    for lo in range(0, interarrival_s.size, chunk):
        gaps_s = interarrival_s[lo : lo + chunk].tolist()
        rows = zip(*(c[lo : lo + chunk].tolist() for c in columns), strict=True)
        for gap_s, row in zip(gaps_s, rows, strict=True):
            yield env.timeout(gap_s)
            submit(*row)


def _single_site(
    interarrival_s: np.ndarray, work_s: np.ndarray, servers: int, priority: np.ndarray | None = None
) -> Site:
    """Run all jobs through one fresh site to completion, measuring after the warm-up jobs."""
    env = simpy.Environment()
    # every job's wait is kept (the batch means need them), past the folding threshold too
    site = Site(env, "test", "edge", servers, exact_jobs=interarrival_s.size)
    if priority is None:
        env.process(_poisson_jobs(env, interarrival_s, (work_s,), site.submit))
    else:
        env.process(_poisson_jobs(env, interarrival_s, (work_s, priority), site.submit))
    env.run()
    site.measure_from_s = float(site.job_times_s()[0][int(WARMUP * interarrival_s.size)])
    return site


def _measured_waits_s(site: Site) -> np.ndarray:
    """Waits of the measured jobs, in arrival order, checking that every one was served."""
    waits_s = site.waits_s(site.env.now)
    n = site.job_times_s()[0].size
    assert waits_s.size == n - int(WARMUP * n)
    return waits_s


def _check_mean(what: str, values: np.ndarray, expected: float, tolerance: float) -> None:
    """Assert that the mean of ``values`` is within ``tolerance`` (relative) of ``expected``,
    and that the tolerance is at least 2.5 batch-means standard errors of that mean.
    """
    usable = values[: values.size - values.size % BATCHES]
    batch_means = usable.reshape(BATCHES, -1).mean(axis=1)
    error = float(values.mean()) / expected - 1.0
    standard_error = float(batch_means.std(ddof=1)) / math.sqrt(BATCHES) / expected
    log.info(
        "%s: relative error %+.2f %%, batch-means standard error %.2f %%, %d jobs",
        what,
        100 * error,
        100 * standard_error,
        values.size,
    )
    assert tolerance >= MIN_STANDARD_ERRORS * standard_error, (
        f"{what}: tolerance {tolerance:.1%} is under {MIN_STANDARD_ERRORS} standard errors "
        f"({standard_error:.2%}); use more jobs"
    )
    assert abs(error) <= tolerance, (
        f"{what}: mean {values.mean():.6g} vs closed form {expected:.6g}: "
        f"relative error {error:+.2%} (standard error {standard_error:.2%})"
    )


def _mean_wait_check(
    what: str, dist: ServiceTime, rho: float, n: int, seed: int, expected_s: float, servers: int = 1
) -> None:
    """Poisson arrivals at utilisation ``rho`` into ``servers`` servers with service ``dist``."""
    rng = np.random.default_rng(seed)
    lam = rho * servers / dist.mean_s
    interarrival_s = rng.exponential(1.0 / lam, n)
    work_s = dist.sample(rng, n)
    site = _single_site(interarrival_s, work_s, servers)
    _check_mean(what, _measured_waits_s(site), expected_s, 0.03)


# -- single queues -------------------------------------------------------------


@pytest.mark.parametrize(("rho", "n", "seed"), [(0.5, 500_000, 101), (0.9, 6_000_000, 102)])
def test_mm1_mean_wait(rho: float, n: int, seed: int) -> None:
    """M/M/1: W_q = ρ / (μ − λ) (Kleinrock vol. 1 §3.2; REFERENCE.md §9), within 3 %.

    Standard error of the mean wait: 0.85 % at ρ = 0.5 with 500 000 jobs, 0.95 %
    at ρ = 0.9 with 6 000 000 jobs (50 replications each).
    """
    lam = rho * MU
    dist = Exponential(MEAN_SERVICE_S)
    _mean_wait_check(f"M/M/1 ρ={rho}", dist, rho, n, seed, mm1_wait_s(lam, MU))


@pytest.mark.parametrize(("rho", "n", "seed"), [(0.5, 200_000, 201), (0.9, 3_000_000, 202)])
def test_md1_mean_wait(rho: float, n: int, seed: int) -> None:
    """M/D/1: W_q = ρ / (2 μ (1 − ρ)) (Pollaczek–Khinchine with E[S²] = 1/μ², Kleinrock
    vol. 1 ch. 5; REFERENCE.md §9), within 3 %.

    Standard error: 0.83 % at ρ = 0.5 with 200 000 jobs, 0.94 % at ρ = 0.9 with
    3 000 000 jobs (50 replications each).
    """
    lam = rho * MU
    dist = Constant(MEAN_SERVICE_S)
    expected_s = mg1_wait_s(lam, dist.mean_s, dist.second_moment_s2)
    assert expected_s == pytest.approx(rho / (2 * MU * (1 - rho)), rel=1e-12)
    _mean_wait_check(f"M/D/1 ρ={rho}", dist, rho, n, seed, expected_s)


@pytest.mark.parametrize(("rho", "n", "seed"), [(0.5, 300_000, 301), (0.9, 3_500_000, 302)])
def test_mg1_lognormal_mean_wait(rho: float, n: int, seed: int) -> None:
    """M/G/1 with lognormal service, cv 0.5: Pollaczek–Khinchine W_q = λ E[S²] / (2 (1 − ρ)),
    E[S²] = mean² (1 + cv²) (Kleinrock vol. 1 ch. 5; REFERENCE.md §9), within 3 %.

    Standard error: 0.75 % at ρ = 0.5 with 300 000 jobs; 0.95 % at ρ = 0.9 with
    3 500 000 jobs (1.12 % measured with 2 500 000; 50 replications each).
    """
    lam = rho * MU
    dist = Lognormal(MEAN_SERVICE_S, 0.5)
    expected_s = mg1_wait_s(lam, dist.mean_s, dist.second_moment_s2)
    _mean_wait_check(f"M/G/1 lognormal cv 0.5 ρ={rho}", dist, rho, n, seed, expected_s)


@pytest.mark.parametrize(("rho", "n", "seed"), [(0.5, 1_300_000, 401), (0.9, 8_000_000, 402)])
def test_mmc_mean_wait(rho: float, n: int, seed: int) -> None:
    """M/M/4: W_q = C(c, a) / (c μ − λ) with a = λ/μ and C Erlang's C formula (Kleinrock
    vol. 1 §3.5; REFERENCE.md §9), within 3 %.

    Most jobs do not wait at ρ = 0.5 (C(4, 2) = 0.17), which makes the mean
    noisier per job than in M/M/1. Standard error: 0.83 % at ρ = 0.5 with
    1 300 000 jobs (40 replications); 0.76 % at ρ = 0.9 with 8 000 000 jobs
    (1.53 % measured over 60 replications of 2 000 000).
    """
    c = 4
    lam = rho * c * MU
    dist = Exponential(MEAN_SERVICE_S)
    _mean_wait_check(f"M/M/4 ρ={rho}", dist, rho, n, seed, mmc_wait_s(lam, MU, c), servers=c)


# -- priorities ----------------------------------------------------------------


HIGH = Lognormal(0.5 * MEAN_SERVICE_S, 0.5)  # short control requests, served first
LOW = Exponential(MEAN_SERVICE_S)


@pytest.mark.parametrize(("rho", "n", "seed"), [(0.5, 600_000, 501), (0.9, 6_000_000, 502)])
def test_priority_mean_wait_per_class(rho: float, n: int, seed: int) -> None:
    """Non-preemptive priority M/G/1, two classes each bringing half the load: Cobham's
    W_k = W0 / ((1 − σ_{k−1}) (1 − σ_k)), W0 = Σ λ_i E[S_i²] / 2, σ_k = Σ_{i<=k} ρ_i
    (A. Cobham, Operations Research 2, 1954; Kleinrock vol. 2 ch. 3), per class.

    High class (priority 0): lognormal, mean 5 ms, cv 0.5; low class
    (priority 1): exponential, mean 10 ms; tolerance 3 % for each class. The low
    class at ρ = 0.9 needs the most jobs: its wait W0 / ((1 − 0.45) · 0.1) varies
    most. Standard errors (high, low): 0.61 % and 0.89 % at ρ = 0.5 with 600 000
    jobs; 0.16 % and 0.88 % at ρ = 0.9 with 6 000 000 jobs (0.40 % and 2.16 %
    measured with 1 000 000; 40 replications each, through Site).
    """
    rng = np.random.default_rng(seed)
    lams = np.array([rho / 2 / HIGH.mean_s, rho / 2 / LOW.mean_s])
    expected_s = mg1_priority_waits_s(
        lams, [HIGH.mean_s, LOW.mean_s], [HIGH.second_moment_s2, LOW.second_moment_s2]
    )
    interarrival_s = rng.exponential(1.0 / lams.sum(), n)
    priority = (rng.random(n) >= lams[0] / lams.sum()).astype(np.int64)
    low = priority == 1
    work_s = np.empty(n)
    work_s[~low] = HIGH.sample(rng, int(n - low.sum()))
    work_s[low] = LOW.sample(rng, int(low.sum()))
    site = _single_site(interarrival_s, work_s, 1, priority)
    waits_s = _measured_waits_s(site)
    measured = priority[int(WARMUP * n) :]
    _check_mean(f"priority ρ={rho} high", waits_s[measured == 0], expected_s[0], 0.03)
    _check_mean(f"priority ρ={rho} low", waits_s[measured == 1], expected_s[1], 0.03)


# -- networks ------------------------------------------------------------------


def test_tandem_sojourn_is_jackson() -> None:
    """Two one-server exponential sites in tandem, each job passed on by ``on_done``: the mean
    sojourn through both is 1/(μ1 − λ) + 1/(μ2 − λ) (J. R. Jackson, "Networks of waiting
    lines", Operations Research 5, 1957); by Burke's theorem (1956) the departures of an
    M/M/1 queue are Poisson, so site 2 is M/M/1 too and its mean wait is ρ2 / (μ2 − λ)
    (Kleinrock vol. 1 §3.2; REFERENCE.md §9). Each within 3 %.

    λ = 60 /s, μ1 = 100 /s, μ2 = 75 /s (ρ1 = 0.6, ρ2 = 0.8). Standard errors with
    1 500 000 jobs (50 replications): 0.58 % for the sojourn, 0.90 % for the wait at site 2.
    """
    lam, mu1, mu2, n = 60.0, 100.0, 75.0, 1_500_000
    rng = np.random.default_rng(601)
    interarrival_s = rng.exponential(1.0 / lam, n)
    work1_s = rng.exponential(1.0 / mu1, n)
    work2_s = rng.exponential(1.0 / mu2, n)
    env = simpy.Environment()
    site1 = Site(env, "first", "edge", 1, exact_jobs=n)
    site2 = Site(env, "second", "regional", 1, exact_jobs=n)

    def submit(w1_s: float, w2_s: float) -> None:
        site1.submit(w1_s, on_done=lambda _wait_s: site2.submit(w2_s))

    env.process(_poisson_jobs(env, interarrival_s, (work1_s, work2_s), submit))
    env.run()
    # FIFO keeps the order, so job i is entry i at both sites, arriving at 2 as it leaves 1.
    arrival1_s, _, end1_s = site1.job_times_s()
    arrival2_s, _, end2_s = site2.job_times_s()
    np.testing.assert_array_equal(arrival2_s, end1_s)
    first = int(WARMUP * n)
    site2.measure_from_s = float(arrival2_s[first])
    sojourn_s = end2_s[first:] - arrival1_s[first:]
    _check_mean("tandem sojourn", sojourn_s, 1 / (mu1 - lam) + 1 / (mu2 - lam), 0.03)
    _check_mean("tandem wait at site 2", _measured_waits_s(site2), mm1_wait_s(lam, mu2), 0.03)
