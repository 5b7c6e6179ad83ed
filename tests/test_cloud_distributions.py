"""Tests of avzone.cloud.distributions: moments, parameterisation, errors, seeding."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from avzone.cloud.distributions import (
    Constant,
    Exponential,
    Gamma,
    Lognormal,
    ServiceTime,
    make_distribution,
)

MEAN_S = 0.02
N = 1_000_000

CASES: list[ServiceTime] = [
    Constant(MEAN_S),
    Exponential(MEAN_S),
    Lognormal(MEAN_S, 0.5),
    Lognormal(MEAN_S, 1.0),
    Gamma(MEAN_S, 0.5),
    Gamma(MEAN_S, 2.0),
]


@pytest.mark.parametrize("dist", CASES, ids=repr)
def test_sample_moments_match_properties(dist: ServiceTime) -> None:
    """Law of large numbers on 10⁶ draws.

    The standard error of the sample mean is cv · mean / √N ≤ 0.2 % of the
    mean (cv ≤ 2), so a 1 % tolerance is ≥ 5 standard errors. The standard
    error of the sample variance is σ² √((κ − 1) / N) with κ the kurtosis;
    the largest here, Lognormal cv 1 (κ = w⁴ + 2w³ + 3w² − 3 = 41 with
    w = 1 + cv²), gives 0.63 %, so 4 % is ≥ 6 standard errors (Gamma cv 2:
    κ = 3 + 6 cv² = 27, 0.51 %).
    """
    x = dist.sample(np.random.default_rng(2024), N)
    assert x.shape == (N,)
    assert x.dtype == np.float64
    assert x.mean() == pytest.approx(dist.mean_s, rel=0.01)
    assert x.var() == pytest.approx(dist.variance_s2, rel=0.04, abs=1e-15)
    assert dist.second_moment_s2 == pytest.approx(dist.variance_s2 + dist.mean_s**2, rel=1e-12)


@pytest.mark.parametrize("cv", [0.1, 0.5, 1.0, 3.0])
def test_lognormal_parameterisation_is_exact(cv: float) -> None:
    """log_sigma² = ln(1 + cv²), log_mu = ln(mean) − log_sigma²/2 give E[S] = mean, sd = cv·mean.

    Checked against scipy.stats.lognorm (s = log_sigma, scale = exp(log_mu)).
    """
    d = Lognormal(MEAN_S, cv)
    frozen = stats.lognorm(s=d.log_sigma, scale=math.exp(d.log_mu))
    assert frozen.mean() == pytest.approx(MEAN_S, rel=1e-12)
    assert frozen.std() / frozen.mean() == pytest.approx(cv, rel=1e-12)
    assert frozen.var() == pytest.approx(d.variance_s2, rel=1e-12)
    assert frozen.moment(2) == pytest.approx(d.second_moment_s2, rel=1e-12)


@pytest.mark.parametrize("cv", [0.25, 1.0, 2.0])
def test_gamma_parameterisation_is_exact(cv: float) -> None:
    """Shape 1/cv² and scale mean·cv² give E[S] = mean, sd = cv·mean (scipy.stats.gamma)."""
    d = Gamma(MEAN_S, cv)
    frozen = stats.gamma(a=d.shape, scale=d.scale_s)
    assert frozen.mean() == pytest.approx(MEAN_S, rel=1e-12)
    assert frozen.std() / frozen.mean() == pytest.approx(cv, rel=1e-12)
    assert frozen.moment(2) == pytest.approx(d.second_moment_s2, rel=1e-12)


def test_exponential_and_constant_moments() -> None:
    """Exponential: variance mean², E[S²] = 2 mean²; Constant: variance 0."""
    assert Exponential(2.0).variance_s2 == 4.0
    assert Exponential(2.0).second_moment_s2 == 8.0
    assert Constant(2.0).mean_s == 2.0
    assert Constant(2.0).variance_s2 == 0.0
    assert Constant(2.0).second_moment_s2 == 4.0


def test_make_distribution_builds_each_kind() -> None:
    """The scenario's names map to the classes; cv is ignored where it is fixed."""
    assert make_distribution("constant", 0.01, None) == Constant(0.01)
    assert make_distribution("constant", 0.0, 0.0) == Constant(0.0)
    assert make_distribution("exponential", 0.01, None) == Exponential(0.01)
    assert make_distribution("exponential", 0.01, 0.0) == Exponential(0.01)
    assert make_distribution("lognormal", 0.01, 0.5) == Lognormal(0.01, 0.5)
    assert make_distribution("gamma", 0.01, 2.0) == Gamma(0.01, 2.0)


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (lambda: make_distribution("weibull", 1.0, 1.0), "'weibull'"),
        (lambda: make_distribution("lognormal", 1.0, None), "cv=None"),
        (lambda: make_distribution("gamma", 1.0, -0.5), "-0.5"),
        (lambda: make_distribution("exponential", 0.0, None), "got 0.0"),
        (lambda: Constant(-0.25), "-0.25"),
        (lambda: Exponential(math.inf), "inf"),
        (lambda: Lognormal(1.0, 0.0), "cv must be a finite number > 0, got 0.0"),
        (lambda: Lognormal(-3.0, 1.0), "-3.0"),
        (lambda: Gamma(1.0, math.nan), "nan"),
        (lambda: Exponential(1.0).sample(np.random.default_rng(0), -1), "-1"),
        (lambda: Gamma(1.0, 1.0).sample(np.random.default_rng(0), 2.5), "2.5"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_raises_value_error_naming_the_value(
    make: Callable[[], object], text: str
) -> None:
    """Every error is a ValueError whose message contains the offending value."""
    with pytest.raises(ValueError, match=re.escape(text)):
        make()


@pytest.mark.parametrize("dist", CASES, ids=repr)
def test_same_seed_gives_same_samples(dist: ServiceTime) -> None:
    """Two generators with the same seed draw identical samples; another seed differs."""
    a = dist.sample(np.random.default_rng(7), 1000)
    b = dist.sample(np.random.default_rng(7), 1000)
    np.testing.assert_array_equal(a, b)
    if dist.variance_s2 > 0:
        c = dist.sample(np.random.default_rng(8), 1000)
        assert not np.array_equal(a, c)


def test_zero_samples() -> None:
    """n = 0 gives an empty float64 array."""
    x = Lognormal(1.0, 1.0).sample(np.random.default_rng(0), 0)
    assert x.shape == (0,)
    assert x.dtype == np.float64
