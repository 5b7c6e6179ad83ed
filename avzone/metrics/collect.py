"""Collectors filled during a run: plain counters and series, no simulation objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from avzone.stats import Series

__all__ = ["LOSS_CAUSES", "STAGES", "FlowRecorder", "VehicleCounts"]

STAGES = ("access_up", "backhaul_up", "queue", "service", "backhaul_down", "access_down")
"""Where a delivered message's latency goes: the access hop up (radio, and the
core for Uu), the backhaul links up (propagation, transmission, link queues),
the site queue, the service, the backhaul back, the access hop down."""

LOSS_CAUSES = ("out_of_coverage", "radio", "backhaul", "rejected", "site_down")
"""Why a message was not delivered, one cause each: no serving station where
the vehicle was; lost on a radio hop; lost on the fibre; turned away by a
site's admission control (queue at its limit); the site was down."""


@dataclass
class FlowRecorder:
    """Messages of one flow sent after the warm-up: counts and delivered latencies (s).

    For flows with a service, ``wait_s`` and ``service_s`` hold each delivered
    message's wait in the site queue and service time, and ``access_up_s``,
    ``backhaul_up_s``, ``backhaul_down_s``, ``access_down_s`` its other
    stages (:data:`STAGES`), all aligned with ``latencies_s``; the six sum to
    the latency. Empty for one-hop flows (their latency is all ``access_up``).

    Each is a :class:`~avzone.stats.Series`: every value while there are at most
    :data:`~avzone.stats.EXACT_VALUES`, then a quantile sketch with exact count,
    mean and extremes. ``latencies_s`` counts the late ones (above ``deadline_s``)
    as they are recorded: :attr:`late` is exact either way.
    """

    name: str
    deadline_s: float
    sent: int = 0
    out_of_coverage: int = 0
    radio: int = 0
    backhaul: int = 0
    rejected: int = 0
    site_down: int = 0
    latencies_s: Series = field(init=False, repr=False, compare=False)
    wait_s: Series = field(default_factory=Series, repr=False, compare=False)
    service_s: Series = field(default_factory=Series, repr=False, compare=False)
    access_up_s: Series = field(default_factory=Series, repr=False, compare=False)
    backhaul_up_s: Series = field(default_factory=Series, repr=False, compare=False)
    backhaul_down_s: Series = field(default_factory=Series, repr=False, compare=False)
    access_down_s: Series = field(default_factory=Series, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.latencies_s = Series(above_s=self.deadline_s)

    @property
    def delivered(self) -> int:
        """Messages that arrived (on time or late)."""
        return len(self.latencies_s)

    @property
    def late(self) -> int:
        """Delivered messages with a latency strictly greater than ``deadline_s``."""
        return self.latencies_s.above

    @property
    def lost(self) -> int:
        """Messages that did not arrive, whatever the cause."""
        return self.out_of_coverage + self.radio + self.backhaul + self.rejected + self.site_down


@dataclass
class VehicleCounts:
    """What the fleet did over the whole run."""

    arrived: int = 0
    turned_away: int = 0
    trips_completed: int = 0
    vehicle_km: float = 0.0
    vehicle_s: float = 0.0  # time under way, summed over vehicles
    peak_under_way: int = 0  # the most vehicles under way at once
