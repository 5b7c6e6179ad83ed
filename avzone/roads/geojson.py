"""Load a road graph from GeoJSON.

A map file is a ``FeatureCollection``:

- ``LineString`` / ``MultiLineString`` features are roads. Optional
  properties: ``id``, ``road_class`` (or OSM ``highway``), ``lanes`` (per
  direction), ``speed_kph`` (or OSM ``maxspeed``; ``"30 mph"`` accepted),
  ``oneway`` (``true``/``"yes"``; ``"-1"`` means one way against the drawing
  direction; absent means two-way). Missing lanes and speeds come from the
  road class (:mod:`avzone.roads.classes`).
- ``Point`` features with ``signalized: true`` (or ``highway:
  traffic_signals``) mark signalised intersections: the nearest node within
  :data:`SIGNAL_SNAP_M` is marked; points farther from every node are ignored.
- Other geometry types (polygons, ...) are ignored.

Coordinates are WGS84 lon/lat (RFC 7946) and are projected to the UTM zone
of the data's centre (``crs`` ``"EPSG:326zz"`` north, ``"EPSG:327zz"``
south). A legacy top-level ``"crs"`` member naming a projected CRS in metres,
e.g. ``{"type": "name", "properties": {"name": "EPSG:32650"}}``, means the
coordinates are already metres and are kept.

Projected coordinates are rounded to :data:`NODE_PRECISION_M`. A node is
made at every line end, and at every vertex where lines between different
ends meet (or that one line visits twice); lines are split at nodes. Lines
between the same two ends (one road drawn once per direction) may share
vertices without making nodes. A two-way road gives two directed
edges: ``id`` along the drawing and ``"-" + id`` against it, as SUMO names
them. A road split into pieces gets ``id#0``, ``id#1``, ... in order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from avzone.errors import MapError
from avzone.roads._build import new_graph, read_file_bytes
from avzone.roads._topology import (
    NODE_PRECISION_M,
    SIGNAL_SNAP_M,
    Projector,
    Road,
    add_roads,
    mark_signals,
)
from avzone.roads.classes import DEFAULT_ROAD_CLASS, class_defaults, speed_mps_from_kph

__all__ = ["NODE_PRECISION_M", "SIGNAL_SNAP_M", "load_geojson"]


def load_geojson(path: str | Path) -> nx.MultiDiGraph:
    """Read a GeoJSON road map into a road graph (see the module docs for the format).

    Parameters
    ----------
    path
        A ``.geojson`` or ``.json`` file holding a ``FeatureCollection``.

    Returns
    -------
    networkx.MultiDiGraph
        Node ids are integers in order of first appearance. ``name`` is the
        collection's ``"name"`` member, or the file name without suffix.

    Raises
    ------
    MapError
        Missing or unreadable file, invalid JSON, wrong structure, a bad
        property value, duplicate road ids, or no road at all.
    """
    path = Path(path)
    doc = _parse_json(path)
    features = doc.get("features")
    if not isinstance(features, list):
        raise MapError(f"{path}: 'features': expected a list of GeoJSON features")
    roads, signal_points = _read_features(features, path)
    if not roads:
        raise MapError(f"{path}: no road found (expected LineString or MultiLineString features)")

    crs, project = _frame(doc, roads, path)
    name = doc.get("name") if isinstance(doc.get("name"), str) else path.stem
    G = new_graph(str(name), str(path), crs, (0.0, 0.0))
    add_roads(G, roads, project, path)
    if signal_points:
        mark_signals(G, project(np.array(signal_points)))
    return G


def _read_features(features: list[Any], path: Path) -> tuple[list[Road], list[np.ndarray]]:
    """Return the roads and the signal positions (file coordinates) of the features."""
    roads: list[Road] = []
    signal_points: list[np.ndarray] = []
    for index, feature in enumerate(features):
        where = f"features[{index}]"
        if not isinstance(feature, dict):
            raise MapError(f"{path}: {where}: expected a GeoJSON Feature object")
        geometry = feature.get("geometry")
        if geometry is None:
            continue
        if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
            raise MapError(f"{path}: {where}.geometry: expected a GeoJSON geometry object")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise MapError(f"{path}: {where}.properties: expected an object or null")
        kind = geometry["type"]
        coordinates = geometry.get("coordinates")
        if kind in ("LineString", "MultiLineString"):
            parts = [coordinates] if kind == "LineString" else coordinates
            if not isinstance(parts, list) or not parts:
                raise MapError(f"{path}: {where}.geometry.coordinates: expected a list of lines")
            arrays = [_line(part, path, f"{where}.geometry.coordinates") for part in parts]
            roads.append(_road(index, feature, properties, arrays, path))
        elif kind == "Point" and _is_signal(properties):
            signal_points.append(_position(coordinates, path, f"{where}.geometry.coordinates"))
    return roads, signal_points


def _parse_json(path: Path) -> dict[str, Any]:
    data = read_file_bytes(path)
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise MapError(f"{path}: not UTF-8 text (expected GeoJSON)") from None
    except json.JSONDecodeError as exc:
        raise MapError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise MapError(
            f"{path}: JSON nested too deeply (expected a GeoJSON FeatureCollection)"
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise MapError(f"{path}: expected a GeoJSON FeatureCollection, got {found!r}")
    return doc


def _line(coordinates: object, path: Path, where: str) -> np.ndarray:
    try:
        array = np.asarray(coordinates, dtype=float)
    except (TypeError, ValueError):
        array = np.empty((0, 0))
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] not in (2, 3):
        raise MapError(f"{path}: {where}: expected a list of at least 2 [x, y] positions")
    if not np.isfinite(array).all():
        raise MapError(f"{path}: {where}: expected finite numbers")
    return array[:, :2]


def _position(coordinates: object, path: Path, where: str) -> np.ndarray:
    try:
        array = np.asarray(coordinates, dtype=float)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.ndim != 1 or array.shape[0] not in (2, 3) or not np.isfinite(array).all():
        raise MapError(f"{path}: {where}: expected one [x, y] position")
    return array[:2]


def _is_signal(properties: dict[str, Any]) -> bool:
    flag = properties.get("signalized")
    return (
        flag is True
        or (isinstance(flag, str) and flag.lower() in ("yes", "true"))
        or (properties.get("highway") == "traffic_signals")
    )


def _road(
    index: int,
    feature: dict[str, Any],
    properties: dict[str, Any],
    parts: list[np.ndarray],
    path: Path,
) -> Road:
    where = f"features[{index}].properties"
    raw_id = properties.get("id", feature.get("id", index))
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise MapError(f"{path}: {where}.id: expected a string or an integer, got {raw_id!r}")
    road_class = properties.get("road_class", properties.get("highway")) or DEFAULT_ROAD_CLASS
    if not isinstance(road_class, str):
        raise MapError(
            f"{path}: {where}.road_class: expected an OSM highway class such as 'primary', "
            f"got {road_class!r}"
        )
    defaults = class_defaults(road_class)
    lanes = _lanes(properties.get("lanes"), path, where)
    speed_key = "speed_kph" if "speed_kph" in properties else "maxspeed"
    speed_kph = _speed_kph(properties.get(speed_key), path, f"{where}.{speed_key}")
    return Road(
        index=index,
        edge_id=str(raw_id),
        road_class=road_class,
        lanes=defaults.lanes if lanes is None else lanes,
        speed_mps=speed_mps_from_kph(defaults.speed_kph if speed_kph is None else speed_kph),
        oneway=_oneway(properties.get("oneway"), path, where),
        parts=parts,
    )


def _lanes(value: object, path: Path, where: str) -> int | None:
    if value is None:
        return None
    try:
        lanes = float(value) if isinstance(value, str | int | float) else float("nan")
    except ValueError:
        lanes = float("nan")
    if isinstance(value, bool) or not lanes.is_integer() or lanes < 1:
        raise MapError(f"{path}: {where}.lanes: expected a whole number ≥ 1, got {value!r}")
    return int(lanes)


_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kph|kmh|mph)?\s*$")


def _speed_kph(value: object, path: Path, where: str) -> float | None:
    if value is None:
        return None
    speed = float("nan")
    if isinstance(value, int | float) and not isinstance(value, bool):
        speed = float(value)
    elif isinstance(value, str) and (match := _SPEED.match(value)):
        speed = float(match[1]) * (1.609344 if match[2] == "mph" else 1.0)
    if not speed > 0 or not np.isfinite(speed):
        raise MapError(
            f"{path}: {where}: expected a speed > 0 in km/h (or '30 mph'), got {value!r}"
        )
    return speed


# True == 1 and False == 0 in Python, so the integers 1, 0 are found too.
_ONEWAY: dict[object, int] = {
    True: 1,
    "yes": 1,
    "true": 1,
    "1": 1,
    False: 0,
    "no": 0,
    "false": 0,
    "0": 0,
    -1: -1,
    "-1": -1,
    "reverse": -1,
}


def _oneway(value: object, path: Path, where: str) -> int:
    """Return 0 for two-way, +1 for one way along the drawing, -1 against it."""
    if value is None:
        return 0
    key = value.lower() if isinstance(value, str) else value
    if isinstance(key, int | str) and key in _ONEWAY:
        return _ONEWAY[key]
    raise MapError(
        f"{path}: {where}.oneway: expected true, false, 'yes', 'no' or '-1', got {value!r}"
    )


def _frame(doc: dict[str, Any], roads: list[Road], path: Path) -> tuple[str, Projector]:
    """Return ``(crs, project)``: the graph's CRS and a function file coords → metres."""
    crs = _legacy_crs(doc.get("crs"), path)
    if crs is not None and crs.is_projected:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if unit not in ("metre", "meter"):
            raise MapError(f"{path}: crs: expected a projected CRS in metres, got unit {unit!r}")
        return str(crs.to_string()), lambda xy: np.asarray(xy, dtype=float)
    if crs is not None and not crs.is_geographic:
        raise MapError(f"{path}: crs: expected a projected CRS in metres or lon/lat")
    every = np.concatenate([part for road in roads for part in road.parts])
    lon, lat = every[:, 0], every[:, 1]
    if np.abs(lon).max() > 180 or np.abs(lat).max() > 90:
        raise MapError(
            f"{path}: coordinates are not lon/lat degrees (e.g. {every[0].tolist()}); "
            "name the projected CRS in a top-level 'crs' member"
        )
    lon_c = (lon.min() + lon.max()) / 2
    lat_c = (lat.min() + lat.max()) / 2
    zone = min(int((lon_c + 180) // 6) + 1, 60)
    epsg = f"EPSG:{(32600 if lat_c >= 0 else 32700) + zone}"
    transformer = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return epsg, project


def _legacy_crs(member: object, path: Path) -> CRS | None:
    if member is None:
        return None
    properties = member.get("properties") if isinstance(member, dict) else None
    name = None
    if isinstance(properties, dict):
        name = properties.get("name")
        if name is None and properties.get("code") is not None:
            name = f"EPSG:{properties['code']}"
    if not isinstance(name, str):
        raise MapError(
            f'{path}: crs: expected {{"type": "name", "properties": {{"name": '
            f'"EPSG:…"}}}}, got {member!r}'
        )
    try:
        return CRS.from_user_input(name)
    except CRSError:
        raise MapError(f"{path}: crs: unknown CRS name {name!r}") from None
