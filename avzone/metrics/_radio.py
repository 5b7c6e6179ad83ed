"""The radio parts of the outputs: SINR per system in the summary and per edge, handovers.

Systems with a ``disk`` model have no SINR: their keys are left out of the
summary's coverage block and of coverage.geojson; ``handovers_per_vehicle_km``
is null when the cells use the ``disk`` model (no handover model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from avzone.radio.tables import RadioTable, edge_sinr_percentiles

if TYPE_CHECKING:
    from avzone.engine.event import RunRecord
    from avzone.engine.world import World

__all__ = ["coverage_sinr", "edge_sinr_properties", "network_radio"]


def _tables(world: World) -> dict[str, RadioTable]:
    tables = {"pc5": world.pc5_table, "uu": world.uu_table}
    return {name: t for name, t in tables.items() if t is not None}


def _db(value: float) -> float | None:
    return round(float(value), 2) if np.isfinite(value) else None


def coverage_sinr(world: World) -> dict[str, dict[str, Any]]:
    """Per system with a SINR model: model, threshold and the length-weighted SINR
    percentiles over the road samples (``sinr_db_p10``, ``sinr_db_p50``; dB)."""
    out: dict[str, dict[str, Any]] = {}
    weights = world.samples.length_m
    for name, table in _tables(world).items():
        order = np.argsort(table.sinr_db, kind="stable")
        cdf = np.cumsum(weights[order]) / max(float(weights.sum()), 1e-300)
        p10, p50 = (table.sinr_db[order][np.searchsorted(cdf, q)] for q in (0.1, 0.5))
        out[name] = {
            "model": table.radio.model,
            "sinr_min_db": table.radio.sinr_min_db,
            "sinr_db_p10": _db(p10),
            "sinr_db_p50": _db(p50),
        }
    return out


def edge_sinr_properties(world: World) -> list[dict[str, float | None]]:
    """Per directed edge (the order of ``world.samples.edges``): ``SYSTEM_sinr_db_p10`` and
    ``SYSTEM_sinr_db_p50`` of each system with a SINR model (null: no station in reach)."""
    samples = world.samples
    props: list[dict[str, float | None]] = [{} for _ in samples.edges]
    for name, table in _tables(world).items():
        q = edge_sinr_percentiles(table.sinr_db, samples.start, samples.count)
        for i, (p10, p50) in enumerate(q.tolist()):
            props[i][f"{name}_sinr_db_p10"] = _db(p10)
            props[i][f"{name}_sinr_db_p50"] = _db(p50)
    return props


def network_radio(world: World, record: RunRecord | None) -> dict[str, Any]:
    """``network.handovers``, ``handovers_per_vehicle_km`` and ``radio_link_failures``."""
    access = record.access if record is not None else None
    if world.uu_table is None:
        return {"handovers": 0, "handovers_per_vehicle_km": None, "radio_link_failures": 0}
    handovers = access.handovers if access else 0
    km = record.vehicles.vehicle_km if record else 0.0
    return {
        "handovers": handovers,
        "handovers_per_vehicle_km": round(handovers / km, 6) if km > 0 else None,
        "radio_link_failures": access.link_failures if access else 0,
    }
