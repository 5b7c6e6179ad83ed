"""The ``hdmap`` section: tiles, changes (rates and a schedule file), detection, release,
distribution. Every key is documented in docs/scenario.md and the model in docs/hdmap.md."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import yaml

from avzone.errors import ScenarioError
from avzone.roads.classes import ROAD_CLASS_DEFAULTS
from avzone.scenario._reader import Reader
from avzone.scenario.schema import (
    CloudSection,
    Flow,
    HdmapDetection,
    HdmapDistribution,
    HdmapSection,
    ScheduledChange,
)

__all__ = ["parse_hdmap", "read_change_file"]

METHODS = ("push", "pull", "prefetch")
OTHER_CLASSES = "other"


def parse_hdmap(
    r: Reader, base_dir: Path, cloud: CloudSection, flows: tuple[Flow, ...]
) -> HdmapSection:
    """Validate the ``hdmap`` section (``cloud`` and ``flows`` are checked against it)."""
    d = HdmapSection()
    tiles = r.section("tiles")
    changes = r.section("changes")
    release = r.section("release")
    mode = release.choice("mode", ("continuous", "batch"), d.release_mode)
    h = HdmapSection(
        tile_size_m=tiles.number("size_m", d.tile_size_m, min_value=0, strict_min=True),
        tile_size_bytes=tiles.integer("size_bytes", d.tile_size_bytes, min_value=1),
        change_rate_per_tile_per_h=changes.number(
            "rate_per_tile_per_h", d.change_rate_per_tile_per_h, min_value=0
        ),
        release_mode=mode,
        release_delay_s=release.number("delay_s", d.release_delay_s, min_value=0),
        release_interval_s=(
            release.number("interval_s", d.release_interval_s, min_value=0, strict_min=True)
            if mode == "batch"
            else d.release_interval_s
        ),
        tiles_by=tiles.choice("by", ("grid", "edge"), d.tiles_by),
        tile_bytes_per_km=tiles.number("bytes_per_km", d.tile_bytes_per_km, min_value=0),
        change_rate_per_km_per_h=_class_rates(changes.section("rate_per_km_per_h")),
        change_duration_s=changes.number("duration_s", d.change_duration_s, min_value=0),
        scheduled=(
            read_change_file(base_dir / changes.text("file"), changes.at("file"))
            if changes.has("file")
            else ()
        ),
        detection=_detection(r, cloud) if r.has("detection") else None,
        distribution=_distribution(r.section("distribution")),
        control_flows=_control_flows(r, flows),
    )
    for sub in (tiles, changes, release):
        sub.done()
    r.done()
    return h


def _class_rates(r: Reader) -> tuple[tuple[str, float], ...]:
    classes = (*ROAD_CLASS_DEFAULTS, OTHER_CLASSES)
    out = []
    for name in list(r.keys()):
        if name not in classes:
            r.choice(name, classes)  # raises with the allowed names
        out.append((name, r.number(name, min_value=0)))
    r.done()
    return tuple(out)


def _detection(top: Reader, cloud: CloudSection) -> HdmapDetection:
    r = top.section("detection")
    service = r.text("service")
    names = tuple(s.name for s in cloud.services)
    if service not in names:
        raise ScenarioError(
            r.at("service"),
            f"expected a service of cloud.services ({', '.join(names) or 'none defined'}), "
            f"got {service!r}",
        )
    d = HdmapDetection(service)
    count = r.integer("confirm_count", d.confirm_count, min_value=1)
    timeout = (
        r.number("confirm_timeout_s", min_value=0, strict_min=True)
        if r.has("confirm_timeout_s")
        else None
    )
    out = HdmapDetection(
        service=service,
        vehicle_probability=r.number(
            "vehicle_probability", d.vehicle_probability, min_value=0, max_value=1
        ),
        rsu_probability=r.number("rsu_probability", d.rsu_probability, min_value=0, max_value=1),
        rsu_period_s=r.number("rsu_period_s", d.rsu_period_s, min_value=0, strict_min=True),
        upload_bytes=r.integer("upload_bytes", d.upload_bytes, min_value=1),
        confirm_count=count,
        confirm_timeout_s=timeout,
        retry_s=r.number("retry_s", d.retry_s, min_value=0, strict_min=True),
        priority=r.integer("priority", d.priority, min_value=0),
    )
    r.done()
    return out


def _distribution(r: Reader) -> HdmapDistribution:
    d = HdmapDistribution()
    methods = r.sequence("methods", list(d.methods))
    for i, m in enumerate(methods):
        if m not in METHODS or methods.index(m) != i:
            raise ScenarioError(
                f"{r.at('methods')}[{i}]",
                f"expected distinct methods among {', '.join(METHODS)}, got {m!r}",
            )
    if not methods:
        raise ScenarioError(r.at("methods"), f"expected at least one of {', '.join(METHODS)}")
    out = HdmapDistribution(
        methods=tuple(methods),
        push_radius_m=r.number("push_radius_m", d.push_radius_m, min_value=0),
        prefetch_ahead_m=(
            r.number("prefetch_ahead_m", min_value=0, strict_min=True)
            if r.has("prefetch_ahead_m")
            else None
        ),
        retry_s=r.number("retry_s", d.retry_s, min_value=0, strict_min=True),
        loss=r.probability("loss", d.loss),
    )
    r.done()
    return out


def _control_flows(r: Reader, flows: tuple[Flow, ...]) -> tuple[str, ...] | None:
    if not r.has("control_flows"):
        return None
    names = r.sequence("control_flows")
    known = [f.name for f in flows if f.source == "vehicle"]
    for i, name in enumerate(names):
        if name not in known:
            raise ScenarioError(
                f"{r.at('control_flows')}[{i}]",
                f"expected a vehicle flow of car.flows ({', '.join(known) or 'none'}), got {name!r}",
            )
    return tuple(names)


_ROW_KEYS = ("time_s", "kind", "duration_s", "x_m", "y_m", "lon", "lat", "edge")


def read_change_file(path: Path, key: str = "hdmap.changes.file") -> tuple[ScheduledChange, ...]:
    """Scheduled changes from a CSV (header row) or YAML (a list of mappings) file.

    Columns/keys: ``time_s``; where: ``x_m`` and ``y_m`` (offset from the map's
    south-west corner), or ``lon`` and ``lat`` (WGS84), or ``edge`` (a road
    id); optional ``kind`` (text) and ``duration_s`` (0 or absent: permanent).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(key, f"cannot read the change file {str(path)!r} ({exc})") from None
    rows: list[Any]
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            rows = yaml.safe_load(text) or []
        except yaml.YAMLError:
            raise ScenarioError(key, f"{path.name}: malformed YAML") from None
        if not isinstance(rows, list):
            raise ScenarioError(key, f"{path.name}: expected a list of changes")
    else:
        rows = [
            {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
            for row in csv.DictReader(text.splitlines())
        ]
    return tuple(
        _change_row(row, f"{key} ({path.name} change {i + 1})") for i, row in enumerate(rows)
    )


def _change_row(row: object, where: str) -> ScheduledChange:
    if not isinstance(row, dict):
        raise ScenarioError(where, f"expected a mapping with keys {', '.join(_ROW_KEYS)}")
    unknown = [k for k in row if k not in _ROW_KEYS]
    if unknown:
        raise ScenarioError(where, f"unknown column {unknown[0]!r} (known: {', '.join(_ROW_KEYS)})")

    def number(name: str, default: float | None = None, minimum: float | None = None) -> float:
        value = row.get(name, default)
        if value is None:
            raise ScenarioError(where, f"{name}: required column is missing")
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ScenarioError(where, f"{name}: expected a number, got {value!r}") from None
        if not math.isfinite(x) or (minimum is not None and x < minimum):
            bound = f" >= {minimum:g}" if minimum is not None else ""
            raise ScenarioError(where, f"{name}: expected a number{bound}, got {value!r}")
        return x

    ways = [("x_m" in row or "y_m" in row), ("lon" in row or "lat" in row), "edge" in row]
    if sum(ways) != 1:
        raise ScenarioError(
            where, "expected exactly one location: x_m and y_m, lon and lat, or edge"
        )
    xy = (number("x_m"), number("y_m")) if ways[0] else None
    lonlat = (number("lon"), number("lat")) if ways[1] else None
    return ScheduledChange(
        time_s=number("time_s", minimum=0),
        kind=str(row.get("kind", "change")),
        duration_s=number("duration_s", 0.0, minimum=0),
        xy_m=xy,
        lonlat=lonlat,
        edge=str(row["edge"]) if ways[2] else None,
    )
