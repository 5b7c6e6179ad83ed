"""Parsing the ``cloud`` section of a scenario."""

from __future__ import annotations

from pathlib import Path

from avzone.cloud.samples import load_samples_ms
from avzone.errors import ScenarioError
from avzone.scenario._common import check_name, parse_placement, unknown
from avzone.scenario._reader import Reader, short
from avzone.scenario.schema import (
    DISPATCH,
    DISTRIBUTIONS,
    SITE_RULES,
    TIERS,
    CloudSection,
    Outage,
    Placement,
    ServiceSpec,
    SiteSpec,
)

__all__ = ["parse_cloud"]


def parse_cloud(r: Reader, base_dir: Path) -> CloudSection:
    """The ``cloud`` section: sites, services, dispatch, fallback, outages."""
    sites = tuple(_site(name, s) for name, s in r.mapping_items("sites"))
    group_names = {s.name for s in sites}
    site_names = [name for s in sites for name in s.names]
    services = tuple(
        _service(name, v, group_names, base_dir) for name, v in r.mapping_items("services")
    )
    outages = []
    for i, item in enumerate(r.sequence("outages", [])):
        o = Reader(item, f"{r.at('outages')}[{i}]")
        site = o.text("site")
        if site not in site_names:
            raise ScenarioError(o.at("site"), unknown("site", site, set(site_names)))
        start_s = o.number("start_s", min_value=0)
        end_s = o.number("end_s", min_value=0)
        if end_s <= start_s:
            raise ScenarioError(
                o.at("end_s"), f"expected a time after start_s ({start_s:g}), got {end_s:g}"
            )
        o.done()
        outages.append(Outage(site, start_s, end_s))
    cloud = CloudSection(
        sites=sites,
        services=services,
        dispatch=r.choice("dispatch", DISPATCH, "nearest"),
        fallback=r.boolean("fallback", True),
        outages=tuple(outages),
    )
    r.done()
    return cloud


def _site(name: str, s: Reader) -> SiteSpec:
    check_name(s.path, name)
    tier = s.choice("tier", TIERS)
    count = s.integer("count", 1, min_value=1)
    if tier == "edge":
        placement = parse_placement(s.section("place"), SITE_RULES, Placement("center"))
        distance_km = 0.0
    else:
        placement = Placement("center")
        distance_km = s.number("distance_km", min_value=0)
        if count != 1:
            raise ScenarioError(s.at("count"), f"expected 1 for a {tier} site, got {count}")
    if placement.rule == "center" and count != 1:
        raise ScenarioError(
            s.at("place.rule"),
            f"expected kmeans_rsus, grid or list for count {count}, got 'center'",
        )
    if placement.rule == "list" and placement.file is None and len(placement.positions_m) != count:
        raise ScenarioError(
            s.at("place.positions_m"),
            f"expected {count} positions (count), got {len(placement.positions_m)}",
        )
    spec = SiteSpec(
        name=name,
        tier=tier,
        servers=s.integer("servers", min_value=1),
        speed=s.number("speed", 1.0, min_value=0, strict_min=True),
        count=count,
        placement=placement,
        distance_km=distance_km,
        queue_limit=s.integer("queue_limit", min_value=0) if s.has("queue_limit") else None,
    )
    s.raw("queue_limit", None)
    s.done()
    return spec


def _service(name: str, v: Reader, site_names: set[str], base_dir: Path) -> ServiceSpec:
    check_name(v.path, name)
    on = v.sequence("sites")
    if not on:
        raise ScenarioError(v.at("sites"), "expected at least one site name, got []")
    for i, site in enumerate(on):
        if not isinstance(site, str) or site not in site_names:
            raise ScenarioError(
                f"{v.at('sites')}[{i}]",
                unknown("site", site if isinstance(site, str) else short(site), site_names),
            )
    t = v.section("time")
    dist = t.choice("dist", DISTRIBUTIONS)
    samples_ms: tuple[float, ...] = ()
    if dist == "empirical":
        raw = t.text("file")
        path = Path(raw) if Path(raw).is_absolute() else (base_dir / raw).resolve()
        if not path.is_file():
            raise ScenarioError(t.at("file"), f"samples file not found: {raw} (looked at {path})")
        try:
            samples_ms = load_samples_ms(path)
        except ValueError as exc:
            raise ScenarioError(t.at("file"), str(exc)) from None
        mean_ms = sum(samples_ms) / len(samples_ms)
    else:
        mean_ms = t.number("mean_ms", min_value=0, strict_min=dist != "constant")
    cv = t.number("cv", min_value=0, strict_min=True) if dist in ("lognormal", "gamma") else 0.0
    t.done()
    v.done()
    return ServiceSpec(name, tuple(str(x) for x in on), dist, mean_ms, cv, samples_ms)
