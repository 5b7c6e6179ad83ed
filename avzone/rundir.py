"""Read written results back: a run folder (``avzone run``) or a sweep folder (``avzone sweep``).

Plots and reports work from these files, never from live simulation objects,
so a figure can be redrawn from a folder long after the run. Every problem is
one line naming the file::

    runs/x: not an avzone run folder (no summary.json)

CSV cells come back typed: an empty cell is ``None``, numbers are ``int`` or
``float``, the name columns (``flow``, ``service``, ``site``, ``name``, ...)
stay ``str`` even when a name looks like a number.

Example::

    run = load_run("runs/etown-baseline")
    run.summary["flows"]["control"]["latency_ms"]["p99"]
    [r["value"] for r in run.quantiles if r["name"] == "control"]
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avzone.errors import AvzoneError

__all__ = [
    "RUN_FILES",
    "SWEEP_FILES",
    "RunFolder",
    "SweepFolder",
    "is_run_dir",
    "is_sweep_dir",
    "load_run",
    "load_sweep",
]

RUN_FILES = (
    "summary.json",
    "flows.csv",
    "site_timeseries.csv",
    "quantiles.csv",
    "scenario.json",
    "coverage.geojson",
    "links.csv",
)
"""The seven files of a run folder (docs/outputs.md)."""

SWEEP_FILES = ("runs.csv", "summary.csv")
"""The files that make a sweep folder; ``sweep.json`` (the grid) is read when present."""

Row = dict[str, Any]

_SUPPORTED_SCHEMA = 1
_INT = re.compile(r"[+-]?\d+")

# Columns that hold names, never numbers, even when a name looks like one.
_TEXT_COLUMNS: dict[str, frozenset[str]] = {
    "flows.csv": frozenset({"flow", "source", "via", "service"}),
    "site_timeseries.csv": frozenset({"site", "tier"}),
    "quantiles.csv": frozenset({"kind", "name"}),
    "links.csv": frozenset({"link", "tier", "direction", "from", "to"}),
    "runs.csv": frozenset(),
    "summary.csv": frozenset({"metric"}),
}
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "flows.csv": ("flow", "deadline_ms"),
    "site_timeseries.csv": ("site", "tier", "t_s", "utilization", "queue_mean", "queue_max"),
    "quantiles.csv": ("kind", "name", "q", "value"),
    "links.csv": (),  # empty when the backhaul has no link
    "runs.csv": ("replication", "seed"),
    "summary.csv": ("metric", "n", "mean", "std", "ci95_low", "ci95_high"),
}


@dataclass(frozen=True)
class RunFolder:
    """The written results of one run.

    Attributes
    ----------
    path
        The folder.
    summary
        ``summary.json``: every measured figure (latencies in ms, fractions in [0, 1]).
    flows
        ``flows.csv``: one row per flow.
    site_timeseries
        ``site_timeseries.csv``: one row per site and 10 s bin (``t_s`` the bin start, s).
    quantiles
        ``quantiles.csv``: rows ``kind, name, q, value`` (``latency_ms`` per flow,
        ``staleness_s`` for ``hdmap``); an empty sample has no rows.
    scenario
        ``scenario.json``: the validated scenario that ran.
    coverage
        ``coverage.geojson``: one LineString feature per directed road edge.
    links
        ``links.csv``: one row per directed backhaul link and its load.
    """

    path: Path
    summary: dict[str, Any]
    flows: list[Row]
    site_timeseries: list[Row]
    quantiles: list[Row]
    scenario: dict[str, Any]
    coverage: dict[str, Any]
    links: list[Row] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The scenario name."""
        return str(self.summary["scenario"])

    @property
    def lonlat(self) -> bool:
        """Whether ``coverage`` is in WGS 84 lon/lat (else the map's own metres)."""
        return "crs" not in self.coverage

    def quantile_curve(self, kind: str, name: str) -> tuple[list[float], list[float]]:
        """``(q, value)`` of one distribution, sorted by ``q``; empty lists for an empty sample."""
        pairs = sorted(
            (float(r["q"]), float(r["value"]))
            for r in self.quantiles
            if r["kind"] == kind and r["name"] == name and r["value"] is not None
        )
        return [q for q, _ in pairs], [v for _, v in pairs]


@dataclass(frozen=True)
class SweepFolder:
    """The written results of a parameter sweep.

    Attributes
    ----------
    path
        The folder.
    keys
        The swept scenario keys (dotted paths), in column order.
    runs
        ``runs.csv``: one row per run: ``run_id``, the swept keys, ``replication``,
        ``seed``, then one column per metric named by its dotted summary path.
    summary
        ``summary.csv``: tidy rows: the swept keys, ``metric``, ``n``, ``mean``,
        ``std``, ``ci95_low``, ``ci95_high``.
    spec
        ``sweep.json`` as written: ``scenario``, ``grid``, ``replications``,
        ``seeds``... (``{}`` when the folder has none).
    """

    path: Path
    keys: tuple[str, ...]
    runs: list[Row]
    summary: list[Row]
    spec: dict[str, Any]

    @property
    def metrics(self) -> list[str]:
        """The metric names of ``summary``, in first-seen order."""
        return list(dict.fromkeys(str(r["metric"]) for r in self.summary))

    def values(self, key: str) -> list[Any]:
        """The distinct values of a swept key, in first-seen order."""
        if key not in self.keys:
            raise AvzoneError(
                f"{self.path}: {key!r} is not a swept key; swept: {', '.join(self.keys)}"
            )
        return list(dict.fromkeys(r[key] for r in self.summary))


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a ``summary.json``."""
    return (Path(path) / "summary.json").is_file()


def is_sweep_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding ``runs.csv`` and ``summary.csv``."""
    return all((Path(path) / name).is_file() for name in SWEEP_FILES)


