"""The sweep's tables: runs.csv (one row per run) and summary.csv (one row per grid point and
metric, with a Student-t confidence interval over the replications)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "ConfidenceInterval",
    "confidence_interval",
    "flatten_summary",
    "format_csv",
    "tables",
]

# Leaves of summary.json that name a run rather than measure it.
_NOT_METRICS = ("schema_version", "seed")


class ConfidenceInterval(NamedTuple):
    """The mean of ``n`` values and its two-sided Student-t interval; NaN where undefined."""

    n: int
    mean: float
    std: float
    low: float
    high: float


def confidence_interval(values: Iterable[float], level: float = 0.95) -> ConfidenceInterval:
    """Mean, sample standard deviation (n − 1) and the Student-t interval with n − 1 degrees of
    freedom: mean ± t((1 + level)/2, n − 1) · std/√n.

    With one value the std and the interval are NaN; with none the mean is NaN too.

    Examples
    --------
    >>> ci = confidence_interval([1.0, 2.0, 3.0])
    >>> ci.n, ci.mean, ci.std, round(ci.high - ci.mean, 6)
    (3, 2.0, 1.0, 2.484138)
    """
    if not 0 < level < 1:
        raise ValueError(f"expected a confidence level in (0, 1), got {level}")
    x = np.asarray(list(values), dtype=float)
    n = len(x)
    if n == 0:
        return ConfidenceInterval(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return ConfidenceInterval(1, mean, math.nan, math.nan, math.nan)
    from scipy import stats  # scipy is slow to import; only the summary needs it

    std = float(x.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n)
    return ConfidenceInterval(n, mean, std, mean - half, mean + half)


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, float | int | None]:
    """The numeric leaves of a summary by dotted path; lists and strings are left out, ``null``
    stays ``None``, booleans become 0/1; ``schema_version`` and ``seed`` are not metrics.

    Examples
    --------
    >>> flatten_summary({"seed": 1, "flows": {"bsm": {"sent": 3, "via": "pc5", "p99": None}}})
    {'flows.bsm.sent': 3, 'flows.bsm.p99': None}
    """
    leaves: dict[str, float | int | None] = {}

    def visit(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, Mapping):
                visit(value, f"{path}.")
            elif value is None or isinstance(value, int | float):
                leaves[path] = int(value) if isinstance(value, bool) else value

    visit(summary, "")
    for name in _NOT_METRICS:
        leaves.pop(name, None)
    return leaves


def _cell(value: Any) -> Any:
    """A value as a CSV cell: ``None`` empty, lists, mappings and booleans as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool | list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def tables(
    keys: Sequence[str],
    points: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of runs.csv and of summary.csv.

    ``runs`` are ``{"run_id", "point", "replication", "seed", "summary"}`` in grid order, where
    ``point`` is an index into ``points``.

    runs.csv: ``run_id``, the swept keys, ``replication``, ``seed``, then every metric of any run
    in order of first appearance (empty where a run does not have it or it is ``null``).

    summary.csv: per grid point (in order) and metric (in runs.csv order) the number of measured
    values ``n``, ``mean``, ``std`` and the 95 % interval over the replications. A metric that
    none of a point's runs has (a site that exists only at other points) has no row for that
    point; one that is ``null`` in every run has ``n`` = 0 and empty statistics.
    """
    flat_runs = [flatten_summary(run["summary"]) for run in runs]
    fixed = ["run_id", *keys, "replication", "seed"]
    names: dict[str, None] = {}
    for flat in flat_runs:
        names.update(dict.fromkeys(flat))
    metrics = [name for name in names if name not in fixed]

    run_table = []
    for run, flat in zip(runs, flat_runs, strict=True):
        point = points[run["point"]]
        row: dict[str, Any] = {"run_id": run["run_id"]}
        row.update({key: point[key] for key in keys})
        row.update(replication=run["replication"], seed=run["seed"])
        row.update({name: flat.get(name) for name in metrics})
        run_table.append(row)

    summary_table = []
    for index, point in enumerate(points):
        mine = [flat for run, flat in zip(runs, flat_runs, strict=True) if run["point"] == index]
        for name in metrics:
            if not any(name in flat for flat in mine):
                continue
            values = [flat.get(name) for flat in mine]
            ci = confidence_interval(v for v in values if v is not None)
            summary_table.append(
                {
                    **{key: point[key] for key in keys},
                    "metric": name,
                    "n": ci.n,
                    "mean": _round(ci.mean),
                    "std": _round(ci.std),
                    "ci95_low": _round(ci.low),
                    "ci95_high": _round(ci.high),
                }
            )
    return run_table, summary_table


def _round(value: float) -> float | None:
    """6 decimals like summary.json; NaN (undefined) as ``None``, an empty cell."""
    return None if math.isnan(value) else round(value, 6)


def format_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV text with a header from the first row, ``\\n`` line ends, ``None`` as an empty cell and
    lists, mappings and booleans as JSON; empty when there are no rows."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()
