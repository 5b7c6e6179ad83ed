"""Real-time cloud: compute sites as SimPy queues, service-time distributions, closed forms."""

from __future__ import annotations

from avzone.cloud.distributions import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    ServiceTime,
    make_distribution,
)
from avzone.cloud.queueing import (
    erlang_c,
    lindley_waits_s,
    md1_wait_s,
    mg1_priority_waits_s,
    mg1_wait_s,
    mm1_wait_s,
    mmc_wait_s,
)
from avzone.cloud.samples import load_samples_ms
from avzone.cloud.site import Site, SiteStats
from avzone.cloud.timeseries import (
    busy_in_bins,
    queue_in_bins,
    queue_length_steps,
    site_timeseries,
    time_weighted_quantiles,
)

__all__ = [
    "Constant",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "ServiceTime",
    "Site",
    "SiteStats",
    "busy_in_bins",
    "erlang_c",
    "lindley_waits_s",
    "load_samples_ms",
    "make_distribution",
    "md1_wait_s",
    "mg1_priority_waits_s",
    "mg1_wait_s",
    "mm1_wait_s",
    "mmc_wait_s",
    "queue_in_bins",
    "queue_length_steps",
    "site_timeseries",
    "time_weighted_quantiles",
]
