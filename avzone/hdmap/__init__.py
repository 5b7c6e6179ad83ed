"""Accurate map: HD-map tiles, world changes, release, delivery and staleness."""

from avzone.hdmap.tiles import TileGrid, edge_tile_segments

__all__ = ["TileGrid", "edge_tile_segments"]
