"""The ``faults:`` section of a scenario: what fails, when, for how long, and what it targets.

Parsed with the scenario's validating :class:`~avzone.scenario._reader.Reader` (unknown keys
are errors, every message names its key path). Targets that need the built world (RSU and
cell indices, backhaul links) are checked by :func:`avzone.faults.state.resolve_faults`.
See docs/faults.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from avzone.errors import ScenarioError
from avzone.scenario._common import check_name
from avzone.scenario._reader import Reader, short

__all__ = ["FAULT_KINDS", "FaultSpec", "RandomFaults", "Target", "parse_faults"]

FAULT_KINDS = (
    "rsu_down",
    "cell_down",
    "site_down",
    "link_cut",
    "link_degraded",
    "map_service_down",
    "gnss_degraded",
)
"""What can fail: an RSU, a cell, a compute site, a backhaul link (cut, or extra delay and
loss), the HD-map release and distribution service, the positioning of a set of vehicles."""

_TARGETED = ("rsu_down", "cell_down", "site_down", "link_cut", "link_degraded", "gnss_degraded")


@dataclass(frozen=True)
class Target:
    """Which elements a fault hits: ``ids`` (RSU/cell indices from 0, site names, or links as
    ``(a, b)`` node names), an ``area`` polygon (metres from the map's SW corner, or lon/lat
    with ``lonlat``), or a random ``share`` of the kind's elements (or vehicles). Empty: all."""

    ids: tuple[object, ...] = ()
    area: tuple[tuple[float, float], ...] = ()
    lonlat: bool = False
    share: float | None = None


@dataclass(frozen=True)
class RandomFaults:
    """Repeated failures of each targeted element: up for Exp(``mtbf_s``), down for Exp(``mttr_s``)."""

    mtbf_s: float
    mttr_s: float


@dataclass(frozen=True)
class FaultSpec:
    """One entry of ``faults:``; ``end_s`` is ``None`` for "until the end of the run"."""

    name: str
    kind: str
    start_s: float
    end_s: float | None
    target: Target = Target()
    random: RandomFaults | None = None
    extra_delay_ms: float = 0.0
    loss: float = 0.0
    error_m: float = 0.0


def parse_faults(r: Reader, site_names: set[str]) -> tuple[FaultSpec, ...]:
    """The ``faults`` mapping (name → fault); ``site_names`` are the sites after ``count``."""
    faults = []
    for name, f in r.mapping_items("faults") if r.has("faults") else []:
        check_name(f.path, name)
        kind = f.choice("kind", FAULT_KINDS)
        start_s = f.number("start_s", 0.0, min_value=0)
        end_s = None
        if f.has("duration_s"):
            end_s = start_s + f.number("duration_s", min_value=0, strict_min=True)
        target = _target(f, kind, site_names) if kind in _TARGETED else Target()
        if kind not in _TARGETED and f.has("target"):
            raise ScenarioError(f.at("target"), f"a {kind} fault has no target")
        random = None
        if f.has("random"):
            g = f.section("random")
            random = RandomFaults(
                mtbf_s=g.number("mtbf_s", min_value=0, strict_min=True),
                mttr_s=g.number("mttr_s", min_value=0, strict_min=True),
            )
            g.done()
        spec = FaultSpec(
            name=name,
            kind=kind,
            start_s=start_s,
            end_s=end_s,
            target=target,
            random=random,
            extra_delay_ms=(
                f.number("extra_delay_ms", 0.0, min_value=0) if kind == "link_degraded" else 0.0
            ),
            loss=f.probability("loss", 0.0) if kind == "link_degraded" else 0.0,
            error_m=(
                f.number("error_m", min_value=0, strict_min=True)
                if kind == "gnss_degraded"
                else 0.0
            ),
        )
        if kind == "link_degraded" and spec.extra_delay_ms == 0 and spec.loss == 0:
            raise ScenarioError(f.path, "a link_degraded fault needs extra_delay_ms or loss > 0")
        f.done()
        faults.append(spec)
    return tuple(faults)


def _target(f: Reader, kind: str, site_names: set[str]) -> Target:
    t = f.section("target")
    given = [k for k in ("ids", "sites", "links", "area", "area_lonlat", "share") if t.has(k)]
    if len(given) > 1:
        raise ScenarioError(
            t.path,
            f"give one of ids, sites, links, area, area_lonlat or share, got {', '.join(given)}",
        )
    target = Target()
    if t.has("share"):
        share = t.number("share", min_value=0, max_value=1, strict_min=True)
        target = Target(share=share)
    elif t.has("area") or t.has("area_lonlat"):
        key = "area" if t.has("area") else "area_lonlat"
        polygon = t.points(key)
        if len(polygon) < 3:
            raise ScenarioError(
                t.at(key), f"expected a polygon of at least 3 points, got {len(polygon)}"
            )
        target = Target(area=polygon, lonlat=key == "area_lonlat")
    elif kind in ("rsu_down", "cell_down") and t.has("ids"):
        ids = t.sequence("ids")
        for i, v in enumerate(ids):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ScenarioError(
                    f"{t.at('ids')}[{i}]", f"expected an index >= 0, got {short(v)}"
                )
        target = Target(ids=tuple(ids))
    elif kind == "site_down" and t.has("sites"):
        sites = t.sequence("sites")
        for i, v in enumerate(sites):
            if not isinstance(v, str) or v not in site_names:
                listed = ", ".join(sorted(site_names)) or "none defined"
                raise ScenarioError(
                    f"{t.at('sites')}[{i}]", f"unknown site {short(v)} (defined: {listed})"
                )
        target = Target(ids=tuple(sites))
    elif kind in ("link_cut", "link_degraded") and t.has("links"):
        links = []
        for i, v in enumerate(t.sequence("links")):
            ok = isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
            if not ok:
                raise ScenarioError(
                    f"{t.at('links')}[{i}]",
                    f"expected a pair of node names like [rsu-0, edge-1] or [edge-1, core], got {short(v)}",
                )
            links.append((v[0], v[1]))
        target = Target(ids=tuple(links))
    for key in ("ids", "sites", "links"):
        t.raw(key, None)  # known keys; given for another kind they are reported below
        if t.has(key) and not target.ids:
            given_empty = t.raw(key) == [] and (key == "ids") == (kind in ("rsu_down", "cell_down"))
            raise ScenarioError(
                t.at(key),
                "expected at least one, got []"
                if given_empty
                else f"not a target of a {kind} fault",
            )
    t.done()
    return target
