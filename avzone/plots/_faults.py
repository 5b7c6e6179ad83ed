"""The fault timeline of one run: messages missed per 5 s bin, or p99 latency, with the faults
shaded (summary.json ``fault_timeline`` and ``faults``, docs/faults.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from avzone.plots._common import _axes, _no_data

if TYPE_CHECKING:
    from avzone.rundir import RunFolder

__all__ = ["plot_fault_timeline"]

_METRICS = {"miss_ratio": "missed (lost or late) [%]", "p99_ms": "p99 latency [ms]"}


def plot_fault_timeline(
    run: RunFolder, ax: Axes | None = None, metric: str = "miss_ratio"
) -> tuple[Figure, Axes]:
    """One step line per flow over simulated time, each fault's windows shaded and labelled.

    ``metric``: ``miss_ratio`` (share of the bin's messages lost or late, in %) or ``p99_ms``.
    A run without faults gets a note instead of lines.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric: expected one of {', '.join(_METRICS)}, got {metric!r}")
    fig, ax = _axes(ax, (9.0, 4.5))
    timeline = run.summary.get("fault_timeline")
    ax.set_xlabel("simulated time [s]")
    ax.set_ylabel(_METRICS[metric])
    ax.set_title(f"{run.name}: {_METRICS[metric].split(' [')[0]} and faults")
    ax.grid(True, color="0.9")
    if not timeline:
        _no_data(ax, "no faults in this run")
        return fig, ax
    bin_s = float(timeline["bin_s"])
    t_s = [float(t) for t in timeline["t_s"]]
    edges = [*t_s, t_s[-1] + bin_s]
    for i, (flow, series) in enumerate(timeline["flows"].items()):
        if metric == "miss_ratio":
            y = [
                100.0 * m / s if s else float("nan")
                for m, s in zip(series["missed"], series["sent"], strict=True)
            ]
        else:
            y = [float("nan") if v is None else float(v) for v in series["p99_ms"]]
        ax.step(edges, [*y, y[-1]], where="post", color=f"C{i % 10}", linewidth=1.5, label=flow)
    for j, (name, block) in enumerate(run.summary.get("faults", {}).items()):
        for k, (start, end) in enumerate(block["windows_s"]):
            ax.axvspan(start, end, color=f"C{(j + 3) % 10}", alpha=0.15, linewidth=0,
                       label=f"{name} ({block['kind']})" if k == 0 else None)  # fmt: skip
    ax.set_xlim(float(run.summary["warmup_s"]), edges[-1])
    ax.set_ylim(bottom=0.0)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig, ax
