"""Parse a scenario file into :class:`~avzone.scenario.schema.Scenario`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from avzone.errors import ScenarioError
from avzone.scenario._backhaul import parse_transport
from avzone.scenario._cloud import parse_cloud
from avzone.scenario._common import check_name, parse_placement, unknown
from avzone.scenario._hdmap import parse_hdmap
from avzone.scenario._radio import parse_handover, parse_radio
from avzone.scenario._reader import Reader, finite, short
from avzone.scenario.overrides import apply_overrides
from avzone.scenario.schema import (
    CELL_RULES,
    RSU_RULES,
    VIA,
    Backhaul,
    Cells,
    CloudSection,
    Fleet,
    Flow,
    MapSource,
    Mobility,
    NetworkSection,
    OdPair,
    Pc5,
    RoadSection,
    Scenario,
    Sensors,
    Zone,
)

__all__ = ["load_scenario", "parse_scenario"]

BUILTIN_MAPS = ("etown",)
ENGINES = ("auto", "batch", "event")
RSM_FLOW = "rsm"


MAX_YAML_DEPTH = 100
"""Deepest nesting of YAML collections a scenario file may have (a real one has < 10)."""


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags that build Python objects) that refuses deep nesting early:
    the composer recurses per level, and the scanner is quadratic in the flow level; 5000 levels
    of ``[`` took seconds before a RecursionError."""

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_YAML_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario YAML file.

    ``overrides`` maps dotted key paths to values that replace the file's
    (``{"car.fleet.count": 800}``) before validation; see
    :mod:`avzone.scenario.overrides`.

    Raises
    ------
    ScenarioError
        With the file name, the key path, the value and what was expected.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("", "scenario file not found", str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("", f"cannot read the scenario file ({exc})", str(file)) from None
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # a SafeLoader: no Python object tags
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise ScenarioError("", f"malformed YAML{where}: {problem}", str(file)) from None
    except ValueError as exc:  # a value PyYAML cannot build: int of > 4300 digits, 2001-13-45
        raise ScenarioError("", f"malformed YAML: {str(exc)[:120]}", str(file)) from None
    try:
        data = apply_overrides(data, overrides or {})
        return parse_scenario(data, base_dir=file.parent, name=file.stem, file=file)
    except ScenarioError as exc:
        raise exc.in_file(str(file)) from None


def parse_scenario(
    data: Any, *, base_dir: Path, name: str = "scenario", file: Path | None = None
) -> Scenario:
    """Validate a scenario given as a mapping (paths relative to ``base_dir``)."""
    top = Reader(data)
    duration_s = top.number("duration_s", min_value=0, strict_min=True)
    warmup_s = top.number("warmup_s", 0.0, min_value=0)
    if warmup_s >= duration_s:
        raise ScenarioError(
            "warmup_s",
            f"expected a warm-up shorter than duration_s ({duration_s:g}), got {warmup_s:g}",
        )
    road = _road(top.section("road"))
    network = _network(top.section("network"))
    cloud = parse_cloud(top.section("cloud"), base_dir)
    car = top.section("car")
    fleet = _fleet(car.section("fleet"), base_dir)
    zones, od = _demand(car.section("demand"))
    mobility = _mobility(car.section("mobility"), base_dir)
    if mobility.traced:
        if car.has("fleet"):
            raise ScenarioError(
                "car.fleet", "the vehicles come from car.mobility (trace or sumo); remove car.fleet"
            )
        fleet = Fleet(arrivals="trace")
    flows = _flows(car, road, cloud)
    car.done()
    scenario_name = top.text("name", _safe_name(name))
    check_name("name", scenario_name)
    scenario = Scenario(
        name=scenario_name,
        file=file,
        seed=top.integer("seed", 0, min_value=0),
        duration_s=duration_s,
        warmup_s=warmup_s,
        engine=top.choice("engine", ENGINES, "auto"),
        map=_map(top.section("map"), base_dir),
        road=road,
        fleet=fleet,
        zones=zones,
        od=od,
        mobility=mobility,
        flows=flows,
        network=network,
        cloud=cloud,
        hdmap=parse_hdmap(top.section("hdmap"), base_dir, cloud, flows),
        checks=_checks(top),
        faults=_faults(top, cloud),
    )
    top.done()
    return scenario


def _map(r: Reader, base_dir: Path) -> MapSource:
    if r.has("file") and r.has("builtin"):
        raise ScenarioError(r.path, "give either 'file' or 'builtin', not both")
    if r.has("builtin"):
        source = MapSource(builtin=r.choice("builtin", BUILTIN_MAPS))
    else:
        if not r.has("file"):
            raise ScenarioError(r.path, "expected 'file: PATH' or 'builtin: etown'")
        raw = r.text("file")
        path = (base_dir / raw).resolve() if not Path(raw).is_absolute() else Path(raw)
        if not path.is_file():
            raise ScenarioError(r.at("file"), f"map file not found: {raw} (looked at {path})")
        source = MapSource(file=path)
    r.done()
    return source


def _road(road: Reader) -> RoadSection:
    rsu = road.section("rsu")
    placement = parse_placement(
        rsu.section("place"), RSU_RULES, RoadSection.placement, spaced=("along_arterials",)
    )
    p = rsu.section("pc5")
    d = Pc5()
    pc5 = Pc5(
        range_m=p.number("range_m", d.range_m, min_value=0, strict_min=True),
        latency_ms=p.number("latency_ms", d.latency_ms, min_value=0),
        rate_mbps=p.number("rate_mbps", d.rate_mbps, min_value=0, strict_min=True),
        loss=p.probability("loss", d.loss),
        radio=parse_radio(p.section("radio"), d.radio, uplink=False),
    )
    p.done()
    sensors = None
    if rsu.has("sensors"):
        s = rsu.section("sensors")
        ds = Sensors()
        sensors = Sensors(
            range_m=s.number("range_m", ds.range_m, min_value=0, strict_min=True),
            rate_hz=s.number("rate_hz", ds.rate_hz, min_value=0),
            size_bytes=s.integer("size_bytes", ds.size_bytes, min_value=1),
            service=s.text("service"),
            deadline_ms=s.number("deadline_ms", ds.deadline_ms, min_value=0, strict_min=True),
        )
        s.done()
    rsu.done()
    road.done()
    return RoadSection(placement, pc5, sensors)


def _fleet(r: Reader, base_dir: Path) -> Fleet:
    d = Fleet()
    arrivals = r.choice("arrivals", ("poisson", "fixed", "routes"), d.arrivals)
    if arrivals == "poisson":
        fleet = Fleet(
            arrivals=arrivals,
            rate_per_h=r.number("rate_per_h", d.rate_per_h, min_value=0, strict_min=True),
            max_vehicles=r.integer("max_vehicles", d.max_vehicles, min_value=1),
            initial_vehicles=r.integer("initial_vehicles", 0, min_value=0),
        )
        if fleet.initial_vehicles > fleet.max_vehicles:
            raise ScenarioError(
                r.at("initial_vehicles"),
                f"expected at most max_vehicles ({fleet.max_vehicles}), got {fleet.initial_vehicles}",
            )
    elif arrivals == "routes":
        fleet = Fleet(arrivals=arrivals, routes_file=_input_file(r, "routes_file", base_dir))
    else:
        fleet = Fleet(
            arrivals=arrivals,
            count=r.integer("count", min_value=1),
            start_window_s=r.number("start_window_s", d.start_window_s, min_value=0),
        )
    r.done()
    return fleet


def _demand(r: Reader) -> tuple[tuple[Zone, ...], tuple[OdPair, ...]]:
    zones = []
    for name, z in r.mapping_items("zones"):
        check_name(z.path, name)
        at = _pair(z, "at_m")
        zones.append(Zone(name, at, z.number("radius_m", min_value=0, strict_min=True)))
        z.done()
    names = tuple(z.name for z in zones)
    od = []
    for i, item in enumerate(r.sequence("od", [])):
        o = Reader(item, f"{r.at('od')}[{i}]")
        pair = OdPair(
            origin=o.choice("from", names) if names else o.text("from"),
            destination=o.choice("to", names) if names else o.text("to"),
            weight=o.number("weight", 1.0, min_value=0, strict_min=True),
        )
        o.done()
        od.append(pair)
    if od and not zones:
        raise ScenarioError(r.at("od"), "needs zones: define car.demand.zones first")
    if zones and not od:
        raise ScenarioError(r.at("od"), "required when zones are given: a list of {from, to}")
    r.done()
    return tuple(zones), tuple(od)


def _pair(r: Reader, key: str) -> tuple[float, float]:
    value = r.raw(key)
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and finite(v) for v in value)
    )
    if not ok:
        raise ScenarioError(r.at(key), f"expected a pair [x_m, y_m], got {short(value)}")
    return (float(value[0]), float(value[1]))


