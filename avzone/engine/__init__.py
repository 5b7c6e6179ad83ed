"""The clock: the static world of a run and the flow evaluators."""

from avzone.engine.event import RunRecord, simulate
from avzone.engine.world import SiteInfo, World

__all__ = ["RunRecord", "SiteInfo", "World", "simulate"]
