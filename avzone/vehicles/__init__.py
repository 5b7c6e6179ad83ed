"""Smart car: demand, routing and edge-by-edge mobility."""

from avzone.vehicles.demand import Demand, build_demand
from avzone.vehicles.routing import add_travel_times, route_edges

__all__ = ["Demand", "add_travel_times", "build_demand", "route_edges"]
