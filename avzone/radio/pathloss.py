"""Path loss and LOS probability: 3GPP TR 38.901 and TR 37.885, pure numpy.

Every function takes distances in metres (arrays broadcast), heights in
metres and the carrier frequency ``fc_ghz`` in GHz, and returns dB (path
loss) or a probability. Formulas and their sources: REFERENCE.md §1
(TR 38.901 Table 7.4.1-1 path loss, Table 7.4.2-1 LOS probability) and §2
(TR 37.885 Table 6.2.1-1 V2V path loss, Table 6.2-1 V2V LOS probability).

Simplifications, stated once:

- UMa's effective environment height ``hE`` is 1 m. The standard draws it
  only for ``hUT ≥ 13 m`` (``C(d2D, hUT) = 0`` below), and vehicle antennas
  are lower, so this is exact for avzone's receivers.
- Distances below a model's lower validity bound are clamped to it
  (:data:`MIN_DISTANCE_M`); there is no upper clamp (the table builder only
  looks at stations within a cut-off distance).
- V2V NLOSv (a vehicle blocks the line of sight) adds the mean blockage loss
  of the "one antenna below the blocker" case to the LOS loss; its spread is
  folded into the shadowing.

Examples
--------
UMa LOS at 100 m, 3.5 GHz, a 25 m mast and a 1.5 m antenna (before the breakpoint):

>>> round(float(uma_los(100.0, 3.5, 25.0, 1.5)), 2)
83.14
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MIN_DISTANCE_M",
    "MODELS",
    "SHADOW_CORR_M",
    "SHADOW_SIGMA_DB",
    "breakpoint_m",
    "los_probability",
    "path_loss_db",
    "rma_los",
    "rma_nlos",
    "uma_los",
    "uma_nlos",
    "umi_los",
    "umi_nlos",
    "v2v_highway_los",
    "v2v_highway_nlosv",
    "v2v_urban_los",
    "v2v_urban_nlos",
]

C_MPS = 299_792_458.0
"""Speed of light, m/s."""

MODELS = ("uma", "umi", "rma", "v2v_urban", "v2v_highway")
"""The propagation models a radio system can use (besides the ``disk`` of range_m)."""

MIN_DISTANCE_M = {"uma": 10.0, "umi": 10.0, "rma": 10.0, "v2v_urban": 3.0, "v2v_highway": 3.0}
"""Lower validity bound of each model's distance (TR 38.901: 10 m; V2V: 3 m)."""

SHADOW_SIGMA_DB = {
    "uma": (4.0, 6.0),
    "umi": (4.0, 7.82),
    "rma": (4.0, 8.0),
    "v2v_urban": (3.0, 4.0),
    "v2v_highway": (3.0, 3.0),
}
"""Log-normal shadowing standard deviation (LOS, non-LOS) in dB, REFERENCE.md §1–2.

RMa LOS uses 4 dB for both sides of the breakpoint (the standard has 6 dB
beyond it); V2V highway non-LOS is NLOSv (3 dB)."""

SHADOW_CORR_M = {
    "uma": (37.0, 50.0),
    "umi": (10.0, 13.0),
    "rma": (37.0, 120.0),
    "v2v_urban": (10.0, 13.0),
    "v2v_highway": (10.0, 13.0),
}
"""Shadowing decorrelation distance (LOS, non-LOS) in m: REFERENCE.md §1 (UMa, UMi)
and §2 (V2V). RMa: 37 / 120 m from TR 38.901 Table 7.5-6 [unverified: not in
REFERENCE.md, recalled]."""


def _log(x: ArrayLike) -> np.ndarray:
    return np.log10(np.asarray(x, dtype=float))


def _d3d(d2d: ArrayLike, h_bs: float, h_ut: float) -> np.ndarray:
    return np.hypot(np.asarray(d2d, dtype=float), h_bs - h_ut)


def breakpoint_m(fc_ghz: float, h_bs: float, h_ut: float, h_e: float = 1.0) -> float:
    """TR 38.901 breakpoint distance d'BP = 4 h'BS h'UT fc / c with h' = h − hE.

    >>> round(breakpoint_m(3.5, 25.0, 1.5), 1)  # UMa, 3.5 GHz
    560.4
    """
    return 4.0 * (h_bs - h_e) * (h_ut - h_e) * fc_ghz * 1e9 / C_MPS


def uma_los(d2d: ArrayLike, fc_ghz: float, h_bs: float = 25.0, h_ut: float = 1.5) -> np.ndarray:
    """UMa LOS path loss in dB (TR 38.901 Table 7.4.1-1, hE = 1 m)."""
    d2 = np.asarray(d2d, dtype=float)
    d3 = _d3d(d2, h_bs, h_ut)
    dbp = breakpoint_m(fc_ghz, h_bs, h_ut)
    pl1 = 28.0 + 22.0 * _log(d3) + 20.0 * np.log10(fc_ghz)
    pl2 = (
        28.0
        + 40.0 * _log(d3)
        + 20.0 * np.log10(fc_ghz)
        - 9.0 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2 <= dbp, pl1, pl2)