def load_run(path: str | Path) -> RunFolder:
    """Read a run folder written by ``avzone run`` (or ``Results.write``).

    Raises
    ------
    AvzoneError
        One line naming the folder or file: not a folder, not a run folder,
        a file missing, unreadable, or of another schema version.
    """
    folder = _folder(path)
    if not is_run_dir(folder):
        raise AvzoneError(f"{folder}: not an avzone run folder (no summary.json)")
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise AvzoneError(
            f"{folder}: incomplete run folder (no {', '.join(missing)}); "
            "rerun it with this version of avzone"
        )
    summary = _read_json(folder / "summary.json", dict)
    version = summary.get("schema_version")
    if version != _SUPPORTED_SCHEMA:
        raise AvzoneError(
            f"{folder / 'summary.json'}: schema_version: expected {_SUPPORTED_SCHEMA}, got {version!r}"
        )
    for key in ("scenario", "flows", "coverage", "cloud", "hdmap", "checks"):
        if key not in summary:
            raise AvzoneError(f"{folder / 'summary.json'}: {key}: missing")
    coverage = _read_json(folder / "coverage.geojson", dict)
    if coverage.get("type") != "FeatureCollection":
        raise AvzoneError(
            f"{folder / 'coverage.geojson'}: expected a GeoJSON FeatureCollection, "
            f"got type {coverage.get('type')!r}"
        )
    return RunFolder(
        path=folder,
        summary=summary,
        flows=_read_csv(folder / "flows.csv"),
        site_timeseries=_read_csv(folder / "site_timeseries.csv"),
        quantiles=_read_csv(folder / "quantiles.csv"),
        scenario=_read_json(folder / "scenario.json", dict),
        coverage=coverage,
        links=_read_csv(folder / "links.csv"),
    )


def load_sweep(path: str | Path) -> SweepFolder:
    """Read a sweep folder written by ``avzone sweep``.

    The swept keys are the columns of ``runs.csv`` before ``replication``
    (``run_id`` aside); ``summary.csv`` must start with the same columns
    before ``metric``. Swept values that are lists or booleans stay the JSON
    text of their cell.

    Raises
    ------
    AvzoneError
        One line naming the folder or file.
    """
    folder = _folder(path)
    if not is_sweep_dir(folder):
        raise AvzoneError(f"{folder}: not an avzone sweep folder (no runs.csv and summary.csv)")
    runs_header = _header(folder / "runs.csv")
    summary_header = _header(folder / "summary.csv")
    keys = tuple(c for c in runs_header[: runs_header.index("replication")] if c != "run_id")
    summary_keys = tuple(summary_header[: summary_header.index("metric")])
    if summary_keys != keys:
        raise AvzoneError(
            f"{folder / 'summary.csv'}: expected the swept keys {list(keys)} before 'metric', "
            f"got {list(summary_keys)}"
        )
    spec_path = folder / "sweep.json"
    spec = _read_json(spec_path, dict) if spec_path.is_file() else {}
    return SweepFolder(
        path=folder,
        keys=keys,
        runs=_read_csv(folder / "runs.csv"),
        summary=_read_csv(folder / "summary.csv"),
        spec=spec,
    )


def _folder(path: str | Path) -> Path:
    folder = Path(path)
    if not folder.exists():
        raise AvzoneError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise AvzoneError(f"{folder}: not a folder")
    return folder


def _read_json(path: Path, kind: type) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AvzoneError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AvzoneError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, kind):
        raise AvzoneError(f"{path}: expected a JSON {kind.__name__}, got {type(data).__name__}")
    return data


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise AvzoneError(f"{path}: cannot read: {exc}") from None
    required = _REQUIRED_COLUMNS[path.name]
    absent = [c for c in required if c not in header]
    if absent:
        raise AvzoneError(f"{path}: missing column {', '.join(absent)}; header: {','.join(header)}")
    return header


def _read_csv(path: Path) -> list[Row]:
    """Rows of a CSV file with typed cells (name columns stay strings).

    Swept keys are typed like metric cells: a key swept over 2, 4, 8 comes
    back as ``int``, one swept over policy names as ``str``.
    """
    header = _header(path)
    names: Collection[str] = _TEXT_COLUMNS.get(path.name, frozenset())
    rows = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, record in enumerate(csv.DictReader(handle), start=2):
                if None in record or None in record.values():
                    raise AvzoneError(f"{path}: line {line}: expected {len(header)} cells")
                rows.append(
                    {k: ((v or None) if k in names else _cell(v)) for k, v in record.items()}
                )
    except (OSError, UnicodeDecodeError) as exc:
        raise AvzoneError(f"{path}: cannot read: {exc}") from None
    return rows


def _cell(text: str) -> Any:
    """An empty cell is None; numbers become int or float; anything else stays a string."""
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text
