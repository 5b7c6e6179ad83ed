"""Errors avzone raises for bad user input.

Every message names where the problem is (a file and a key path), the value
found, and what was expected, so that the CLI can print it as one line::

    scenario.yaml: car.fleet.count: expected an integer > 0, got -5
"""

from __future__ import annotations

__all__ = ["AvzoneError", "MapError", "ScenarioError", "one_line"]


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped, so it stays one line.

    Examples
    --------
    >>> one_line("road.\\nx: unknown key")
    'road.\\\\nx: unknown key'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class AvzoneError(ValueError):
    """Base class of the errors caused by user input (exit code 2 in the CLI).

    Its text is always one line: line breaks in names or values (a key ``"a\\nb"``) are
    escaped.
    """

    def __str__(self) -> str:
        return one_line(super().__str__())


class ScenarioError(AvzoneError):
    """A scenario file is malformed, has an unknown key or a value out of range.

    Parameters
    ----------
    path
        Dotted key path, e.g. ``"car.fleet.count"`` (empty for the whole file).
    message
        What was expected and what was found, e.g. ``"expected an integer > 0, got -5"``.
    file
        The scenario file, when known.
    """

    def __init__(self, path: str, message: str, file: str | None = None) -> None:
        self.path = path
        self.message = message
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        prefix = f"{self.file}: " if self.file else ""
        return one_line(f"{prefix}{where}{self.message}")

    def in_file(self, file: str) -> ScenarioError:
        """Return the same error located in ``file``."""
        return ScenarioError(self.path, self.message, file)


class MapError(AvzoneError):
    """A map file is missing, unreadable, or not a usable road network.

    The message starts with the file name, e.g.
    ``maps/x.geojson: expected a GeoJSON FeatureCollection, got a list``.
    """
