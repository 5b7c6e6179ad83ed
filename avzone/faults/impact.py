"""Fault impact: what each fault did to the message flows (summary.json ``faults``).

While a scenario has faults, every flow's messages are recorded with their time
(:class:`TimedRecorder`: delivered ones at their send time, lost ones when they are lost).
For each fault (all its occurrences together), per flow and in total:

- the *pre-fault* window: ``[a − 60 s, a)`` before its first occurrence ``a`` (not before the
  warm-up); when that window holds no message, all messages outside the fault's windows and
  after-windows; when there are none either, the ``extra_*`` figures are ``null``;
- *during*: the occurrences' windows ``[start, end)``; *after*: ``[end, end + 60 s)`` outside them;
- ``messages``: sent during; ``affected``: of those, lost or late (missed the deadline);
- ``extra_missed_during`` / ``extra_missed_after``: missed (lost or late) messages beyond the
  pre-fault miss ratio × messages in the window; ``extra_lost_during`` / ``extra_lost_after``
  the same for losses alone (may be negative by chance);
- ``p99_pre_ms`` / ``p99_during_ms``: 99th percentile latency of the delivered messages;
- ``recovery_s``: time from the end of the last occurrence to the start of the first 5 s bin
  whose p99 is within 10 % of the pre-fault p99 and whose miss ratio is at most the pre-fault
  ratio + 1 percentage point; 0 when the first bin already is; ``null`` when no bin before the
  end of the run is (or the fault lasts until the end).

The totals add the flows; ``recovery_s`` is the largest over the flows. ``fault_timeline``
holds per flow and 5 s bin the messages sent, missed and the p99, for the timeline plot.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from avzone.metrics.collect import LOSS_CAUSES, FlowRecorder
from avzone.stats import Series

if TYPE_CHECKING:
    from avzone.engine.world import World
    from avzone.faults.state import Occurrence

__all__ = [
    "AFTER_S",
    "BIN_S",
    "PRE_S",
    "TimedRecorder",
    "fault_summary",
    "fault_timeline",
]

PRE_S = 60.0
AFTER_S = 60.0
BIN_S = 5.0
P99_SLACK = 0.10
MISS_SLACK = 0.01

_ON_TIME, _LATE, _LOST = 0, 1, 2


class _Latencies(Series):
    """The delivered latencies (s), telling the recorder of each one appended."""

    __slots__ = ("owner",)

    def __init__(self, owner: TimedRecorder) -> None:
        super().__init__(above_s=owner.deadline_s)
        self.owner = owner

    def append(self, value: float) -> None:
        super().append(value)
        self.owner.log_delivered(value)


class TimedRecorder(FlowRecorder):
    """A :class:`~avzone.metrics.collect.FlowRecorder` that also keeps each message's time and
    outcome (on time, late, lost); ``clock()`` gives the simulated time."""

    def __init__(self, name: str, deadline_s: float, clock: Callable[[], float]) -> None:
        super().__init__(name, deadline_s)
        self.clock = clock
        self.t_s = array("d")
        self.outcome = array("b")
        self.latency_s = array("d")
        self.latencies_s = _Latencies(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in LOSS_CAUSES and "clock" in self.__dict__:
            for _ in range(value - getattr(self, name)):
                self.t_s.append(self.clock())
                self.outcome.append(_LOST)
                self.latency_s.append(math.nan)
        super().__setattr__(name, value)

    def log_delivered(self, latency_s: float) -> None:
        self.t_s.append(self.clock() - latency_s)
        self.outcome.append(_LATE if latency_s > self.deadline_s else _ON_TIME)
        self.latency_s.append(latency_s)


def _r(value: float) -> float:
    return round(float(value), 6)


def _p99_ms(latency_s: np.ndarray) -> float | None:
    ok = latency_s[~np.isnan(latency_s)]
    return _r(np.percentile(ok, 99) * 1000) if ok.size else None


def _mask(t: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
    m = np.zeros(t.shape, dtype=bool)
    for a, b in windows:
        m |= (t >= a) & (t < b)
    return m


def _flow_impact(
    rec: TimedRecorder, occs: Sequence[Occurrence], warmup_s: float, end_s: float
) -> dict[str, Any]:
    t = np.frombuffer(rec.t_s, dtype=float) if len(rec.t_s) else np.empty(0)
    outcome = (
        np.frombuffer(rec.outcome, dtype=np.int8) if len(rec.outcome) else np.empty(0, np.int8)
    )
    lat = np.frombuffer(rec.latency_s, dtype=float) if len(rec.latency_s) else np.empty(0)
    keep = t >= warmup_s
    t, outcome, lat = t[keep], outcome[keep], lat[keep]
    windows = [(o.start_s, o.end_s) for o in occs]
    during = _mask(t, windows)
    after = _mask(t, [(b, b + AFTER_S) for _, b in windows]) & ~during
    first = min(a for a, _ in windows)
    pre = (t >= max(warmup_s, first - PRE_S)) & (t < first)
    if not pre.any():
        pre = ~during & ~after
    missed, lost = outcome != _ON_TIME, outcome == _LOST
    n_pre = int(pre.sum())
    miss_rate = float(missed[pre].mean()) if n_pre else 0.0
    lost_rate = float(lost[pre].mean()) if n_pre else 0.0
    p99_pre = _p99_ms(lat[pre])

    def extra(mask: np.ndarray, what: np.ndarray, rate: float) -> float | None:
        if not n_pre:
            return None  # no baseline: the fault spans the whole measured run
        return _r(what[mask].sum() - rate * mask.sum())

    last_end = max(b for _, b in windows)
    recovery = None
    if last_end < end_s and p99_pre is not None:
        start = last_end
        while start < end_s:
            bin_ = (t >= start) & (t < start + BIN_S)
            p99 = _p99_ms(lat[bin_])
            ratio = float(missed[bin_].mean()) if bin_.any() else 0.0
            if (
                p99 is not None
                and p99 <= p99_pre * (1 + P99_SLACK)
                and ratio <= miss_rate + MISS_SLACK
            ):
                recovery = _r(start - last_end)
                break
            start += BIN_S
    return {
        "messages": int(during.sum()),
        "affected": int(missed[during].sum()),
        "extra_missed_during": extra(during, missed, miss_rate),
        "extra_missed_after": extra(after, missed, miss_rate),
        "extra_lost_during": extra(during, lost, lost_rate),
        "extra_lost_after": extra(after, lost, lost_rate),
        "pre_miss_ratio": _r(miss_rate) if n_pre else None,
        "p99_pre_ms": p99_pre,
        "p99_during_ms": _p99_ms(lat[during]),
        "recovery_s": recovery,
    }


_FLOW_KEYS = (
    "messages",
    "affected",
    "extra_missed_during",
    "extra_missed_after",
    "extra_lost_during",
    "extra_lost_after",
    "pre_miss_ratio",
    "p99_pre_ms",
    "p99_during_ms",
    "recovery_s",
)
_TOTALS = (
    "messages",
    "affected",
    "extra_missed_during",
    "extra_missed_after",
    "extra_lost_during",
    "extra_lost_after",
)


def fault_summary(
    world: World,
    occurrences: Sequence[Occurrence] | None,
    recorders: dict[str, TimedRecorder] | None,
) -> dict[str, Any]:
    """The ``faults`` block of summary.json: one entry per fault of the scenario (zeros and
    nulls when nothing ran)."""
    from avzone.faults.state import link_name

    scenario = world.scenario
    out: dict[str, Any] = {}
    for spec in scenario.faults:
        occs = [o for o in occurrences or () if o.fault.name == spec.name]
        block: dict[str, Any] = {
            "kind": spec.kind,
            "occurrences": len(occs),
            "down_s": _r(sum(o.end_s - o.start_s for o in occs)),
            "targets": sorted(
                {_element_name(world, o.element, spec.kind, link_name) for o in occs}
            ),
            "windows_s": [[_r(o.start_s), _r(o.end_s)] for o in occs[:100]],
        }
        flows: dict[str, Any] = {}
        for flow in scenario.flows:
            if occs and recorders is not None:
                flows[flow.name] = _flow_impact(
                    recorders[flow.name], occs, scenario.warmup_s, scenario.duration_s
                )
            else:  # nothing measured (not run, or the fault never happened): the same keys
                flows[flow.name] = dict.fromkeys(_FLOW_KEYS) | {"messages": 0, "affected": 0}
        for key in _TOTALS:
            values = [f[key] for f in flows.values()]
            if key in ("messages", "affected"):
                block[key] = int(sum(values))
            elif flows and None in values:
                block[key] = None
            else:
                block[key] = _r(sum(values)) if flows else 0
        recoveries = [f["recovery_s"] for f in flows.values()]
        block["recovery_s"] = (
            max(recoveries) if recoveries and all(r is not None for r in recoveries) else None
        )
        block["flows"] = flows
        out[spec.name] = block
    return out


def _element_name(
    world: World, element: Any, kind: str, link_name: Callable[[World, Any], str]
) -> str:
    if element is None:
        return "all" if kind == "map_service_down" else "vehicles"
    if kind == "rsu_down":
        return f"rsu-{element}"
    if kind == "cell_down":
        return f"cell-{element}"
    if kind == "site_down":
        return world.sites[element].name
    return link_name(world, element)


def fault_timeline(world: World, recorders: dict[str, TimedRecorder]) -> dict[str, Any]:
    """Per flow and :data:`BIN_S` bin from 0: messages sent, missed, and the p99 latency (ms)."""
    duration = world.scenario.duration_s
    n = max(1, math.ceil(duration / BIN_S))
    flows = {}
    for name, rec in recorders.items():
        t = np.asarray(rec.t_s, dtype=float)
        outcome = np.asarray(rec.outcome, dtype=np.int8)
        lat = np.asarray(rec.latency_s, dtype=float)
        k = np.minimum((t // BIN_S).astype(int), n - 1)
        sent = np.bincount(k, minlength=n)
        missed = np.bincount(k, weights=(outcome != _ON_TIME), minlength=n)
        order = np.argsort(k, kind="stable")
        bounds = np.searchsorted(k[order], np.arange(n + 1))
        p99 = [_p99_ms(lat[order[bounds[i] : bounds[i + 1]]]) for i in range(n)]
        flows[name] = {"sent": sent.tolist(), "missed": [int(x) for x in missed], "p99_ms": p99}
    return {"bin_s": BIN_S, "t_s": [_r(i * BIN_S) for i in range(n)], "flows": flows}
