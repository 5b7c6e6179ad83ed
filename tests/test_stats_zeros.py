"""Tests of avzone.stats.zeros: quantiles of mostly-zero samples, bit for bit numpy's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avzone.stats import quantile_with_zeros


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(1e-9, 10.0), max_size=50),
    st.integers(0, 500),
    st.sampled_from([0.0, 50.0, 95.0, 99.0, 99.9, 100.0, 37.5]),
)
def test_equals_numpy_on_the_whole_sample(
    positive: list[float], zeros: int, percent: float
) -> None:
    """The link p99 of links.csv and summary.json: the same bits as np.percentile over every
    message, zeros included (so the summary is byte-identical without building them)."""
    n = zeros + len(positive)
    if n == 0:
        return
    waits = np.sort(np.array(positive))
    whole = np.concatenate((np.zeros(zeros), waits))
    assert quantile_with_zeros(waits, n, percent / 100) == float(np.percentile(whole, percent))


def test_millions_of_zeros_without_the_array() -> None:
    waits = np.array([0.001, 0.002, 0.004])
    assert quantile_with_zeros(waits, 150_000_000, 0.99) == 0.0
    assert quantile_with_zeros(waits, 300, 0.99) == float(
        np.percentile(np.concatenate((np.zeros(297), waits)), 99)
    )


@pytest.mark.parametrize(
    ("n", "q", "text"),
    [(0, 0.5, "n=0"), (2, 0.5, "n=2, 3 values"), (5, 1.5, r"\[0, 1\], got 1.5")],
)
def test_errors(n: int, q: float, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        quantile_with_zeros(np.ones(3) if n == 2 else np.ones(1), n, q)
