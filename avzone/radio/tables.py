"""Radio tables of a run: per road sample and system, the best station and its SINR.

Built once per run, vectorised over all (sample, station) pairs within the
system's cut-off distance:

1. pairs within ``cutoff_m`` (a k-d tree);
2. along every road edge and for every station, three spatially correlated
   standard normal sequences over the edge's consecutive samples, each an
   AR(1) with ``ρ = exp(−Δd / d_corr)`` (Δd the sample length): the LOS
   state driver (``los_corr_m``) and the LOS and non-LOS shadowing (the
   model's decorrelation distances, :data:`~avzone.radio.pathloss.SHADOW_CORR_M`).
   This is Gudmundson's exponential autocorrelation (Electronics Letters
   27(23), 1991), the model TR 38.901 §7.4.4 and §7.6.3 use. The two
   directions of a road are independent draws;
3. ``los: random``: LOS where Φ(driver) < P_LOS(d2D): the marginal LOS
   probability is the standard's and the state is spatially consistent along
   the road (TR 38.901 §7.6.3.3 in spirit). ``los: expected``: no state, the
   path gain is the LOS-probability-weighted mean of the LOS and NLOS gains
   (in mW), and the shadowing is √P·σ_LOS·z_LOS + √(1 − P)·σ_NLOS·z_NLOS (the
   variances mix with P_LOS). ``always`` / ``never``: one state everywhere;
4. received power = P_tx + G_tx + G_rx − PL − shadowing;
5. per sample the best station (highest received power), the ``TOP_K``
   strongest, and the total power of all stations. Stations beyond the
   cut-off still interfere: their mean power (LOS-probability-weighted path
   loss, no shadowing) is added, computed in chunks of samples;
6. SINR of station ``s``: ``S_s / (N + load · (I_total − S_s))``; a sample is
   covered when the best station's SINR ≥ ``sinr_min_db``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from avzone.network.coverage import RoadSamples
from avzone.radio.link import noise_dbm
from avzone.radio.pathloss import (
    SHADOW_CORR_M,
    SHADOW_SIGMA_DB,
    los_probability,
    path_loss_db,
)
from avzone.scenario._radio import Radio

__all__ = ["TOP_K", "RadioTable", "build_table", "edge_sinr_percentiles", "system_tables"]

TOP_K = 8
"""Strongest stations kept per sample (serving-cell look-ups during handover)."""

_CHUNK_PAIRS = 2_000_000
"""Station × sample distances per chunk (bounds memory to a few tens of MB)."""

_FAR_BINS = 8192
"""Bins of the far-interference look-up table (uniform in d², cut-off to map diagonal)."""


@dataclass(frozen=True)
class RadioTable:
    """One system's radio state per road sample (arrays of length n_samples).

    ``best``: the station with the highest received power (−1 when none within
    the cut-off); ``rx_dbm`` and ``sinr_db`` its received power and SINR
    (−inf when none); ``serving``: ``best`` where ``sinr_db ≥ sinr_min_db``,
    else −1; ``top`` / ``top_rx_dbm``: the ``TOP_K`` strongest stations (−1 /
    −inf padded); ``total_mw``: received power of every station; ``noise_mw``
    and ``load`` complete the SINR of any station.
    """

    radio: Radio
    best: np.ndarray
    rx_dbm: np.ndarray
    sinr_db: np.ndarray
    serving: np.ndarray
    top: np.ndarray
    top_rx_dbm: np.ndarray
    total_mw: np.ndarray
    noise_mw: float

    def sinr_of_db(self, sample: int, rx_dbm: float) -> float:
        """SINR at ``sample`` of a station received at ``rx_dbm`` (the others interfere)."""
        s = 10.0 ** (rx_dbm / 10.0)
        interference = max(0.0, float(self.total_mw[sample]) - s) * self.radio.load
        return float(10.0 * np.log10(s / (self.noise_mw + interference)))


def _mean_rx_table(radio: Radio, d_max_m: float) -> tuple[np.ndarray, float, float]:
    """Mean received power (mW; LOS-probability-weighted, no shadowing) on a grid
    uniform in d² from the cut-off to ``d_max_m``, after a zero first bin for
    d ≤ cut-off. Returns (table, cut-off², bin width in m²). With 8192 bins
    over a 12 km diagonal a bin is < 10 m wide at 2 km (< 0.1 dB)."""
    lo = radio.cutoff_m**2
    hi = max(d_max_m, radio.cutoff_m * 1.001) ** 2
    width = (hi - lo) / _FAR_BINS
    d = np.sqrt(lo + width * (np.arange(_FAR_BINS) + 0.5))
    eirp = radio.tx_power_dbm + radio.tx_gain_dbi + radio.rx_gain_dbi
    h_bs, h_ut = radio.station_height_m, radio.vehicle_height_m
    p_los = los_probability(radio.model, d, h_ut)
    los = 10.0 ** ((eirp - path_loss_db(radio.model, d, True, radio.fc_ghz, h_bs, h_ut)) / 10)
    nlos = 10.0 ** ((eirp - path_loss_db(radio.model, d, False, radio.fc_ghz, h_bs, h_ut)) / 10)
    return np.concatenate([[0.0], p_los * los + (1.0 - p_los) * nlos]), lo, width


def _pairs_and_far(
    xy: np.ndarray, stations: np.ndarray, radio: Radio
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (station, sample, d2D) within the cut-off, sorted by station then sample,
    and per sample the mean power (mW) of the stations beyond it.

    One pass over chunks of stations: squared distances to every sample, the
    near pairs by ``nonzero`` (station-major order for free), the far ones
    through a look-up table of the mean received power in d²."""
    span = np.ptp(np.vstack([xy, stations]), axis=0)
    table, cut2, width = _mean_rx_table(radio, float(np.hypot(*span)) + 1.0)
    far = np.zeros(len(xy))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    chunk = max(1, _CHUNK_PAIRS // max(1, len(xy)))
    for first in range(0, len(stations), chunk):
        block = stations[first : first + chunk]
        d2 = (xy[None, :, 0] - block[:, None, 0]) ** 2 + (xy[None, :, 1] - block[:, None, 1]) ** 2
        st, sm = np.nonzero(d2 <= cut2)
        parts.append((st + first, sm, np.sqrt(d2[st, sm])))
        index = np.clip((d2 - cut2) * (1.0 / width) + 1.0, 0.0, len(table) - 1.0)
        far += table[index.astype(np.intp)].sum(axis=0)  # d ≤ cut-off: bin 0 (zero)
    station = np.concatenate([p[0] for p in parts])
    sample = np.concatenate([p[1] for p in parts])
    return station, sample, np.concatenate([p[2] for p in parts]), far


@dataclass(frozen=True)
class _Runs:
    """Runs of consecutive samples of one edge seen from one station: run and position
    of every pair, and each run's sample length (constant along an edge)."""

    run: np.ndarray
    pos: np.ndarray
    step_m: np.ndarray
    length: int


def _runs(station: np.ndarray, sample: np.ndarray, edge: np.ndarray, step_m: np.ndarray) -> _Runs:
    m = len(station)
    cont = np.zeros(m, dtype=bool)
    if m > 1:
        cont[1:] = (
            (station[1:] == station[:-1])
            & (sample[1:] == sample[:-1] + 1)
            & (edge[sample[1:]] == edge[sample[:-1]])
        )
    index = np.arange(m)
    first = ~cont
    run_start = np.maximum.accumulate(np.where(first, index, 0))
    run = np.cumsum(first) - 1
    pos = index - run_start
    return _Runs(run, pos, step_m[sample[first]], int(pos.max(initial=0)) + 1)


def _ar1(runs: _Runs, corr_m: float, rng: np.random.Generator) -> np.ndarray:
    """Standard normal AR(1) along every run: x₀ = z₀, x_k = ρ x_{k−1} + √(1 − ρ²) z_k,
    ρ = exp(−step / corr_m); returned per pair. Runs are the columns of a
    (length × runs) array, so each step is one contiguous vector operation."""
    rho = np.exp(-runs.step_m / corr_m)
    scale = np.sqrt(1.0 - rho**2)
    x = np.zeros((runs.length, len(rho)))
    x[runs.pos, runs.run] = rng.standard_normal(len(runs.pos))
    for k in range(1, runs.length):
        x[k] = rho * x[k - 1] + scale * x[k]
    return x[runs.pos, runs.run]


def build_table(
    xy: np.ndarray,
    sample_edge: np.ndarray,
    sample_step_m: np.ndarray,
    stations: np.ndarray,
    radio: Radio,
    rng: np.random.Generator,
) -> RadioTable:
    """The radio table of one system over road samples at ``xy``.

    ``sample_edge`` is each sample's edge and ``sample_step_m`` its length
    (the distance to the next sample of the same edge).
    """
    n = len(xy)
    noise_mw = 10.0 ** (noise_dbm(radio.bandwidth_mhz * 1e6, radio.noise_figure_db) / 10.0)
    top = np.full((n, TOP_K), -1, dtype=np.int64)
    top_rx = np.full((n, TOP_K), -np.inf)
    total = np.zeros(n)
    if len(stations) and n:
        model = radio.model
        station, sample, d2d, far_mw = _pairs_and_far(xy, stations, radio)
        runs = _runs(station, sample, sample_edge, sample_step_m)
        los_driver = _ar1(runs, radio.los_corr_m, rng)
        h_bs, h_ut = radio.station_height_m, radio.vehicle_height_m
        p_los = los_probability(model, d2d, h_ut)
        if radio.los == "expected":  # mean received power over the LOS state, in mW
            pl_los = path_loss_db(model, d2d, True, radio.fc_ghz, h_bs, h_ut)
            pl_nlos = path_loss_db(model, d2d, False, radio.fc_ghz, h_bs, h_ut)
            pl = -10.0 * np.log10(
                p_los * 10.0 ** (-pl_los / 10.0) + (1.0 - p_los) * 10.0 ** (-pl_nlos / 10.0)
            )
            weight = p_los  # of the LOS shadowing (variances mix with P_LOS)
        else:
            fixed = np.full(len(d2d), radio.los == "always")
            los = ndtr(los_driver) < p_los if radio.los == "random" else fixed
            pl = path_loss_db(model, d2d, los, radio.fc_ghz, h_bs, h_ut)
            weight = los.astype(float)
        if radio.shadowing:
            corr_los, corr_nlos = SHADOW_CORR_M[model]
            sigma_los, sigma_nlos = SHADOW_SIGMA_DB[model]
            z_los = _ar1(runs, corr_los, rng)
            z_nlos = _ar1(runs, corr_nlos, rng)
            pl = (
                pl
                + np.sqrt(weight) * sigma_los * z_los
                + np.sqrt(1.0 - weight) * sigma_nlos * z_nlos
            )
        rx = radio.tx_power_dbm + radio.tx_gain_dbi + radio.rx_gain_dbi - pl
        total = np.bincount(sample, weights=10.0 ** (rx / 10.0), minlength=n) + far_mw
        # by sample, strongest first: one float key (rx is within ±500 dBm)
        order = np.argsort(sample * 1000.0 - np.clip(rx, -499.0, 499.0))
        s_sorted = sample[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = s_sorted[1:] != s_sorted[:-1]
        index = np.arange(len(order))
        rank = index - np.maximum.accumulate(np.where(first, index, 0))
        keep = rank < TOP_K
        top[s_sorted[keep], rank[keep]] = station[order][keep]
        top_rx[s_sorted[keep], rank[keep]] = rx[order][keep]
    best = top[:, 0]
    rx_best = top_rx[:, 0]
    s_mw = 10.0 ** (rx_best / 10.0)
    with np.errstate(divide="ignore"):
        sinr = 10.0 * np.log10(s_mw / (noise_mw + radio.load * np.maximum(total - s_mw, 0.0)))
    sinr = np.where(best >= 0, sinr, -np.inf)
    serving = np.where(sinr >= radio.sinr_min_db, best, -1)
    return RadioTable(radio, best, rx_best, sinr, serving, top, top_rx, total, noise_mw)


def edge_sinr_percentiles(
    sinr_db: np.ndarray, start: np.ndarray, count: np.ndarray, q: tuple[float, ...] = (10, 50)
) -> np.ndarray:
    """Per edge (samples ``start[i] : start[i] + count[i]``) the SINR percentiles ``q``,
    shape (n_edges, len(q)). Each is a sample's value (numpy's ``lower`` method,
    no interpolation), so −inf (no station at all) stays −inf, never NaN.

    >>> edge_sinr_percentiles(np.array([0.0, 10.0, 20.0, 5.0]), np.array([0, 3]), np.array([3, 1]))
    array([[ 0., 10.],
           [ 5.,  5.]])
    """
    out = np.empty((len(start), len(q)))
    for i, (a, c) in enumerate(zip(start.tolist(), count.tolist(), strict=True)):
        out[i] = np.percentile(sinr_db[a : a + c], q, method="lower")
    return out


def system_tables(
    seed: int,
    samples: RoadSamples,
    rsu_xy: np.ndarray,
    cell_xy: np.ndarray,
    pc5: Radio,
    uu: Radio,
) -> tuple[RadioTable | None, RadioTable | None]:
    """The PC5 (RSUs) and Uu (cells) tables of a run; ``None`` for a ``disk`` system.

    Each table has its own stream (:func:`avzone.radio.radio_seeds`), so the
    PC5 draws do not move when the Uu settings change and vice versa.
    """
    from avzone.radio import radio_seeds

    seeds = radio_seeds(seed)
    step = samples.step_m[samples.edge]
    tables: list[RadioTable | None] = []
    for radio, stations, ss in ((pc5, rsu_xy, seeds[0]), (uu, cell_xy, seeds[1])):
        if radio.model == "disk":
            tables.append(None)
            continue
        rng = np.random.default_rng(ss)
        tables.append(build_table(samples.xy, samples.edge, step, stations, radio, rng))
    return tables[0], tables[1]
