"""Radio outputs of a run: SINR in summary.json and coverage.geojson, and the coverage picture.

Reference: the per-edge SINR percentiles are checked against numpy's percentile
of the same samples (method ``lower``); the picture's edge colours are read back
from the drawn LineCollection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection

import avzone
from avzone.cli import main
from avzone.plots import plot_sinr_map
from avzone.rundir import load_run

matplotlib.use("Agg")


@pytest.fixture
def radio_run(grid_scenario_data: dict[str, Any], tmp_path: Path) -> tuple[Path, avzone.Results]:
    """The 3 × 3 grid zone with SINR models for both systems, written to tmp_path/run."""
    data = grid_scenario_data
    data["duration_s"] = 30
    data["road"]["rsu"]["pc5"] = {"radio": {"model": "v2v_urban"}}
    data["network"]["cells"]["radio"] = {"model": "umi", "station_height_m": 10}
    path = tmp_path / "radio.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    results = avzone.run(path)
    results.write(tmp_path / "run")
    return tmp_path / "run", results


def test_summary_and_geojson_carry_sinr(radio_run: tuple[Path, avzone.Results]) -> None:
    """Summary: model, threshold, SINR p10 ≤ p50; network handovers per vehicle-km.
    GeoJSON: per edge, p10/p50 of the samples' SINR (numpy percentile, method lower)."""
    run_dir, results = radio_run
    summary = json.loads((run_dir / "summary.json").read_text())
    uu = summary["coverage"]["uu"]
    assert uu["model"] == "umi"
    assert uu["sinr_min_db"] == -5
    assert uu["sinr_db_p10"] <= uu["sinr_db_p50"]
    assert summary["coverage"]["pc5"]["model"] == "v2v_urban"
    assert summary["network"]["handovers_per_vehicle_km"] is not None
    world = avzone.build_world(results.scenario)
    features = json.loads((run_dir / "coverage.geojson").read_text())["features"]
    table = world.uu_table
    samples = world.samples
    for i in (0, len(features) // 2, len(features) - 1):
        sl = slice(int(samples.start[i]), int(samples.start[i] + samples.count[i]))
        p10, p50 = np.percentile(table.sinr_db[sl], [10, 50], method="lower")
        assert features[i]["properties"]["uu_sinr_db_p10"] == pytest.approx(p10, abs=0.005)
        assert features[i]["properties"]["uu_sinr_db_p50"] == pytest.approx(p50, abs=0.005)


def test_sinr_map_and_cli(radio_run: tuple[Path, avzone.Results], tmp_path: Path) -> None:
    """The picture colours every edge by its SINR p10; the CLI writes a PNG, and a run
    without SINR for the system is one line with exit code 2."""
    run_dir, _ = radio_run
    run = load_run(run_dir)
    _, ax = plot_sinr_map(run, "uu", "p10")
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    drawn = np.sort(np.ma.filled(lines[0].get_array(), np.nan))
    expected = np.sort(
        [
            np.nan if (v := f["properties"]["uu_sinr_db_p10"]) is None else v
            for f in run.coverage["features"]
        ]
    )
    assert np.allclose(drawn, expected, equal_nan=True)
    out = tmp_path / "uu.png"
    assert main(["map", "show", "--coverage", str(run_dir), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert (
        main(
            [
                "map",
                "show",
                "--coverage",
                str(run_dir),
                "--system",
                "perception",
                "-o",
                str(tmp_path / "x.png"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "x.png").exists()
    assert main(["map", "show", "-o", str(tmp_path / "y.png")]) == 2
