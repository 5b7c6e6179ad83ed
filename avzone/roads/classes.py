"""Road classes: the OSM ``highway`` vocabulary and default lanes and speeds.

A road without explicit ``lanes`` or ``speed_kph`` gets the defaults of its
class from :data:`ROAD_CLASS_DEFAULTS`. The speeds are typical Chinese urban
limits (GB 5768, urban expressway 80–100 km/h, arterial 60, sub-arterial 50,
collector 40, local 30); the lane counts are per direction.

Examples
--------
>>> class_defaults("primary")
RoadClassDefaults(lanes=3, speed_kph=60.0)
>>> class_defaults("primary_link").lanes
1
>>> class_defaults("no-such-class") == class_defaults("unclassified")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ARTERIAL_CLASSES",
    "DEFAULT_ROAD_CLASS",
    "ROAD_CLASS_DEFAULTS",
    "RoadClassDefaults",
    "class_defaults",
    "speed_mps_from_kph",
]


@dataclass(frozen=True)
class RoadClassDefaults:
    """Defaults for one road class.

    Attributes
    ----------
    lanes
        Lanes per direction.
    speed_kph
        Speed limit in km/h.
    """

    lanes: int
    speed_kph: float


DEFAULT_ROAD_CLASS = "unclassified"
"""Class given to roads that name none (and to SUMO edges without a type)."""

ROAD_CLASS_DEFAULTS: Mapping[str, RoadClassDefaults] = MappingProxyType(
    {
        "motorway": RoadClassDefaults(3, 100.0),
        "motorway_link": RoadClassDefaults(1, 60.0),
        "trunk": RoadClassDefaults(3, 80.0),
        "trunk_link": RoadClassDefaults(1, 50.0),
        "primary": RoadClassDefaults(3, 60.0),
        "primary_link": RoadClassDefaults(1, 40.0),
        "secondary": RoadClassDefaults(2, 50.0),
        "secondary_link": RoadClassDefaults(1, 40.0),
        "tertiary": RoadClassDefaults(2, 40.0),
        "tertiary_link": RoadClassDefaults(1, 30.0),
        "residential": RoadClassDefaults(1, 30.0),
        "unclassified": RoadClassDefaults(1, 30.0),
        "living_street": RoadClassDefaults(1, 15.0),
        "service": RoadClassDefaults(1, 20.0),
    }
)
"""Default lanes per direction and speed by OSM ``highway`` class."""

ARTERIAL_CLASSES: frozenset[str] = frozenset({"motorway", "trunk", "primary", "secondary"})
"""Classes whose crossings are signalised in the built-in E-Town map."""


def class_defaults(road_class: str) -> RoadClassDefaults:
    """Return the defaults of ``road_class`` (those of ``"unclassified"`` if unknown).

    Parameters
    ----------
    road_class
        An OSM ``highway`` value, e.g. ``"secondary"``.

    Returns
    -------
    RoadClassDefaults
        Lanes per direction and speed limit in km/h.
    """
    return ROAD_CLASS_DEFAULTS.get(road_class, ROAD_CLASS_DEFAULTS[DEFAULT_ROAD_CLASS])


def speed_mps_from_kph(speed_kph: float) -> float:
    """Convert km/h to m/s (``speed_kph / 3.6``)."""
    return speed_kph / 3.6
