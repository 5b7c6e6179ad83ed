"""JUnit XML of scenario checks (``avzone check --junit FILE``), for CI dashboards.

One ``<testsuite>`` per scenario, one ``<testcase>`` per check; a check that
fails has a ``<failure>`` child with the measured value. The layout is the
one Jenkins, GitLab and GitHub test reporters read (the Ant JUnit schema)::

    <testsuites name="avzone check" tests="2" failures="1" errors="0" time="1.234">
      <testsuite name="etown-baseline" tests="2" failures="1" errors="0" skipped="0" time="1.234">
        <properties><property name="file" value="..."/><property name="seed" value="42"/></properties>
        <testcase classname="avzone.etown-baseline" name="flows.control.latency_ms.p99 &lt;= 50" time="0">
          <failure type="check" message="measured 61.2, expected flows.control.latency_ms.p99 &lt;= 50"/>
        </testcase>
      </testsuite>
    </testsuites>

``time`` is the scenario's wall time (run and checks); the test cases carry
``time="0"``: the checks are evaluated on the finished summary.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avzone.checks import CheckResult
from avzone.metrics.io import atomic_write_text

__all__ = ["ScenarioChecks", "junit_xml", "write_junit"]


@dataclass(frozen=True)
class ScenarioChecks:
    """The checks of one scenario run: its name, file, seed, results and wall time (s)."""

    name: str
    file: str
    seed: int
    checks: Sequence[CheckResult]
    wall_s: float


def _measured(value: float) -> str:
    return "nothing (no sample)" if math.isnan(value) else f"{value:g}"


def junit_xml(suites: Sequence[ScenarioChecks]) -> str:
    """The JUnit XML text (UTF-8 declaration, two-space indent, trailing newline).

    Examples
    --------
    >>> from avzone.checks import CheckResult, parse_check
    >>> c = parse_check("vehicles.arrived >= 5")
    >>> text = junit_xml([ScenarioChecks("tiny", "t.yaml", 1, [CheckResult(c, 3.0, False)], 0.5)])
    >>> 'failures="1"' in text and 'message="measured 3, expected vehicles.arrived &gt;= 5"' in text
    True
    """
    total = sum(len(s.checks) for s in suites)
    failed = sum(not c.passed for s in suites for c in s.checks)
    root = ET.Element(
        "testsuites",
        name="avzone check",
        tests=str(total),
        failures=str(failed),
        errors="0",
        time=f"{sum(s.wall_s for s in suites):.3f}",
    )
    for suite in suites:
        node = ET.SubElement(
            root,
            "testsuite",
            name=suite.name,
            tests=str(len(suite.checks)),
            failures=str(sum(not c.passed for c in suite.checks)),
            errors="0",
            skipped="0",
            time=f"{suite.wall_s:.3f}",
        )
        props = ET.SubElement(node, "properties")
        ET.SubElement(props, "property", name="file", value=suite.file)
        ET.SubElement(props, "property", name="seed", value=str(suite.seed))
        for result in suite.checks:
            case = ET.SubElement(
                node, "testcase", classname=f"avzone.{suite.name}", name=result.check.text, time="0"
            )
            if not result.passed:
                ET.SubElement(
                    case,
                    "failure",
                    type="check",
                    message=f"measured {_measured(result.value)}, expected {result.check.text}",
                )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n")
    )


def write_junit(path: str | Path, suites: Sequence[ScenarioChecks]) -> None:
    """Write :func:`junit_xml` to ``path`` atomically (a reader never sees half a file)."""
    atomic_write_text(Path(path), junit_xml(suites))
