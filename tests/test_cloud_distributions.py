"""Tests of avzone.cloud.distributions: moments, parameterisation, errors, seeding."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from avzone.cloud.distributions import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    ServiceTime,
    make_distribution,
)
from avzone.cloud.samples import load_samples_ms

MEAN_S = 0.02
N = 1_000_000

CASES: list[ServiceTime] = [
    Constant(MEAN_S),
    Exponential(MEAN_S),
    Lognormal(MEAN_S, 0.5),
    Lognormal(MEAN_S, 1.0),
    Gamma(MEAN_S, 0.5),
    Gamma(MEAN_S, 2.0),
    Empirical((0.01, 0.015, 0.02, 0.02, 0.035)),
]


@pytest.mark.parametrize("dist", CASES, ids=repr)
def test_sample_moments_match_properties(dist: ServiceTime) -> None:
    """Law of large numbers on 10⁶ draws.

    The standard error of the sample mean is cv · mean / √N ≤ 0.2 % of the
    mean (cv ≤ 2), so a 1 % tolerance is ≥ 5 standard errors. The standard
    error of the sample variance is σ² √((κ − 1) / N) with κ the kurtosis;
    the largest here, Lognormal cv 1 (κ = w⁴ + 2w³ + 3w² − 3 = 41 with
    w = 1 + cv²), gives 0.63 %, so 4 % is ≥ 6 standard errors (Gamma cv 2:
    κ = 3 + 6 cv² = 27, 0.51 %; the Empirical case has κ = 2.5).
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
        (lambda: Empirical(()), "at least one service time, got none"),
        (lambda: Empirical((0.1, -0.2)), "samples_s[1] must be a finite number >= 0, got -0.2"),
        (lambda: Empirical((math.nan,)), "samples_s[0] must be a finite number >= 0, got nan"),
        (lambda: Empirical((0.1, math.inf)), "got inf"),
        (lambda: Empirical(("0.1",)), "got '0.1'"),  # type: ignore[arg-type]
        (lambda: Empirical((True,)), "got True"),
        (lambda: make_distribution("empirical", 1.0, None), "samples_s=None"),
        (lambda: Empirical((1.0,)).sample(np.random.default_rng(0), -3), "-3"),
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


# -- empirical service times ----------------------------------------------------


def test_empirical_moments_equal_numpy_on_the_samples() -> None:
    """Resampling with replacement draws each sample with probability 1/N, so the moments are
    exactly numpy's mean, var (divisor N) and mean of squares of the samples.
    """
    x = np.random.default_rng(5).lognormal(-4.0, 0.8, 777)
    d = Empirical(tuple(x.tolist()))
    assert d.mean_s == np.mean(x)
    assert d.variance_s2 == np.var(x)
    assert d.second_moment_s2 == np.mean(x**2)
    assert d.samples_s == tuple(x.tolist())


def test_empirical_resamples_with_replacement() -> None:
    """Draws are samples; over 10⁶ draws each of 4 values comes 1/4 of the time within 1 %
    (standard error of a frequency √(p(1 − p)/N) = 0.043 % of N, so 1 % of 1/4 is ≥ 5 of them).
    """
    d = Empirical((0.001, 0.002, 0.004, 0.008))
    x = d.sample(np.random.default_rng(3), N)
    values, counts = np.unique(x, return_counts=True)
    np.testing.assert_array_equal(values, d.samples_s)
    np.testing.assert_allclose(counts / N, 0.25, rtol=0.01)


def test_empirical_accepts_any_sequence_and_compares_by_value() -> None:
    """A list or numpy values become a tuple of floats; equal samples give equal, hashable objects."""
    d = Empirical([0.01, np.float64(0.02), 3])  # type: ignore[arg-type]
    assert d.samples_s == (0.01, 0.02, 3.0)
    assert d == Empirical((0.01, 0.02, 3.0))
    assert hash(d) == hash(Empirical((0.01, 0.02, 3.0)))
    assert repr(d) == "Empirical(<3 samples, mean 1.01 s>)"
    assert Empirical((0.0,)).sample(np.random.default_rng(0), 2).tolist() == [0.0, 0.0]


def test_make_distribution_empirical_uses_the_samples() -> None:
    """dist="empirical" builds Empirical from samples_s; mean_s and cv are ignored."""
    d = make_distribution("empirical", 0.0, 0.0, samples_s=(0.01, 0.02))
    assert d == Empirical((0.01, 0.02))
    assert make_distribution("exponential", 0.01, None, samples_s=(1.0,)) == Exponential(0.01)


def _write(tmp_path: Path, text: str, name: str = "times.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text",
    [
        "2.5\n4\n0\n",
        "service time (ms)\n2.5\n4\n0",
        "# measured on edge-1\n\nms\n2.5   # first\n\n4\n# restart\n0\n\n",
        'id,host,service_ms\n1,a,2.5\n2,b,4\n3,"c, d",0\n',
        "service_ms,x\n2.5,9\n4,9\n0,9\n",
        "\ufeffservice_ms\r\n2.5\r\n4\r\n0\r\n",
        "  2.5 \n 4e0\n0.0\n",
    ],
    ids=["plain", "header", "comments", "column", "first-column", "bom-crlf", "spaces"],
)
def test_load_samples_ms_layouts(tmp_path: Path, text: str) -> None:
    """One number per line under an optional header, or a service_ms column; blank lines and
    # comments skipped.
    """
    assert load_samples_ms(_write(tmp_path, text)) == (2.5, 4.0, 0.0)


def test_load_samples_ms_feeds_empirical(tmp_path: Path) -> None:
    """Milliseconds from the file, divided by 1000, are the samples in seconds."""
    samples_ms = load_samples_ms(_write(tmp_path, "service_ms\n10\n30\n"))
    d = make_distribution("empirical", 0.0, None, tuple(x / 1000 for x in samples_ms))
    assert d.mean_s == pytest.approx(0.02, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\n2\nabc\n", "line 3: expected a number of milliseconds >= 0, got 'abc'"),
        ("ms\n# c\n\n1\n-2\n", "line 5: expected a number of milliseconds >= 0, got '-2'"),
        ("1\nnan\n", "line 2: expected a number of milliseconds >= 0, got 'nan'"),
        ("1\ninf\n", "line 2: expected a number of milliseconds >= 0, got 'inf'"),
        ("id,service_ms\n1,2\n2,\n", "line 3: expected a number of milliseconds >= 0, got ''"),
        ("id,service_ms\n1,2\n2\n", "line 3: expected 2 columns, got 1: '2'"),
        ("1\n2,3\n", "line 2: expected 1 column, got 2: '2,3'"),
        (
            "id,latency\n1,2\n",
            "line 1: expected one number per line or a header naming a "
            "'service_ms' column, got columns 'id', 'latency'",
        ),
        ("service_ms\n# nothing yet\n\n", "no service times found"),
        ("", "no service times found"),
    ],
)
def test_load_samples_ms_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    """Every error is one ValueError line starting with the file and, for a value, its line."""
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}")) as info:
        load_samples_ms(path)
    assert "\n" not in str(info.value)


def test_load_samples_ms_unreadable(tmp_path: Path) -> None:
    """A missing or non-UTF-8 file is a one-line ValueError naming it."""
    missing = tmp_path / "missing.csv"
    with pytest.raises(ValueError, match=re.escape(f"{missing}: cannot read service times")):
        load_samples_ms(missing)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"1\n\xff\xfe2\n")
    with pytest.raises(ValueError, match=re.escape(f"{binary}: cannot read service times")):
        load_samples_ms(str(binary))
