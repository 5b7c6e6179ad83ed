"""Where a batch run's time goes, stage by stage (a profile without a profiler's overhead).

Wraps the batch evaluator's stages in wall-clock timers and prints, per stage,
the seconds spent and the milliseconds per simulated second (one window is one
simulated second). Stages nest: ``_window`` holds the requests, the sites, the
replies, the deliveries and the compaction; ``_access`` is inside the requests,
the one-hop messages and the replies; ``_record_sites`` is inside the compaction
and at the end of the run. ``EventRun.run`` is the SimPy loop (the windows plus
the vehicles' driving and the HD map).

Usage::

    python -m benchmarks.stages scenarios/etown-peak.yaml '{"duration_s": 600}'
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import avzone
from avzone.engine import access_batch, batch, event, linkflow, world

_STAGES: list[tuple[type, str]] = [
    (event._EventRun, "run"),
    (world.World, "build"),
    *(
        (batch._BatchRun, name)
        for name in (
            "_window",
            "_due",
            "_one_hop_batch",
            "_requests",
            "_serve",
            "_replies",
            "_delivered",
            "_compact",
            "_access",
            "_draw_work",
            "_record_sites",
        )
    ),
    (access_batch.BatchAccess, "catch_up"),
    (access_batch.BatchAccess, "hop"),
    (linkflow.BatchLinks, "advance"),
    (linkflow.BatchLinks, "submit"),
]


def _timed(totals: collections.Counter[str], label: str, f: Callable[..., Any]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - t

    return timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__)
    parser.add_argument("scenario")
    parser.add_argument("overrides", nargs="?", default="{}", help="JSON: key path → value")
    args = parser.parse_args(argv)
    totals: collections.Counter[str] = collections.Counter()
    for cls, name in _STAGES:
        setattr(cls, name, _timed(totals, f"{cls.__name__}.{name}", getattr(cls, name)))
    start = time.perf_counter()
    results = avzone.run(args.scenario, overrides=json.loads(args.overrides))
    wall_s = time.perf_counter() - start
    simulated_s = results.scenario.duration_s
    print(
        f"{args.scenario}: {simulated_s:g} s simulated in {wall_s:.1f} s wall ({results.summary['engine']})"
    )
    print(f"{'stage':<34} {'s':>8} {'ms per simulated s':>19}")
    for label, seconds in totals.most_common():
        print(f"{label:<34} {seconds:>8.2f} {1000 * seconds / simulated_s:>19.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
