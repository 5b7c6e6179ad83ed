"""Scenario checks (avzone/checks.py): parsing, evaluation on a summary, lookup errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from avzone.checks import Check, CheckResult, evaluate_checks, lookup, parse_check
from avzone.errors import ScenarioError

SUMMARY: dict[str, Any] = {
    "seed": 3,
    "flows": {
        "control": {"sent": 10, "latency_ms": {"p50": 8.0, "p99": 12.5}, "delivery_ratio": None},
        "bsm": {"sent": 0, "late": True},
    },
    "cloud": {"edge-1": {"utilization": 0.25}},
}
FORM = (
    "expected 'PATH OP NUMBER' with OP one of <= >= == != < > "
    "(e.g. 'flows.control.latency_ms.p99 <= 50')"
)


@pytest.mark.parametrize(
    ("text", "check"),
    [
        pytest.param("a.b <= 50", Check("a.b <= 50", "a.b", "<=", 50.0), id="le"),
        pytest.param("a.b >= 0.95", Check("a.b >= 0.95", "a.b", ">=", 0.95), id="ge"),
        pytest.param("a.b == 5", Check("a.b == 5", "a.b", "==", 5.0), id="eq"),
        pytest.param("a.b != 0", Check("a.b != 0", "a.b", "!=", 0.0), id="ne"),
        pytest.param("a.b < -1.5e3", Check("a.b < -1.5e3", "a.b", "<", -1500.0), id="lt-exponent"),
        pytest.param("a.b > .5", Check("a.b > .5", "a.b", ">", 0.5), id="gt-leading-dot"),
        pytest.param("a.b>+2.", Check("a.b>+2.", "a.b", ">", 2.0), id="no-spaces"),
        pytest.param(
            "  cloud.edge-1.p99_wait_ms <= 10  ",
            Check("cloud.edge-1.p99_wait_ms <= 10", "cloud.edge-1.p99_wait_ms", "<=", 10.0),
            id="stripped-dash-underscore",
        ),
        pytest.param(
            "flows.control.latency_ms.p999 <= 1E2",
            Check(
                "flows.control.latency_ms.p999 <= 1E2", "flows.control.latency_ms.p999", "<=", 100.0
            ),
            id="deep-path",
        ),
    ],
)
def test_parse_check(text: str, check: Check) -> None:
    assert parse_check(text) == check


@pytest.mark.parametrize(
    ("op", "holds"),
    [
        ("<=", [True, True, False]),
        (">=", [False, True, True]),
        ("==", [False, True, False]),
        ("!=", [True, False, True]),
        ("<", [True, False, False]),
        (">", [False, False, True]),
    ],
)
def test_holds_below_at_and_above_the_threshold(op: str, holds: list[bool]) -> None:
    check = parse_check(f"a.b {op} 2")

    assert [check.holds(v) for v in (1.0, 2.0, 3.0)] == holds


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("seed <= 3", id="one-part-path"),
        pytest.param("a.b <= fast", id="word-threshold"),
        pytest.param("a.b => 5", id="reversed-operator"),
        pytest.param("a.b = 5", id="single-equals"),
        pytest.param("a.b <= 5 ms", id="trailing-unit"),
        pytest.param("a.b <= nan", id="nan-threshold"),
        pytest.param("a.b 5", id="no-operator"),
        pytest.param("<= 5", id="no-path"),
        pytest.param("a..b <= 5", id="empty-part"),
        pytest.param("1a.b <= 5", id="path-starts-with-digit"),
    ],
)
def test_parse_check_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_check(text, "checks[2]")

    assert str(caught.value) == f"checks[2]: {FORM}, got {text!r}"


def test_parse_check_default_key_path() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_check("latency")

    assert caught.value.path == "checks"


def test_evaluate_checks_pass_and_fail() -> None:
    checks = (
        "flows.control.latency_ms.p99 <= 50",
        "flows.control.latency_ms.p99 < 12.5",
        "flows.control.sent == 10",
        "cloud.edge-1.utilization > 0.5",
    )

    assert evaluate_checks(checks, SUMMARY) == [
        CheckResult(Check(checks[0], "flows.control.latency_ms.p99", "<=", 50.0), 12.5, True),
        CheckResult(Check(checks[1], "flows.control.latency_ms.p99", "<", 12.5), 12.5, False),
        CheckResult(Check(checks[2], "flows.control.sent", "==", 10.0), 10.0, True),
        CheckResult(Check(checks[3], "cloud.edge-1.utilization", ">", 0.5), 0.25, False),
    ]


def test_a_value_not_measured_fails_with_nan() -> None:
    (result,) = evaluate_checks(("flows.control.delivery_ratio >= 0",), SUMMARY)

    assert result.check.path == "flows.control.delivery_ratio"
    assert math.isnan(result.value)
    assert result.passed is False


def test_no_checks_give_no_results() -> None:
    assert evaluate_checks((), SUMMARY) == []


@pytest.mark.parametrize(
    ("check", "message"),
    [
        pytest.param(
            "flows.nope.latency_ms.p99 <= 50",
            "flows.nope.latency_ms.p99: no 'nope' in flows (has: bsm, control)",
            id="missing-flow",
        ),
        pytest.param(
            "flows.control.latency_ms.p90 <= 50",
            "flows.control.latency_ms.p90: no 'p90' in flows.control.latency_ms (has: p50, p99)",
            id="missing-statistic",
        ),
        pytest.param(
            "vehicles.arrived >= 1",
            "vehicles.arrived: no 'vehicles' in the summary (has: cloud, flows, seed)",
            id="missing-section",
        ),
        pytest.param(
            "flows.control.sent.max <= 1",
            "flows.control.sent.max: no 'max' in flows.control.sent (has: nothing)",
            id="below-a-number",
        ),
        pytest.param(
            "flows.control.latency_ms <= 50",
            "flows.control.latency_ms is not a number in the summary, "
            "got {'p50': 8.0, 'p99': 12.5}",
            id="a-block",
        ),
        pytest.param(
            "flows.bsm.late == 1",
            "flows.bsm.late is not a number in the summary, got True",
            id="a-boolean",
        ),
    ],
)
def test_evaluate_checks_names_what_is_wrong(check: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        evaluate_checks(("flows.control.sent > 0", check), SUMMARY)

    assert str(caught.value) == f"checks[1]: {message}"


def test_evaluate_checks_rejects_a_malformed_check() -> None:
    with pytest.raises(ScenarioError) as caught:
        evaluate_checks(("flows.control.sent > 0", "flows.control.sent"), SUMMARY)

    assert str(caught.value) == f"checks[1]: {FORM}, got 'flows.control.sent'"


def test_lookup() -> None:
    assert lookup(SUMMARY, "flows.control.latency_ms.p50") == 8.0
    assert lookup(SUMMARY, "flows.bsm") == {"sent": 0, "late": True}
    with pytest.raises(KeyError) as caught:
        lookup(SUMMARY, "cloud.edge-2.utilization")
    assert caught.value.args == ("cloud.edge-2.utilization: no 'edge-2' in cloud (has: edge-1)",)
