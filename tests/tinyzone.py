"""Tiny hand-checkable zones for tests: a straight road, a small grid.

Maps are GeoJSON in a projected CRS (EPSG:32650, metres) written to a
temporary folder, so every distance in a test is exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

CRS = {"type": "name", "properties": {"name": "EPSG:32650"}}
X0, Y0 = 450_000.0, 4_400_000.0


def road(
    fid: str,
    a: tuple[float, float],
    b: tuple[float, float],
    speed_kph: float = 36.0,
    road_class: str = "primary",
    lanes: int = 2,
) -> dict[str, Any]:
    """A two-way road feature between two points given relative to (X0, Y0)."""
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[X0 + a[0], Y0 + a[1]], [X0 + b[0], Y0 + b[1]]],
        },
        "properties": {
            "id": fid,
            "road_class": road_class,
            "lanes": lanes,
            "speed_kph": speed_kph,
            "oneway": False,
        },
    }


def write_map(folder: Path, features: list[dict[str, Any]], name: str = "tiny.geojson") -> Path:
    """Write a projected GeoJSON map and return its path."""
    path = folder / name
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": CRS, "features": features}))
    return path


def straight_road_map(folder: Path) -> Path:
    """One 1000 m two-way road at 36 km/h (10 m/s) along y = 0."""
    return write_map(folder, [road("r", (0, 0), (1000, 0))])


def grid_map(folder: Path, n: int = 3, spacing_m: float = 500.0) -> Path:
    """An n × n grid of two-way roads, ``spacing_m`` apart."""
    features = []
    for i in range(n):
        for j in range(n - 1):
            features.append(
                road(
                    f"h{i}_{j}",
                    (j * spacing_m, i * spacing_m),
                    ((j + 1) * spacing_m, i * spacing_m),
                )
            )
            features.append(
                road(
                    f"v{i}_{j}",
                    (i * spacing_m, j * spacing_m),
                    (i * spacing_m, (j + 1) * spacing_m),
                )
            )
    return write_map(folder, features)


def vehicle_flows() -> dict[str, Any]:
    """The usual pair of vehicle flows: 10 Hz BSMs over PC5 and a 10 Hz cloud-control loop
    over Uu to the ``planning`` service with a 200-byte reply (a fresh dict each call)."""
    return {
        "bsm": {"rate_hz": 10, "size_bytes": 300, "via": "pc5", "deadline_ms": 100},
        "control": {
            "rate_hz": 10,
            "size_bytes": 1200,
            "via": "uu",
            "service": "planning",
            "reply_bytes": 200,
            "deadline_ms": 50,
        },
    }


def scenario_dict(map_path: Path, **sections: Any) -> dict[str, Any]:
    """A small complete scenario on ``map_path``; keyword sections replace the defaults."""
    data: dict[str, Any] = {
        "name": "tiny",
        "seed": 1,
        "duration_s": 60,
        "map": {"file": str(map_path)},
        "road": {
            "rsu": {
                "place": {"rule": "list", "positions_m": [[500, 0]]},
                "pc5": {"range_m": 300, "latency_ms": 2, "rate_mbps": 20, "loss": 0},
            }
        },
        "car": {
            "fleet": {"arrivals": "fixed", "count": 1, "start_window_s": 0},
            "flows": {
                "bsm": {"rate_hz": 10, "size_bytes": 300, "via": "pc5", "deadline_ms": 100},
            },
        },
        "network": {
            "cells": {
                "place": {"rule": "list", "positions_m": [[500, 0]]},
                "range_m": 2000,
                "loss": 0,
            }
        },
        "cloud": {
            "sites": {
                "edge": {
                    "tier": "edge",
                    "servers": 1,
                    "place": {"rule": "list", "positions_m": [[500, 400]]},
                }
            }
        },
        "hdmap": {"changes": {"rate_per_tile_per_h": 0}},
    }
    data.update(sections)
    return data


def write_scenario(folder: Path, data: dict[str, Any], name: str = "tiny.yaml") -> Path:
    """Write a scenario mapping as YAML and return its path."""
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
