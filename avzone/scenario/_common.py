"""Parsing helpers shared by the scenario's sections."""

from __future__ import annotations

import re

from avzone.errors import ScenarioError
from avzone.scenario._reader import Reader
from avzone.scenario.schema import Placement

__all__ = ["check_name", "parse_placement", "unknown"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def parse_placement(
    r: Reader, rules: tuple[str, ...], default: Placement, spaced: tuple[str, ...] = ()
) -> Placement:
    """A placement rule; ``spaced`` are the rules that need ``spacing_m``."""
    if not r.has("rule"):
        r.raw("rule", None)
        r.done()
        return default
    rule = r.choice("rule", rules)
    spacing_m = 0.0
    positions: tuple[tuple[float, float], ...] = ()
    if rule in spaced:
        spacing_m = r.number("spacing_m", min_value=0, strict_min=True)
    if rule == "list" and r.has("file") and not r.has("positions_m"):
        file = r.text("file")  # resolved and read at the world build (avzone/roads/points.py)
        r.done()
        return Placement(rule, spacing_m, file=file)
    if rule == "list":
        positions = r.points("positions_m")
        if not positions:
            raise ScenarioError(
                r.at("positions_m"), "expected at least one [x_m, y_m] pair, got []"
            )
    r.done()
    return Placement(rule, spacing_m, positions)


def unknown(kind: str, value: str, known: set[str]) -> str:
    listed = ", ".join(sorted(known)) or "none defined"
    return f"unknown {kind} {value!r} (defined: {listed})"


def check_name(path: str, name: str) -> None:
    if not _NAME.match(name):
        raise ScenarioError(
            path,
            f"expected a name of letters, digits, '_' or '-' starting with a letter, got {name!r}",
        )
