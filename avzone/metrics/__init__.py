"""Collectors, the versioned summary and the run-folder writers."""

from avzone.metrics.collect import LOSS_CAUSES, STAGES, FlowRecorder, VehicleCounts
from avzone.metrics.io import (
    atomic_write_text,
    coverage_geojson,
    csv_text,
    dumps_summary,
    write_run,
)
from avzone.metrics.links import link_rows, network_summary
from avzone.metrics.summary import (
    COVERAGE_SYSTEMS,
    SCHEMA_VERSION,
    build_summary,
    coverage_masks,
    flow_rows,
    latency_stats_ms,
    quantile_rows,
    site_timeseries_rows,
)

__all__ = [
    "COVERAGE_SYSTEMS",
    "LOSS_CAUSES",
    "SCHEMA_VERSION",
    "STAGES",
    "FlowRecorder",
    "VehicleCounts",
    "atomic_write_text",
    "build_summary",
    "coverage_geojson",
    "coverage_masks",
    "csv_text",
    "dumps_summary",
    "flow_rows",
    "latency_stats_ms",
    "link_rows",
    "network_summary",
    "quantile_rows",
    "site_timeseries_rows",
    "write_run",
]
