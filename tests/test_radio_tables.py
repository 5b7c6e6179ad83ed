"""Radio tables on tiny roads: coverage radius from the link budget, SINR with interference.

Sources: the link budget P_tx + G_tx + G_rx − PL(d) − N ≥ SINR_min with
N = −174 dBm/Hz + 10 log10 B + NF, and PL the UMa LOS formula of 3GPP
TR 38.901 Table 7.4.1-1 (REFERENCE.md §1), written out again here and solved
with scipy's brentq; SINR = S / (N + load · I).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq
from tinyzone import scenario_dict, straight_road_map, write_scenario

from avzone.engine.world import World
from avzone.errors import ScenarioError
from avzone.scenario import load_scenario

DETERMINISTIC = {"model": "uma", "los": "always", "shadowing": False, "cutoff_m": 5000}


def _world(tmp_path: Path, cells: dict[str, Any], pc5: dict[str, Any] | None = None) -> World:
    data = scenario_dict(straight_road_map(tmp_path))
    data["network"]["cells"].update(cells)
    if pc5 is not None:
        data["road"]["rsu"]["pc5"]["radio"] = pc5
    return World.build(load_scenario(write_scenario(tmp_path, data)))


def _uma_los_db(d2d: float) -> float:
    """TR 38.901 UMa LOS below the breakpoint, fc 3.5 GHz, hBS 25 m, hUT 1.5 m; d2D ≥ 10 m
    (the table's validity range: closer samples are clamped to 10 m)."""
    d2d = max(d2d, 10.0)
    return 28.0 + 22.0 * math.log10(math.hypot(d2d, 23.5)) + 20.0 * math.log10(3.5)


def test_single_cell_coverage_radius_is_the_link_budget_solution(tmp_path: Path) -> None:
    """10 dBm + 8 dBi, noise −174 + 80 + 7 = −87 dBm, SINR ≥ 20 dB ⇒ PL(R) = 85 dB ⇒ R ≈ 122.6 m.
    Every 10 m sample of the 1000 m road is covered exactly when its midpoint is within R."""
    radio = {
        **DETERMINISTIC,
        "tx_power_dbm": 10,
        "tx_gain_dbi": 8,
        "rx_gain_dbi": 0,
        "noise_figure_db": 7,
        "bandwidth_mhz": 100,
        "sinr_min_db": 20,
    }
    world = _world(tmp_path, {"place": {"rule": "list", "positions_m": [[0, 0]]}, "radio": radio})
    noise_dbm = -174 + 10 * math.log10(100e6) + 7
    radius = brentq(lambda d: 10 + 8 - _uma_los_db(d) - noise_dbm - 20, 10.0, 500.0)
    assert radius == pytest.approx(122.6, abs=0.1)
    d2d = np.hypot(*(world.samples.xy - world.cell_xy[0]).T)
    covered = world.uu_cell >= 0
    assert np.array_equal(covered, d2d <= radius)
    assert world.uu_table is not None
    snr = 10 + 8 - np.array([_uma_los_db(d) for d in d2d]) - noise_dbm
    near = d2d < 560.0  # the formula above is the one before the breakpoint d'BP = 560.4 m
    assert np.allclose(world.uu_table.sinr_db[near], snr[near], atol=1e-9)
    share = float(world.samples.length_m[covered].sum() / world.samples.length_m.sum())
    assert share == pytest.approx(radius / 1000, abs=0.01)


def test_two_cells_interfere_with_the_load_factor(tmp_path: Path) -> None:
    """Cells at both ends, load 0.5: at every sample SINR = S / (N + 0.5 · I) with S the
    stronger and I the weaker cell's power; at the midpoint S = I, so SINR ≈ −3 dB (N ≪ S)."""
    radio = {**DETERMINISTIC, "load": 0.5, "tx_power_dbm": 46, "tx_gain_dbi": 8}
    world = _world(
        tmp_path, {"place": {"rule": "list", "positions_m": [[0, 0], [1000, 0]]}, "radio": radio}
    )
    assert world.uu_table is not None
    x = world.samples.xy[:, 0] - world.cell_xy[0, 0]
    noise_mw = 10 ** ((-174 + 80 + 7) / 10)
    from avzone.radio.pathloss import uma_los

    p0 = 10 ** ((54 - uma_los(np.maximum(np.abs(x), 10), 3.5)) / 10)  # d2D ≥ 10 m
    p1 = 10 ** ((54 - uma_los(np.maximum(np.abs(1000 - x), 10), 3.5)) / 10)
    expected = 10 * np.log10(np.maximum(p0, p1) / (noise_mw + 0.5 * np.minimum(p0, p1)))
    assert np.allclose(world.uu_table.sinr_db, expected, atol=1e-9)
    assert np.array_equal(world.uu_table.best, np.where(p0 >= p1, 0, 1))
    mid = np.argmin(np.abs(x - 500) + 1e-6 * x)
    assert world.uu_table.sinr_db[mid] == pytest.approx(-10 * math.log10(0.5), abs=0.3)


def test_shadowing_is_spatially_correlated_and_seeded(tmp_path: Path) -> None:
    """Along an edge the shadowing of consecutive 10 m samples has correlation
    exp(−10/37) ≈ 0.76 (UMa LOS decorrelation 37 m, REFERENCE.md §1); the same seed gives
    the same table. Tolerance: ±0.1 on the lag-1 correlation over 2 × 100 samples × 4 cells."""
    radio = {"model": "uma", "los": "always", "cutoff_m": 5000, "tx_power_dbm": 46}
    cells = {
        "place": {"rule": "list", "positions_m": [[-3000, 0], [-3000, 10], [4000, 0], [4000, 5]]},
        "radio": radio,
    }
    world = _world(tmp_path, cells)
    again = _world(tmp_path, cells)
    assert world.uu_table is not None
    assert again.uu_table is not None
    assert np.array_equal(world.uu_table.top_rx_dbm, again.uu_table.top_rx_dbm)
    from avzone.radio.pathloss import uma_los

    lags = []
    for c in range(4):
        for e in range(2):
            sl = slice(
                int(world.samples.start[e]), int(world.samples.start[e] + world.samples.count[e])
            )
            d = np.hypot(*(world.samples.xy[sl] - world.cell_xy[c]).T)
            top, rx = world.uu_table.top[sl], world.uu_table.top_rx_dbm[sl]
            got = np.array([rx[i][list(top[i]).index(c)] for i in range(len(d))])
            shadow = (54 - uma_los(d, 3.5)) - got
            z = (shadow - shadow.mean()) / shadow.std()
            lags.append(float(np.mean(z[1:] * z[:-1])))
    assert float(np.mean(lags)) == pytest.approx(math.exp(-10 / 37), abs=0.1)


def test_bad_radio_keys_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"network\.cells\.radio\.model: expected one of"):
        _world(tmp_path, {"radio": {"model": "free_space"}})
    with pytest.raises(ScenarioError, match=r"road\.rsu\.pc5\.radio\.ue_tx_power_dbm: unknown key"):
        _world(tmp_path, {}, pc5={"ue_tx_power_dbm": 23})
    with pytest.raises(ScenarioError, match=r"network\.cells\.radio\.harq\.max_tx"):
        _world(tmp_path, {"radio": {"harq": {"max_tx": 0}}})
