"""Figures. Plotting lives here only; functions take ``ax=None`` and return ``(fig, ax)``.

Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`),
never pyplot, so they work in any backend (Agg in tests and on servers) and
leave no global state behind.
"""

from avzone.plots._common import save_figure
from avzone.plots._compare import (
    plot_coverage_comparison,
    plot_latency_comparison,
    plot_sizing_curve,
    plot_sweep,
)
from avzone.plots._faults import plot_fault_timeline
from avzone.plots._maps import ROAD_CLASS_COLORS, plot_coverage_map, plot_map
from avzone.plots._radio import plot_sinr_map
from avzone.plots._runs import (
    plot_latency_breakdown,
    plot_latency_cdf,
    plot_site_timeseries,
    plot_staleness_cdf,
)

__all__ = [
    "ROAD_CLASS_COLORS",
    "plot_coverage_comparison",
    "plot_coverage_map",
    "plot_fault_timeline",
    "plot_latency_breakdown",
    "plot_latency_cdf",
    "plot_latency_comparison",
    "plot_map",
    "plot_sinr_map",
    "plot_site_timeseries",
    "plot_sizing_curve",
    "plot_staleness_cdf",
    "plot_sweep",
    "save_figure",
]
