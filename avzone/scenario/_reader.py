"""A validating reader over the raw YAML mapping of a scenario.

Every accessor knows the dotted key path it reads, so that a bad value is
reported as ``car.fleet.count: expected an integer > 0, got -5``. Keys that
nobody read are reported as unknown, with a did-you-mean hint.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Iterator, Mapping
from typing import Any

from avzone.errors import ScenarioError

__all__ = ["Reader", "finite", "short"]

_MISSING: Any = object()
_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 3, 6, 6, 80


def short(value: object) -> str:
    """``repr(value)`` cut to a readable length (an alias bomb's list has millions of items)."""
    return _SHORT.repr(value)


def _show(value: object) -> str:
    """Render a value as the user wrote it, for an error message."""
    if isinstance(value, str):
        return short(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return str(value)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Reader:
    """Read typed values out of one mapping of a scenario, by key path.

    Parameters
    ----------
    data
        The mapping (``None`` is read as an empty mapping).
    path
        The dotted key path of ``data`` in the scenario ("" for the top level).
    """

    def __init__(self, data: object, path: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ScenarioError(path, f"expected a mapping of keys, got {_show(data)}")
        for key in data:
            if not isinstance(key, str):
                hint = (
                    " (YAML reads on/off/yes/no as booleans: quote the key)"
                    if isinstance(key, bool)
                    else ""
                )
                raise ScenarioError(path, f"expected text keys, got {_show(key)}{hint}")
        self._data: dict[str, Any] = dict(data)
        self._read: set[str] = set()
        self.path = path

    def at(self, key: str) -> str:
        """The key path of ``key`` in this mapping."""
        return _join(self.path, key)

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (and not null). Asking makes ``key`` a known key:
        a null value means "absent", not "unknown"."""
        self._read.add(key)
        return self._data.get(key) is not None

    def keys(self) -> Iterator[str]:
        """The keys given in this mapping, in file order."""
        return iter(self._data)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The raw value of ``key``; ``default`` when absent or null, error when required."""
        self._read.add(key)
        value = self._data.get(key)
        if value is None:
            if default is _MISSING:
                raise ScenarioError(self.at(key), "required key is missing")
            return default
        return value

    def section(self, key: str) -> Reader:
        """A reader over the sub-mapping ``key`` (an empty one when absent)."""
        return Reader(self.raw(key, {}), self.at(key))

    def number(
        self,
        key: str,
        default: float = _MISSING,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        strict_min: bool = False,
    ) -> float:
        """A real number within the given bounds."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not finite(value):
            raise ScenarioError(
                self.at(key),
                f"expected {_bounds('a number', min_value, max_value, strict_min)}, "
                f"got {_show(value)}",
            )
        _check_bounds(self.at(key), float(value), "a number", min_value, max_value, strict_min)
        return float(value)

    def integer(
        self,
        key: str,
        default: int = _MISSING,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
    ) -> int:
        """An integer within the given bounds (``min_value`` inclusive)."""
        value = self.raw(key, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(
                self.at(key),
                f"expected {_bounds('an integer', min_value, max_value, False)}, got {_show(value)}",
            )
        _check_bounds(self.at(key), value, "an integer", min_value, max_value, False)
        return value

    def probability(self, key: str, default: float = _MISSING) -> float:
        """A probability in [0, 1)."""
        value = self.raw(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1
        if not ok:
            shown = (
                f"{value:g}"
                if isinstance(value, int | float) and not isinstance(value, bool)
                else _show(value)
            )
            raise ScenarioError(self.at(key), f"expected a probability in [0, 1), got {shown}")
        return float(value)

    def text(self, key: str, default: str = _MISSING) -> str:
        """A non-empty string."""
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ScenarioError(self.at(key), f"expected a text, got {_show(value)}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str = _MISSING) -> str:
        """One of ``options``."""
        value = self.raw(key, default)
        if value not in options:
            hint = _did_you_mean(value, options) if isinstance(value, str) else ""
            raise ScenarioError(
                self.at(key),
                f"expected one of {', '.join(options)}, got {_show(value)}{hint}",
            )
        return str(value)

    def boolean(self, key: str, default: bool = _MISSING) -> bool:
        """true or false."""
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ScenarioError(self.at(key), f"expected true or false, got {_show(value)}")
        return value

    def sequence(self, key: str, default: list[Any] = _MISSING) -> list[Any]:
        """A list (of anything; the caller checks the items)."""
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise ScenarioError(self.at(key), f"expected a list, got {_show(value)}")
        return value

    def points(self, key: str, default: list[Any] = _MISSING) -> tuple[tuple[float, float], ...]:
        """A list of ``[x, y]`` pairs in metres."""
        items = self.sequence(key, default)
        out = []
        for i, item in enumerate(items):
            ok = (
                isinstance(item, list)
                and len(item) == 2
                and all(
                    isinstance(v, int | float) and not isinstance(v, bool) and finite(v)
                    for v in item
                )
            )
            if not ok:
                shown = short(item) if isinstance(item, list) else _show(item)
                raise ScenarioError(
                    _join(self.at(key), i), f"expected a pair [x_m, y_m], got {shown}"
                )
            out.append((float(item[0]), float(item[1])))
        return tuple(out)

    def mapping_items(self, key: str) -> list[tuple[str, Reader]]:
        """The entries of a mapping of named sub-mappings (e.g. flows by name)."""
        sub = self.section(key)
        items = []
        for name in list(sub._data):
            sub._read.add(name)
            items.append((name, Reader(sub._data[name], sub.at(name))))
        return items

    def done(self) -> None:
        """Raise on the first key that was given but never read (an unknown key)."""
        known = tuple(sorted(self._read))
        for key in self._data:
            if key not in self._read:
                hint = _did_you_mean(key, known)
                expected = f" (known keys: {', '.join(known)})" if known and not hint else ""
                raise ScenarioError(self.at(key), f"unknown key{hint}{expected}")


def finite(value: float) -> bool:
    """Whether a number is finite and fits a float (an int of 400 digits does not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _did_you_mean(word: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _bounds(kind: str, lo: float | None, hi: float | None, strict: bool) -> str:
    if kind == "an integer" and lo == 1 and hi is None:
        return f"{kind} > 0"
    if lo is not None and hi is not None:
        return f"{kind} in [{lo:g}, {hi:g}]"
    if lo is not None:
        if lo == 0 and strict:
            return f"{kind} > 0"
        return f"{kind} {'>' if strict else '>='} {lo:g}"
    if hi is not None:
        return f"{kind} <= {hi:g}"
    return kind


def _check_bounds(
    path: str, value: float, kind: str, lo: float | None, hi: float | None, strict: bool
) -> None:
    too_low = lo is not None and (value <= lo if strict else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        raise ScenarioError(path, f"expected {_bounds(kind, lo, hi, strict)}, got {value:g}")
