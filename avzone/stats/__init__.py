"""Bounded statistics of long runs: a quantile sketch and series that fold into it.

Nothing here knows about the simulation: plain numpy over recorded values.
"""

from avzone.stats.series import EXACT_VALUES, Series
from avzone.stats.sketch import RELATIVE_ACCURACY, QuantileSketch
from avzone.stats.zeros import quantile_with_zeros

__all__ = ["EXACT_VALUES", "RELATIVE_ACCURACY", "QuantileSketch", "Series", "quantile_with_zeros"]
