"""Override scenario keys by their dotted path before the scenario is validated.

``car.fleet.count=800`` sets ``data["car"]["fleet"]["count"] = 800`` in the
raw mapping, creating the mappings on the way; the value is read as YAML, so
``800`` is an integer, ``0.5`` a number, ``true`` a boolean and ``[edge]`` a
list. The overridden mapping is then validated like a file, so a wrong key or
value gets the usual one-line error naming its path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from avzone.errors import ScenarioError

__all__ = ["apply_overrides", "parse_assignment", "parse_value"]


def parse_value(text: str) -> Any:
    """A value as YAML reads it: ``"800"`` → 800, ``"a"`` → ``"a"``, ``"[1, 2]"`` → [1, 2].

    Examples
    --------
    >>> parse_value("800"), parse_value("0.5"), parse_value("true"), parse_value("edge")
    (800, 0.5, True, 'edge')
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"car.fleet.count=800"`` → ``("car.fleet.count", 800)``.

    Raises
    ------
    ScenarioError
        When there is no ``=`` or no key.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError("--set", f"expected KEY=VALUE like 'car.fleet.count=800', got {text!r}")
    return key, parse_value(value.strip())


def apply_overrides(data: Any, overrides: Mapping[str, Any]) -> Any:
    """A deep copy of the raw scenario mapping with each dotted key set to its value.

    Examples
    --------
    >>> apply_overrides({"car": {"fleet": {"count": 5}}}, {"car.fleet.count": 800, "seed": 3})
    {'car': {'fleet': {'count': 800}}, 'seed': 3}
    """
    if not overrides:
        return data
    if not isinstance(data, dict):
        return data  # the validator reports what the file is instead
    result = copy.deepcopy(data)
    for path, value in overrides.items():
        parts = path.split(".")
        if not all(parts):
            raise ScenarioError(path, "expected a dotted key path like 'car.fleet.count'")
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ScenarioError(
                    path, f"cannot set a key inside {where}, which is not a mapping"
                )
            node = child
        node[parts[-1]] = value
    return result
