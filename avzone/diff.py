"""Compare two run folders or two sweep folders: the CI regression gate (``avzone diff A B``).

Every number of the summaries is compared, metric by metric (dotted paths of
summary.json; for sweeps, the rows of summary.csv per grid point). A metric
*changed* when ``|b − a| > abs_tol + rel_tol · |a|`` (the numpy ``isclose``
rule with ``a`` the baseline); for a sweep whose both sides have replications
(n ≥ 2) it must also leave the baseline's 95 % confidence interval
``[ci95_low, ci95_high]``. A changed metric is *regressed* or *improved* when
its better direction is known (:func:`direction`: latencies, losses, misses,
waits, staleness are better lower; coverage, delivery and passed checks
higher) and *changed* otherwise. A metric with a value in A and none in B
(missing, or ``null``: nothing measured) is a regression too.

Example::

    result = compare("runs/baseline", "runs/candidate", rel_tol=0.05)
    result.regressed, [c.metric for c in result.regressions]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from avzone.errors import AvzoneError
from avzone.rundir import RunFolder, SweepFolder, is_sweep_dir, load_run, load_sweep

__all__ = [
    "Change",
    "DiffResult",
    "add_diff_arguments",
    "compare",
    "direction",
    "run_diff_command",
    "summary_metrics",
]

_IDENTITY = frozenset({"schema_version", "scenario", "seed", "duration_s", "warmup_s", "engine"})
_LOWER_SECTIONS = frozenset(
    {"latency_ms", "breakdown_ms", "failures", "staleness_s", "update_lag_s"}
)
_LOWER = frozenset(
    {
        "lost",
        "late",
        "in_flight",
        "deadline_miss_ratio",
        "turned_away",
        "mean_wait_ms",
        "p50_wait_ms",
        "p99_wait_ms",
        "queue_p50",
        "queue_p99",
        "max_queue",
        "rejected",
        "site_down",
        "stale_episodes",
        "stale_vehicle_km",
        "extra_missed",
        "extra_lost",
        "recovery_s",
    }
)
_HIGHER = frozenset({"road_fraction", "delivery_ratio", "delivered", "trips_completed", "passed"})


def direction(metric: str) -> str:
    """``"lower"`` or ``"higher"`` when that is better for ``metric``, else ``""``.

    Examples
    --------
    >>> direction("flows.control.latency_ms.p99"), direction("coverage.pc5.road_fraction")
    ('lower', 'higher')
    >>> direction("cloud.edge-1.served")
    ''
    """
    parts = metric.split(".")
    if parts[-1] in _HIGHER:
        return "higher"
    if parts[-1] in _LOWER or _LOWER_SECTIONS.intersection(parts):
        return "lower"
    return ""


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, float | None]:
    """The numbers of a summary by dotted path; ``checks`` as ``checks[TEXT].passed`` (1 or 0).

    Identity fields (``seed``, ``duration_s``...) and texts are left out.

    Examples
    --------
    >>> summary_metrics({"seed": 1, "flows": {"a": {"sent": 3, "via": "pc5"}},
    ...                  "checks": [{"check": "x.y > 1", "value": 2, "passed": True}]})
    {'flows.a.sent': 3.0, 'checks[x.y > 1].passed': 1.0}
    """
    out: dict[str, float | None] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif node is None:
            out[path] = None
        elif isinstance(node, int | float):  # bool is an int: true → 1
            out[path] = float(node)

    for key, value in summary.items():
        if key in _IDENTITY:
            continue
        if key == "checks" and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping) and "check" in item:
                    out[f"checks[{item['check']}].passed"] = float(bool(item.get("passed")))
            continue
        walk(value, key)
    return out


@dataclass(frozen=True)
class Change:
    """One metric that differs: at grid ``point`` (sweeps; ``""`` for runs), values in A and B.

    ``status``: ``regressed``, ``improved``, ``changed`` (no known better
    direction), ``missing`` (a value in A, none in B: counted as a
    regression) or ``added`` (none in A, a value in B).
    """

    metric: str
    point: str
    a: float | None
    b: float | None
    status: str
    direction: str

    @property
    def relative(self) -> float | None:
        """(b − a) / |a|, or None when undefined."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return (self.b - self.a) / abs(self.a)