def _input_file(r: Reader, key: str, base_dir: Path) -> Path:
    """A required input file, relative to the scenario's folder; it must exist."""
    raw = r.text(key)
    path = (base_dir / raw).resolve() if not Path(raw).is_absolute() else Path(raw)
    if not path.is_file():
        raise ScenarioError(r.at(key), f"file not found: {raw} (looked at {path})")
    return path


def _mobility(r: Reader, base_dir: Path) -> Mobility:
    d = Mobility()
    if r.has("trace") and r.has("sumo"):
        raise ScenarioError(r.path, "give either 'trace' or 'sumo', not both")
    if r.has("trace"):
        m = Mobility(trace_file=_input_file(r, "trace", base_dir))
        r.done()
        return m
    if r.has("sumo"):
        s = r.section("sumo")
        m = Mobility(
            sumo_routes_file=_input_file(s, "routes_file", base_dir),
            sumo_step_s=s.number("step_s", d.sumo_step_s, min_value=0, strict_min=True),
        )
        s.done()
        r.done()
        return m
    m = Mobility(
        speed_factor=r.number("speed_factor", d.speed_factor, min_value=0, strict_min=True),
        signal_wait_max_s=r.number("signal_wait_max_s", d.signal_wait_max_s, min_value=0),
    )
    r.done()
    return m


