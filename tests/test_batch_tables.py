"""The batch evaluator's tables: the fast stable argsort against numpy's stable sort
(the definition), on floats with many ties and NaNs."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from avzone.engine.batch_tables import stable_argsort

keys = st.lists(
    st.one_of(st.sampled_from([0.0, 1.0, 2.5, -1.0, np.nan]), st.floats(allow_nan=True)),
    max_size=300,
)


@given(keys)
def test_stable_argsort_is_numpys_stable_argsort(values: list[float]) -> None:
    x = np.array(values, dtype=np.float64)
    assert stable_argsort(x).tolist() == np.argsort(x, kind="stable").tolist()


def test_stable_argsort_on_a_large_array_with_ties() -> None:
    rng = np.random.default_rng(4)
    x = np.round(rng.random(200_000), 3)  # about 200 equal values per key
    assert (stable_argsort(x) == np.argsort(x, kind="stable")).all()
