"""The HTML report (avzone/report.py): one self-contained, escaped page of a run or a sweep folder.

Pages are read back with html.parser: tags must balance, images must be
embedded PNGs, and nothing may point outside the file.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from tinyzone import grid_map, write_scenario

import avzone
from avzone.cli import main
from avzone.report import write_report

Variant = Callable[[dict[str, Any], str], Path]
DATA_URI = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHECKS = ["flows.control.latency_ms.p99 <= 50", "vehicles.arrived >= 100"]
HDMAP = {"tiles": {"size_m": 500}, "changes": {"rate_per_tile_per_h": 300}}


class Page(HTMLParser):
    """Tags, images, table rows and text of an HTML page; ``unbalanced`` lists misplaced end tags."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input", "source"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.unbalanced: list[str] = []
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.unbalanced.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.rows and self.rows[-1] and "tr" in self.open:
            self.rows[-1][-1] += data


@pytest.fixture
def run_dir(grid_variant: Variant, tmp_path: Path) -> Path:
    """The 3 × 3 grid zone (tests/conftest.py) with HD-map changes and a failing check."""
    scenario = grid_variant({"warmup_s": 10, "hdmap": HDMAP, "checks": CHECKS}, "grid.yaml")
    avzone.run(scenario).write(tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """A hand-made sweep folder: edge servers 1, 2 × dispatch, 2 replications, three metrics."""
    keys = "cloud.sites.edge.servers,cloud.dispatch"
    metrics = ["flows.control.latency_ms.p99", "coverage.pc5.road_fraction", "vehicles.arrived"]
    runs = [f"run_id,{keys},replication,seed,{','.join(metrics)}"]
    summary = [f"{keys},metric,n,mean,std,ci95_low,ci95_high"]
    for servers in (1, 2):
        for dispatch in ("nearest", "least_loaded"):
            p99 = 40 / servers
            runs += [
                f"r{servers}{dispatch}{r},{servers},{dispatch},{r},{r},{p99},0.9,5" for r in (0, 1)
            ]
            summary += [
                f"{servers},{dispatch},{metrics[0]},2,{p99},1,{p99 - 9},{p99 + 9}",
                f"{servers},{dispatch},{metrics[1]},2,0.9,0,0.9,0.9",
                f"{servers},{dispatch},{metrics[2]},2,5,0,5,5",
            ]
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "runs.csv").write_text("\n".join(runs) + "\n")
    (folder / "summary.csv").write_text("\n".join(summary) + "\n")
    grid = {"cloud.sites.edge.servers": [1, 2], "cloud.dispatch": ["nearest", "least_loaded"]}
    spec = {"scenario": "scenarios/<i>s</i>.yaml", "grid": grid, "replications": 2}
    (folder / "sweep.json").write_text(json.dumps(spec))
    return folder


def assert_self_contained(text: str, page: Page) -> None:
    assert page.open == []
    assert page.unbalanced == []
    assert "http://" not in text
    assert "https://" not in text
    assert text.count('src="') == text.count(f'src="{DATA_URI}') == len(page.images)
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    for image in page.images:
        src = image["src"] or ""
        assert base64.b64decode(src.removeprefix(DATA_URI)).startswith(PNG_SIGNATURE)
        assert image["alt"]


def test_run_report_is_one_self_contained_page(run_dir: Path, tmp_path: Path) -> None:
    out = write_report(run_dir, tmp_path / "out" / "report.html")
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert_self_contained(text, page)
    assert len(page.images) == 5 + 5  # a coverage map per system; CDF, breakdown, 2 site, staleness
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temporary file left
    # the same folder gives the same bytes, so that reports can be compared
    assert write_report(run_dir, tmp_path / "again.html").read_bytes() == out.read_bytes()


