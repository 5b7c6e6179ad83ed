"""HTML building blocks of the report: escaping, number cells, tables, embedded figures, the page."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__: list[str] = []  # private building blocks of avzone.report

_DPI = 100
_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( %| s)?")  # right-aligned table cells
_MISSING = "—"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1.5rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #57606a; margin-top: 0; }
nav a { margin-right: 1rem; color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; min-width: 3.2rem; text-align: center; border-radius: 0.3rem;
         font-weight: 600; color: #fff; padding: 0 0.4rem; }
.pass { background: #1a7f37; }
.fail { background: #cf222e; }
.verdict { font-weight: 600; }
figure { margin: 0.5rem 0 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: 0.85rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0.8rem; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
footer { margin-top: 2.5rem; color: #57606a; font-size: 0.85rem; }
"""


class _Raw(str):
    """Markup made here from fixed text; :func:`_table` does not escape it."""

    __slots__ = ()


def _e(value: object) -> str:
    """Escape any value for HTML text or an attribute value."""
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int | None = None) -> str:
    """A number for a table: thousands separated, ``digits`` decimals, ``—`` for null."""
    if value is None:
        return _MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) and digits is None:
        return f"{value:,}"
    if digits is None:
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _pct(value: float | None) -> str:
    return _MISSING if value is None else f"{100 * value:.2f} %"


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; None when any key is missing."""
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _cell(value: Any) -> str:
    if isinstance(value, _Raw):
        return f"<td>{value}</td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num">{_e(_num(value))}</td>'
    text = _MISSING if value is None else str(value)
    numeric = text == _MISSING or _NUMBER.fullmatch(text)
    return f'<td class="num">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _key_value_table(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _figure(fig: Figure, alt: str, caption: str) -> str:
    """``fig`` as an embedded PNG with a caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]], source: Path) -> str:
    from avzone import __version__

    nav = "".join(f'<a href="#{anchor}">{_e(heading)}</a>' for anchor, heading, _ in sections)
    body = "".join(
        f'<section id="{anchor}"><h2>{_e(heading)}</h2>{content}</section>'
        for anchor, heading, content in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{_e(title)}</h1><p class="meta">{_e(subtitle)}</p><nav>{nav}</nav></header>\n'
        f"{body}\n"
        f"<footer>Made by avzone {_e(__version__)} from {_e(source)}.</footer>\n"
        "</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- command line
