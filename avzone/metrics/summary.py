"""The versioned summary of a run (summary.json) and its tidy tables.

Schema version 1. Every number a check can gate on is here; latencies in ms,
fractions in [0, 1]. Statistics of an empty sample are ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from avzone.hdmap.summary import hdmap_summary
from avzone.metrics._radio import coverage_sinr, network_radio
from avzone.metrics.collect import LOSS_CAUSES, STAGES, FlowRecorder
from avzone.metrics.links import network_summary
from avzone.network.coverage import covered_fraction
from avzone.roads import map_info
from avzone.stats import Series

if TYPE_CHECKING:
    from avzone.engine.event import RunRecord
    from avzone.engine.world import World

__all__ = [
    "COVERAGE_SYSTEMS",
    "SCHEMA_VERSION",
    "TIMESERIES_BIN_S",
    "build_summary",
    "coverage_masks",
    "flow_rows",
    "quantile_rows",
    "site_timeseries_rows",
]

SCHEMA_VERSION = 1
COVERAGE_SYSTEMS = ("pc5", "uu", "perception", "any_radio", "dual_radio")
LATENCY_STATS = ("mean", "p50", "p95", "p99", "p999", "max")
_DIGITS = 6


def _r(value: float) -> float:
    """Round for a stable, readable summary (6 decimals)."""
    return round(float(value), _DIGITS)


_LATENCY_QS = np.array([50, 95, 99, 99.9]) / 100
"""p50, p95, p99, p999 as probabilities (the same floats np.percentile divides out)."""


def latency_stats_ms(latencies_s: Series | Sequence[float]) -> dict[str, float | None]:
    """Mean, percentiles (linear interpolation) and max, in ms; nulls when empty.

    A folded :class:`~avzone.stats.Series` gives its percentiles within the
    sketch's relative accuracy, its mean and max exactly (docs/outputs.md).

    Examples
    --------
    >>> latency_stats_ms([0.001, 0.003])["p50"]
    2.0
    """
    series = latencies_s if isinstance(latencies_s, Series) else Series.of(latencies_s)
    if len(series) == 0:
        return dict.fromkeys(LATENCY_STATS)
    p50, p95, p99, p999 = series.quantiles(_LATENCY_QS, scale=1000).tolist()
    return {
        "mean": _r(series.mean(scale=1000)),
        "p50": _r(p50),
        "p95": _r(p95),
        "p99": _r(p99),
        "p999": _r(p999),
        "max": _r(series.max(scale=1000)),
    }


def _stats_s(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    a = np.asarray(values)
    p50, p95 = np.percentile(a, [50, 95])
    return {"mean": _r(a.mean()), "p50": _r(p50), "p95": _r(p95), "max": _r(a.max())}


def coverage_masks(world: World) -> dict[str, np.ndarray]:
    """Per road sample, whether each system covers it."""
    pc5 = world.pc5_rsu >= 0
    uu = world.uu_cell >= 0
    return {
        "pc5": pc5,
        "uu": uu,
        "perception": world.perceived,
        "any_radio": pc5 | uu,
        "dual_radio": pc5 & uu,
    }


def _share_stats_ms(values_s: Series) -> dict[str, float | None]:
    if len(values_s) == 0:
        return {"mean": None, "p99": None}
    return {
        "mean": _r(values_s.mean(scale=1000)),
        "p99": _r(values_s.quantiles([0.99], scale=1000)[0]),
    }


def flow_summary(record: FlowRecorder | None, deadline_ms: float) -> dict[str, Any]:
    """One flow's block of the summary.

    ``failures`` gives every message that did not make it exactly one cause;
    ``deadline_missed`` are the delivered ones that came late. ``breakdown_ms``
    gives each stage of :data:`~avzone.metrics.collect.STAGES` of the
    delivered messages (a one-hop flow's latency is all ``access_up``).
    """
    if record is None:
        record = FlowRecorder("", deadline_ms / 1000)
    late = record.late
    if len(record.access_up_s) == record.delivered:
        stages: dict[str, dict[str, float | None]] = {
            stage: _share_stats_ms(getattr(record, f"{'wait' if stage == 'queue' else stage}_s"))
            for stage in STAGES
        }
    else:  # a one-hop flow: all access
        zero = {"mean": 0.0, "p99": 0.0} if record.delivered else {"mean": None, "p99": None}
        stages = {stage: dict(zero) for stage in STAGES}
        stages["access_up"] = _share_stats_ms(record.latencies_s)
    failures = {cause: getattr(record, cause) for cause in LOSS_CAUSES}
    failures["deadline_missed"] = late
    return {
        "sent": record.sent,
        "delivered": record.delivered,
        "lost": record.lost,
        "in_flight": record.sent - record.delivered - record.lost,
        "failures": failures,
        "delivery_ratio": _r(record.delivered / record.sent) if record.sent else None,
        "latency_ms": latency_stats_ms(record.latencies_s),
        "breakdown_ms": stages,
        "deadline_ms": deadline_ms,
        "late": late,
        "deadline_miss_ratio": _r((late + record.lost) / record.sent) if record.sent else None,
    }


def build_summary(world: World, record: RunRecord | None) -> dict[str, Any]:
    """The summary.json content. With ``record=None``: the same keys, nothing measured."""
    scenario = world.scenario
    masks = coverage_masks(world)
    length = world.samples.length_m
    info = map_info(world.graph)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "duration_s": scenario.duration_s,
        "warmup_s": scenario.warmup_s,
        "map": {
            "source": scenario.map.label
            if scenario.map.builtin
            else scenario.map.file.name
            if scenario.map.file
            else "",
            "nodes": info["nodes"],
            "edges": info["edges"],
            "length_km": info["length_km"],
            "signalized": info["signalized"],
        },
        "infrastructure": {
            "rsus": world.n_rsus,
            "cells": len(world.cell_xy),
            "sites": len(world.sites),
        },
        "coverage": {
            name: {"road_fraction": _r(covered_fraction(mask, length))}
            for name, mask in masks.items()
        },
    }
    vehicles = record.vehicles if record else None
    summary["vehicles"] = {
        "arrived": vehicles.arrived if vehicles else 0,
        "turned_away": vehicles.turned_away if vehicles else 0,
        "trips_completed": vehicles.trips_completed if vehicles else 0,
        "vehicle_km": _r(vehicles.vehicle_km) if vehicles else 0.0,
        "peak_under_way": vehicles.peak_under_way if vehicles else 0,
        "mean_under_way": _r(vehicles.vehicle_s / scenario.duration_s) if vehicles else 0.0,
    }
    summary["flows"] = {
        f.name: flow_summary(record.flows[f.name] if record else None, f.deadline_ms)
        for f in scenario.flows
    }
    hd = record.hdmap if record else None
    summary["hdmap"] = {
        "tiles": len(np.unique(world.sample_tile)),
        "changes": hd.changes if hd else 0,
        "releases": hd.releases if hd else 0,
        "deliveries": hd.deliveries if hd else 0,
        "update_lag_s": _stats_s(hd.update_lag_s if hd else []),
        "stale_episodes": len(hd.staleness_s) if hd else 0,
        "staleness_s": _stats_s(hd.staleness_s if hd else []),
        "stale_vehicle_km": _r(sum(hd.stale_km)) if hd else 0.0,
    }
    summary["hdmap"].update(hdmap_summary(hd, scenario.duration_s - scenario.warmup_s))
    cloud: dict[str, Any] = {}
    for i, info_site in enumerate(world.sites):
        stats = record.sites[i].stats(scenario.duration_s) if record else None
        cloud[info_site.name] = {
            "tier": info_site.tier,
            "servers": info_site.servers,
            "served": stats.served if stats else 0,
            "utilization": _r(stats.utilization) if stats else None,
            "mean_wait_ms": _r(stats.mean_wait_s * 1000) if stats and stats.served else None,
            "p50_wait_ms": _r(stats.p50_wait_s * 1000) if stats and stats.served else None,
            "p99_wait_ms": _r(stats.p99_wait_s * 1000) if stats and stats.served else None,
            "queue_p50": stats.queue_p50 if stats else 0,
            "queue_p99": stats.queue_p99 if stats else 0,
            "max_queue": stats.max_queue if stats else 0,
            "rejected": stats.rejected if stats else 0,
            "site_down": stats.site_down if stats else 0,
            "served_by_service": dict(stats.served_by_tag) if stats else {},
        }
    summary["cloud"] = cloud
    summary.setdefault("network", {}).update(
        network_summary(world, record.links if record else None)
    )
    for system, sinr in coverage_sinr(world).items():  # SINR models (metrics/_radio.py)
        summary["coverage"][system].update(sinr)
    summary.setdefault("network", {}).update(network_radio(world, record))
    if scenario.faults:  # docs/faults.md
        from avzone.faults.impact import fault_summary, fault_timeline

        faults = record.faults if record else None
        occurrences = faults.occurrences if faults else None
        timed: Any = record.flows if record else None
        summary["faults"] = fault_summary(world, occurrences, timed)
        if record is not None:
            summary["fault_timeline"] = fault_timeline(world, timed)
    return summary


QUANTILES = (*[k / 100 for k in range(101)], 0.995, 0.999, 0.9999)
"""The probabilities of quantiles.csv: every percent, and the far tail."""


def quantile_rows(world: World, record: RunRecord) -> list[dict[str, Any]]:
    """quantiles.csv: the distributions behind the summary, for CDF plots.

    One row per (kind, name, q): ``latency_ms`` of each flow's delivered
    messages and ``staleness_s`` of the HD map's stale episodes, at the
    probabilities of :data:`QUANTILES` (linear interpolation); nothing for an
    empty sample.
    """
    samples: list[tuple[str, str, Series, float]] = [
        ("latency_ms", f.name, record.flows[f.name].latencies_s, 1000.0)
        for f in world.scenario.flows
    ]
    samples.append(("staleness_s", "hdmap", Series.of(record.hdmap.staleness_s), 1.0))
    rows = []
    probabilities = np.array(QUANTILES)
    for kind, name, values, scale in samples:
        if len(values) == 0:
            continue
        quantiles = values.quantiles(probabilities, scale=scale)
        for q, value in zip(probabilities, quantiles, strict=True):
            rows.append({"kind": kind, "name": name, "q": round(float(q), 6), "value": _r(value)})
    return rows


TIMESERIES_BIN_S = 10.0
"""Bin length of site_timeseries.csv."""


def site_timeseries_rows(world: World, record: RunRecord) -> list[dict[str, Any]]:
    """site_timeseries.csv: per site and 10 s bin, utilisation and queue length (mean, max)."""
    rows = []
    for info, site in zip(world.sites, record.sites, strict=True):
        series = site.timeseries(world.scenario.duration_s, TIMESERIES_BIN_S)
        for t_s, util, q_mean, q_max in zip(
            series["t_s"],
            series["utilization"],
            series["queue_mean"],
            series["queue_max"],
            strict=True,
        ):
            rows.append(
                {
                    "site": info.name,
                    "tier": info.tier,
                    "t_s": _r(t_s),
                    "utilization": _r(util),
                    "queue_mean": _r(q_mean),
                    "queue_max": int(q_max),
                }
            )
    return rows


def flow_rows(summary: dict[str, Any], world: World) -> list[dict[str, Any]]:
    """flows.csv: one row per flow, flat columns."""
    rows = []
    for flow in world.scenario.flows:
        block = summary["flows"][flow.name]
        row: dict[str, Any] = {
            "flow": flow.name,
            "source": flow.source,
            "via": flow.via,
            "service": flow.service or "",
            "rate_hz": flow.rate_hz,
            "size_bytes": flow.size_bytes,
            "sent": block["sent"],
            "delivered": block["delivered"],
            "lost": block["lost"],
        }
        row.update({f"failed_{cause}": n for cause, n in block["failures"].items()})
        row.update({f"latency_{k}_ms": v for k, v in block["latency_ms"].items()})
        for share, stats in block["breakdown_ms"].items():
            row.update({f"{share}_{k}_ms": v for k, v in stats.items()})
        row["deadline_ms"] = block["deadline_ms"]
        row["deadline_miss_ratio"] = block["deadline_miss_ratio"]
        rows.append(row)
    return rows
