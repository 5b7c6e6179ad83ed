"""Command-line helpers for road maps.

Usage::

    python -m avzone.roads info MAP            # print map_info of a map file as JSON
    python -m avzone.roads etown OUT.geojson   # write the synthetic E-Town map, print its info

``MAP`` is anything :func:`avzone.roads.load_map` reads. A bad map prints
one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from avzone.errors import MapError
from avzone.roads.graph import map_info
from avzone.roads.loading import load_map
from avzone.roads.synthetic import etown_synthetic
from avzone.roads.writing import write_geojson

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m avzone.roads", description="Road maps.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="print the figures of a map (nodes, edges, km, ...)")
    info.add_argument(
        "map", help="a .geojson, .json, .net.xml(.gz), .osm, .osm.bz2, .osm.gz or .osm.pbf file"
    )
    etown = commands.add_parser("etown", help="write the synthetic E-Town map as GeoJSON")
    etown.add_argument("output", help="the GeoJSON file to write, e.g. maps/etown.geojson")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            G = load_map(args.map)
        else:
            G = etown_synthetic()
            write_geojson(G, args.output)
    except MapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(map_info(G)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
