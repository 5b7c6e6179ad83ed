"""Measured service times from a text or CSV file of milliseconds."""

from __future__ import annotations

import csv
import math
from pathlib import Path

__all__ = ["SAMPLES_COLUMN", "load_samples_ms"]


SAMPLES_COLUMN = "service_ms"
"""Name of the column :func:`load_samples_ms` reads from a CSV file of several columns."""


def load_samples_ms(path: str | Path) -> tuple[float, ...]:
    r"""Read measured service times, in milliseconds, from a text or CSV file.

    Two layouts are accepted:

    - one number per line, optionally below a header line (any first line
      that is not a number);
    - a CSV file whose first line names its columns, one of them
      ``service_ms``; the other columns are ignored.

    Blank lines are skipped and everything from a ``#`` to the end of its
    line is a comment. Every value must be a finite number >= 0.

    Parameters
    ----------
    path
        The file (UTF-8, a byte-order mark is allowed).

    Returns
    -------
    tuple of float
        The service times in file order, ms.

    Raises
    ------
    ValueError
        A one-line message starting with the file and, for a bad value, the
        line, e.g. ``times.csv: line 4: expected a number of milliseconds >=
        0, got 'abc'``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = pathlib.Path(tmp, "t.csv")
    ...     _ = f.write_text("id,service_ms\n1,2.5\n# a restart\n2,4\n")
    ...     load_samples_ms(f)
    (2.5, 4.0)
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{path}: cannot read service times: {reason}") from None
    column: int | None = None  # None until the first line has been seen
    width = 1
    samples_ms: list[float] = []
    for number, line in enumerate(lines, start=1):
        text = line.partition("#")[0]
        if not text.strip():
            continue
        try:
            cells = [cell.strip() for cell in next(csv.reader([text]))]
        except csv.Error as exc:
            raise ValueError(f"{path}: line {number}: not a CSV line: {exc}") from None
        if column is None:
            column, width = _header(path, number, cells)
            if column >= 0:
                continue
            column = 0
        if len(cells) != width:
            raise ValueError(
                f"{path}: line {number}: expected {width} column{'s' * (width > 1)}, "
                f"got {len(cells)}: {text.strip()!r}"
            )
        samples_ms.append(_milliseconds(path, number, cells[column]))
    if not samples_ms:
        raise ValueError(
            f"{path}: no service times found; expected one number of milliseconds per line"
        )
    return tuple(samples_ms)


def _header(path: str | Path, number: int, cells: list[str]) -> tuple[int, int]:
    """Column of the service times and number of columns, from the first line.

    The column is -1 when the first line is a value rather than a header.
    """
    if SAMPLES_COLUMN in cells:
        return cells.index(SAMPLES_COLUMN), len(cells)
    if len(cells) > 1:
        raise ValueError(
            f"{path}: line {number}: expected one number per line or a header naming a "
            f"{SAMPLES_COLUMN!r} column, got columns {', '.join(map(repr, cells))}"
        )
    try:
        float(cells[0])
    except ValueError:
        return 0, 1  # a header line over a single column
    return -1, 1


def _milliseconds(path: str | Path, number: int, cell: str) -> float:
    """The value of one cell, checked to be a finite number >= 0."""
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"{path}: line {number}: expected a number of milliseconds >= 0, got {cell!r}"
        )
    return value