def uma_nlos(d2d: ArrayLike, fc_ghz: float, h_bs: float = 25.0, h_ut: float = 1.5) -> np.ndarray:
    """UMa NLOS path loss in dB: max(LOS, 13.54 + 39.08 log d3D + 20 log fc − 0.6 (hUT − 1.5))."""
    d3 = _d3d(d2d, h_bs, h_ut)
    pl = 13.54 + 39.08 * _log(d3) + 20.0 * np.log10(fc_ghz) - 0.6 * (h_ut - 1.5)
    return np.maximum(uma_los(d2d, fc_ghz, h_bs, h_ut), pl)


def umi_los(d2d: ArrayLike, fc_ghz: float, h_bs: float = 10.0, h_ut: float = 1.5) -> np.ndarray:
    """UMi street canyon LOS path loss in dB (TR 38.901 Table 7.4.1-1, hE = 1 m)."""
    d2 = np.asarray(d2d, dtype=float)
    d3 = _d3d(d2, h_bs, h_ut)
    dbp = breakpoint_m(fc_ghz, h_bs, h_ut)
    pl1 = 32.4 + 21.0 * _log(d3) + 20.0 * np.log10(fc_ghz)
    pl2 = (
        32.4
        + 40.0 * _log(d3)
        + 20.0 * np.log10(fc_ghz)
        - 9.5 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2 <= dbp, pl1, pl2)


def umi_nlos(d2d: ArrayLike, fc_ghz: float, h_bs: float = 10.0, h_ut: float = 1.5) -> np.ndarray:
    """UMi street canyon NLOS: max(LOS, 22.4 + 35.3 log d3D + 21.3 log fc − 0.3 (hUT − 1.5))."""
    d3 = _d3d(d2d, h_bs, h_ut)
    pl = 22.4 + 35.3 * _log(d3) + 21.3 * np.log10(fc_ghz) - 0.3 * (h_ut - 1.5)
    return np.maximum(umi_los(d2d, fc_ghz, h_bs, h_ut), pl)


def _rma_pl1(d3: np.ndarray, fc_ghz: float, h: float) -> np.ndarray:
    return (
        20.0 * np.log10(40.0 * np.pi * d3 * fc_ghz / 3.0)
        + min(0.03 * h**1.72, 10.0) * np.log10(d3)
        - min(0.044 * h**1.72, 14.77)
        + 0.002 * np.log10(h) * d3
    )


def rma_los(
    d2d: ArrayLike,
    fc_ghz: float,
    h_bs: float = 35.0,
    h_ut: float = 1.5,
    h_building: float = 5.0,
) -> np.ndarray:
    """RMa LOS path loss in dB (TR 38.901 Table 7.4.1-1): PL1, and beyond dBP = 2π hBS hUT fc / c
    PL2 = PL1(dBP) + 40 log10(d3D / dBP)."""
    d2 = np.asarray(d2d, dtype=float)
    d3 = _d3d(d2, h_bs, h_ut)
    dbp = 2.0 * np.pi * h_bs * h_ut * fc_ghz * 1e9 / C_MPS
    pl1 = _rma_pl1(d3, fc_ghz, h_building)
    pl2 = _rma_pl1(np.asarray(dbp), fc_ghz, h_building) + 40.0 * np.log10(d3 / dbp)
    return np.where(d2 <= dbp, pl1, pl2)


def rma_nlos(
    d2d: ArrayLike,
    fc_ghz: float,
    h_bs: float = 35.0,
    h_ut: float = 1.5,
    h_building: float = 5.0,
    street_m: float = 20.0,
) -> np.ndarray:
    """RMa NLOS path loss in dB: max(LOS, PL'NLOS) of TR 38.901 Table 7.4.1-1."""
    d3 = _d3d(d2d, h_bs, h_ut)
    h, w = h_building, street_m
    pl = (
        161.04
        - 7.1 * np.log10(w)
        + 7.5 * np.log10(h)
        - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
        + (43.42 - 3.1 * np.log10(h_bs)) * (_log(d3) - 3.0)
        + 20.0 * np.log10(fc_ghz)
        - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97)
    )
    return np.maximum(rma_los(d2d, fc_ghz, h_bs, h_ut, h_building), pl)


def v2v_highway_los(d: ArrayLike, fc_ghz: float) -> np.ndarray:
    """TR 37.885 Table 6.2.1-1 highway LOS: 32.4 + 20 log10 d + 20 log10 fc."""
    return 32.4 + 20.0 * _log(d) + 20.0 * np.log10(fc_ghz)


