"""Run the SUMO traffic simulator to turn a network and a route file into trajectories (FCD).

SUMO comes from the ``eclipse-sumo`` package (``pip install 'avzone[sumo]'``),
which ships the ``sumo`` binary; a ``sumo`` on the ``PATH`` is used when the
package is absent. The run is deterministic for a given ``seed``
(``--seed``). Its floating-car data (``--fcd-output``) is what
:func:`avzone.vehicles.traces.read_trace` reads.

Examples
--------
With ``avzone[sumo]`` installed (tests/test_traces.py runs this)::

    run_sumo("beijing_yizhuang.net.xml", "beijing_yizhuang_3600.rou.xml", "fcd.xml", end_s=60)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from avzone.errors import AvzoneError

__all__ = ["INSTALL_HINT", "add_sumo_parser", "run_sumo", "run_sumo_command", "sumo_binary"]

INSTALL_HINT = "pip install 'avzone[sumo]' (the eclipse-sumo package, which ships the sumo binary)"
"""What to install when SUMO is missing."""


def sumo_binary() -> Path | None:
    """The ``sumo`` executable of the eclipse-sumo package, else on the PATH, else None."""
    try:
        import sumo  # the eclipse-sumo package
    except ImportError:
        found = shutil.which("sumo")
        return Path(found) if found else None
    candidate = Path(sumo.SUMO_HOME) / "bin" / "sumo"
    if candidate.is_file():
        return candidate
    found = shutil.which("sumo")
    return Path(found) if found else None


def run_sumo(
    net: str | Path,
    routes: str | Path,
    fcd: str | Path,
    *,
    end_s: float | None = None,
    step_s: float = 1.0,
    seed: int = 0,
) -> Path:
    """Simulate ``routes`` on ``net`` with SUMO and write FCD to ``fcd``; return its path.

    Parameters
    ----------
    net, routes
        A SUMO ``.net.xml`` and ``.rou.xml``.
    fcd
        The FCD XML file to write.
    end_s
        Stop at this simulated time (default: when every vehicle has arrived).
    step_s
        SUMO's time step, which is also the FCD sampling period.
    seed
        SUMO's random seed.

    Raises
    ------
    AvzoneError
        SUMO is not installed (the message says what to install), an input
        file is missing, or SUMO fails (its last error line is quoted).
    """
    binary = sumo_binary()
    if binary is None:
        raise AvzoneError(f"running SUMO needs the sumo binary: {INSTALL_HINT}")
    for label, path in (("network", net), ("route file", routes)):
        if not Path(path).is_file():
            raise AvzoneError(f"{path}: SUMO {label} not found")
    command = [
        str(binary),
        "--net-file",
        str(net),
        "--route-files",
        str(routes),
        "--fcd-output",
        str(fcd),
        "--step-length",
        repr(float(step_s)),
        "--seed",
        str(int(seed)),
        "--no-step-log",
        "true",
        "--no-warnings",
        "true",
        "--duration-log.disable",
        "true",
    ]
    if end_s is not None:
        command += ["--end", repr(float(end_s))]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no message"
        raise AvzoneError(f"{routes}: sumo failed (exit {result.returncode}): {last}")
    return Path(fcd)


def add_sumo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avzone sumo run NET ROUTES [-o FCD] [--end S] [--step S] [--seed N]``."""
    sumo_cmd = sub.add_parser("sumo", help="run the SUMO traffic simulator (avzone[sumo])")
    sumo_sub = sumo_cmd.add_subparsers(dest="sumo_command", required=True)
    run = sumo_sub.add_parser(
        "run", help="simulate a SUMO route file and write its FCD trajectories"
    )
    run.add_argument("net", type=Path, help="SUMO network (.net.xml)")
    run.add_argument("routes", type=Path, help="SUMO route file (.rou.xml)")
    run.add_argument("-o", "--output", type=Path, default=Path("fcd.xml"), help="FCD XML to write")
    run.add_argument("--end", type=float, help="stop at this simulated time, s")
    run.add_argument("--step", type=float, default=1.0, help="time step and FCD period, s")
    run.add_argument("--seed", type=int, default=0, help="SUMO's random seed")


def run_sumo_command(args: argparse.Namespace) -> int:
    """``avzone sumo run``: run SUMO, then print what was written."""
    from avzone.vehicles.traces import read_trace

    if args.step <= 0:
        raise AvzoneError(f"--step: expected a time step > 0 s, got {args.step:g}")
    fcd = run_sumo(
        args.net, args.routes, args.output, end_s=args.end, step_s=args.step, seed=args.seed
    )
    table = read_trace(fcd)
    print(
        f"wrote {fcd}: {len(table.t_s)} samples of {len(set(table.vehicle.tolist()))} vehicles, "
        f"t = {table.t_s.min():g}–{table.t_s.max():g} s"
    )
    return 0
