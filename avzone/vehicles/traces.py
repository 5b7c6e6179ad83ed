"""Trajectories as mobility: vehicles follow recorded positions instead of driving routes.

Two file formats:

- SUMO floating-car data (``--fcd-output``, ``.xml`` or ``.xml.gz``):
  ``<timestep time="…"><vehicle id x y lane pos …/></timestep>``; ``x``/``y``
  are in the net's coordinates, which are the graph's for a SUMO map. When
  ``lane`` names a lane of a normal edge of the map, the vehicle is put on
  that edge at ``pos``; otherwise (inside junctions) it is matched like a CSV
  point. (FCD written with ``--fcd-output.geo`` holds degrees in x/y and is
  not read.)
- CSV with a header: ``id,t,x,y`` (graph metres) or ``id,t,lon,lat`` (WGS84
  degrees, projected with the map's CRS); ``t`` in seconds.

A vehicle appears at its first sample and leaves at its last. Each sample
is matched to the nearest road sample of the world (10 m pieces of the
directed edges; :func:`scipy.spatial.cKDTree`), giving an edge and the
distance along it (:func:`shapely.line_locate_point`, scaled to
``length_m``). Between two samples on one edge the vehicle moves linearly
from the first distance to the second; when the edge changes it runs
towards the end of its edge at the straight-line speed between the two
samples and is put on the new edge at the next sample. Matching is
vectorised over all samples at once.

Raises :class:`~avzone.errors.MapError` for a malformed file and for a
vehicle whose time does not increase from one sample to the next.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from avzone.errors import AvzoneError, MapError, ScenarioError
from avzone.network.coverage import RoadSamples
from avzone.roads._build import read_file_bytes
from avzone.scenario import Scenario
from avzone.vehicles.mobility import TileListener, Vehicle
from avzone.vehicles.sumo_run import run_sumo

__all__ = [
    "TraceTable",
    "TraceVehicle",
    "Traces",
    "follow_trace",
    "match_traces",
    "read_trace",
    "traces_for",
]


@dataclass(frozen=True)
class TraceTable:
    """Raw samples in file order: vehicle id, time (s), position, and SUMO lane data.

    ``geo``: ``x``/``y`` are lon/lat degrees. ``edge_id``/``pos_m`` are the
    FCD ``lane``'s edge (``""`` when unknown) and position along it.
    """

    vehicle: np.ndarray
    t_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    geo: bool = False
    edge_id: np.ndarray | None = None
    pos_m: np.ndarray | None = None


@dataclass(frozen=True)
class Traces:
    """Matched trajectories. Vehicle ``i`` owns records ``first[i] : first[i] + count[i]``.

    Per record: time ``t_s``, world edge index ``edge``, distance along it
    ``s_m``, along-edge speed until the next record ``v_mps``, odometer
    ``odo_m`` (straight-line distance since the first sample), HD-map ``tile``
    and ``row``, the record's row in the :class:`TraceTable` it came from.
    """

    ident: tuple[str, ...]
    first: np.ndarray
    count: np.ndarray
    t_s: np.ndarray
    edge: np.ndarray
    s_m: np.ndarray
    v_mps: np.ndarray
    odo_m: np.ndarray
    tile: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.ident)

    def route(self, i: int) -> list[int]:
        """The edges vehicle ``i`` is matched to, in order, without repeats in a row."""
        edges = self.edge[int(self.first[i]) : int(self.first[i] + self.count[i])]
        keep = np.ones(len(edges), dtype=bool)
        keep[1:] = edges[1:] != edges[:-1]
        return [int(e) for e in edges[keep]]

    def starts(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, vehicles)``: the first-sample times sorted, and whose they are."""
        t0_s = self.t_s[self.first]
        order = np.argsort(t0_s, kind="stable")
        return t0_s[order], order