@dataclass(frozen=True)
class DiffResult:
    """What :func:`compare` found: ``kind`` is ``run`` or ``sweep``."""

    kind: str
    a: Path
    b: Path
    abs_tol: float
    rel_tol: float
    compared: int
    changes: list[Change] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        """Changes for the worse (``regressed`` and ``missing``)."""
        return [c for c in self.changes if c.status in ("regressed", "missing")]

    @property
    def regressed(self) -> bool:
        """Whether any metric regressed (``avzone diff`` exits 1)."""
        return bool(self.regressions)

    def counts(self) -> dict[str, int]:
        """Number of changes per status."""
        statuses = ("regressed", "missing", "improved", "changed", "added")
        return {s: sum(c.status == s for c in self.changes) for s in statuses}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "kind": self.kind,
            "a": str(self.a),
            "b": str(self.b),
            "abs_tol": self.abs_tol,
            "rel_tol": self.rel_tol,
            "compared": self.compared,
            "regressed": self.regressed,
            "counts": self.counts(),
            "changes": [asdict(c) for c in self.changes],
        }


def _differs(a: float, b: float, abs_tol: float, rel_tol: float) -> bool:
    return abs(b - a) > abs_tol + rel_tol * abs(a)


def _classify(metric: str, point: str, a: float | None, b: float | None) -> Change:
    way = direction(metric)
    if a is None:
        return Change(metric, point, a, b, "added", way)
    if b is None:
        return Change(metric, point, a, b, "missing", way)
    if not way:
        status = "changed"
    else:
        better = b < a if way == "lower" else b > a
        status = "improved" if better else "regressed"
    return Change(metric, point, a, b, status, way)


