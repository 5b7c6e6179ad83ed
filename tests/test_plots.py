"""Figures of written results (avzone/plots/): a run folder of the grid zone and a hand-made sweep.

Every figure is drawn with matplotlib's object API in the Agg backend and
saved to a PNG; the assertions read what is drawn back from the axes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

import avzone
from avzone.plots import (
    plot_coverage_map,
    plot_latency_breakdown,
    plot_latency_cdf,
    plot_site_timeseries,
    plot_staleness_cdf,
    plot_sweep,
    save_figure,
)
from avzone.rundir import RunFolder, SweepFolder, load_run, load_sweep

matplotlib.use("Agg")

Variant = Callable[[dict[str, Any], str], Path]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SERVERS = (1, 2, 4)
DISPATCH = ("nearest", "least_loaded")


@pytest.fixture
def run(grid_variant: Variant, tmp_path: Path) -> RunFolder:
    """The 3 × 3 grid zone (tests/conftest.py) with HD-map changes, written and read back."""
    scenario = grid_variant(
        {
            "warmup_s": 10,
            "hdmap": {"tiles": {"size_m": 500}, "changes": {"rate_per_tile_per_h": 300}},
        },
        "grid.yaml",
    )
    avzone.run(scenario).write(tmp_path / "run")
    return load_run(tmp_path / "run")


def p99_ms(servers: int, dispatch: str) -> float:
    return 40.0 / servers + (5.0 if dispatch == "nearest" else 0.0)


@pytest.fixture
def sweep(tmp_path: Path) -> SweepFolder:
    """A sweep over edge servers × dispatch, 3 replications, two metrics, written by hand."""
    keys = "cloud.sites.edge.servers,cloud.dispatch"
    runs = [f"run_id,{keys},replication,seed,flows.control.latency_ms.p99"]
    summary = [f"{keys},metric,n,mean,std,ci95_low,ci95_high"]
    for servers in SERVERS:
        for dispatch in DISPATCH:
            p99 = p99_ms(servers, dispatch)
            runs += [
                f"r{servers}{dispatch}{r},{servers},{dispatch},{r},{r},{p99}" for r in range(3)
            ]
            summary.append(
                f"{servers},{dispatch},flows.control.latency_ms.p99,3,{p99},1,{p99 - 2},{p99 + 2}"
            )
            summary.append(f"{servers},{dispatch},coverage.pc5.road_fraction,3,0.9,0,0.9,0.9")
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "runs.csv").write_text("\n".join(runs) + "\n")
    (folder / "summary.csv").write_text("\n".join(summary) + "\n")
    return load_sweep(folder)


RUN_PLOTS: dict[str, Callable[[RunFolder], tuple[Figure, Any]]] = {
    "coverage_map": lambda run: plot_coverage_map(run, "pc5"),
    "latency_cdf": plot_latency_cdf,
    "latency_breakdown": plot_latency_breakdown,
    "site_utilization": plot_site_timeseries,
    "site_queue": lambda run: plot_site_timeseries(run, metric="queue_mean"),
    "staleness_cdf": plot_staleness_cdf,
}


@pytest.mark.parametrize("name", list(RUN_PLOTS))
def test_each_run_plot_draws_a_labelled_figure_and_saves_a_png(
    run: RunFolder, name: str, tmp_path: Path
) -> None:
    fig, ax = RUN_PLOTS[name](run)
    assert isinstance(fig, Figure)
    assert ax.get_title().startswith("grid: ")
    assert "[" in ax.get_xlabel() or "[" in ax.get_ylabel()  # a unit on an axis
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    assert ax.lines or ax.collections or ax.patches
    path = save_figure(fig, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000


def test_run_plots_draw_into_given_axes(run: RunFolder) -> None:
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    drawn = [
        plot_coverage_map(run, "uu", ax=axes[0]),
        plot_latency_cdf(run, ax=axes[1]),
        plot_latency_breakdown(run, ax=axes[2]),
        plot_site_timeseries(run, ax=axes[3]),
        plot_site_timeseries(run, ax=axes[4], metric="queue_mean"),
        plot_staleness_cdf(run, ax=axes[5]),
    ]
    assert drawn == [(fig, ax) for ax in axes]


def test_coverage_map_colours_each_edge_by_its_covered_fraction(run: RunFolder) -> None:
    fig, ax = plot_coverage_map(run, "dual_radio")
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    expected = sorted(f["properties"]["dual_radio"] for f in run.coverage["features"])
    assert sorted(lines.get_array()) == expected
    assert lines.get_array()[-1] == min(expected)  # gaps are drawn last, on top
    assert (lines.norm.vmin, lines.norm.vmax) == (0.0, 1.0)
    assert ax.get_xlabel() == "longitude [°]"
    share = run.summary["coverage"]["dual_radio"]["road_fraction"]
    assert ax.get_title() == f"grid: dual_radio coverage, {100 * share:.1f} % of road length"
    assert len(fig.axes) == 2  # the map and its colour bar
    with pytest.raises(ValueError, match=r"system: expected one of pc5, uu, .*, got 'wifi'"):
        plot_coverage_map(run, "wifi")


def test_coverage_map_of_a_map_without_crs_is_in_metres(run: RunFolder) -> None:
    local = {**run.coverage, "crs": {"type": "name", "properties": {"name": "local metres"}}}
    _, ax = plot_coverage_map(dataclasses.replace(run, coverage=local), "pc5")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_aspect()) == ("x [m]", "y [m]", 1.0)


def test_latency_cdf_has_one_curve_and_one_deadline_line_per_flow(run: RunFolder) -> None:
    _, ax = plot_latency_cdf(run)
    curves = [line for line in ax.lines if len(line.get_xdata()) > 2]
    assert len(curves) == 2
    q, value_ms = run.quantile_curve("latency_ms", "control")
    np.testing.assert_allclose(curves[1].get_xdata(), value_ms)
    np.testing.assert_allclose(curves[1].get_ydata(), q)
    deadlines = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert deadlines == [50.0, 100.0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["bsm (deadline 100 ms)", "control (deadline 50 ms)", "deadline"]
    _, ax = plot_latency_cdf(run, flows=["control"])
    assert ax.get_legend().get_texts()[0].get_text() == "control (deadline 50 ms)"
    with pytest.raises(ValueError, match=r"flows: expected names among bsm, control, got 'x'"):
        plot_latency_cdf(run, flows=["x"])


def test_latency_cdf_lists_a_flow_without_deliveries(run: RunFolder) -> None:
    silent = dataclasses.replace(
        run, quantiles=[r for r in run.quantiles if r["name"] != "control"]
    )
    _, ax = plot_latency_cdf(silent)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "control: nothing delivered" in labels


def test_latency_breakdown_stacks_to_the_mean_latency(run: RunFolder) -> None:
    _, ax = plot_latency_breakdown(run)
    assert len(ax.patches) == 6 * 2  # six stages × two flows
    tops = {}
    for bar in ax.patches:
        x = round(bar.get_x() + bar.get_width() / 2)
        tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
    for x, flow in enumerate(run.summary["flows"]):
        assert tops[x] == pytest.approx(run.summary["flows"][flow]["latency_ms"]["mean"], abs=1e-5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "access up", "backhaul up", "queue", "service", "backhaul down", "access down",
    ]  # fmt: skip


def test_site_timeseries_one_line_per_site(run: RunFolder) -> None:
    _, ax = plot_site_timeseries(run)
    (line,) = ax.lines
    assert line.get_label() == "edge (edge)"
    utilization = [100 * r["utilization"] for r in run.site_timeseries]
    np.testing.assert_allclose(line.get_ydata(), [*utilization, utilization[-1]])
    assert ax.get_ylabel() == "utilisation [%]"
    _, ax = plot_site_timeseries(run, metric="queue_max")
    assert ax.get_ylabel() == "largest number of jobs waiting"
    with pytest.raises(ValueError, match=r"metric: expected one of utilization, queue_mean"):
        plot_site_timeseries(run, metric="load")


def test_staleness_cdf_with_and_without_episodes(run: RunFolder) -> None:
    assert run.summary["hdmap"]["stale_episodes"] > 0
    _, ax = plot_staleness_cdf(run)
    _, staleness_s = run.quantile_curve("staleness_s", "hdmap")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), staleness_s)
    fresh = dataclasses.replace(
        run, quantiles=[r for r in run.quantiles if r["kind"] != "staleness_s"]
    )
    _, ax = plot_staleness_cdf(fresh)
    assert not ax.lines
    assert [t.get_text() for t in ax.texts] == ["no stale episodes after the warm-up"]


def test_sweep_one_line_and_band_per_group(sweep: SweepFolder, tmp_path: Path) -> None:
    metric = "flows.control.latency_ms.p99"
    fig, ax = plot_sweep(sweep, metric, "cloud.sites.edge.servers", group_key="cloud.dispatch")
    assert [line.get_label() for line in ax.lines] == [
        "cloud.dispatch = nearest",
        "cloud.dispatch = least_loaded",
    ]
    for line, dispatch in zip(ax.lines, DISPATCH, strict=True):
        assert list(line.get_xdata()) == list(SERVERS)
        assert list(line.get_ydata()) == [p99_ms(s, dispatch) for s in SERVERS]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2  # the CI bands
    assert ax.get_ylabel() == f"{metric} [ms]"
    assert "mean of 3 replications per point" in ax.get_title()
    assert save_figure(fig, tmp_path / "sweep.png").read_bytes().startswith(PNG_SIGNATURE)


def test_sweep_never_averages_over_a_key_that_varies(sweep: SweepFolder) -> None:
    """Without group_key, dispatch still splits the lines."""
    _, ax = plot_sweep(sweep, "flows.control.latency_ms.p99", "cloud.sites.edge.servers")
    assert len(ax.lines) == 2


def test_sweep_against_a_key_of_names_draws_categories(sweep: SweepFolder) -> None:
    _, ax = plot_sweep(sweep, "coverage.pc5.road_fraction", "cloud.dispatch")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(DISPATCH)
    assert len(ax.lines) == len(SERVERS)
    assert ax.get_ylabel() == "coverage.pc5.road_fraction [fraction]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "cloud.dispatch"), r"metric: 'nope' is not in .*summary.csv"),
        (
            ("coverage.pc5.road_fraction", "seed"),
            r"x_key: expected one of cloud.sites.edge.servers",
        ),
        (
            ("coverage.pc5.road_fraction", "cloud.dispatch", None, "cloud.dispatch"),
            r"group_key: must differ from x_key",
        ),
    ],
)
def test_sweep_bad_arguments(sweep: SweepFolder, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_sweep(sweep, *args)
