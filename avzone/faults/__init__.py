"""Fault injection: RSUs, cells, sites, backhaul links, the HD-map service and GNSS failing in
time, with failover, and the impact on the message flows (docs/faults.md)."""

from avzone.faults.impact import TimedRecorder, fault_summary, fault_timeline
from avzone.faults.spec import FAULT_KINDS, FaultSpec, RandomFaults, Target, parse_faults
from avzone.faults.state import FaultState, Occurrence, fault_rng, ranked_within, resolve_faults

__all__ = [
    "FAULT_KINDS",
    "FaultSpec",
    "FaultState",
    "Occurrence",
    "RandomFaults",
    "Target",
    "TimedRecorder",
    "fault_rng",
    "fault_summary",
    "fault_timeline",
    "parse_faults",
    "ranked_within",
    "resolve_faults",
]
