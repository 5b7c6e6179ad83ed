"""Tests of avzone.stats.sketch: DDSketch quantiles against numpy's exact ones.

The guarantee (Masson, Rim & Lee, PVLDB 2019): every value is represented within
alpha relatively, so numpy's linear-interpolation quantile ("type 7", the one
summary.json uses) is estimated within alpha whenever its two neighbouring order
statistics have the same sign. Tolerance: alpha plus floating-point rounding of
the bucket boundaries (1e-9 relative).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avzone.metrics.summary import QUANTILES
from avzone.stats import RELATIVE_ACCURACY, QuantileSketch

ALPHA = RELATIVE_ACCURACY
PROBABILITIES = np.array([*QUANTILES, 0.5, 0.95, 0.99, 0.999, 0.99999])


def _assert_within(estimate: np.ndarray, exact: np.ndarray, alpha: float = ALPHA) -> None:
    error = np.abs(estimate - exact)
    bound = alpha * (1 + 1e-9) * np.abs(exact)
    worst = int(np.argmax(error - bound))
    assert (error <= bound).all(), (
        f"q={PROBABILITIES[worst] if exact.size == PROBABILITIES.size else worst}: "
        f"estimate {estimate[worst]!r}, exact {exact[worst]!r}"
    )


def _sketch_of(values: np.ndarray, chunk: int = 1 << 16, alpha: float = ALPHA) -> QuantileSketch:
    sketch = QuantileSketch(alpha)
    for lo in range(0, values.size, chunk):
        sketch.add(values[lo : lo + chunk])
    return sketch


def test_ten_million_lognormal_latencies_within_alpha() -> None:
    """10 M lognormal latencies (median 20 ms, heavy tail): every quantile of quantiles.csv
    and of the summary within 0.05 % of np.quantile's; the count, min and max exact."""
    rng = np.random.default_rng(7)
    values = rng.lognormal(np.log(0.02), 1.0, 10_000_000)
    sketch = _sketch_of(values)
    _assert_within(sketch.quantiles(PROBABILITIES), np.quantile(values, PROBABILITIES))
    assert (sketch.count, sketch.min, sketch.max) == (values.size, values.min(), values.max())
    assert sketch.buckets < 25_000  # ~15 decades of range at most: memory independent of count


def test_ten_million_waits_with_exact_zeros_within_alpha() -> None:
    """Queue waits: 40 % exact zeros (served at once), the rest exponential. Quantiles in the
    zeros are exactly 0; the others, including those interpolating from a zero, within alpha."""
    rng = np.random.default_rng(8)
    values = rng.exponential(0.004, 10_000_000)
    values[rng.random(values.size) < 0.4] = 0.0
    sketch = _sketch_of(values)
    exact = np.quantile(values, PROBABILITIES)
    estimate = sketch.quantiles(PROBABILITIES)
    _assert_within(estimate, exact)
    assert (estimate[exact == 0] == 0).all()
    assert (exact == 0).sum() >= 30
    assert sketch.zeros == (values == 0).sum()


def test_negative_values_are_mirrored() -> None:
    """Negative values are counted by magnitude: below-zero quantiles within alpha too."""
    rng = np.random.default_rng(9)
    values = np.concatenate((-rng.lognormal(0, 2, 200_000), rng.lognormal(0, 2, 100_000)))
    rng.shuffle(values)
    sketch = _sketch_of(values)
    exact = np.quantile(values, PROBABILITIES)
    estimate = sketch.quantiles(PROBABILITIES)
    same_sign = PROBABILITIES < 0.6  # the neighbours of ~0.667 straddle zero
    _assert_within(estimate[same_sign], exact[same_sign])
    assert sketch.min == values.min()
    assert sketch.max == values.max()


def test_merge_is_the_sketch_of_the_union() -> None:
    """Two sketches merged hold the union's counts bucket for bucket, hence its quantiles."""
    rng = np.random.default_rng(10)
    a = rng.lognormal(-4, 1, 300_000)
    b = np.concatenate((rng.lognormal(-2, 0.5, 200_000), np.zeros(1000), -rng.random(10)))
    left, right, union = _sketch_of(a), _sketch_of(b), _sketch_of(np.concatenate((a, b)))
    left.merge(right)
    for mine, theirs in zip(left.bucket_counts(), union.bucket_counts(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert (left.count, left.min, left.max) == (union.count, union.min, union.max)
    np.testing.assert_array_equal(left.quantiles(PROBABILITIES), union.quantiles(PROBABILITIES))
    assert right.count == b.size  # merging leaves the other as it was


def test_copy_is_independent() -> None:
    sketch = _sketch_of(np.arange(1.0, 101.0))
    twin = sketch.copy()
    twin.add(np.full(1000, 1e6))
    assert sketch.count == 100
    assert sketch.quantiles([1.0])[0] == 100.0
    assert twin.count == 1100
    assert twin.quantiles([1.0])[0] == 1e6


def test_extremes_exact_and_small_samples() -> None:
    """q = 0 and q = 1 are the exact min and max; one value is its own every quantile."""
    sketch = QuantileSketch(0.01)
    sketch.add(np.array([0.123456789]))
    np.testing.assert_array_equal(sketch.quantiles([0.0, 0.5, 1.0]), [0.123456789] * 3)
    sketch.add(np.array([7.0, 0.0]))
    assert sketch.quantiles([0.0, 1.0]).tolist() == [0.0, 7.0]
    # [0, 0.1234..., 7]: the median is the middle value, within 1 %
    assert sketch.quantiles([0.5])[0] == pytest.approx(0.123456789, rel=0.01)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(1e-9, 1e9, allow_nan=False)), min_size=1, max_size=300
    ),
    st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_any_non_negative_sample_within_alpha(values: list[float], qs: list[float]) -> None:
    x = np.array(values)
    sketch = _sketch_of(x, chunk=37, alpha=0.01)
    estimate, exact = sketch.quantiles(qs), np.quantile(x, qs)
    assert (np.abs(estimate - exact) <= 0.01 * (1 + 1e-9) * exact).all()


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: QuantileSketch(0.0), r"alpha must be in \(0, 1\), got 0.0"),
        (lambda: QuantileSketch().add(np.array([1.0, np.nan])), "finite values only, got nan"),
        (lambda: QuantileSketch().add(np.array([np.inf])), "got inf"),
        (lambda: QuantileSketch().quantiles([0.5]), "empty sketch"),
        (lambda: _sketch_of(np.ones(3)).quantiles([1.5]), r"\[0, 1\], got \[1.5\]"),
        (lambda: QuantileSketch(0.01).merge(QuantileSketch(0.02)), "alpha 0.01 and 0.02"),
    ],
)
def test_errors_name_the_value(call: object, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        call()  # type: ignore[operator]


def test_a_rejected_batch_adds_nothing() -> None:
    sketch = _sketch_of(np.ones(10))
    with pytest.raises(ValueError, match="nan"):
        sketch.add(np.array([2.0, np.nan]))
    assert (sketch.count, sketch.max) == (10, 1.0)