def traces_for(
    scenario: Scenario, world_graph: nx.MultiDiGraph, samples: RoadSamples, sample_tile: np.ndarray
) -> Traces | None:
    """The scenario's matched traces (``car.mobility.trace``), or None without one.

    Raises
    ------
    ScenarioError
        ``car.mobility.trace`` with the file's problem.
    """
    mobility = scenario.mobility
    if mobility.sumo_routes_file is not None:
        return _sumo_traces(scenario, world_graph, samples, sample_tile)
    path = mobility.trace_file
    if path is None:
        return None
    try:
        return match_traces(world_graph, read_trace(path), samples, sample_tile, path)
    except MapError as exc:
        raise ScenarioError("car.mobility.trace", str(exc)) from None


def _sumo_traces(
    scenario: Scenario, G: nx.MultiDiGraph, samples: RoadSamples, sample_tile: np.ndarray
) -> Traces:
    """Run SUMO for the scenario's duration and match its FCD (``car.mobility.sumo``)."""
    net = scenario.map.file
    routes = scenario.mobility.sumo_routes_file
    assert routes is not None
    if net is None or not net.name.lower().endswith(".net.xml"):
        raise ScenarioError(
            "car.mobility.sumo",
            f"needs a SUMO network as map.file (.net.xml), got {scenario.map.label}",
        )
    with tempfile.TemporaryDirectory(prefix="avzone-sumo-") as folder:
        try:
            fcd = run_sumo(
                net,
                routes,
                Path(folder) / "fcd.xml",
                end_s=scenario.duration_s,
                step_s=scenario.mobility.sumo_step_s,
                seed=scenario.seed,
            )
            return match_traces(G, read_trace(fcd), samples, sample_tile, routes)
        except AvzoneError as exc:
            raise ScenarioError("car.mobility.sumo", str(exc)) from None


def read_trace(path: str | Path) -> TraceTable:
    """Read an FCD XML (``.xml``, ``.xml.gz``) or CSV (``.csv``, ``.csv.gz``) trace file."""
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return _read_csv(path)
    if name.endswith(".xml"):
        return _read_fcd(path)
    raise MapError(f"{path}: unknown trace format; expected .xml (SUMO FCD) or .csv (id,t,x,y)")


def _read_fcd(path: Path) -> TraceTable:
    data = read_file_bytes(path)
    ids: list[str] = []
    times: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    lanes: list[str] = []
    pos: list[float] = []
    time_s = math.nan
    try:
        for event, element in ET.iterparse(io.BytesIO(data), events=("start", "end")):
            if event == "end":
                if element.tag == "timestep":
                    element.clear()  # keep memory flat on long FCD files
                continue
            if element.tag == "timestep":
                time_s = _number(element.get("time"), path, "<timestep time>")
            elif element.tag == "vehicle":
                ident = element.get("id", "")
                ids.append(ident)
                times.append(time_s)
                xs.append(_number(element.get("x"), path, f"vehicle {ident!r} x"))
                ys.append(_number(element.get("y"), path, f"vehicle {ident!r} y"))
                lanes.append(element.get("lane", "").rpartition("_")[0])
                pos.append(float(element.get("pos", "nan")))
    except ET.ParseError as exc:
        line, column = exc.position
        raise MapError(f"{path}: not well-formed XML (line {line}, column {column + 1})") from None
    if not ids:
        raise MapError(f"{path}: no <timestep><vehicle …/> sample: expected SUMO FCD output")
    return TraceTable(
        np.array(ids, dtype=object),
        np.array(times),
        np.array(xs),
        np.array(ys),
        edge_id=np.array(lanes, dtype=object),
        pos_m=np.array(pos),
    )


def _number(text: str | None, path: Path, where: str) -> float:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise MapError(f"{path}: {where}={text!r}: expected a number")
    return value


