"""A compute site's statistics (:class:`SiteStats`, the time series) from its job records.

From every job's record (:func:`exact_stats`, exact for any window), or from the
records folded past a threshold plus the jobs still kept (:func:`folded_stats`,
:func:`folded_timeseries`; see :mod:`avzone.cloud.folded`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from avzone.cloud.folded import Folded
from avzone.cloud.timeseries import busy_in_bins, queue_length_steps, time_weighted_quantiles

__all__ = ["Kept", "SiteStats", "exact_stats", "folded_stats", "folded_timeseries"]


@dataclass(frozen=True)
class SiteStats:
    """Statistics of a site over the window ``[measure_from_s, until_s]``.

    Attributes
    ----------
    served
        Jobs that arrived in the window and completed service by ``until_s``.
    utilization
        Busy server-seconds inside the window (all jobs, partial services
        clipped to the window) / (servers × window length).
    mean_wait_s, p99_wait_s
        Mean and 99th percentile (linear interpolation) of the wait in queue
        of the ``served`` jobs, s; NaN when ``served == 0``.
    max_queue
        Largest number of jobs waiting (not in service) at any time in the
        window, jobs arrived before the window included.
    p50_wait_s
        Median wait in queue of the ``served`` jobs, s; NaN when none.
    queue_p50, queue_p99
        Quantiles of the number of jobs waiting, weighted by time over the window.
    rejected, site_down
        Jobs arriving in the window turned away because the queue was at its
        limit, and jobs lost because the site was down (on arrival, or
        queued or in service when it failed).
    served_by_tag
        ``served`` split by the tag given to :meth:`Site.submit` (the service name).
    """

    served: int
    utilization: float
    mean_wait_s: float
    p99_wait_s: float
    max_queue: int
    p50_wait_s: float = math.nan
    queue_p50: int = 0
    queue_p99: int = 0
    rejected: int = 0
    site_down: int = 0
    served_by_tag: Mapping[str, int] = field(default_factory=dict)


class Kept(NamedTuple):
    """The jobs a site keeps record of, in arrival order (``inf``: not yet happened)."""

    arrival_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    lost: np.ndarray  # bool: lost in an outage
    tag: np.ndarray  # index into the site's tags


def exact_stats(
    kept: Kept,
    tags: Mapping[str, int],
    refused_s: Mapping[str, np.ndarray],
    servers: int,
    from_s: float,
    until_s: float,
) -> SiteStats:
    """The statistics over ``[from_s, until_s]`` from every job's record."""
    arrival, start, end = kept.arrival_s, kept.start_s, kept.end_s
    busy_s = np.clip(np.minimum(end, until_s) - np.maximum(start, from_s), 0.0, None).sum()
    done = (arrival >= from_s) & (end <= until_s) & ~kept.lost
    waits_s = start[done] - arrival[done]
    served = int(waits_s.size)
    queue_q = time_weighted_quantiles(
        *queue_length_steps(arrival, start), from_s, until_s, [0.5, 0.99]
    )
    counts = np.bincount(kept.tag[done], minlength=len(tags))
    refused = {
        cause: int(((np.asarray(t) >= from_s) & (np.asarray(t) <= until_s)).sum())
        for cause, t in refused_s.items()
    }
    return SiteStats(
        served=served,
        utilization=float(busy_s) / (servers * (until_s - from_s)),
        mean_wait_s=float(waits_s.mean()) if served else math.nan,
        p99_wait_s=float(np.quantile(waits_s, 0.99)) if served else math.nan,
        max_queue=_max_waiting(arrival, start, from_s, until_s),
        p50_wait_s=float(np.quantile(waits_s, 0.5)) if served else math.nan,
        queue_p50=int(queue_q[0]),
        queue_p99=int(queue_q[1]),
        rejected=refused["rejected"],
        site_down=refused["site_down"],
        served_by_tag={tag: int(counts[i]) for tag, i in tags.items()},
    )


