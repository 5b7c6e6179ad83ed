"""Smart car: demand, routing and edge-by-edge mobility; SUMO demand and trajectories."""

from avzone.vehicles.demand import Demand, build_demand
from avzone.vehicles.routing import add_travel_times, route_edges
from avzone.vehicles.sumo_routes import ListedRoutes, RouteVehicle, plan_routes, read_routes
from avzone.vehicles.sumo_run import run_sumo
from avzone.vehicles.traces import Traces, TraceTable, match_traces, read_trace

__all__ = [
    "Demand",
    "ListedRoutes",
    "RouteVehicle",
    "TraceTable",
    "Traces",
    "add_travel_times",
    "build_demand",
    "match_traces",
    "plan_routes",
    "read_routes",
    "read_trace",
    "route_edges",
    "run_sumo",
]
