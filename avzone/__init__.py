"""avzone: a discrete-event simulator of an autonomous-driving demonstration zone.

Five systems over a road graph: smart road (RSUs, perception), smart car
(vehicles and their message flows), real-time cloud (edge, regional, central
sites), reliable network (PC5, Uu, backhaul) and accurate map (HD-map tiles).

Example (from the repository folder)::

    import avzone
    results = avzone.run("scenarios/etown-baseline.yaml")
    results.summary["flows"]["control"]["latency_ms"]["p99"]
"""

from avzone.errors import AvzoneError, MapError, ScenarioError
from avzone.runner import Results, build_world, run
from avzone.scenario import Scenario, load_scenario

__all__ = [
    "AvzoneError",
    "MapError",
    "Results",
    "Scenario",
    "ScenarioError",
    "build_world",
    "load_scenario",
    "run",
]
__version__ = "0.1.0"
