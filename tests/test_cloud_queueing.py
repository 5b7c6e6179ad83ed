"""Closed forms of avzone.cloud.queueing, and Site against exact recursions.

Mean waits in queue ``W_q`` from Kleinrock, *Queueing Systems* vol. 1 (1975)
and REFERENCE.md §9; Site job by job against the Lindley (one server) and
Kiefer–Wolfowitz (c servers) recursions. The statistical comparisons of
simulated mean waits with the closed forms are in tests/test_cloud_validation.py.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Generator

import numpy as np
import pytest
import simpy

from avzone.cloud.queueing import (
    erlang_c,
    lindley_waits_s,
    md1_wait_s,
    mg1_priority_waits_s,
    mg1_wait_s,
    mm1_wait_s,
    mmc_wait_s,
)
from avzone.cloud.site import Site

MEAN_SERVICE_S = 0.01  # 10 ms, a typical edge inference; service rate μ = 100 /s
MU = 1.0 / MEAN_SERVICE_S
WARMUP = 0.02


def _arrivals(
    env: simpy.Environment,
    site: Site,
    interarrival_s: np.ndarray,
    work_s: np.ndarray,
    via_process: bool,
) -> Generator[simpy.Event, object, None]:
    """Send job i to ``site`` ``interarrival_s[i]`` after job i − 1 (chunked to save memory).

    ``via_process``: through :meth:`Site.serve` in a process per job; else
    through :meth:`Site.submit`, the path the event evaluator takes.
    """
    chunk = 1 << 16
    for lo in range(0, interarrival_s.size, chunk):
        gaps_s = interarrival_s[lo : lo + chunk].tolist()
        works_s = work_s[lo : lo + chunk].tolist()
        for gap_s, w_s in zip(gaps_s, works_s, strict=True):
            yield env.timeout(gap_s)
            if via_process:
                env.process(site.serve(w_s))
            else:
                site.submit(w_s)


def _simulate(
    interarrival_s: np.ndarray, work_s: np.ndarray, servers: int, via_process: bool = False
) -> Site:
    """Run all jobs through a fresh site to completion; measure after the warm-up jobs."""
    env = simpy.Environment()
    site = Site(env, "test", "edge", servers)
    # Arrival time of the first measured job, summed in the order env.now is.
    site.measure_from_s = float(np.cumsum(interarrival_s)[int(WARMUP * interarrival_s.size)])
    env.process(_arrivals(env, site, interarrival_s, work_s, via_process))
    env.run()
    return site


# -- closed forms ------------------------------------------------------------


def test_erlang_c_known_values() -> None:
    """C(1, a) = a (M/M/1 waits with probability ρ); C(2, 1) = 2ρ²/(1 + ρ) = 1/3 at ρ = 0.5."""
    assert erlang_c(1, 0.3) == pytest.approx(0.3, rel=1e-12)
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)
    assert erlang_c(4, 0.0) == 0.0


@pytest.mark.parametrize(("c", "a"), [(4, 3.2), (10, 7.5), (50, 45.0)])
def test_erlang_c_matches_textbook_sum(c: int, a: float) -> None:
    """C(c, a) = (aᶜ/c!) (c/(c − a)) / (Σ_{k<c} aᵏ/k! + (aᶜ/c!) c/(c − a)).

    Erlang's C formula as printed in Kleinrock vol. 1 §3.5.
    """
    top = a**c / math.factorial(c) * c / (c - a)
    expected = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    assert erlang_c(c, a) == pytest.approx(expected, rel=1e-10)


def test_closed_forms_agree_where_they_overlap() -> None:
    """M/M/c with c = 1 is M/M/1; P–K with E[S²] = 2/μ² is M/M/1 and with 1/μ² is M/D/1."""
    lam, mu = 70.0, 100.0
    assert mm1_wait_s(lam, mu) == pytest.approx(0.7 / 30.0, rel=1e-12)
    assert mmc_wait_s(lam, mu, 1) == pytest.approx(mm1_wait_s(lam, mu), rel=1e-12)
    assert mg1_wait_s(lam, 1 / mu, 2 / mu**2) == pytest.approx(mm1_wait_s(lam, mu), rel=1e-12)
    assert mg1_wait_s(lam, 1 / mu, 1 / mu**2) == pytest.approx(md1_wait_s(lam, mu), rel=1e-12)
    assert md1_wait_s(lam, mu) == pytest.approx(mm1_wait_s(lam, mu) / 2, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: mm1_wait_s(100.0, 100.0), "utilisation 1.0"),
        (lambda: md1_wait_s(-1.0, 1.0), "-1.0"),
        (lambda: mmc_wait_s(9.0, 2.0, 4), "utilisation 1.125"),
        (lambda: mg1_wait_s(1.0, 0.5, 0.1), "got 0.1"),
        (lambda: erlang_c(0, 0.5), "got 0"),
        (lambda: erlang_c(2, 2.5), "got 2.5"),
        (lambda: mg1_priority_waits_s([50.0, 60.0], [0.01, 0.01], [2e-4, 2e-4]), "1.1"),
        (lambda: mg1_priority_waits_s([1.0], [0.01, 0.02], [2e-4, 2e-4]), "lengths 1, 2, 2"),
        (lambda: mg1_priority_waits_s([1.0, -1.0], [0.1, 0.1], [0.1, 0.1]), "class 1"),
        (lambda: mg1_priority_waits_s([1.0], [0.1], [0.001]), "got 0.001"),
    ],
)
def test_closed_forms_reject_bad_input(call: Callable[[], float], text: str) -> None:
    """Unstable or malformed queues raise ValueError naming the values."""
    with pytest.raises(ValueError, match=re.escape(text)):
        call()


def test_priority_one_class_is_pollaczek_khinchine() -> None:
    """With one class Cobham's W_0 = W0 / (1 − ρ) is the P–K mean wait."""
    waits_s = mg1_priority_waits_s([70.0], [0.01], [1.5e-4])
    assert waits_s.tolist() == [pytest.approx(mg1_wait_s(70.0, 0.01, 1.5e-4), rel=1e-12)]


