"""The accurate map's part of summary.json ``hdmap`` beyond the first model's keys.

Documented in docs/outputs.md; times in s, volumes in bytes per hour of the
measured window ``[warmup_s, duration_s]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from avzone.hdmap.process import HdMap

__all__ = ["hdmap_summary", "time_stats_s"]


def time_stats_s(values: Sequence[float]) -> dict[str, Any]:
    """Count, p50, p95 and max (linear interpolation); nulls when empty.

    Examples
    --------
    >>> time_stats_s([1.0, 3.0])
    {'count': 2, 'p50': 2.0, 'p95': 2.9, 'max': 3.0}
    """
    if len(values) == 0:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=float)
    p50, p95 = np.percentile(a, [50, 95])
    return {
        "count": len(a),
        "p50": round(float(p50), 6),
        "p95": round(float(p95), 6),
        "max": round(float(a.max()), 6),
    }


def hdmap_summary(hd: HdMap | None, window_s: float) -> dict[str, Any]:
    """Times from change to each stage, control messages on a stale map, map traffic."""
    per_h = 3600.0 / window_s
    if hd is None:
        empty = time_stats_s([])
        return {
            "change_to_s": dict.fromkeys(("detected", "confirmed", "released", "delivered"), empty),
            "detection_passes": 0,
            "detections": 0,
            "control_messages": 0,
            "control_on_stale_map": 0,
            "control_stale_share": None,
            "download_bytes_per_h": 0.0,
            "upload_bytes_per_h": 0.0,
            "map_bytes_per_h": 0.0,
        }
    return {
        "change_to_s": {
            "detected": time_stats_s(hd.detected_s),
            "confirmed": time_stats_s(hd.confirmed_s),
            "released": time_stats_s(hd.update_lag_s),
            "delivered": time_stats_s(hd.delivered_s),
        },
        "detection_passes": hd.passes,
        "detections": hd.detections,
        "control_messages": hd.control_sent,
        "control_on_stale_map": hd.control_stale,
        "control_stale_share": (
            round(hd.control_stale / hd.control_sent, 6) if hd.control_sent else None
        ),
        "download_bytes_per_h": round(hd.bytes_down * per_h, 3),
        "upload_bytes_per_h": round(hd.bytes_up * per_h, 3),
        "map_bytes_per_h": round((hd.bytes_down + hd.bytes_up) * per_h, 3),
    }
