"""Scenario checks: ``PATH OP NUMBER`` assertions on a run's summary.

A check such as ``flows.control.latency_ms.p99 <= 50`` reads the value at the
dotted path of summary.json and compares it with the number. A CI pipeline
gates on them with ``avzone check``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from avzone.errors import ScenarioError

__all__ = ["Check", "CheckResult", "evaluate_checks", "parse_check"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_PATTERN = re.compile(
    r"^\s*(?P<path>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)+)\s*"
    r"(?P<op><=|>=|==|!=|<|>)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


@dataclass(frozen=True)
class Check:
    """One parsed check."""

    text: str
    path: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the check."""
        return _OPS[self.op](value, self.threshold)


@dataclass(frozen=True)
class CheckResult:
    """A check with the measured value and whether it passed."""

    check: Check
    value: float
    passed: bool


def parse_check(text: str, key_path: str = "checks") -> Check:
    """Parse ``'PATH OP NUMBER'``; ScenarioError naming ``key_path`` when malformed."""
    match = _PATTERN.match(text)
    if match is None:
        raise ScenarioError(
            key_path,
            f"expected 'PATH OP NUMBER' with OP one of {' '.join(_OPS)} "
            f"(e.g. 'flows.control.latency_ms.p99 <= 50'), got {text!r}",
        )
    return Check(text.strip(), match["path"], match["op"], float(match["value"]))


def lookup(summary: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a summary, or KeyError naming the missing part."""
    node: Any = summary
    walked: list[str] = []
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(walked) or "the summary"
            options = ", ".join(sorted(node)) if isinstance(node, Mapping) else "nothing"
            raise KeyError(f"{path}: no {part!r} in {where} (has: {options})")
        node = node[part]
        walked.append(part)
    return node


def evaluate_checks(checks: tuple[str, ...], summary: Mapping[str, Any]) -> list[CheckResult]:
    """Evaluate every check against a summary (as written to summary.json)."""
    results = []
    for i, text in enumerate(checks):
        check = parse_check(text, f"checks[{i}]")
        try:
            value = lookup(summary, check.path)
        except KeyError as exc:
            raise ScenarioError(f"checks[{i}]", str(exc.args[0])) from None
        if value is None:
            results.append(CheckResult(check, float("nan"), False))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(
                f"checks[{i}]", f"{check.path} is not a number in the summary, got {value!r}"
            )
        results.append(CheckResult(check, float(value), check.holds(float(value))))
    return results
