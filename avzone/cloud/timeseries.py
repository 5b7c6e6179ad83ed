"""Time series of a compute site from its per-job records: busy time and queue length per bin.

Pure functions over the arrays a :class:`avzone.cloud.Site` records for each
job, in seconds: ``arrival_s``, ``start_s`` (start of service) and ``end_s``
(end of service), ``inf`` for what has not happened yet. Nothing is sampled:
busy time and queue length are integrated exactly (up to floating-point
rounding) from the records.

The queue is the number of jobs waiting, not in service. It is a step
function: a job joins it at its arrival and leaves it at its start of
service, and all the changes of one instant are applied together, so a job
served at once on arrival never counts as waiting.

Example
-------
One server; jobs (arrive, start, end) = (0, 0, 2), (0.5, 2, 3), (1, 3, 5):

>>> arrival_s = np.array([0.0, 0.5, 1.0])
>>> start_s = np.array([0.0, 2.0, 3.0])
>>> end_s = np.array([2.0, 3.0, 5.0])
>>> busy_in_bins(start_s, end_s, np.array([0.0, 2.5, 5.0])).tolist()
[2.5, 2.5]
>>> times_s, length = queue_length_steps(arrival_s, start_s)
>>> times_s.tolist(), length.tolist()
([0.5, 1.0, 2.0, 3.0], [1, 2, 1, 0])
>>> ts = site_timeseries(arrival_s, start_s, end_s, 1, 0.0, 5.0, 2.5)
>>> ts["queue_mean"].tolist(), ts["queue_max"].tolist()
([1.2, 0.2], [2, 1])
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "bin_edges",
    "busy_in_bins",
    "queue_in_bins",
    "queue_length_steps",
    "site_timeseries",
    "time_weighted_quantiles",
]


def _times(name: str, values_s: np.ndarray) -> np.ndarray:
    """``values_s`` as a 1-D float64 array without NaN."""
    a = np.asarray(values_s, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of times, s, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError(
            f"{name} must not contain NaN, got NaN at index {int(np.isnan(a).argmax())}"
        )
    return a


def _pair(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two per-job arrays, checked to have one entry per job."""
    a, b = _times(name_a, a), _times(name_b, b)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have equal length, got {a.size} and {b.size}")
    return a, b


def _edges(edges_s: np.ndarray) -> np.ndarray:
    """Bin edges, checked to be finite and strictly increasing, at least one bin."""
    edges = np.asarray(edges_s, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"edges_s must be a 1-D array of >= 2 times, s, got shape {edges.shape}")
    if not np.isfinite(edges).all():
        raise ValueError(f"edges_s must be finite, got {float(edges[~np.isfinite(edges)][0])!r}")
    if not (np.diff(edges) > 0).all():
        i = int(np.argmin(np.diff(edges) > 0))
        raise ValueError(
            f"edges_s must be strictly increasing, got {float(edges[i])!r} then {float(edges[i + 1])!r}"
        )
    return edges


def busy_in_bins(start_s: np.ndarray, end_s: np.ndarray, edges_s: np.ndarray) -> np.ndarray:
    """Busy server-seconds in each bin ``[edges_s[i], edges_s[i + 1])``.

    Each job is busy over ``[start_s, end_s)``, clipped to the bins; a job
    not yet started (``start_s = inf``) adds nothing and a job still in
    service (``end_s = inf``) is busy up to the last edge. A job adds its
    partial first and last bins directly and counts once in each bin it
    covers whole, so the result is exact whatever the length of the
    services.

    Parameters
    ----------
    start_s, end_s
        Start and end of service of each job, s (``start_s <= end_s``).
    edges_s
        Strictly increasing bin edges, s.

    Returns
    -------
    numpy.ndarray
        One value per bin, server-seconds; divide by ``servers × bin
        length`` for the utilisation.

    Examples
    --------
    >>> busy_in_bins(np.array([0.5]), np.array([3.25]), np.arange(5.0)).tolist()
    [0.5, 1.0, 1.0, 0.25]
    """
    start, end = _pair("start_s", start_s, "end_s", end_s)
    edges = _edges(edges_s)
    if (end < start).any():
        i = int(np.argmax(end < start))
        raise ValueError(
            f"job {i} ends before it starts: start_s={float(start[i])!r}, end_s={float(end[i])!r}"
        )
    lo, hi = edges[0], edges[-1]
    start, end = np.clip(start, lo, hi), np.clip(end, lo, hi)
    busy = end > start
    start, end = start[busy], end[busy]
    n_bins = edges.size - 1
    first = np.searchsorted(edges, start, side="right") - 1  # bin holding the start
    last = np.searchsorted(edges, end, side="left") - 1  # bin whose right edge is >= the end
    out = np.zeros(n_bins)
    one = first == last
    np.add.at(out, first[one], end[one] - start[one])
    many = ~one
    np.add.at(out, first[many], edges[first[many] + 1] - start[many])
    np.add.at(out, last[many], end[many] - edges[last[many]])
    # Bins first + 1 .. last − 1 are covered whole: count the jobs covering each.
    covering = np.zeros(n_bins + 1, dtype=np.int64)
    np.add.at(covering, first[many] + 1, 1)
    np.add.at(covering, last[many], -1)
    return out + np.cumsum(covering[:-1]) * np.diff(edges)