def _selected(metric: str, patterns: Sequence[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(metric, p) for p in patterns)


def _load(path: str | Path) -> RunFolder | SweepFolder:
    return load_sweep(path) if is_sweep_dir(path) else load_run(path)


def compare(
    a: str | Path,
    b: str | Path,
    *,
    abs_tol: float = 0.0,
    rel_tol: float = 0.0,
    metrics: Sequence[str] | None = None,
) -> DiffResult:
    """Compare folder ``b`` with the baseline ``a`` (two run folders or two sweep folders).

    ``metrics`` are glob patterns on the dotted metric names (all when empty).

    Raises
    ------
    AvzoneError
        A folder that is neither, a run against a sweep, sweeps over other
        keys, a negative or non-finite tolerance.
    """
    for name, tol in (("--abs", abs_tol), ("--rel", rel_tol)):
        if not math.isfinite(tol) or tol < 0:
            raise AvzoneError(f"{name}: expected a number >= 0, got {tol:g}")
    left, right = _load(a), _load(b)
    if type(left) is not type(right):
        kinds = {RunFolder: "a run folder", SweepFolder: "a sweep folder"}
        raise AvzoneError(f"{b}: expected {kinds[type(left)]} like {a}, got {kinds[type(right)]}")
    if isinstance(left, RunFolder) and isinstance(right, RunFolder):
        pairs = _run_pairs(left, right, abs_tol, rel_tol, metrics)
        kind = "run"
    else:
        assert isinstance(left, SweepFolder)
        assert isinstance(right, SweepFolder)
        pairs = _sweep_pairs(left, right, abs_tol, rel_tol, metrics)
        kind = "sweep"
    compared = 0
    changes = []
    for change in pairs:
        compared += 1
        if change is not None:
            changes.append(change)
    return DiffResult(kind, Path(a), Path(b), abs_tol, rel_tol, compared, changes)


def _run_pairs(
    left: RunFolder,
    right: RunFolder,
    abs_tol: float,
    rel_tol: float,
    patterns: Sequence[str] | None,
) -> Iterator[Change | None]:
    ma, mb = summary_metrics(left.summary), summary_metrics(right.summary)
    for metric in dict.fromkeys([*ma, *mb]):
        if not _selected(metric, patterns):
            continue
        va, vb = ma.get(metric), mb.get(metric)
        if va is None and vb is None:
            yield None
        elif va is None or vb is None or _differs(va, vb, abs_tol, rel_tol):
            yield _classify(metric, "", va, vb)
        else:
            yield None


def _sweep_pairs(
    left: SweepFolder,
    right: SweepFolder,
    abs_tol: float,
    rel_tol: float,
    patterns: Sequence[str] | None,
) -> Iterator[Change | None]:
    if left.keys != right.keys:
        raise AvzoneError(
            f"{right.path}: swept keys {list(right.keys)} differ from {left.path}'s {list(left.keys)}"
        )

    def rows(folder: SweepFolder) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        for row in folder.summary:
            point = ", ".join(f"{k}={row[k]}" for k in folder.keys)
            out[(point, str(row["metric"]))] = row
        return out

    ra, rb = rows(left), rows(right)
    for point, metric in dict.fromkeys([*ra, *rb]):
        if not _selected(metric, patterns):
            continue
        a_row, b_row = ra.get((point, metric)), rb.get((point, metric))
        va = _number(a_row["mean"]) if a_row else None
        vb = _number(b_row["mean"]) if b_row else None
        if va is None and vb is None:
            yield None
            continue
        if va is None or vb is None:
            yield _classify(metric, point, va, vb)
            continue
        assert a_row is not None
        assert b_row is not None
        significant = _differs(va, vb, abs_tol, rel_tol)
        low, high = _number(a_row["ci95_low"]), _number(a_row["ci95_high"])
        replicated = (a_row["n"] or 0) >= 2 and (b_row["n"] or 0) >= 2
        if significant and replicated and low is not None and high is not None:
            significant = not low <= vb <= high
        yield _classify(metric, point, va, vb) if significant else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# -- the command -------------------------------------------------------------------------


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``avzone diff``."""
    parser.add_argument("a", type=Path, metavar="RUN_A", help="the baseline run or sweep folder")
    parser.add_argument("b", type=Path, metavar="RUN_B", help="the candidate run or sweep folder")
    parser.add_argument(
        "--abs", dest="abs_tol", type=float, default=0.0, help="absolute tolerance (default 0)"
    )
    parser.add_argument(
        "--rel",
        dest="rel_tol",
        type=float,
        default=0.0,
        help="relative tolerance of the baseline value, e.g. 0.05 (default 0)",
    )
    parser.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        metavar="GLOB",
        help="compare only metrics matching GLOB (repeatable), e.g. 'flows.*.latency_ms.p99'",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def run_diff_command(args: argparse.Namespace) -> int:
    """``avzone diff``: print the changes; exit 1 when a metric regressed, else 0."""
    result = compare(
        args.a, args.b, abs_tol=args.abs_tol, rel_tol=args.rel_tol, metrics=args.metrics
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
        return 1 if result.regressed else 0
    counts = result.counts()
    print(
        f"avzone diff: {result.a} → {result.b} ({result.kind}s): {result.compared} metrics compared, "
        f"{counts['regressed'] + counts['missing']} regressed, {counts['improved']} improved, "
        f"{counts['changed']} changed, {counts['added']} added"
    )
    for c in result.changes:
        rel = c.relative
        shown = f" ({rel:+.1%})" if rel is not None else ""
        where = f"[{c.point}] " if c.point else ""
        print(f"  {c.status.upper():<9}  {where}{c.metric}: {_fmt(c.a)} → {_fmt(c.b)}{shown}")
    return 1 if result.regressed else 0
