"""The radio settings of a system (PC5 or Uu) and of Uu handover: dataclasses and parsers.

Documented key by key in docs/scenario.md (``road.rsu.pc5.radio``,
``network.cells.radio``, ``network.cells.handover``); the models are in
:mod:`avzone.radio`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from avzone.scenario._reader import Reader

__all__ = [
    "PC5_RADIO",
    "RADIO_MODELS",
    "UU_RADIO",
    "Handover",
    "Harq",
    "Radio",
    "parse_handover",
    "parse_radio",
]

RADIO_MODELS = ("disk", "uma", "umi", "rma", "v2v_urban", "v2v_highway")
LOS_STATES = ("random", "expected", "always", "never")
HANDOVER_DURING = ("wait", "lose")


@dataclass(frozen=True)
class Harq:
    """Hybrid ARQ: at most ``max_tx`` transmissions, ``rtt_ms`` between two of them."""

    max_tx: int = 4
    rtt_ms: float = 2.0


@dataclass(frozen=True)
class Radio:
    """The link budget and air interface of one radio system.

    ``model: disk`` is the range disk of ``range_m`` (no radio model); the
    other models compute SINR per road sample (:mod:`avzone.radio`). The
    ``ue_*``/``uplink_*``/``bs_*`` keys are the Uu uplink (cells only).
    """

    model: str = "disk"
    fc_ghz: float = 3.5
    bandwidth_mhz: float = 100.0
    tx_power_dbm: float = 46.0
    tx_gain_dbi: float = 8.0
    rx_gain_dbi: float = 0.0
    noise_figure_db: float = 7.0
    station_height_m: float = 25.0
    vehicle_height_m: float = 1.5
    los: str = "random"
    los_corr_m: float = 50.0
    shadowing: bool = True
    load: float = 0.5
    sinr_min_db: float = -5.0
    cutoff_m: float = 2000.0
    numerology: int = 1
    bler_target: float = 0.1
    diversity: int = 2
    gap_db: float = 0.0
    eta_min: float = 0.2344
    eta_max: float = 5.5547
    harq: Harq = field(default_factory=Harq)
    ue_tx_power_dbm: float = 23.0
    uplink_bandwidth_mhz: float = 20.0
    bs_noise_figure_db: float = 5.0
    uplink_interference_db: float = 3.0


UU_RADIO = Radio()
"""Defaults of ``network.cells.radio`` (a 3.5 GHz, 100 MHz macro cell)."""

PC5_RADIO = Radio(
    fc_ghz=5.9,
    bandwidth_mhz=20.0,
    tx_power_dbm=23.0,
    tx_gain_dbi=3.0,
    rx_gain_dbi=3.0,
    noise_figure_db=9.0,
    station_height_m=6.0,
    load=0.3,
    sinr_min_db=-3.0,
    cutoff_m=1000.0,
    numerology=0,
    harq=Harq(max_tx=2, rtt_ms=4.0),
)
"""Defaults of ``road.rsu.pc5.radio`` (a 5.9 GHz, 20 MHz C-V2X sidelink)."""

_UPLINK_KEYS = (
    "ue_tx_power_dbm",
    "uplink_bandwidth_mhz",
    "bs_noise_figure_db",
    "uplink_interference_db",
)


@dataclass(frozen=True)
class Handover:
    """A3 handover between cells: a neighbour ``hysteresis_db`` stronger than the serving
    cell for ``ttt_ms`` takes over; for ``interruption_ms`` after it messages ``wait``
    (are delayed to its end) or are lost (``lose``)."""

    hysteresis_db: float = 3.0
    ttt_ms: float = 160.0
    interruption_ms: float = 30.0
    during: str = "wait"


def parse_radio(r: Reader, default: Radio, *, uplink: bool) -> Radio:
    """A ``radio`` mapping over ``default``; ``uplink``: accept the Uu uplink keys."""
    values: dict[str, object] = {}
    for f in fields(Radio):
        name = f.name
        if name == "harq" or (name in _UPLINK_KEYS and not uplink):
            continue
        current = getattr(default, name)
        if name == "model":
            values[name] = r.choice(name, RADIO_MODELS, current)
        elif name == "los":
            values[name] = r.choice(name, LOS_STATES, current)
        elif name == "shadowing":
            values[name] = r.boolean(name, current)
        elif name == "numerology":
            values[name] = r.integer(name, current, min_value=0, max_value=4)
        elif name == "diversity":
            values[name] = r.integer(name, current, min_value=1, max_value=16)
        elif name == "load":
            values[name] = r.number(name, current, min_value=0, max_value=1)
        elif name == "bler_target":
            values[name] = r.number(name, current, min_value=1e-6, max_value=0.5)
        elif name == "vehicle_height_m":
            values[name] = r.number(name, current, min_value=1.0, max_value=10.0)
        elif name in (
            "fc_ghz",
            "bandwidth_mhz",
            "station_height_m",
            "los_corr_m",
            "cutoff_m",
            "eta_min",
            "eta_max",
            "uplink_bandwidth_mhz",
        ):
            values[name] = r.number(name, current, min_value=0, strict_min=True)
        else:  # powers, gains, noise figures, thresholds, margins: any real number in dB(m)
            values[name] = r.number(name, current)
    h = r.section("harq")
    harq = Harq(
        max_tx=h.integer("max_tx", default.harq.max_tx, min_value=1, max_value=32),
        rtt_ms=h.number("rtt_ms", default.harq.rtt_ms, min_value=0),
    )
    h.done()
    r.done()
    radio = replace(default, harq=harq, **values)  # type: ignore[arg-type]
    if radio.eta_max < radio.eta_min:
        from avzone.errors import ScenarioError

        raise ScenarioError(
            r.at("eta_max"),
            f"expected a number >= eta_min ({radio.eta_min:g}), got {radio.eta_max:g}",
        )
    return radio


def parse_handover(r: Reader) -> Handover:
    """The ``network.cells.handover`` mapping."""
    d = Handover()
    handover = Handover(
        hysteresis_db=r.number("hysteresis_db", d.hysteresis_db, min_value=0),
        ttt_ms=r.number("ttt_ms", d.ttt_ms, min_value=0),
        interruption_ms=r.number("interruption_ms", d.interruption_ms, min_value=0),
        during=r.choice("during", HANDOVER_DURING, d.during),
    )
    r.done()
    return handover