def queue_length_steps(arrival_s: np.ndarray, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The number of jobs waiting as a step function of time.

    Parameters
    ----------
    arrival_s, start_s
        Arrival and start of service of each job, s; ``inf`` for what has not
        happened yet (a job still waiting has ``start_s = inf``).

    Returns
    -------
    times_s, length
        Increasing times at which the queue length changes, s, and the length
        (int64) from each of them until the next; the length is 0 before
        ``times_s[0]``. All the changes of one instant are applied together
        and instants without a net change are left out.

    Examples
    --------
    >>> t, n = queue_length_steps(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.5]))
    >>> t.tolist(), n.tolist()
    ([0.0, 1.5], [1, 0])
    """
    arrival, start = _pair("arrival_s", arrival_s, "start_s", start_s)
    if (start < arrival).any():
        i = int(np.argmax(start < arrival))
        raise ValueError(
            f"job {i} starts before it arrives: arrival_s={float(arrival[i])!r}, start_s={float(start[i])!r}"
        )
    times = np.concatenate((arrival, start))
    change = np.concatenate((np.ones(arrival.size, np.int64), -np.ones(start.size, np.int64)))
    happened = np.isfinite(times)
    times, change = times[happened], change[happened]
    # only the length after each instant's last change is kept: any order of its changes
    order = np.argsort(times)
    times, length = times[order], np.cumsum(change[order])
    last_at_instant = np.ones(times.size, dtype=bool)
    last_at_instant[:-1] = times[1:] != times[:-1]
    times, length = times[last_at_instant], length[last_at_instant]
    changed = np.diff(length, prepend=0) != 0
    return times[changed], length[changed]


def _steps(times_s: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step function as returned by :func:`queue_length_steps`, checked."""
    times = _times("times_s", times_s)
    given = np.asarray(length)
    level = given.astype(np.int64)
    if given.ndim != 1 or not np.array_equal(level, given) or (level < 0).any():
        raise ValueError("length must be a 1-D array of queue lengths, integers >= 0")
    if level.shape != times.shape:
        raise ValueError(
            f"times_s and length must have equal length, got {times.size} and {level.size}"
        )
    if not np.isfinite(times).all() or not (np.diff(times) > 0).all():
        raise ValueError("times_s must be finite and strictly increasing")
    return times, level


