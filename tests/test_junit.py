"""``avzone check --junit FILE`` (avzone/junit.py): the JUnit XML that CI test reporters read.

Validated against the Ant JUnit layout that Jenkins, GitLab and GitHub reporters parse:
``testsuites > testsuite > testcase [> failure]`` with ``tests``/``failures`` counts that equal
the number of children (checked by parsing the file with ElementTree).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from avzone.checks import CheckResult, parse_check
from avzone.cli import main
from avzone.junit import ScenarioChecks, junit_xml


def test_counts_equal_the_children_and_failures_carry_the_measured_value(
    grid_variant: Callable[[dict[str, Any], str], Path], tmp_path: Path
) -> None:
    good = grid_variant({}, "good.yaml")
    bad = grid_variant(
        {"name": "grid-bad", "checks": ["vehicles.arrived == 5", "vehicles.arrived >= 6"]},
        "bad.yaml",
    )
    junit = tmp_path / "reports" / "checks.xml"
    assert main(["check", str(good), str(bad), "--junit", str(junit)]) == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["grid", "grid-bad"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    for suite in suites:
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(c.find("failure") is not None for c in cases))
        assert float(suite.get("time", "nan")) > 0
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["seed"] == "1"
    failing = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["vehicles.arrived >= 6"]
    failure = failing[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "measured 5, expected vehicles.arrived >= 6"
    assert failing[0].get("classname") == "avzone.grid-bad"
    assert not list(junit.parent.glob(".*.tmp"))


def test_bad_input_writes_no_junit_file(
    grid_variant: Callable[[dict[str, Any], str], Path], tmp_path: Path
) -> None:
    bad = grid_variant({"car.fleet.count": -5}, "bad.yaml")
    junit = tmp_path / "checks.xml"
    assert main(["check", str(bad), "--junit", str(junit)]) == 2
    assert not junit.exists()


@pytest.mark.parametrize("text", ["a < b & 'c' \"d\"", "ünïcode ✓", "]]> <!-- -->"])
def test_names_with_markup_characters_round_trip(text: str) -> None:
    check = parse_check("vehicles.arrived >= 1")
    xml = junit_xml([ScenarioChecks(text, text, 0, [CheckResult(check, float("nan"), False)], 0)])
    root = ET.fromstring(xml.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == text
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "measured nothing (no sample), expected vehicles.arrived >= 1"