def v2v_highway_nlosv(d: ArrayLike, fc_ghz: float) -> np.ndarray:
    """Highway NLOSv: LOS plus the mean blockage loss with one antenna below the
    blocking vehicle, 5 + max(0, 15 log10 d − 41) dB (TR 37.885 Table 6.2.1-1)."""
    return v2v_highway_los(d, fc_ghz) + 5.0 + np.maximum(0.0, 15.0 * _log(d) - 41.0)


def v2v_urban_los(d: ArrayLike, fc_ghz: float) -> np.ndarray:
    """TR 37.885 Table 6.2.1-1 urban LOS: 38.77 + 16.7 log10 d + 18.2 log10 fc."""
    return 38.77 + 16.7 * _log(d) + 18.2 * np.log10(fc_ghz)


def v2v_urban_nlos(d: ArrayLike, fc_ghz: float) -> np.ndarray:
    """TR 37.885 Table 6.2.1-1 urban NLOS: 36.85 + 30 log10 d + 18.9 log10 fc."""
    return 36.85 + 30.0 * _log(d) + 18.9 * np.log10(fc_ghz)


def los_probability(model: str, d2d: ArrayLike, h_ut: float = 1.5) -> np.ndarray:
    """Probability of line of sight at horizontal distance ``d2d``.

    TR 38.901 Table 7.4.2-1 for ``uma``, ``umi``, ``rma``; TR 37.885 Table 6.2-1
    for ``v2v_urban`` (no building in the way: min(1, 1.05 e^(−0.0114 d))) and
    ``v2v_highway``.

    >>> round(float(los_probability("umi", 100.0)), 4)
    0.231
    """
    d = np.maximum(np.asarray(d2d, dtype=float), 1e-9)
    if model == "uma":
        c = 0.0 if h_ut <= 13.0 else ((h_ut - 13.0) / 10.0) ** 1.5
        p = (18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)) * (
            1.0 + c * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0)
        )
        return np.where(d <= 18.0, 1.0, p)
    if model == "umi":
        return np.where(d <= 18.0, 1.0, 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d))
    if model == "rma":
        return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    if model == "v2v_urban":
        return np.minimum(1.0, 1.05 * np.exp(-0.0114 * d))
    if model == "v2v_highway":
        near = np.minimum(1.0, 2.1013e-6 * d**2 - 0.002 * d + 1.0193)
        far = np.maximum(0.0, 0.54 - 0.001 * (d - 475.0))
        return np.where(d <= 475.0, near, far)
    raise ValueError(f"model: expected one of {', '.join(MODELS)}, got {model!r}")


def path_loss_db(
    model: str,
    d2d: ArrayLike,
    los: ArrayLike,
    fc_ghz: float,
    h_bs: float,
    h_ut: float,
) -> np.ndarray:
    """Path loss in dB of ``model`` for each distance, LOS where ``los`` is true.

    Distances are clamped to the model's lower bound (:data:`MIN_DISTANCE_M`).
    V2V models use the 3D distance between the antennas; their non-LOS is
    NLOS (urban: a building in the way) or NLOSv (highway: a vehicle).
    """
    if model not in MODELS:
        raise ValueError(f"model: expected one of {', '.join(MODELS)}, got {model!r}")
    d = np.maximum(np.asarray(d2d, dtype=float), MIN_DISTANCE_M[model])
    is_los = np.broadcast_to(np.asarray(los, dtype=bool), d.shape)
    out = np.empty(d.shape)
    near, far = d[is_los], d[~is_los]  # each formula only where it applies
    if model in ("v2v_urban", "v2v_highway"):
        near, far = _d3d(near, h_bs, h_ut), _d3d(far, h_bs, h_ut)
    if model == "uma":
        out[is_los], out[~is_los] = (
            uma_los(near, fc_ghz, h_bs, h_ut),
            uma_nlos(far, fc_ghz, h_bs, h_ut),
        )
    elif model == "umi":
        out[is_los], out[~is_los] = (
            umi_los(near, fc_ghz, h_bs, h_ut),
            umi_nlos(far, fc_ghz, h_bs, h_ut),
        )
    elif model == "rma":
        out[is_los], out[~is_los] = (
            rma_los(near, fc_ghz, h_bs, h_ut),
            rma_nlos(far, fc_ghz, h_bs, h_ut),
        )
    elif model == "v2v_urban":
        out[is_los], out[~is_los] = v2v_urban_los(near, fc_ghz), v2v_urban_nlos(far, fc_ghz)
    else:
        out[is_los], out[~is_los] = v2v_highway_los(near, fc_ghz), v2v_highway_nlosv(far, fc_ghz)
    return out