def _level_at(times: np.ndarray, level: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """Value of the step function at each of ``at_s`` (0 before the first step)."""
    j = np.searchsorted(times, at_s, side="right") - 1
    return np.where(j >= 0, level[np.maximum(j, 0)] if level.size else 0, 0)


def time_weighted_quantiles(
    times_s: np.ndarray,
    length: np.ndarray,
    from_s: float,
    until_s: float,
    qs: np.ndarray | list[float] | float,
) -> np.ndarray:
    """Quantiles of the queue length over ``[from_s, until_s]``, weighted by the time at each length.

    The q-quantile is the smallest length ``L`` such that the queue is at
    most ``L`` long for at least a fraction q of the window (the inverse of
    the time-weighted distribution function, up to a relative rounding
    tolerance of 1e-12): q = 0 gives the shortest length held for a positive
    time, q = 1 the longest.

    Parameters
    ----------
    times_s, length
        The step function of :func:`queue_length_steps`.
    from_s, until_s
        The window, s (``from_s < until_s``, both finite).
    qs
        Probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray
        One integer length (int64) per probability, with the shape of ``qs``.

    Examples
    --------
    >>> t, n = np.array([0.5, 1.0, 2.0, 3.0]), np.array([1, 2, 1, 0])
    >>> time_weighted_quantiles(t, n, 0.0, 5.0, [0.5, 0.8, 0.81, 1.0]).tolist()
    [0, 1, 2, 2]
    """
    times, level = _steps(times_s, length)
    if not (math.isfinite(from_s) and math.isfinite(until_s) and from_s < until_s):
        raise ValueError(
            f"window must be finite with from_s < until_s, got from_s={from_s!r}, until_s={until_s!r}"
        )
    q = np.asarray(qs, dtype=np.float64)
    if not ((q >= 0) & (q <= 1)).all():
        raise ValueError(f"quantile probabilities must be in [0, 1], got {qs!r}")
    inside = (times > from_s) & (times < until_s)
    bounds = np.concatenate(([from_s], times[inside], [until_s]))
    levels = np.concatenate((_level_at(times, level, np.array([from_s])), level[inside]))
    time_at = np.bincount(levels, weights=np.diff(bounds))
    held = np.flatnonzero(time_at > 0)
    cumulative = np.cumsum(time_at[held])
    total = cumulative[-1]
    index = np.searchsorted(cumulative, q * total - 1e-12 * total, side="left")
    return held[np.minimum(index, held.size - 1)].astype(np.int64)


def queue_in_bins(
    times_s: np.ndarray, length: np.ndarray, edges_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time-weighted mean and maximum of the queue length in each bin ``[edges_s[i], edges_s[i + 1])``.

    Parameters
    ----------
    times_s, length
        The step function of :func:`queue_length_steps`.
    edges_s
        Strictly increasing bin edges, s.

    Returns
    -------
    mean, max
        Per bin: the integral of the queue length over the bin divided by the
        bin length (float64), and the largest length held in the bin (int64;
        the length at the bin's start counts, a change at its end does not).

    Examples
    --------
    >>> t, n = np.array([0.5, 1.0, 2.0, 3.0]), np.array([1, 2, 1, 0])
    >>> mean, top = queue_in_bins(t, n, np.array([0.0, 1.0, 2.0, 4.0]))
    >>> mean.tolist(), top.tolist()
    ([0.5, 2.0, 0.5], [1, 2, 1])
    """
    times, level = _steps(times_s, length)
    edges = _edges(edges_s)
    # Integral of the step function from times[0] up to each step, then to each edge.
    at_step = np.concatenate(([0.0], np.cumsum(level[:-1] * np.diff(times))))
    j = np.searchsorted(times, edges, side="right") - 1
    jj = np.maximum(j, 0)
    integral = np.where(
        j >= 0, at_step[jj] + level[jj] * (edges - times[jj]) if times.size else 0.0, 0.0
    )
    mean = np.diff(integral) / np.diff(edges)
    # Largest level: the one carried into the bin, and those of the steps inside it.
    carried = _level_at(times, level, edges[:-1])
    first = np.searchsorted(times, edges, side="left")  # first step at or after each edge
    inside = np.append(level[: first[-1]], 0)  # sentinel keeps every index valid
    step_max = np.maximum.reduceat(inside, first[:-1])
    empty = first[:-1] == first[1:]
    top = np.where(empty, carried, np.maximum(carried, step_max))
    return mean, top


def bin_edges(from_s: float, until_s: float, bin_s: float) -> np.ndarray:
    """The edges of the bins of :func:`site_timeseries`: every ``bin_s`` from ``from_s``,
    and ``until_s`` (the last bin may be shorter; a window that is a whole number of bins
    up to rounding gets no sliver of a last bin).

    >>> bin_edges(0.0, 25.0, 10.0).tolist()
    [0.0, 10.0, 20.0, 25.0]
    """
    if not (math.isfinite(from_s) and math.isfinite(until_s) and from_s < until_s):
        raise ValueError(
            f"window must be finite with from_s < until_s, got from_s={from_s!r}, until_s={until_s!r}"
        )
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin_s must be a finite number > 0, got {bin_s!r}")
    n_bins = max(1, math.ceil((until_s - from_s) / bin_s - 1e-9))
    return np.append(from_s + bin_s * np.arange(n_bins), until_s)


def site_timeseries(
    arrival_s: np.ndarray,
    start_s: np.ndarray,
    end_s: np.ndarray,
    servers: int,
    from_s: float,
    until_s: float,
    bin_s: float,
) -> dict[str, np.ndarray]:
    """Utilisation and queue length of a site in bins of ``bin_s`` over ``[from_s, until_s]``.

    The bins start at ``from_s`` every ``bin_s``; the last one ends at
    ``until_s`` and may be shorter.

    Parameters
    ----------
    arrival_s, start_s, end_s
        The site's per-job records, s (``inf`` = not yet).
    servers
        Number of servers of the site (>= 1).
    from_s, until_s
        The window, s.
    bin_s
        Bin length, s (> 0).

    Returns
    -------
    dict
        ``"t_s"``: bin starts, s; ``"utilization"``: busy server-seconds /
        (servers × bin length); ``"queue_mean"``: time-weighted mean number
        waiting; ``"queue_max"``: largest number waiting (int64).

    Examples
    --------
    >>> ts = site_timeseries(np.array([0.0]), np.array([0.0]), np.array([1.5]), 2, 0.0, 2.5, 1.0)
    >>> ts["t_s"].tolist(), ts["utilization"].tolist()
    ([0.0, 1.0, 2.0], [0.5, 0.25, 0.0])
    """
    if isinstance(servers, bool) or not isinstance(servers, int | np.integer) or servers < 1:
        raise ValueError(f"servers must be an integer >= 1, got {servers!r}")
    edges = bin_edges(from_s, until_s, bin_s)
    busy = busy_in_bins(start_s, end_s, edges)
    mean, top = queue_in_bins(*queue_length_steps(arrival_s, start_s), edges)
    return {
        "t_s": edges[:-1],
        "utilization": busy / (servers * np.diff(edges)),
        "queue_mean": mean,
        "queue_max": top,
    }
