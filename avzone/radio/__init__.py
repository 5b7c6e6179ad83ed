"""Radio models of the reliable network: 3GPP path loss, SINR tables, block errors, HARQ, handover.

Pure numpy functions (no SimPy): :mod:`~avzone.radio.pathloss` (TR 38.901 UMa,
UMi street canyon, RMa; TR 37.885 V2V urban and highway; LOS probability),
:mod:`~avzone.radio.link` (noise, link adaptation, block error rate, HARQ,
slots), :mod:`~avzone.radio.tables` (per road sample: best station, SINR,
coverage), :mod:`~avzone.radio.handover` (A3 state machine). The per-message
use is in :mod:`avzone.engine.access`. See docs/radio.md.
"""

from __future__ import annotations

import numpy as np

from avzone.radio.handover import A3Tracker, LinkState
from avzone.radio.link import (
    adapted_efficiency,
    block_error_rate,
    harq_transmissions,
    noise_dbm,
    slot_s,
    transmission_slots,
)
from avzone.radio.pathloss import los_probability, path_loss_db
from avzone.radio.tables import TOP_K, RadioTable, build_table, edge_sinr_percentiles

__all__ = [
    "RADIO_SPAWN_KEY",
    "TOP_K",
    "A3Tracker",
    "LinkState",
    "RadioTable",
    "adapted_efficiency",
    "block_error_rate",
    "build_table",
    "edge_sinr_percentiles",
    "harq_transmissions",
    "los_probability",
    "noise_dbm",
    "path_loss_db",
    "radio_seeds",
    "slot_s",
    "transmission_slots",
]

RADIO_SPAWN_KEY = 100
"""The radio streams are children of ``SeedSequence(seed, spawn_key=(100,))``: apart
from the run's numbered streams (engine/draws.py), which stay unchanged."""


def radio_seeds(seed: int) -> list[np.random.SeedSequence]:
    """The radio's seed sequences: 0 PC5 table, 1 Uu table, 2 per-message draws."""
    return np.random.SeedSequence(seed, spawn_key=(RADIO_SPAWN_KEY,)).spawn(3)