def _read_csv(path: Path) -> TraceTable:
    text = read_file_bytes(path).decode("utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    formats = ((["id", "t", "x", "y"], False), (["id", "t", "lon", "lat"], True))
    found = next((f for f in formats if all(c in header for c in f[0])), None)
    if found is None:
        raise MapError(f"{path}: expected a CSV header with id,t,x,y or id,t,lon,lat, got {header}")
    columns, geo = found
    index = [header.index(c) for c in columns]
    body = [row for row in rows[1:] if row]
    if not body:
        raise MapError(f"{path}: no sample rows after the header")
    try:
        table = np.array([[row[i] for i in index] for row in body], dtype=object)
        numbers = table[:, 1:].astype(float)
    except (IndexError, ValueError):
        bad = next(n for n, row in enumerate(body, start=2) if not _row_ok(row, index))
        raise MapError(f"{path}: line {bad}: expected {','.join(columns)} with numbers") from None
    if not np.isfinite(numbers).all():
        raise MapError(f"{path}: t and positions must be finite numbers")
    ids = table[:, 0].astype(str).astype(object)
    return TraceTable(ids, numbers[:, 0], numbers[:, 1], numbers[:, 2], geo=geo)


def _row_ok(row: list[str], index: list[int]) -> bool:
    try:
        [float(row[i]) for i in index[1:]]
    except (IndexError, ValueError):
        return False
    return True


def match_traces(
    G: nx.MultiDiGraph,
    table: TraceTable,
    samples: RoadSamples,
    sample_tile: np.ndarray,
    path: str | Path,
) -> Traces:
    """Group the samples by vehicle, check time increases, and match them to the road.

    Raises
    ------
    MapError
        ``FILE: vehicle 'V': time goes backwards (t=… after t=…)``, or lon/lat
        samples on a map without a CRS.
    """
    x, y = table.x, table.y
    if table.geo:
        crs = G.graph.get("crs")
        if crs is None:
            raise MapError(
                f"{path}: samples are lon/lat but the map has no CRS; give x,y in metres"
            )
        dx, dy = G.graph.get("offset_m", (0.0, 0.0))
        px, py = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(x, y)
        x, y = np.asarray(px) + dx, np.asarray(py) + dy
    vehicles, inverse = np.unique(table.vehicle, return_inverse=True)
    first_seen = np.full(len(vehicles), len(inverse))
    np.minimum.at(first_seen, inverse, np.arange(len(inverse)))
    rank = np.argsort(np.argsort(first_seen, kind="stable"), kind="stable")
    order = np.lexsort(
        (np.arange(len(inverse)), rank[inverse])
    )  # by vehicle appearance, file order
    vid, t_s = rank[inverse][order], table.t_s[order]
    x, y = x[order], y[order]
    same = vid[1:] == vid[:-1]
    backwards = np.flatnonzero(same & (np.diff(t_s) <= 0))
    if len(backwards):
        k = backwards[0]
        name = vehicles[np.argsort(rank)[vid[k]]]
        raise MapError(
            f"{path}: vehicle {name!r}: time goes backwards (t={t_s[k + 1]:g} s after t={t_s[k]:g} s);"
            " expected increasing times per vehicle"
        )
    points = np.column_stack([x, y])
    _, nearest = cKDTree(samples.xy).query(points)
    edge = samples.edge[nearest].astype(np.int64)
    lengths = np.array([G.edges[e]["length_m"] for e in samples.edges])
    geoms = np.array([G.edges[e]["geometry"] for e in samples.edges], dtype=object)
    fraction = shapely.line_locate_point(geoms[edge], shapely.points(points), normalized=True)
    s_m = fraction * lengths[edge]
    if table.edge_id is not None and table.pos_m is not None:
        index = {G.edges[e]["id"]: i for i, e in enumerate(samples.edges)}
        known = np.array([index.get(e, -1) for e in table.edge_id[order]])
        on_lane = (known >= 0) & np.isfinite(table.pos_m[order])
        edge[on_lane] = known[on_lane]
        s_m[on_lane] = np.minimum(table.pos_m[order][on_lane], lengths[edge[on_lane]])
    step = np.hypot(np.diff(x), np.diff(y))
    dt = np.diff(t_s)
    v = np.zeros(len(t_s))
    along = np.where(edge[1:] == edge[:-1], (s_m[1:] - s_m[:-1]), step)
    v[:-1] = np.where(same, along / np.where(same, dt, 1.0), 0.0)
    odo = np.concatenate([[0.0], np.cumsum(np.where(same, step, 0.0))])
    count = np.bincount(vid, minlength=len(vehicles))
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    odo -= odo[first][vid]
    k = np.minimum((s_m / samples.step_m[edge]).astype(np.int64), samples.count[edge] - 1)
    tile = sample_tile[samples.start[edge] + k]
    names = vehicles[np.argsort(rank)]
    return Traces(
        ident=tuple(str(n) for n in names),
        first=first,
        count=count,
        t_s=t_s,
        edge=edge,
        s_m=s_m,
        v_mps=v,
        odo_m=odo,
        tile=tile,
        row=order,
    )


class TraceVehicle(Vehicle):
    """A vehicle whose position comes from its trace: linear between two records."""

    __slots__ = ("odo_next_m", "s0_m", "t0_s", "t1_s", "v_mps")

    def __init__(self, ident: int, map_versions: np.ndarray) -> None:
        super().__init__(ident, map_versions)
        self.s0_m = 0.0
        self.t0_s = 0.0
        self.t1_s = 0.0
        self.v_mps = 0.0
        self.odo_next_m = 0.0

    def s_m(self, t_s: float) -> float:
        """Distance along the current edge at ``t_s``, within ``[0, edge length]``."""
        return min(self.edge_length_m, max(0.0, self.s0_m + (t_s - self.t0_s) * self.v_mps))

    def odometer_m(self, t_s: float) -> float:
        """Straight-line distance along the samples since the first one."""
        if self.t1_s <= self.t0_s:
            return self.odo_start_m
        share = min(1.0, max(0.0, (t_s - self.t0_s) / (self.t1_s - self.t0_s)))
        return self.odo_start_m + share * (self.odo_next_m - self.odo_start_m)


def follow_trace(
    env: Any,
    vehicle: TraceVehicle,
    traces: Traces,
    i: int,
    edge_length_m: np.ndarray,
    tiles: TileListener,
    on_edge: Callable[[Vehicle, int], None] | None = None,
) -> Generator[Any, Any, None]:
    """Move ``vehicle`` along the records of trace ``i`` (start it at the first record's time).

    ``on_edge(vehicle, edge)`` is called when the vehicle is put on a new edge,
    with ``vehicle.speed_mps`` set to its along-edge speed until the next record
    (at least 0.1 m/s), as the driven vehicles do.
    """
    a = int(traces.first[i])
    n = int(traces.count[i])
    # this vehicle's records only, as lists (fast scalar access)
    t_s, edge, s_m = (x[a : a + n].tolist() for x in (traces.t_s, traces.edge, traces.s_m))
    v_mps, odo_m, tile_of = (
        x[a : a + n].tolist() for x in (traces.v_mps, traces.odo_m, traces.tile)
    )
    for r in range(n):
        new_edge = edge[r] != vehicle.edge
        vehicle.edge = edge[r]
        vehicle.edge_length_m = float(edge_length_m[edge[r]])
        vehicle.s0_m, vehicle.t0_s, vehicle.v_mps = s_m[r], t_s[r], v_mps[r]
        vehicle.odo_start_m = odo_m[r]
        last = r + 1 == n
        vehicle.t1_s = t_s[r] if last else t_s[r + 1]
        vehicle.odo_next_m = odo_m[r] if last else odo_m[r + 1]
        if new_edge and on_edge is not None:
            vehicle.speed_mps = max(abs(v_mps[r]), 0.1)
            on_edge(vehicle, edge[r])
        if tile_of[r] != vehicle.tile:
            if vehicle.tile >= 0:
                tiles.leave(vehicle, vehicle.tile)
            vehicle.tile = tile_of[r]
            tiles.enter(vehicle, tile_of[r])
        if not last:
            yield env.timeout(t_s[r + 1] - t_s[r])
