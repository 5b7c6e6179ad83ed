"""Tests of avzone/roads/points.py: RSUs, cells and sites placed from a GeoJSON or CSV list.

References outside the code: positions written by hand in map metres (they must come
back exactly) and lon/lat computed by pyproj from UTM 50N (EPSG:32650, the tiny maps'
CRS) that must come back to within a millimetre.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from tinyzone import X0, Y0, scenario_dict, straight_road_map, write_scenario

import avzone
from avzone.engine.world import World

TO_LONLAT = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)


def _world(tmp_path: Path, data: dict) -> World:  # type: ignore[type-arg]
    return World.build(avzone.load_scenario(write_scenario(tmp_path, data)))


def test_cells_from_csv_in_map_metres(tmp_path: Path) -> None:
    """x,y rows are the cells' positions in the map's metres, unchanged."""
    (tmp_path / "cells.csv").write_text(
        f"name,x,y\nc1,{X0 + 100},{Y0 + 50}\nc2,{X0 + 900},{Y0 - 50}\n"
    )
    data = scenario_dict(straight_road_map(tmp_path))
    data["network"]["cells"]["place"] = {"rule": "list", "file": "cells.csv"}
    world = _world(tmp_path, data)
    assert world.cell_xy.tolist() == [[X0 + 100, Y0 + 50], [X0 + 900, Y0 - 50]]


def test_rsus_and_sites_from_geojson_lonlat(tmp_path: Path) -> None:
    """GeoJSON Points in lon/lat are projected with the map's CRS back to the metres they came from."""
    wanted = np.array([[X0 + 200.0, Y0 + 10.0], [X0 + 700.0, Y0 - 10.0]])
    lon, lat = TO_LONLAT.transform(wanted[:, 0], wanted[:, 1])
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [a, b]}, "properties": {}}
        for a, b in zip(lon, lat, strict=True)
    ]
    (tmp_path / "rsus.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    data = scenario_dict(straight_road_map(tmp_path))
    data["road"]["rsu"]["place"] = {"rule": "list", "file": "rsus.geojson"}
    data["cloud"]["sites"]["edge"].update(count=2, place={"rule": "list", "file": "rsus.geojson"})
    world = _world(tmp_path, data)
    np.testing.assert_allclose(world.rsu_xy, wanted, atol=1e-3)
    np.testing.assert_allclose([s.xy for s in world.sites if s.tier == "edge"], wanted, atol=1e-3)


def test_site_count_must_match_the_file(tmp_path: Path) -> None:
    """An edge site group of count 3 with 2 listed positions is refused, naming the key."""
    (tmp_path / "sites.csv").write_text(f"x,y\n{X0},{Y0}\n{X0 + 1},{Y0}\n")
    data = scenario_dict(straight_road_map(tmp_path))
    data["cloud"]["sites"]["edge"].update(count=3, place={"rule": "list", "file": "sites.csv"})
    with pytest.raises(
        avzone.ScenarioError,
        match=r"cloud\.sites\.edge\.place\.file: expected 3 positions \(count\), got 2",
    ):
        _world(tmp_path, data)


def test_bad_position_file(tmp_path: Path) -> None:
    """A CSV without x,y or lon,lat columns gives one line naming the key and the file."""
    (tmp_path / "cells.csv").write_text("a,b\n1,2\n")
    data = scenario_dict(straight_road_map(tmp_path))
    data["network"]["cells"]["place"] = {"rule": "list", "file": "cells.csv"}
    with pytest.raises(avzone.ScenarioError) as info:
        _world(tmp_path, data)
    assert str(info.value).startswith(f"network.cells.place.file: {tmp_path / 'cells.csv'}: ")
    assert "expected a CSV header with x,y or lon,lat" in str(info.value)
