"""Parsing ``network.backhaul``: the transport graph's aggregation, link tiers and queueing."""

from __future__ import annotations

from avzone.errors import ScenarioError
from avzone.scenario._reader import Reader
from avzone.scenario.schema import LINK_TIERS, Aggregation, LinkTier

__all__ = ["parse_transport"]


def parse_transport(
    b: Reader, rate_gbps: float, loss: float
) -> tuple[Aggregation | None, tuple[LinkTier, ...], bool]:
    """``aggregation``, ``links`` (the tiers given, defaults ``rate_gbps`` and ``loss``) and
    ``queueing`` of the ``network.backhaul`` reader ``b``."""
    aggregation = None
    if b.has("aggregation"):
        a = b.section("aggregation")
        if a.has("count") == a.has("spacing_m"):
            raise ScenarioError(a.path, "expected exactly one of 'count' or 'spacing_m'")
        if a.has("count"):
            aggregation = Aggregation(count=a.integer("count", min_value=1))
        else:
            aggregation = Aggregation(spacing_m=a.number("spacing_m", min_value=0, strict_min=True))
        a.done()
    links = b.section("links")
    tiers = []
    for tier in LINK_TIERS:  # only the tiers given; the others take rate_gbps and loss
        if not links.has(tier):
            continue
        t = links.section(tier)
        tiers.append(
            LinkTier(
                tier,
                t.number("rate_gbps", rate_gbps, min_value=0, strict_min=True),
                t.probability("loss", loss),
            )
        )
        t.done()
    links.done()
    return aggregation, tuple(tiers), b.boolean("queueing", True)
