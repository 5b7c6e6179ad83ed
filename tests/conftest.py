"""Shared fixtures. Map and scenario builders live in tests/tinyzone.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tinyzone import grid_map, write_scenario


@pytest.fixture
def grid_scenario_data(tmp_path: Path) -> dict[str, Any]:
    """A fast complete scenario on a 3 × 3 grid of 500 m two-way roads (tmp_path/tiny.geojson).

    5 vehicles for 60 s; a pc5 ``bsm`` flow and a uu ``control`` flow served
    by one edge site; 2 RSUs and 1 cell at listed positions.
    """
    grid_map(tmp_path)
    return {
        "name": "grid",
        "seed": 1,
        "duration_s": 60,
        "map": {"file": "tiny.geojson"},
        "road": {"rsu": {"place": {"rule": "list", "positions_m": [[500, 500], [0, 0]]}}},
        "car": {
            "fleet": {"arrivals": "fixed", "count": 5, "start_window_s": 10},
            "flows": {
                "bsm": {"rate_hz": 10, "size_bytes": 300, "via": "pc5", "deadline_ms": 100},
                "control": {
                    "rate_hz": 10,
                    "size_bytes": 1200,
                    "via": "uu",
                    "service": "planning",
                    "reply_bytes": 200,
                    "deadline_ms": 50,
                },
            },
        },
        "network": {
            "cells": {"place": {"rule": "list", "positions_m": [[500, 500]]}, "range_m": 1000}
        },
        "cloud": {
            "sites": {
                "edge": {
                    "tier": "edge",
                    "servers": 2,
                    "place": {"rule": "list", "positions_m": [[500, 500]]},
                }
            },
            "services": {
                "planning": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 2}}
            },
        },
        "checks": ["vehicles.arrived == 5", "infrastructure.rsus >= 2"],
    }


@pytest.fixture
def grid_scenario(tmp_path: Path, grid_scenario_data: dict[str, Any]) -> Path:
    """``grid_scenario_data`` written to tmp_path/grid.yaml."""
    return write_scenario(tmp_path, grid_scenario_data, "grid.yaml")


@pytest.fixture
def grid_variant(
    tmp_path: Path, grid_scenario_data: dict[str, Any]
) -> Callable[[dict[str, Any], str], Path]:
    """Write ``grid_scenario_data`` with changes to tmp_path/NAME and return the path.

    Changes map dotted key paths to values, e.g. ``{"car.fleet.count": -5}``;
    the value ``...`` deletes the key.
    """

    def write(changes: dict[str, Any], name: str = "variant.yaml") -> Path:
        data = copy.deepcopy(grid_scenario_data)
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node = data
            for key in parents:
                node = node.setdefault(key, {})
            if value is ...:
                del node[last]
            else:
                node[last] = value
        return write_scenario(tmp_path, data, name)

    return write
