"""Reliable network: access radio (PC5, Uu), coverage tables and the backhaul."""

from avzone.network.backhaul import BackhaulRoutes, build_backhaul, route_table
from avzone.network.cells import place_cells
from avzone.network.coverage import RoadSamples, covered_fraction, nearest_within, sample_roads
from avzone.network.latency import FIBRE_S_PER_M, access_s, fibre_s, transmission_s

__all__ = [
    "FIBRE_S_PER_M",
    "BackhaulRoutes",
    "RoadSamples",
    "access_s",
    "build_backhaul",
    "covered_fraction",
    "fibre_s",
    "nearest_within",
    "place_cells",
    "route_table",
    "sample_roads",
    "transmission_s",
]
