"""The grid of a sweep: ``--set KEY=V1,V2`` values, cartesian or zipped points, seeds, run ids.

A point is a dict of overrides (dotted key → value); a run is a point with the
seed of one replication. Everything here is plain data, checked before
anything runs.
"""

from __future__ import annotations

import builtins
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avzone.errors import ScenarioError
from avzone.scenario.overrides import parse_value

__all__ = [
    "build_points",
    "canonical_json",
    "parse_set",
    "replication_seeds",
    "run_id",
    "split_values",
]

_CLOSE = {"[": "]", "{": "}", "(": ")"}


def split_values(text: str) -> list[str]:
    """Split ``V1,V2,...`` on the commas outside brackets and quotes.

    Examples
    --------
    >>> split_values("1200,2400")
    ['1200', '2400']
    >>> split_values("[edge],[edge, regional]")
    ['[edge]', '[edge, regional]']
    >>> split_values("'a,b',c")
    ["'a,b'", 'c']
    """
    items: list[str] = []
    expected: list[str] = []  # closing brackets still open, innermost last
    quote: str | None = None
    start = 0
    for i, char in enumerate(text):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in _CLOSE:
            expected.append(_CLOSE[char])
        elif char in _CLOSE.values():
            if not expected or expected.pop() != char:
                raise ScenarioError("--set", f"unbalanced {char!r} at position {i} in {text!r}")
        elif char == "," and not expected:
            items.append(text[start:i])
            start = i + 1
    if quote is not None:
        raise ScenarioError("--set", f"unclosed quote {quote} in {text!r}")
    if expected:
        raise ScenarioError("--set", f"missing {expected[-1]!r} in {text!r}")
    items.append(text[start:])
    items = [item.strip() for item in items]
    if not all(items):
        raise ScenarioError(
            "--set", f"empty value in {text!r}; separate values by single commas like 1,2,3"
        )
    return items


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"car.fleet.count=100,200"`` → ``("car.fleet.count", [100, 200])``; values read as YAML.

    Examples
    --------
    >>> parse_set("cloud.services.planning.sites=[edge],[edge,regional]")
    ('cloud.services.planning.sites', [['edge'], ['edge', 'regional']])
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(
            "--set", f"expected KEY=V1,V2,... like 'car.fleet.count=100,200', got {text!r}"
        )
    return key, [parse_value(value) for value in split_values(values)]


def build_points(grid: Mapping[str, Sequence[Any]], *, zip: bool = False) -> list[dict[str, Any]]:
    """The grid points in order: the cartesian product of the values (last key fastest), or,
    with ``zip``, the i-th value of every key together.

    Examples
    --------
    >>> build_points({"a": [1, 2], "b": ["x", "y"]})
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    >>> build_points({"a": [1, 2], "b": ["x", "y"]}, zip=True)
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    >>> build_points({})
    [{}]
    """
    for key, values in grid.items():
        if not key or not all(key.split(".")):
            raise ScenarioError(
                "--set", f"expected a dotted key path like 'car.fleet.count', got {key!r}"
            )
        if key == "seed":
            raise ScenarioError(
                "--set", "seed cannot be swept; each replication gets its own seed (--replications)"
            )
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ScenarioError(key, f"expected a list of values, got {values!r}")
        if not values:
            raise ScenarioError(key, "expected at least one value, got none")
    keys = list(grid)  # builtins.zip below: the keyword ``zip`` is named like the CLI flag
    if zip:
        lengths = {key: len(values) for key, values in grid.items()}
        if len(set(lengths.values())) > 1:
            counts = ", ".join(f"{key}: {n}" for key, n in lengths.items())
            raise ScenarioError(
                "--zip", f"expected the same number of values for every key, got {counts}"
            )
        rows = list(builtins.zip(*grid.values(), strict=True))  # lengths checked above
    else:
        rows = list(itertools.product(*grid.values()))
    points = [dict(builtins.zip(keys, row, strict=True)) for row in rows]
    seen: dict[str, int] = {}
    for i, point in enumerate(points):
        text = canonical_json(point)
        if text in seen:
            raise ScenarioError(
                "--set", f"grid points {seen[text] + 1} and {i + 1} are the same: {text}"
            )
        seen[text] = i
    return points


def replication_seeds(seed: int, replications: int) -> list[int]:
    """One integer seed per replication, spawned from ``SeedSequence(seed)``.

    Replication ``r`` gets the same seed at every grid point (common random
    numbers), and its seed does not depend on how many replications there are.

    Examples
    --------
    >>> replication_seeds(42, 3)[:2] == replication_seeds(42, 2)
    True
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ScenarioError("--replications", f"expected an integer >= 1, got {replications!r}")
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(1)[0]) for child in children]


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same data always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def run_id(scenario_bytes: bytes, overrides: Mapping[str, Any], seed: int) -> str:
    """sha256 of the scenario file's bytes, the overrides as canonical JSON and the seed;
    the first 16 hex digits."""
    digest = hashlib.sha256()
    digest.update(scenario_bytes)
    digest.update(canonical_json(dict(overrides)).encode())
    digest.update(str(seed).encode())
    return digest.hexdigest()[:16]
