"""Load a road map from a file, choosing the reader by the file name."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from avzone.errors import MapError
from avzone.roads.geojson import load_geojson
from avzone.roads.osm import OSM_SUFFIXES, load_osm
from avzone.roads.sumo import load_sumo
from avzone.roads.synthetic import etown_synthetic

__all__ = ["BUILTIN_MAPS", "SUPPORTED_SUFFIXES", "load_map"]

SUPPORTED_SUFFIXES = (".geojson", ".json", ".net.xml", ".net.xml.gz", *OSM_SUFFIXES)
"""File name endings :func:`load_map` understands."""

BUILTIN_MAPS = ("builtin:etown",)
"""Names :func:`load_map` accepts instead of a file: the generated maps."""


def load_map(path: str | Path) -> nx.MultiDiGraph:
    """Load a road graph, choosing the reader by the file name's ending.

    ``.geojson`` and ``.json`` go to :func:`~avzone.roads.load_geojson`,
    ``.net.xml`` and ``.net.xml.gz`` to :func:`~avzone.roads.load_sumo`,
    ``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf`` and ``.pbf`` to
    :func:`~avzone.roads.load_osm`; the
    string ``"builtin:etown"`` gives :func:`~avzone.roads.etown_synthetic`.

    Raises
    ------
    MapError
        Unknown ending, or any error of the chosen reader; the message
        starts with the file name and is one line.

    Examples
    --------
    From the repository folder::

        load_map("maps/etown.geojson").graph["crs"]  # 'EPSG:32650'
    """
    if str(path) == "builtin:etown":
        return etown_synthetic()
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".net.xml", ".net.xml.gz")):
        return load_sumo(path)
    if name.endswith((".geojson", ".json")):
        return load_geojson(path)
    if name.endswith(OSM_SUFFIXES):
        return load_osm(path)
    raise MapError(
        f"{path}: unknown map format; expected a file ending in {', '.join(SUPPORTED_SUFFIXES)}"
        f" (or {', '.join(BUILTIN_MAPS)})"
    )
