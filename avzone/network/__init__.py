"""Reliable network: access radio (PC5, Uu), coverage tables and the backhaul."""

from avzone.network.backhaul import (
    BackhaulRoutes,
    LinkTable,
    build_backhaul,
    place_aggregation,
    route_table,
)
from avzone.network.cells import place_cells
from avzone.network.coverage import RoadSamples, covered_fraction, nearest_within, sample_roads
from avzone.network.latency import FIBRE_S_PER_M, access_s, fibre_s, transmission_s
from avzone.network.transport import (
    LinkState,
    Segments,
    candidate_pairs,
    lost_at,
    route_segments,
    truncate,
)

__all__ = [
    "FIBRE_S_PER_M",
    "BackhaulRoutes",
    "LinkState",
    "LinkTable",
    "RoadSamples",
    "Segments",
    "access_s",
    "build_backhaul",
    "candidate_pairs",
    "covered_fraction",
    "fibre_s",
    "lost_at",
    "nearest_within",
    "place_aggregation",
    "place_cells",
    "route_segments",
    "route_table",
    "sample_roads",
    "transmission_s",
    "truncate",
]
