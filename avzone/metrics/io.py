"""Writing a run folder atomically: summary.json, flows.csv, site_timeseries.csv, quantiles.csv,
coverage.geojson, links.csv.

All content is rendered in memory first; each file is written to a temporary
file in the target folder and moved into place with ``os.replace``, so a
reader never sees half a file and a failed run writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzone.metrics._radio import edge_sinr_properties
from avzone.metrics.summary import coverage_masks
from avzone.roads import to_lonlat

__all__ = ["atomic_write_text", "coverage_geojson", "csv_text", "dumps_summary", "write_run"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps_summary(summary: dict[str, Any]) -> str:
    """summary.json text: stable key order, two-space indent, trailing newline."""
    return json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV text: a header from the first row, ``\\n`` line ends, ``None`` as an empty cell."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def coverage_geojson(world: Any) -> dict[str, Any]:
    """Per directed road edge: covered fraction (by length) per system, as GeoJSON.

    Coordinates are lon/lat (RFC 7946) when the map is geo-referenced; else the
    map's own metres, with a ``crs`` member saying so.
    """
    samples = world.samples
    masks = coverage_masks(world)
    weights = samples.length_m
    totals = np.bincount(samples.edge, weights=weights, minlength=len(samples.edges))
    fractions = {
        name: np.bincount(samples.edge, weights=weights * mask, minlength=len(samples.edges))
        / np.where(totals > 0, totals, 1)
        for name, mask in masks.items()
    }
    G = world.graph
    features = []
    sinr = edge_sinr_properties(world)  # per-edge SINR p10/p50 of the SINR models
    lonlat_known = G.graph.get("crs") is not None
    for i, (u, v, k) in enumerate(samples.edges):
        data = G.edges[u, v, k]
        xy = np.asarray(data["geometry"].coords, dtype=float)
        coords = to_lonlat(G, xy) if lonlat_known else xy
        digits = 7 if lonlat_known else 2
        properties: dict[str, Any] = {
            "id": str(data["id"]),
            "road_class": data["road_class"],
            "length_m": round(float(data["length_m"]), 2),
        }
        properties.update({name: round(float(f[i]), 4) for name, f in fractions.items()})
        properties.update(sinr[i])
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": np.round(np.asarray(coords), digits).tolist(),
                },
                "properties": properties,
            }
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if not lonlat_known:
        collection["crs"] = {
            "type": "name",
            "properties": {"name": "local metres (map has no CRS)"},
        }
    return collection


def write_run(
    out_dir: Path,
    summary: dict[str, Any],
    flow_rows: list[dict[str, Any]],
    coverage: dict[str, Any],
    site_rows: list[dict[str, Any]],
    quantile_rows: list[dict[str, Any]],
    scenario: dict[str, Any],
    link_rows: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Write the run folder; returns the files written (links.csv when
    ``link_rows`` is given).

    ``summary.json`` marks a complete folder (:func:`avzone.rundir.is_run_dir`): an old one is
    removed first and the new one written last, so a run killed while writing leaves a folder
    without it (readers refuse it) rather than a mix of old and new files.
    """
    texts = {
        "scenario.json": json.dumps(scenario, indent=2, ensure_ascii=False) + "\n",
        "summary.json": dumps_summary(summary),
        "flows.csv": csv_text(flow_rows),
        "site_timeseries.csv": csv_text(site_rows),
        "quantiles.csv": csv_text(quantile_rows),
        "coverage.geojson": json.dumps(coverage, separators=(",", ":")) + "\n",
    }
    if link_rows is not None:
        texts["links.csv"] = csv_text(link_rows)
    (out_dir / "summary.json").unlink(missing_ok=True)
    paths = []
    for name in sorted(texts, key=lambda n: n == "summary.json"):  # summary.json last
        text = texts[name]
        path = out_dir / name
        atomic_write_text(path, text)
        paths.append(path)
    return paths
