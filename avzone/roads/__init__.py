"""The road graph of a zone and its loaders.

A road graph is a :class:`networkx.MultiDiGraph` in metres of a projected
CRS; see :mod:`avzone.roads.graph` for its attributes. It comes from a
GeoJSON file (:func:`load_geojson`), a SUMO network (:func:`load_sumo`), an
OpenStreetMap extract (:func:`load_osm`), or
the built-in synthetic E-Town map (:func:`etown_synthetic`); :func:`load_map`
picks the reader by file name.
"""

from avzone.roads.classes import ARTERIAL_CLASSES, ROAD_CLASS_DEFAULTS, class_defaults
from avzone.roads.geojson import load_geojson
from avzone.roads.graph import bbox_m, largest_strongly_connected, map_info, to_lonlat
from avzone.roads.loading import load_map
from avzone.roads.osm import load_osm
from avzone.roads.sumo import load_sumo
from avzone.roads.synthetic import etown_synthetic
from avzone.roads.writing import write_geojson

__all__ = [
    "ARTERIAL_CLASSES",
    "ROAD_CLASS_DEFAULTS",
    "bbox_m",
    "class_defaults",
    "etown_synthetic",
    "largest_strongly_connected",
    "load_geojson",
    "load_map",
    "load_osm",
    "load_sumo",
    "map_info",
    "to_lonlat",
    "write_geojson",
]
