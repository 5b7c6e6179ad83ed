"""Figures of one run folder: latency and staleness CDFs, breakdown, site time series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

if TYPE_CHECKING:
    from avzone.rundir import RunFolder

from avzone.plots._common import _axes, _log_x, _no_data

_TIER_STYLES: Mapping[str, str] = {"edge": "-", "regional": "--", "central": ":"}
_BREAKDOWN_COLORS: Mapping[str, str] = {  # the measured stages of summary breakdown_ms
    "access_up": "#2166ac",
    "backhaul_up": "#67a9cf",
    "queue": "#e08214",
    "service": "#5aae61",
    "backhaul_down": "#d1e5f0",
    "access_down": "#92c5de",
}
_SITE_METRICS: Mapping[str, tuple[str, float]] = {
    "utilization": ("utilisation [%]", 100.0),
    "queue_mean": ("mean number of jobs waiting", 1.0),
    "queue_max": ("largest number of jobs waiting", 1.0),
}


def plot_latency_cdf(
    run: RunFolder, flows: Sequence[str] | None = None, ax: Axes | None = None
) -> tuple[Figure, Axes]:
    """Cumulative distribution of each flow's end-to-end latency, log x, deadlines dashed.

    Reads ``quantiles.csv`` (kind ``latency_ms``) and each flow's
    ``deadline_ms`` from ``summary.json``. A flow with nothing delivered is
    listed in the legend as such.

    Example::

        fig, ax = plot_latency_cdf(load_run("runs/etown-baseline"), flows=["control"])
    """
    known = list(run.summary["flows"])
    names = known if flows is None else list(flows)
    for name in names:
        if name not in known:
            raise ValueError(f"flows: expected names among {', '.join(known)}, got {name!r}")
    fig, ax = _axes(ax, (8.0, 4.5))
    handles = []
    drawn = False
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        deadline_ms = run.summary["flows"][name]["deadline_ms"]
        q, value_ms = run.quantile_curve("latency_ms", name)
        pairs = [(v, p) for v, p in zip(value_ms, q, strict=True) if v > 0]  # log axis
        if pairs:
            ax.plot([v for v, _ in pairs], [p for _, p in pairs], color=color, linewidth=1.8)
            drawn = True
            label = f"{name} (deadline {deadline_ms:g} ms)"
        else:
            label = f"{name}: nothing delivered"
        ax.axvline(deadline_ms, color=color, linestyle="--", linewidth=1.0)
        handles.append(Line2D([], [], color=color, linewidth=1.8, label=label))
    handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label="deadline"))
    _log_x(ax)
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.grid(True, which="major", color="0.9")
    ax.set_xlabel("end-to-end latency [ms] (log scale)")
    ax.set_ylabel("delivered messages at or below [%]")
    ax.set_title(f"{run.name}: latency distribution per flow")
    if not drawn:
        _no_data(ax, "no delivered messages after the warm-up")
    ax.legend(handles=handles, fontsize="small", loc="best", framealpha=0.9)
    return fig, ax


def plot_latency_breakdown(run: RunFolder, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """Stacked bars per flow: the mean of each measured stage of delivered messages.

    Reads ``breakdown_ms`` of each flow in ``summary.json``: access up,
    backhaul up, site queue, service, backhaul down, access down; the total
    on top of each bar is the mean end-to-end latency (the stages sum to it).
    """
    fig, ax = _axes(ax, (8.0, 4.5))
    flows = run.summary["flows"]
    names = list(flows)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for part, color in _BREAKDOWN_COLORS.items():
        means = [flows[n]["breakdown_ms"].get(part, {}).get("mean") for n in names]
        heights = np.array([0.0 if m is None else m for m in means])
        ax.bar(x, heights, 0.6, bottom=bottom, color=color, label=part.replace("_", " "))
        bottom += heights
    for xi, name, total in zip(x, names, bottom, strict=True):
        delivered = flows[name]["latency_ms"]["mean"] is not None
        text = f"{total:.1f} ms" if delivered else "nothing delivered"
        ax.annotate(
            text, (xi, total), xytext=(0, 3), textcoords="offset points", ha="center",
            fontsize="small",
        )  # fmt: skip
    ax.set_xticks(x, names)
    ax.set_ylim(0.0, 1.2 * max(1.0, float(bottom.max(initial=0.0))))
    ax.set_xlabel("flow")
    ax.set_ylabel("mean latency of delivered messages [ms]")
    ax.set_title(f"{run.name}: where the latency goes")
    ax.legend(fontsize="small", loc="upper left", ncols=3, frameon=False)
    if not names:
        _no_data(ax, "no flows")
    return fig, ax


def plot_site_timeseries(
    run: RunFolder, ax: Axes | None = None, metric: str = "utilization"
) -> tuple[Figure, Axes]:
    """One line per compute site over simulated time, in 10 s bins from the warm-up.

    Reads ``site_timeseries.csv``. ``metric`` is ``utilization`` (shown in %),
    ``queue_mean`` or ``queue_max`` (jobs waiting). Line style shows the tier:
    edge solid, regional dashed, central dotted.
    """
    if metric not in _SITE_METRICS:
        raise ValueError(f"metric: expected one of {', '.join(_SITE_METRICS)}, got {metric!r}")
    label, scale = _SITE_METRICS[metric]
    fig, ax = _axes(ax, (9.0, 4.5))
    end_s = float(run.summary["duration_s"])
    sites: dict[str, list[Mapping[str, Any]]] = {}
    for row in run.site_timeseries:
        sites.setdefault(row["site"], []).append(row)
    for i, (site, rows) in enumerate(sites.items()):
        t_s = [float(r["t_s"]) for r in rows] + [end_s]
        y = [scale * float(r[metric]) for r in rows]
        tier = rows[0]["tier"]
        ax.step(
            t_s, [*y, y[-1]], where="post", color=f"C{i % 10}",
            linestyle=_TIER_STYLES.get(tier, "-"), linewidth=1.5, label=f"{site} ({tier})",
        )  # fmt: skip
    ax.set_xlim(float(run.summary["warmup_s"]), end_s)
    ax.set_ylim(bottom=0.0, top=100.0 if metric == "utilization" else None)
    if metric != "utilization" and ax.get_ylim()[1] <= 0.0:
        ax.set_ylim(0.0, 1.0)  # a queue that never formed: keep a visible scale
    ax.set_xlabel("simulated time [s]")
    ax.set_ylabel(label)
    ax.set_title(f"{run.name}: {label.split(' [')[0]} per compute site")
    ax.grid(True, color="0.9")
    if sites:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        _no_data(ax, "no compute sites")
    return fig, ax


def plot_staleness_cdf(run: RunFolder, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """Cumulative distribution of HD-map stale-episode durations (log x when drawn).

    Reads ``quantiles.csv`` (kind ``staleness_s``); the release delay of the
    scenario is a dashed line. Without stale episodes after the warm-up the
    axes say so.
    """
    fig, ax = _axes(ax, (8.0, 4.5))
    hd = run.summary["hdmap"]
    q, staleness_s = run.quantile_curve("staleness_s", "hdmap")
    pairs = [(v, p) for v, p in zip(staleness_s, q, strict=True) if v > 0]
    if pairs:
        ax.plot([v for v, _ in pairs], [p for _, p in pairs], color="C0", linewidth=1.8,
                label="stale episodes")  # fmt: skip
        _log_x(ax)
        delay_s = run.scenario.get("hdmap", {}).get("release_delay_s")
        if delay_s:
            ax.axvline(delay_s, color="0.3", linestyle="--", linewidth=1.0,
                       label=f"release delay ({delay_s:g} s)")  # fmt: skip
        ax.legend(fontsize="small", loc="lower right")
        ax.grid(True, which="major", color="0.9")
    else:
        ax.set_xticks([])
        _no_data(ax, "no stale episodes after the warm-up")
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("stale episode duration [s]" + (" (log scale)" if pairs else ""))
    ax.set_ylabel("episodes at or below [%]")
    ax.set_title(
        f"{run.name}: HD-map staleness, {hd['stale_episodes']} episodes, "
        f"{hd['stale_vehicle_km']:.1f} stale vehicle-km"
    )
    return fig, ax
