"""Path loss and LOS probability against the formulas of the 3GPP reports, at hand-computed points.

Sources (quoted in ../shared/REFERENCE.md §1 and §2): 3GPP TR 38.901 Table
7.4.1-1 (UMa, UMi street canyon, RMa path loss; breakpoint d'BP = 4 h'BS h'UT fc/c,
hE = 1 m) and Table 7.4.2-1 (LOS probability); TR 37.885 Table 6.2.1-1 (V2V
path loss) and Table 6.2-1 (V2V LOS probability). Each expected value below was
worked out from the formula text (the arithmetic is in the comment), not from
avzone's code; tolerance 0.01 dB (DESIGN.md, validation targets).
"""

from __future__ import annotations

import numpy as np
import pytest

from avzone.radio.pathloss import (
    breakpoint_m,
    los_probability,
    path_loss_db,
    rma_los,
    rma_nlos,
    uma_los,
    uma_nlos,
    umi_los,
    umi_nlos,
    v2v_highway_los,
    v2v_urban_los,
    v2v_urban_nlos,
)

DB = 0.01


def test_breakpoints() -> None:
    """d'BP = 4 (hBS − 1)(hUT − 1) fc / c: UMa 4·24·0.5·3.5e9/299792458 = 560.39 m,
    UMi 4·9·0.5·3.5e9/c = 210.15 m; RMa dBP = 2π·35·1.5·3.5e9/c = 3851.12 m."""
    assert breakpoint_m(3.5, 25.0, 1.5) == pytest.approx(560.39, abs=0.01)
    assert breakpoint_m(3.5, 10.0, 1.5) == pytest.approx(210.15, abs=0.01)


@pytest.mark.parametrize(
    ("func", "d2d", "h_bs", "expected_db"),
    [
        # UMa LOS, d2D ≤ d'BP: d3D = √(100² + 23.5²) = 102.724; 28 + 22·2.01167 + 20·0.54407 = 83.14
        (uma_los, 100.0, 25.0, 83.14),
        # UMa LOS beyond: d3D = 1000.276; 28 + 40·3.00012 + 10.881 − 9·log10(560.39² + 23.5²) = 109.41
        (uma_los, 1000.0, 25.0, 109.41),
        # UMa NLOS 300 m: d3D = 300.919; 13.54 + 39.08·2.47845 + 10.881 = 121.28 > LOS 93.41
        (uma_nlos, 300.0, 25.0, 121.28),
        # UMi LOS 50 m: d3D = 50.717; 32.4 + 21·1.70515 + 10.881 = 79.09
        (umi_los, 50.0, 10.0, 79.09),
        # UMi LOS beyond d'BP (210 m): 32.4 + 40·log10(500.072) + 10.881 − 9.5·log10(210.15² + 8.5²) = 107.11
        (umi_los, 500.0, 10.0, 107.11),
        # UMi NLOS 200 m: d3D = 200.181; 22.4 + 35.3·2.30142 + 21.3·0.54407 = 115.23
        (umi_nlos, 200.0, 10.0, 115.23),
        # RMa LOS 500 m (h = 5): 20·log10(40π·501.22·3.5/3) + 0.5·log10 d − 0.7·... = 98.61
        (rma_los, 500.0, 35.0, 98.61),
        # RMa LOS beyond dBP 3851 m: PL1(3851.12) + 40·log10(5000.11/3851.12) = 125.97
        (rma_los, 5000.0, 35.0, 125.97),
        # RMa NLOS 1000 m: 161.04 − 7.1·log10 20 + 7.5·log10 5 − (24.37 − 3.7·(5/35)²)·log10 35
        #   + (43.42 − 3.1·log10 35)(log10 1000.55 − 3) + 20·log10 3.5 − (3.2·log10(17.625)² − 4.97) = 130.42
        (rma_nlos, 1000.0, 35.0, 130.42),
    ],
)
def test_38901_path_loss(func, d2d: float, h_bs: float, expected_db: float) -> None:  # type: ignore[no-untyped-def]
    """TR 38.901 Table 7.4.1-1 at 3.5 GHz, hUT = 1.5 m."""
    assert float(func(d2d, 3.5, h_bs, 1.5)) == pytest.approx(expected_db, abs=DB)


def test_37885_path_loss() -> None:
    """TR 37.885 Table 6.2.1-1 at 5.9 GHz: highway LOS 100 m 32.4 + 40 + 15.417 = 87.82;
    urban LOS 100 m 38.77 + 33.4 + 18.2·0.77085 = 86.20; urban NLOS 200 m
    36.85 + 30·2.30103 + 18.9·0.77085 = 120.45."""
    assert float(v2v_highway_los(100.0, 5.9)) == pytest.approx(87.82, abs=DB)
    assert float(v2v_urban_los(100.0, 5.9)) == pytest.approx(86.20, abs=DB)
    assert float(v2v_urban_nlos(200.0, 5.9)) == pytest.approx(120.45, abs=DB)


@pytest.mark.parametrize(
    ("model", "d2d", "expected"),
    [
        ("uma", 10.0, 1.0),  # d2D ≤ 18 m
        ("uma", 100.0, 0.34767),  # 0.18 + e^(−100/63)·0.82
        ("umi", 100.0, 0.23098),  # 0.18 + e^(−100/36)·0.82
        ("rma", 500.0, 0.61263),  # e^(−490/1000)
        ("v2v_urban", 100.0, 0.33581),  # 1.05·e^(−1.14)
        ("v2v_highway", 300.0, 0.60842),  # 2.1013e-6·300² − 0.6 + 1.0193
        ("v2v_highway", 600.0, 0.415),  # 0.54 − 0.001·125
    ],
)
def test_los_probability(model: str, d2d: float, expected: float) -> None:
    """TR 38.901 Table 7.4.2-1 (hUT = 1.5 m, so C'(hUT) = 0) and TR 37.885 Table 6.2-1."""
    assert float(los_probability(model, d2d)) == pytest.approx(expected, abs=1e-5)


def test_path_loss_db_dispatches_los_and_clamps() -> None:
    """path_loss_db picks the LOS/NLOS formula per element and clamps d2D to the 10 m floor."""
    d = np.array([100.0, 300.0, 3.0])
    got = path_loss_db("uma", d, [True, False, True], 3.5, 25.0, 1.5)
    assert got[0] == pytest.approx(83.14, abs=DB)
    assert got[1] == pytest.approx(121.28, abs=DB)
    assert got[2] == pytest.approx(float(uma_los(10.0, 3.5)), abs=1e-9)
    with pytest.raises(ValueError, match="model"):
        path_loss_db("free_space", d, True, 3.5, 25.0, 1.5)