def _unfolded_changes(kept: Kept, known_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The kept jobs' queue changes at or after ``known_s`` (the others are folded)."""
    a = kept.arrival_s[kept.arrival_s >= known_s]
    s = kept.start_s[np.isfinite(kept.start_s) & (kept.start_s >= known_s)]
    return np.concatenate((a, s)), np.concatenate(
        (np.ones(a.size, np.int64), -np.ones(s.size, np.int64))
    )


def folded_stats(
    folded: Folded,
    kept: Kept,
    tags: Mapping[str, int],
    refused_s: Mapping[str, np.ndarray],
    servers: int,
    until_s: float,
) -> SiteStats:
    """The statistics over ``[from_s, until_s]`` from the folded records and the kept jobs
    (``until_s`` at or after everything folded)."""
    from_s = folded.queue.from_s
    arrival, start, end = kept.arrival_s, kept.start_s, kept.end_s
    busy_s = np.clip(np.minimum(end, until_s) - np.maximum(start, from_s), 0.0, None).sum()
    done = (arrival >= from_s) & (end <= until_s) & ~kept.lost
    waits_s = start[done] - arrival[done]
    waits = folded.waits.copy()
    waits.add(waits_s)
    served = waits.count
    wait_sum_s = sum(folded.wait_sum_s) + float(waits_s.sum())
    queue, largest = folded.queue_until(*_unfolded_changes(kept, folded.queue.known_s), until_s)
    queue_q = queue.quantiles([0.5, 0.99])
    counts = np.bincount(kept.tag[done], minlength=len(tags))
    counts[: folded.served_by_tag.size] += folded.served_by_tag[: counts.size]
    refused = {
        cause: folded.refused[cause] + int(((t >= from_s) & (t <= until_s)).sum())
        for cause, t in refused_s.items()
    }
    p50, p99 = waits.quantiles([0.5, 0.99]).tolist() if served else (math.nan, math.nan)
    return SiteStats(
        served=served,
        utilization=(sum(folded.busy_s) + float(busy_s)) / (servers * (until_s - from_s)),
        mean_wait_s=wait_sum_s / served if served else math.nan,
        p99_wait_s=p99,
        max_queue=largest,
        p50_wait_s=p50,
        queue_p50=int(queue_q[0]),
        queue_p99=int(queue_q[1]),
        rejected=refused["rejected"],
        site_down=refused["site_down"],
        served_by_tag={tag: int(counts[i]) for tag, i in tags.items()},
    )


def folded_timeseries(
    folded: Folded, kept: Kept, servers: int, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`~avzone.cloud.timeseries.site_timeseries` from the folded records and the kept
    jobs, over the bins ``edges`` (those of the folded bins, the last one ending at the
    window's end)."""
    until_s = float(edges[-1])
    queue, _largest = folded.queue_until(*_unfolded_changes(kept, folded.queue.known_s), until_s)
    n_bins = edges.size - 1
    widths = np.diff(edges)

    def merged(per_bin: np.ndarray, how: np.ufunc) -> np.ndarray:
        """Folded bins past the last (a sliver before ``until_s``) go into the last."""
        per_bin = _grown_to(per_bin, n_bins, 0)
        out = per_bin[:n_bins].copy()
        if per_bin.size > n_bins:
            out[-1] = how.reduce(per_bin[n_bins - 1 :])
        return out

    busy = busy_in_bins(kept.start_s, kept.end_s, edges) + merged(folded.bin_busy, np.add)
    return {
        "t_s": edges[:-1],
        "utilization": busy / (servers * widths),
        "queue_mean": merged(queue.integral, np.add) / widths,
        "queue_max": merged(queue.top, np.maximum).astype(np.int64),
    }


def _grown_to(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``a`` with at least ``size`` entries (``fill`` after its own)."""
    if a.size >= size:
        return a
    return np.concatenate((a, np.full(size - a.size, fill, dtype=a.dtype)))


def _max_waiting(arrival_s: np.ndarray, start_s: np.ndarray, from_s: float, until_s: float) -> int:
    """Largest queue length over ``[from_s, until_s]``, from the times jobs joined and left it.

    The queue length is taken after all the joins and departures at one
    instant, so a job served at once on arrival never counts as waiting.
    """
    times_s = np.concatenate((arrival_s, start_s))
    step = np.concatenate((np.ones(arrival_s.size, np.int64), -np.ones(start_s.size, np.int64)))
    keep = times_s <= until_s
    times_s, step = times_s[keep], step[keep]
    if times_s.size == 0:
        return 0
    # only the length after each instant's last change is kept: any order of its changes
    order = np.argsort(times_s)
    times_s, length = times_s[order], np.cumsum(step[order])
    last_at_instant = np.append(times_s[1:] != times_s[:-1], True)
    times_s, length = times_s[last_at_instant], length[last_at_instant]
    before = times_s <= from_s
    at_from = int(length[before][-1]) if before.any() else 0
    inside = length[~before]
    return max(at_from, int(inside.max())) if inside.size else at_from