def test_priority_classes_conserve_work() -> None:
    """Kleinrock's conservation law for a non-preemptive work-conserving M/G/1 queue:
    Σ ρ_k W_k = ρ W0 / (1 − ρ), the same as without priorities (Kleinrock vol. 2 ch. 3).
    Also Cobham's values by hand for two classes of ρ_k = 0.25 with E[S²] = 2: W0 = 0.5,
    W_1 = 0.5 / 0.75, W_2 = 0.5 / (0.75 · 0.5).
    """
    lams, means_s, second_s2 = [30.0, 20.0, 10.0], [0.005, 0.01, 0.02], [5e-5, 3e-4, 4e-4]
    waits_s = mg1_priority_waits_s(lams, means_s, second_s2)
    rhos = np.array(lams) * np.array(means_s)
    w0_s = float(np.dot(lams, second_s2)) / 2
    assert float(np.dot(rhos, waits_s)) == pytest.approx(
        rhos.sum() * w0_s / (1 - rhos.sum()), rel=1e-12
    )
    assert (np.diff(waits_s) > 0).all()
    hand_s = mg1_priority_waits_s([0.25, 0.25], [1.0, 1.0], [2.0, 2.0])
    np.testing.assert_allclose(hand_s, [0.5 / 0.75, 0.5 / 0.375], rtol=1e-12)


def test_lindley_hand_case() -> None:
    """Arrivals at 0, 0.5, 4 with services 2, 1, 1: waits 0, 1.5, 0."""
    waits_s = lindley_waits_s(np.array([0.0, 0.5, 3.5]), np.array([2.0, 1.0, 1.0]))
    np.testing.assert_array_equal(waits_s, [0.0, 1.5, 0.0])


# -- Site against the closed forms -------------------------------------------


@pytest.mark.parametrize("via_process", [True, False], ids=["serve", "submit"])
def test_single_server_site_matches_lindley_exactly(via_process: bool) -> None:
    """A one-server Site is the FIFO queue of the Lindley recursion, job by job,
    whether jobs come through ``serve`` or ``submit``.

    W_{n+1} = max(0, W_n + S_n − A_{n+1}) (REFERENCE.md §9), to 1e-9 s.
    """
    rng = np.random.default_rng(11)
    n = 20_000
    interarrival_s = rng.exponential(1.0 / 80.0, n)
    work_s = rng.exponential(MEAN_SERVICE_S, n)
    site = _simulate(interarrival_s, work_s, servers=1, via_process=via_process)
    site.measure_from_s = 0.0
    np.testing.assert_allclose(
        site.waits_s(site.env.now), lindley_waits_s(interarrival_s, work_s), rtol=0, atol=1e-9
    )


def _kiefer_wolfowitz_waits_s(arrival_s: np.ndarray, service_s: np.ndarray, c: int) -> np.ndarray:
    """Waits in queue of a FIFO queue with ``c`` servers (Kiefer–Wolfowitz recursion), s.

    Each job takes the server that frees first: it starts at max(arrival, that time).
    """
    free_s = [0.0] * c
    waits_s = []
    for a_s, s_s in zip(arrival_s.tolist(), service_s.tolist(), strict=True):
        start_s = max(a_s, heapq.heappop(free_s))
        waits_s.append(start_s - a_s)
        heapq.heappush(free_s, start_s + s_s)
    return np.array(waits_s)


def test_multi_server_site_matches_kiefer_wolfowitz_exactly() -> None:
    """A four-server FIFO Site gives every job the wait of the Kiefer–Wolfowitz recursion
    (a job starts when it arrives or when the first of the c servers frees, whichever is
    later), to 1e-9 s; the M/M/c validation relies on it.
    """
    rng = np.random.default_rng(12)
    n = 20_000
    interarrival_s = rng.exponential(1.0 / 360.0, n)
    work_s = rng.exponential(MEAN_SERVICE_S, n)
    site = _simulate(interarrival_s, work_s, servers=4)
    site.measure_from_s = 0.0
    expected_s = _kiefer_wolfowitz_waits_s(site.job_times_s()[0], work_s, 4)
    np.testing.assert_allclose(site.waits_s(site.env.now), expected_s, rtol=0, atol=1e-9)
    assert (expected_s > 0).mean() > 0.5  # a busy queue, where the order matters


# The statistical comparisons with the closed forms (3 % at ρ 0.5 and 0.9) are in
# tests/test_cloud_validation.py.
