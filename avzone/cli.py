"""The ``avzone`` command: argument parsing and printing only; the work is elsewhere.

Exit codes: 0 success, 1 a check failed (``avzone check``), 2 bad input
(one line on stderr naming the file, the key path, the value and what was
expected; nothing written).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from avzone.errors import AvzoneError, ScenarioError
from avzone.report_text import format_checks, format_run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avzone",
        description="Simulate an autonomous-driving demonstration zone: coverage, latency, map freshness.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument("scenario", type=Path)
    run.add_argument("--out", type=Path, help="result folder (default: runs/SCENARIO_NAME)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+")

    check = sub.add_parser(
        "check", help="run scenarios and evaluate their checks (exit 1 on a failure)"
    )
    check.add_argument("scenarios", type=Path, nargs="+")
    check.add_argument("--out", type=Path, help="write each run to OUT/NAME and OUT/checks.json")
    check.add_argument("--seed", type=int, help="override every scenario's seed")
    check.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")

    diff = sub.add_parser("diff", help="compare two run or sweep folders (exit 1 on a regression)")
    from avzone.diff import add_diff_arguments

    add_diff_arguments(diff)

    from avzone.experiments.cli import add_sweep_parser

    add_sweep_parser(sub)

    map_cmd = sub.add_parser("map", help="inspect a road map file")
    map_sub = map_cmd.add_subparsers(dest="map_command", required=True)
    info = map_sub.add_parser("info", help="print the map's size")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print JSON")
    show = map_sub.add_parser("show", help="draw the map (or a run's radio coverage) to a picture")
    show.add_argument("file", type=Path, nargs="?", help="map file (not needed with --coverage)")
    show.add_argument(
        "--coverage", type=Path, metavar="RUN_DIR", help="draw the coverage of a run folder"
    )
    show.add_argument("--system", default="uu", help="with --coverage: pc5, uu, ... (default uu)")
    show.add_argument(
        "--stat",
        choices=("p10", "p50", "fraction"),
        default="p10",
        help="with --coverage: per-edge SINR percentile, or the covered fraction (default p10)",
    )
    show.add_argument(
        "-o", "--output", type=Path, required=True, help="picture file (.png, .svg, .pdf)"
    )

    from avzone.report import add_report_parser

    add_report_parser(sub)
    from avzone.vehicles.sumo_run import add_sumo_parser

    add_sumo_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``avzone`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "seed", None) is not None and args.seed < 0:
            raise ScenarioError("--seed", f"expected an integer >= 0, got {args.seed}")
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "check":
            return _check(args)
        if args.command == "report":
            from avzone.report import run_report_command

            return run_report_command(args)
        if args.command == "diff":
            from avzone.diff import run_diff_command

            return run_diff_command(args)
        if args.command == "sweep":
            from avzone.experiments.cli import run_sweep_command

            return run_sweep_command(args)
        if args.command == "sumo":
            from avzone.vehicles.sumo_run import run_sumo_command

            return run_sumo_command(args)
        return _map(args)
    except AvzoneError as exc:
        print(f"avzone: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"avzone: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from avzone.runner import run

    results = run(args.scenario, seed=args.seed, progress=not args.quiet and sys.stderr.isatty())
    out = args.out or Path("runs") / results.scenario.name
    results.write(out)
    if not args.quiet:
        print(format_run(results, out))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from avzone.runner import build_world

    for path in args.scenarios:
        world = build_world(path)
        s = world.scenario
        print(
            f"{path}: ok — {s.name}: {world.graph.number_of_nodes()} nodes, "
            f"{world.graph.number_of_edges()} edges, {world.n_rsus} RSUs, {len(world.cell_xy)} cells, "
            f"{len(world.sites)} sites, {len(s.flows)} flows, {len(s.checks)} checks"
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    from avzone.junit import ScenarioChecks, write_junit
    from avzone.metrics import atomic_write_text
    from avzone.runner import build_world, run

    names: dict[str, Path] = {}
    for path in args.scenarios:  # all inputs are checked before anything runs
        name = build_world(path, seed=args.seed).scenario.name
        if args.out and name in names:
            raise ScenarioError(
                "name",
                f"{name!r} is also the name of {names[name]}; with --out each run needs its own name",
            ).in_file(str(path))
        names[name] = path
    failed = 0
    total = 0
    report: list[dict[str, object]] = []
    suites = []
    for path in args.scenarios:
        results = run(path, seed=args.seed)
        if args.out:
            results.write(args.out / results.scenario.name)
        print(format_checks(results, path))
        suites.append(
            ScenarioChecks(
                results.scenario.name,
                str(path),
                results.scenario.seed,
                results.checks,
                results.wall_s,
            )
        )
        failed += sum(not c.passed for c in results.checks)
        total += len(results.checks)
        report.append(
            {
                "scenario": results.scenario.name,
                "file": str(path),
                "seed": results.scenario.seed,
                "passed": results.passed,
                "checks": [
                    {"check": c.check.text, "value": _json_number(c.value), "passed": c.passed}
                    for c in results.checks
                ],
            }
        )
    if args.out:
        atomic_write_text(args.out / "checks.json", json.dumps(report, indent=2) + "\n")
    if args.junit:
        write_junit(args.junit, suites)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def _json_number(value: float) -> float | None:
    """A measured value for JSON: null when nothing was measured (NaN is not JSON)."""
    return None if math.isnan(value) else value


def _map(args: argparse.Namespace) -> int:
    from avzone.roads import load_map, map_info

    if args.map_command == "show" and args.coverage is not None:
        from avzone.plots._radio import show_coverage

        return show_coverage(args.coverage, args.system, args.stat, args.output)
    if args.file is None:
        raise ScenarioError("map show", "expected a map FILE or --coverage RUN_DIR")
    G = load_map(args.file)
    if args.map_command == "info":
        info = map_info(G)
        if args.json:
            print(json.dumps(info))
        else:
            xmin, ymin, xmax, ymax = info["bbox"]
            print(
                f"{args.file}: {info['nodes']} nodes ({info['signalized']} signalised), "
                f"{info['edges']} edges, {info['length_km']:.1f} km of directed road, "
                f"{(xmax - xmin) / 1000:.1f} × {(ymax - ymin) / 1000:.1f} km"
            )
        return 0
    from avzone.plots import plot_map, save_figure

    fig, _ = plot_map(G, title=args.file.name)
    save_figure(fig, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