def test_run_report_holds_the_checks_and_the_tables(run_dir: Path, tmp_path: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    page = Page(write_report(run_dir, tmp_path / "report.html").read_text())
    p99 = summary["checks"][0]["value"]
    assert ["PASS", "flows.control.latency_ms.p99 <= 50", f"{p99:,.6g}"] in page.rows
    assert ["FAIL", "vehicles.arrived >= 100", "5"] in page.rows
    text = "".join(page.text)
    assert "avzone report: grid" in text
    assert "1 of 2 checks passed" in text
    control = summary["flows"]["control"]
    row = next(row for row in page.rows if row and row[0] == "control")  # the flows table
    assert row[1:4] == [f"{control[k]:,}" for k in ("sent", "delivered", "lost")]
    assert row[8] == f"{control['latency_ms']['p99']:.2f}"
    assert next(r for r in page.rows if r and r[0] == "edge")[:3] == ["edge", "edge", "2"]
    assert ["stale episodes", str(summary["hdmap"]["stale_episodes"])] in page.rows


def test_user_strings_are_escaped(grid_scenario_data: dict[str, Any], tmp_path: Path) -> None:
    """A map and scenario file in a folder named <b>bold</b> reach the page as text, not markup."""
    hostile = tmp_path / "<b>bold</b>"  # a folder "<b>bold<" holding a folder "b>"
    hostile.mkdir(parents=True)
    grid_map(hostile)
    data = copy.deepcopy(grid_scenario_data)
    scenario = write_scenario(hostile, data, "grid.yaml")
    avzone.run(scenario).write(hostile / "run")
    assert "<b>bold</b>" in json.loads((hostile / "run" / "scenario.json").read_text())["file"]
    text = write_report(hostile / "run", tmp_path / "report.html").read_text()
    assert "<b>" not in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "infrastructure.rsus &gt;= 2" in text  # check texts hold markup characters too
    page = Page(text)
    assert_self_contained(text, page)
    assert "b" not in page.tags
    assert any("<b>bold</b>" in row[-1] for row in page.rows if row and row[0] == "map")


def test_sweep_report_has_the_grid_the_table_and_a_curve_per_default_metric(
    sweep_dir: Path, tmp_path: Path
) -> None:
    text = write_report(sweep_dir, tmp_path / "sweep.html").read_text()
    page = Page(text)
    assert_self_contained(text, page)
    alts = [image["alt"] for image in page.images]
    assert alts == [
        "flows.control.latency_ms.p99 against cloud.sites.edge.servers",
        "coverage.pc5.road_fraction against cloud.sites.edge.servers",
    ]  # vehicles.arrived is not a default metric
    assert ["cloud.sites.edge.servers", "1, 2"] in page.rows
    assert ["cloud.dispatch", "nearest, least_loaded"] in page.rows
    assert ["replications per point", "2"] in page.rows
    assert [
        "1",
        "nearest",
        "flows.control.latency_ms.p99",
        "2",
        "40.0000",
        "1.0000",
        "31.0000",
        "49.0000",
    ] in page.rows
    assert "scenarios/&lt;i&gt;s&lt;/i&gt;.yaml" in text  # sweep.json is shown, escaped
    assert "<i>" not in text


def test_sweep_report_metric_patterns(sweep_dir: Path, tmp_path: Path) -> None:
    page = Page(write_report(sweep_dir, tmp_path / "a.html", metrics=["vehicles.*"]).read_text())
    assert [image["alt"] for image in page.images] == [
        "vehicles.arrived against cloud.sites.edge.servers"
    ]
    with pytest.raises(
        avzone.AvzoneError, match=r"summary.csv: --metric 'hdmap\.\*' matches no metric"
    ):
        write_report(sweep_dir, tmp_path / "b.html", metrics=["hdmap.*"])
    assert not (tmp_path / "b.html").exists()


def test_cli_report_writes_the_page(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("folder", "extra", "message"),
    [
        ("missing", [], "{f}: no such folder"),
        (
            ".",
            [],
            "{f}: not an avzone run folder (no summary.json) nor a sweep folder (no runs.csv and summary.csv)",
        ),
        (
            "run",
            ["--metric", "flows.*"],
            "{f}: --metric applies to sweep folders only; this is a run",
        ),
    ],
)
def test_cli_report_of_a_bad_folder_is_one_line_and_exit_2(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    folder: str,
    extra: list[str],
    message: str,
) -> None:
    path = tmp_path / folder
    out = tmp_path / "report.html"
    assert main(["report", str(path), "-o", str(out), *extra]) == 2
    assert capsys.readouterr().err == f"avzone: error: {message.format(f=path)}\n"
    assert not out.exists()


def test_the_report_renders_in_a_headless_browser(run_dir: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed; the page is checked with html.parser only")
    page = write_report(run_dir, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
            "--window-size=1280,2000", page.resolve().as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
