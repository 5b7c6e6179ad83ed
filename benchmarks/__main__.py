"""Time avzone's scenarios: wall seconds, messages, messages per second, peak RSS.

Each case runs in a fresh subprocess so that its peak resident memory is its
own. Usage::

    python -m benchmarks                 # all cases
    python -m benchmarks etown-baseline  # some cases
    python -m benchmarks --out bench.json

Figures go to stdout and, as JSON, to ``--out`` (default runs/benchmarks.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "etown-baseline": ROOT / "scenarios" / "etown-baseline.yaml",
    "etown-sparse-rsu": ROOT / "scenarios" / "etown-sparse-rsu.yaml",
    "etown-central-only": ROOT / "scenarios" / "etown-central-only.yaml",
    "etown-hybrid": ROOT / "scenarios" / "etown-hybrid.yaml",
    # needs ../shared/data/real (the real Yizhuang SUMO net and its 3,600-vehicle demand)
    "yizhuang-real-1800": ROOT / "scenarios" / "yizhuang-real-1800.yaml",
}

_CHILD = """
import json, sys, time, resource
import avzone
t = time.perf_counter()
results = avzone.run(sys.argv[1])
wall_s = time.perf_counter() - t
messages = sum(f["sent"] for f in results.summary["flows"].values())
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall_s": wall_s, "messages": messages, "simulated_s": results.scenario.duration_s,
                  "peak_rss_mib": rss_kib / 1024}))
"""


def run_case(name: str, path: Path) -> dict[str, float | str]:
    """Run one scenario in a subprocess and return its figures."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark {name} failed:\n{out.stderr}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["messages_per_s"] = figures["messages"] / figures["wall_s"]
    figures["realtime_factor"] = figures["simulated_s"] / figures["wall_s"]
    return {"case": name, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmarks.json")
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; cases: {', '.join(CASES)}")
    rows = []
    print(
        f"{'case':<22} {'wall s':>8} {'messages':>11} {'msg/s':>9} {'RT factor':>9} {'peak MiB':>9}"
    )
    for name in names:
        row = run_case(name, CASES[name])
        rows.append(row)
        print(
            f"{name:<22} {row['wall_s']:>8.1f} {row['messages']:>11,} {row['messages_per_s']:>9,.0f} "
            f"{row['realtime_factor']:>9.1f} {row['peak_rss_mib']:>9.0f}"
        )
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cases": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
