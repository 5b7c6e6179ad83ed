"""The scenario as frozen dataclasses, one per section of the YAML file.

The simulation never sees the raw YAML: :func:`avzone.scenario.load_scenario`
parses and validates it once into these objects. Every key is documented in
docs/scenario.md; units are in the names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from avzone.faults.spec import FaultSpec

from avzone.scenario._radio import PC5_RADIO, UU_RADIO, Handover, Radio

__all__ = [
    "Aggregation",
    "Backhaul",
    "Cells",
    "CloudSection",
    "Fleet",
    "Flow",
    "HdmapDetection",
    "HdmapDistribution",
    "HdmapSection",
    "LinkTier",
    "MapSource",
    "Mobility",
    "NetworkSection",
    "OdPair",
    "Outage",
    "Pc5",
    "Placement",
    "RoadSection",
    "Scenario",
    "ScheduledChange",
    "Sensors",
    "ServiceSpec",
    "SiteSpec",
    "Zone",
]

RSU_RULES = ("signalized_intersections", "along_arterials", "list", "none")
CELL_RULES = ("hex", "grid", "list")
SITE_RULES = ("kmeans_rsus", "grid", "list", "center")
TIERS = ("edge", "regional", "central")
DISTRIBUTIONS = ("constant", "exponential", "lognormal", "gamma", "empirical")
DISPATCH = ("nearest", "least_loaded", "deadline_aware")
VIA = ("pc5", "uu")


@dataclass(frozen=True)
class Placement:
    """Where infrastructure goes: a rule and its parameters.

    ``positions_m`` are offsets in metres from the south-west corner of the
    map's bounding box (x east, y north), so that they read the same on any map.
    ``file`` (rule ``list``): a GeoJSON/CSV file of positions, as written in
    the scenario (relative to its folder), read when the world is built.
    """

    rule: str
    spacing_m: float = 0.0
    positions_m: tuple[tuple[float, float], ...] = ()
    file: str | None = None


@dataclass(frozen=True)
class MapSource:
    """The road map: a file (GeoJSON or SUMO .net.xml) or a built-in one."""

    file: Path | None = None
    builtin: str | None = None

    @property
    def label(self) -> str:
        """A short name for messages and outputs."""
        return f"builtin:{self.builtin}" if self.builtin else str(self.file)


@dataclass(frozen=True)
class Pc5:
    """C-V2X sidelink (PC5) between vehicles and RSUs."""

    range_m: float = 400.0
    latency_ms: float = 2.0
    rate_mbps: float = 20.0
    loss: float = 0.01
    radio: Radio = PC5_RADIO


@dataclass(frozen=True)
class Sensors:
    """Roadside perception sensors on each RSU and the RSM uploads they cause."""

    range_m: float = 150.0
    rate_hz: float = 10.0
    size_bytes: int = 4000
    service: str | None = None
    deadline_ms: float = 100.0


@dataclass(frozen=True)
class RoadSection:
    """Smart road: RSUs, their PC5 radio and their perception sensors."""

    placement: Placement = Placement("signalized_intersections")
    pc5: Pc5 = Pc5()
    sensors: Sensors | None = None


@dataclass(frozen=True)
class Fleet:
    """How vehicles enter the zone.

    ``arrivals == "poisson"``: vehicles arrive at ``rate_per_h``, drive one
    trip and leave; at most ``max_vehicles`` are in the zone at once (arrivals
    beyond are turned away and counted). ``initial_vehicles`` are already
    under way at t = 0, each somewhere along a trip (uniform in its travel
    time), so that a busy period starts busy. ``arrivals == "fixed"``: ``count``
    vehicles start within the first ``start_window_s`` and drive trip after trip.
    ``arrivals == "routes"``: the vehicles of the SUMO route file
    ``routes_file`` depart at their times and drive their listed edges.
    ``arrivals == "trace"``: the vehicles of ``car.mobility.trace``.
    """

    arrivals: str = "poisson"
    rate_per_h: float = 1800.0
    max_vehicles: int = 1000
    initial_vehicles: int = 0
    count: int = 0
    start_window_s: float = 60.0
    routes_file: Path | None = None


@dataclass(frozen=True)
class Zone:
    """A demand zone: nodes within ``radius_m`` of ``at_m`` (offset from the map's SW corner)."""

    name: str
    at_m: tuple[float, float]
    radius_m: float


@dataclass(frozen=True)
class OdPair:
    """One origin–destination relation between two zones, with a relative weight."""

    origin: str
    destination: str
    weight: float = 1.0


@dataclass(frozen=True)
class Mobility:
    """Edge-by-edge driving: free flow at ``speed_factor`` × the speed limit.

    At a signalised node a vehicle waits a uniform time in [0, signal_wait_max_s].
    With ``trace_file`` the vehicles follow recorded trajectories instead;
    with ``sumo_routes_file`` SUMO simulates that route file on the map (a
    SUMO net) and its trajectories (sampled every ``sumo_step_s``) are followed.
    """

    speed_factor: float = 1.0
    signal_wait_max_s: float = 0.0
    trace_file: Path | None = None
    sumo_routes_file: Path | None = None
    sumo_step_s: float = 1.0

    @property
    def traced(self) -> bool:
        """Whether vehicles follow trajectories (a trace file or a SUMO run)."""
        return self.trace_file is not None or self.sumo_routes_file is not None


@dataclass(frozen=True)
class Flow:
    """A periodic message flow of every vehicle (or, for ``rsm``, every RSU with sensors).

    ``via`` is the first hop: ``pc5`` ends at the serving RSU; ``uu`` goes
    through the serving cell; ``fibre`` (RSU flows) starts on the RSU's wire.
    With ``service`` set, the message continues over the backhaul to the
    nearest site hosting it and, with ``reply_bytes`` > 0, a reply comes back.
    """

    name: str
    rate_hz: float
    size_bytes: int
    via: str
    deadline_ms: float
    service: str | None = None
    reply_bytes: int = 0
    priority: int = 0
    source: str = "vehicle"


@dataclass(frozen=True)
class Cells:
    """5G Uu cells: placement, coverage range and the air interface each way."""

    placement: Placement = Placement("hex", spacing_m=800.0)
    range_m: float = 600.0
    uplink_latency_ms: float = 4.0
    uplink_rate_mbps: float = 50.0
    downlink_latency_ms: float = 4.0
    downlink_rate_mbps: float = 200.0
    loss: float = 0.001
    radio: Radio = UU_RADIO
    handover: Handover = field(default_factory=Handover)


LINK_TIERS = ("access", "aggregation", "metro", "regional", "central")
"""Backhaul link tiers, from the access points up: access point → aggregation node
(or edge site), aggregation node → edge site, edge site → core, core → regional
site, → central site."""


@dataclass(frozen=True)
class LinkTier:
    """Rate and loss of every backhaul link of one tier (``network.backhaul.links.TIER``)."""

    tier: str
    rate_gbps: float
    loss: float


@dataclass(frozen=True)
class Aggregation:
    """Aggregation nodes between the access points and the edge sites: ``count``
    nodes at the k-means centres of the access points, or one per ``spacing_m``
    square grid cell that holds access points (exactly one of the two)."""

    count: int | None = None
    spacing_m: float | None = None


@dataclass(frozen=True)
class Backhaul:
    """Fibre from access points to sites: path length = straight line × ``fibre_detour``.

    ``links`` holds the rate and loss of each tier of :data:`LINK_TIERS`
    (defaults ``rate_gbps`` and ``loss``); ``aggregation`` adds aggregation
    nodes; ``queueing`` makes every link direction a FIFO transmitter.
    """

    fibre_detour: float = 1.3
    rate_gbps: float = 10.0
    loss: float = 0.0
    core_ms: float = 1.0
    aggregation: Aggregation | None = None
    links: tuple[LinkTier, ...] = ()
    queueing: bool = True

    def tier(self, name: str) -> LinkTier:
        """The settings of link tier ``name`` (the defaults when not given)."""
        for t in self.links:
            if t.tier == name:
                return t
        return LinkTier(name, self.rate_gbps, self.loss)


@dataclass(frozen=True)
class NetworkSection:
    """Reliable network: cells and the backhaul."""

    cells: Cells = Cells()
    backhaul: Backhaul = Backhaul()


@dataclass(frozen=True)
class SiteSpec:
    """A compute site (or ``count`` of them, named NAME-1 … NAME-count)."""

    name: str
    tier: str
    servers: int
    speed: float = 1.0
    count: int = 1
    placement: Placement = Placement("center")
    distance_km: float = 0.0
    queue_limit: int | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The site names after expanding ``count``: NAME, or NAME-1 … NAME-count."""
        if self.count == 1:
            return (self.name,)
        return tuple(f"{self.name}-{i + 1}" for i in range(self.count))


@dataclass(frozen=True)
class ServiceSpec:
    """A service: which sites (by name in cloud.sites) host it and its service-time distribution (at speed 1)."""

    name: str
    sites: tuple[str, ...]
    dist: str
    mean_ms: float
    cv: float = 0.0
    samples_ms: tuple[float, ...] = ()


@dataclass(frozen=True)
class Outage:
    """A site is down from ``start_s`` to ``end_s``."""

    site: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CloudSection:
    """Real-time cloud: sites, services, how requests are dispatched, outages.

    ``dispatch``: ``nearest`` (least fibre delay), ``least_loaded`` (fewest
    jobs per server among the lowest tier's sites), ``deadline_aware`` (least
    predicted response: network + expected wait + service, over all hosting
    sites). With ``fallback`` a request whose chosen site is down or full goes
    to the next site up the tiers.
    """

    sites: tuple[SiteSpec, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    dispatch: str = "nearest"
    fallback: bool = True
    outages: tuple[Outage, ...] = ()


@dataclass(frozen=True)
class ScheduledChange:
    """A road change from ``hdmap.changes.file``: when, where (one of three ways), what, how long.

    ``xy_m`` is an offset from the map's south-west corner, ``lonlat`` WGS84
    degrees, ``edge`` a road id of the map; ``duration_s`` 0 means permanent.
    """

    time_s: float
    kind: str = "change"
    duration_s: float = 0.0
    xy_m: tuple[float, float] | None = None
    lonlat: tuple[float, float] | None = None
    edge: str | None = None


@dataclass(frozen=True)
class HdmapDetection:
    """How the cloud learns of a change: detections per pass, uploads, fusion (see docs/hdmap.md)."""

    service: str
    vehicle_probability: float = 1.0
    rsu_probability: float = 0.0
    rsu_period_s: float = 1.0
    upload_bytes: int = 2000
    confirm_count: int = 1
    confirm_timeout_s: float | None = None
    retry_s: float = 5.0
    priority: int = 0


@dataclass(frozen=True)
class HdmapDistribution:
    """How released tile versions reach vehicles: ``methods`` ⊆ {push, pull, prefetch}."""

    methods: tuple[str, ...] = ("push", "pull")
    push_radius_m: float = 0.0
    prefetch_ahead_m: float | None = None
    retry_s: float = 5.0
    loss: float = 0.0


@dataclass(frozen=True)
class HdmapSection:
    """Accurate map: tiles, world changes, detection, fusion, release and delivery."""

    tile_size_m: float = 1000.0
    tile_size_bytes: int = 2_000_000
    change_rate_per_tile_per_h: float = 0.2
    release_mode: str = "continuous"
    release_delay_s: float = 60.0
    release_interval_s: float = 600.0
    tiles_by: str = "grid"
    tile_bytes_per_km: float = 0.0
    change_rate_per_km_per_h: tuple[tuple[str, float], ...] = ()
    change_duration_s: float = 0.0
    scheduled: tuple[ScheduledChange, ...] = ()
    detection: HdmapDetection | None = None
    distribution: HdmapDistribution = HdmapDistribution()
    control_flows: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole scenario, validated."""

    name: str
    file: Path | None
    seed: int
    duration_s: float
    warmup_s: float
    engine: str
    map: MapSource
    road: RoadSection
    fleet: Fleet
    zones: tuple[Zone, ...]
    od: tuple[OdPair, ...]
    mobility: Mobility
    flows: tuple[Flow, ...]
    network: NetworkSection
    cloud: CloudSection
    hdmap: HdmapSection
    checks: tuple[str, ...] = field(default=())
    faults: tuple[FaultSpec, ...] = field(default=())  # docs/faults.md

    def flow(self, name: str) -> Flow:
        """The flow called ``name``."""
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise KeyError(name)
