"""Private helpers shared by the loaders: file reading, graph and edge creation."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import networkx as nx
from shapely.geometry import LineString

from avzone.errors import MapError

__all__ = ["add_road", "new_graph", "read_file_bytes"]


def read_file_bytes(path: Path) -> bytes:
    """Return the bytes of ``path``, gunzipped when its name ends in ``.gz``.

    Raises
    ------
    MapError
        The file is missing, is a directory, cannot be read, or is not valid gzip.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MapError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise MapError(f"{path}: expected a map file, found a directory") from None
    except OSError as exc:
        raise MapError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise MapError(f"{path}: not a valid gzip file ({exc})") from None
    return data


def new_graph(
    name: str, source: str, crs: str | None, offset_m: tuple[float, float]
) -> nx.MultiDiGraph:
    """Return an empty road graph carrying the contract's graph attributes."""
    return nx.MultiDiGraph(name=name, source=source, crs=crs, offset_m=offset_m)


def add_road(
    G: nx.MultiDiGraph,
    u: object,
    v: object,
    *,
    edge_id: str,
    geometry: LineString,
    lanes: int,
    speed_mps: float,
    road_class: str,
    length_m: float | None = None,
) -> None:
    """Add the directed edge ``u → v`` with every contract attribute.

    ``length_m`` defaults to the planar length of ``geometry`` in metres.
    """
    G.add_edge(
        u,
        v,
        id=edge_id,
        geometry=geometry,
        length_m=float(geometry.length if length_m is None else length_m),
        speed_mps=float(speed_mps),
        lanes=int(lanes),
        road_class=road_class,
    )