def _flows(car: Reader, road: RoadSection, cloud: CloudSection) -> tuple[Flow, ...]:
    services = {s.name for s in cloud.services}
    flows = []
    for name, f in car.mapping_items("flows"):
        check_name(f.path, name)
        if name == RSM_FLOW:
            raise ScenarioError(f.path, f"'{RSM_FLOW}' is reserved for road.rsu.sensors uploads")
        service = f.text("service") if f.has("service") else None
        if service is not None and service not in services:
            raise ScenarioError(f.at("service"), unknown("service", service, services))
        via = f.choice("via", VIA)
        if service is not None and via != "uu":
            raise ScenarioError(
                f.at("via"), f"expected 'uu' for a flow with a service, got {via!r}"
            )
        flows.append(
            Flow(
                name=name,
                rate_hz=f.number("rate_hz", min_value=0, strict_min=True),
                size_bytes=f.integer("size_bytes", min_value=1),
                via=via,
                deadline_ms=f.number("deadline_ms", min_value=0, strict_min=True),
                service=service,
                reply_bytes=f.integer("reply_bytes", 0, min_value=0),
                priority=f.integer("priority", 0, min_value=0),
            )
        )
        f.done()
    sensors = road.sensors
    if sensors is not None and sensors.rate_hz > 0:
        if sensors.service is not None and sensors.service not in services:
            raise ScenarioError(
                "road.rsu.sensors.service", unknown("service", sensors.service, services)
            )
        flows.append(
            Flow(
                name=RSM_FLOW,
                rate_hz=sensors.rate_hz,
                size_bytes=sensors.size_bytes,
                via="fibre",
                deadline_ms=sensors.deadline_ms,
                service=sensors.service,
                source="rsu",
            )
        )
    return tuple(flows)


def _safe_name(stem: str) -> str:
    """A default scenario name from a file name: unsafe characters become '-'."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", stem).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else f"scenario-{cleaned}".rstrip("-")


def _network(r: Reader) -> NetworkSection:
    c = r.section("cells")
    d = Cells()
    cells = Cells(
        placement=parse_placement(
            c.section("place"), CELL_RULES, d.placement, spaced=("hex", "grid")
        ),
        range_m=c.number("range_m", d.range_m, min_value=0, strict_min=True),
        uplink_latency_ms=c.number("uplink_latency_ms", d.uplink_latency_ms, min_value=0),
        uplink_rate_mbps=c.number(
            "uplink_rate_mbps", d.uplink_rate_mbps, min_value=0, strict_min=True
        ),
        downlink_latency_ms=c.number("downlink_latency_ms", d.downlink_latency_ms, min_value=0),
        downlink_rate_mbps=c.number(
            "downlink_rate_mbps", d.downlink_rate_mbps, min_value=0, strict_min=True
        ),
        loss=c.probability("loss", d.loss),
        radio=parse_radio(c.section("radio"), d.radio, uplink=True),
        handover=parse_handover(c.section("handover")),
    )
    c.done()
    b = r.section("backhaul")
    db = Backhaul()
    backhaul = Backhaul(
        fibre_detour=b.number("fibre_detour", db.fibre_detour, min_value=1.0),
        rate_gbps=b.number("rate_gbps", db.rate_gbps, min_value=0, strict_min=True),
        loss=b.probability("loss", db.loss),
        core_ms=b.number("core_ms", db.core_ms, min_value=0),
    )
    aggregation, tiers, queueing = parse_transport(b, backhaul.rate_gbps, backhaul.loss)
    backhaul = dataclasses.replace(
        backhaul, aggregation=aggregation, links=tiers, queueing=queueing
    )
    b.done()
    r.done()
    return NetworkSection(cells, backhaul)


def _faults(top: Reader, cloud: CloudSection) -> tuple[Any, ...]:
    from avzone.faults.spec import parse_faults

    return parse_faults(top, {name for s in cloud.sites for name in s.names})


def _checks(top: Reader) -> tuple[str, ...]:
    from avzone.checks import parse_check

    out = []
    for i, item in enumerate(top.sequence("checks", [])):
        path = f"checks[{i}]"
        if not isinstance(item, str):
            raise ScenarioError(
                path,
                f"expected a check like 'flows.control.latency_ms.p99 <= 50', got {short(item)}",
            )
        parse_check(item, path)
        out.append(item)
    return tuple(out)
