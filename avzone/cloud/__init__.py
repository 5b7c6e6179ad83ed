"""Real-time cloud: compute sites as SimPy queues, service-time distributions, closed forms."""

from __future__ import annotations

from avzone.cloud.distributions import (
    Constant,
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
    mg1_wait_s,
    mm1_wait_s,
    mmc_wait_s,
)
from avzone.cloud.site import Site, SiteStats

__all__ = [
    "Constant",
    "Exponential",
    "Gamma",
    "Lognormal",
    "ServiceTime",
    "Site",
    "SiteStats",
    "erlang_c",
    "lindley_waits_s",
    "make_distribution",
    "md1_wait_s",
    "mg1_wait_s",
    "mm1_wait_s",
    "mmc_wait_s",
]
