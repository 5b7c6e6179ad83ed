"""Infrastructure positions from a file: RSUs, cells or sites listed in GeoJSON or CSV.

A ``place: {rule: list, file: PATH}`` placement reads its positions here
instead of from ``positions_m``:

- GeoJSON: a ``FeatureCollection`` of ``Point`` features in WGS84 lon/lat
  (RFC 7946), projected with the map's CRS; other geometries are ignored.
- CSV with a header: ``x,y`` (the map's own metres, as ``avzone map info``
  prints them) or ``lon,lat`` (degrees, projected with the map's CRS).

Positions are returned in the graph's metres and turned into the offsets
from the map's south-west corner that ``positions_m`` holds.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
from pyproj import Transformer

from avzone.errors import MapError, ScenarioError
from avzone.roads._build import read_file_bytes
from avzone.scenario import Placement, Scenario

__all__ = ["placement_from_file", "read_points"]


def read_points(path: str | Path, G: nx.MultiDiGraph) -> np.ndarray:
    """Positions listed in a GeoJSON or CSV file, as an ``(n, 2)`` array of graph metres.

    Raises
    ------
    MapError
        Missing or malformed file, no point, lon/lat on a map without a CRS.
    """
    path = Path(path)
    text = read_file_bytes(path).decode("utf-8", errors="replace")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".geojson", ".json")):
        lonlat, geo = _geojson_points(text, path), True
    elif name.endswith(".csv"):
        lonlat, geo = _csv_points(text, path)
    else:
        raise MapError(f"{path}: unknown position list format; expected .geojson or .csv")
    if len(lonlat) == 0:
        raise MapError(f"{path}: no position listed")
    if not geo:
        return lonlat
    crs = G.graph.get("crs")
    if crs is None:
        raise MapError(f"{path}: positions are lon/lat but the map has no CRS; give x,y in metres")
    dx, dy = G.graph.get("offset_m", (0.0, 0.0))
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1]
    )
    return np.column_stack([np.asarray(x) + dx, np.asarray(y) + dy])


def _geojson_points(text: str, path: Path) -> np.ndarray:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise MapError(f"{path}: expected a GeoJSON FeatureCollection of Point features")
    points = []
    for i, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates")
            try:
                if not isinstance(coordinates, list) or len(coordinates) < 2:
                    raise TypeError(coordinates)
                lon, lat = float(coordinates[0]), float(coordinates[1])
            except (TypeError, ValueError):
                raise MapError(f"{path}: features[{i}]: expected [lon, lat]") from None
            if not (abs(lon) <= 180 and abs(lat) <= 90):
                raise MapError(f"{path}: features[{i}]: {[lon, lat]} is not lon/lat in degrees")
            points.append((lon, lat))
    return np.array(points, dtype=float).reshape(-1, 2)


def _csv_points(text: str, path: Path) -> tuple[np.ndarray, bool]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    header = [h.strip().lower() for h in rows[0]] if rows else []
    for columns, geo in ((("x", "y"), False), (("lon", "lat"), True)):
        if all(c in header for c in columns):
            index = [header.index(c) for c in columns]
            try:
                values = [[float(row[i]) for i in index] for row in rows[1:]]
            except (IndexError, ValueError):
                raise MapError(
                    f"{path}: expected numbers in the {'/'.join(columns)} columns"
                ) from None
            return np.array(values, dtype=float).reshape(-1, 2), geo
    raise MapError(f"{path}: expected a CSV header with x,y or lon,lat, got {header}")


def placement_from_file(
    placement: Placement,
    scenario: Scenario,
    G: nx.MultiDiGraph,
    bbox_m: tuple[float, float, float, float],
    key: str,
    count: int | None = None,
) -> Placement:
    """Resolve a ``list`` placement's ``file`` into ``positions_m``; others pass through.

    ``file`` is relative to the scenario's folder. ``count``: the number of
    positions required (edge sites).

    Raises
    ------
    ScenarioError
        ``KEY`` (e.g. ``network.cells.place.file``) with the file's problem.
    """
    if placement.file is None:
        return placement
    base = scenario.file.parent if scenario.file is not None else Path.cwd()
    path = Path(placement.file)
    path = path if path.is_absolute() else (base / path).resolve()
    try:
        xy = read_points(path, G)
    except MapError as exc:
        raise ScenarioError(key, str(exc)) from None
    if count is not None and len(xy) != count:
        raise ScenarioError(key, f"expected {count} positions (count), got {len(xy)} in {path}")
    offsets = xy - np.array(bbox_m[:2])
    return replace(placement, positions_m=tuple((float(x), float(y)) for x, y in offsets))
