"""The load of the backhaul links: summary.json ``network`` and links.csv."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from avzone.network.transport import LinkState
from avzone.stats import quantile_with_zeros

if TYPE_CHECKING:
    from avzone.engine.world import World

__all__ = ["link_load", "link_rows", "network_summary"]

_DIGITS = 6


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS)


def _state(world: World, links: LinkState | None) -> LinkState:
    """The measured link state, or an idle one (same keys, nothing measured)."""
    return links if links is not None else LinkState(world.routes.links)


def _window_s(world: World) -> float:
    return world.scenario.duration_s - world.scenario.warmup_s


def link_load(links: LinkState, directed: Sequence[int], window_s: float) -> dict[str, Any]:
    """Pooled load of some directed links over the measurement window.

    ``messages`` and ``bytes`` that arrived at them, ``mbps`` (bytes · 8 /
    window), ``max_utilization`` (the busiest link's transmitting share of
    the window), ``mean_wait_ms`` and ``p99_wait_ms`` of the link waits
    (``null`` when no message).
    """
    messages = sum(links.messages[d] for d in directed)
    size = sum(links.bytes[d] for d in directed)
    waits = np.concatenate(
        [np.zeros(0), *(np.asarray(links.waits[d], dtype=float) for d in directed)]
    )
    utilization = max((links.busy_s[d] / window_s for d in directed), default=0.0)
    p99 = None
    if messages:  # the waits and, for the others, zeros: without building all of them
        p99 = quantile_with_zeros(np.sort(waits), messages, 0.99) * 1000
    return {
        "messages": messages,
        "bytes": size,
        "mbps": _r(size * 8 / window_s / 1e6) if window_s > 0 else None,
        "max_utilization": _r(utilization) if window_s > 0 else None,
        "mean_wait_ms": _r(float(waits.sum()) / messages * 1000) if messages else None,
        "p99_wait_ms": _r(p99),
    }


def network_summary(world: World, links: LinkState | None) -> dict[str, Any]:
    """summary.json ``network``: the backhaul's load, by link, tier and site.

    ``links``: every link above the access tier (there are as many access
    links as access points; links.csv has them all), with its ends, length,
    rate and the load of each direction (``up``: away from the access points);
    ``tiers``: the load of each tier's links pooled, per direction; ``sites``:
    per compute site, the links at it pooled, into the site (``in``) and out
    of it (``out``).
    """
    state = _state(world, links)
    table = world.routes.links
    window_s = _window_s(world)
    out: dict[str, Any] = {"links": {}, "tiers": {}, "sites": {}}
    for i, name in enumerate(table.name):
        if table.tier[i] == "access":
            continue
        out["links"][name] = {
            "tier": table.tier[i],
            "a": table.a[i],
            "b": table.b[i],
            "length_m": _r(table.length_m[i]),
            "rate_gbps": _r(table.rate_bps[i] / 1e9),
            "up": link_load(state, [2 * i], window_s),
            "down": link_load(state, [2 * i + 1], window_s),
        }
    for tier in dict.fromkeys(table.tier):
        members = [i for i, t in enumerate(table.tier) if t == tier]
        out["tiers"][tier] = {
            "links": len(members),
            "up": link_load(state, [2 * i for i in members], window_s),
            "down": link_load(state, [2 * i + 1 for i in members], window_s),
        }
    for site in world.sites:
        into = [2 * i for i, b in enumerate(table.b) if b == site.name]
        into += [2 * i + 1 for i, a in enumerate(table.a) if a == site.name]
        out_of = [d ^ 1 for d in into]
        out["sites"][site.name] = {
            "links": len(into),
            "in": link_load(state, into, window_s),
            "out": link_load(state, out_of, window_s),
        }
    return out


def link_rows(world: World, links: LinkState | None) -> list[dict[str, Any]]:
    """links.csv: one row per directed link (up, then down, in link order)."""
    rows = _state(world, links).rows(_window_s(world))
    for row in rows:
        for key in ("length_m", "rate_gbps", "utilization", "mean_wait_ms", "p99_wait_ms"):
            row[key] = _r(row[key])
    return rows
