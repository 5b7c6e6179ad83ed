"""From received power to packets: noise, SINR, block errors, rate, HARQ. Pure numpy.

**Block error model.** Each transmission of a transport block sees block
fading with ``L`` independent Rayleigh branches combined (frequency and
antenna diversity): the instantaneous SINR is ``γ̄ · X`` with
``X ~ Gamma(L, 1/L)`` (mean 1). A block sent at spectral efficiency ``η``
(bit/s/Hz) is lost when its instantaneous capacity falls below ``η``, i.e.
``log2(1 + γ̄ X / Γ) < η`` with ``Γ`` the SNR gap of a practical code. So

    BLER(γ̄, η) = P(X < (2^η − 1) Γ / γ̄) = P(L, L (2^η − 1) Γ / γ̄)

with ``P`` the regularised lower incomplete gamma function. Source: the
outage probability of a block-fading channel with L-branch maximum-ratio
combining (Tse & Viswanath, *Fundamentals of Wireless Communication*, 2005,
§5.4.1 for L = 1: p_out = 1 − exp(−(2^R − 1)/SNR), and §3.3.1 for the
diversity order); the gap approximation from Cioffi's coding-gap argument.

**Link adaptation.** The scheduler picks the highest efficiency whose BLER
equals the target ``ε`` (the ε-outage capacity, Tse & Viswanath §5.4.1),
clipped to the modulation-and-coding range ``[η_min, η_max]``:

    η(γ̄) = clip(log2(1 + γ̄ x_ε / Γ), η_min, η_max),  x_ε = P⁻¹(L, ε) / L.

Inside the range the first-transmission BLER is exactly ``ε``; below
``η_min`` (cell edge) it grows, above ``η_max`` it falls. The rate is
``η · B``, capped by the user's share (``rate_cap_bps``).

**HARQ.** Each of at most ``N`` transmissions fails independently with the
BLER ``p``; the message is lost after ``N`` failures (probability ``p^N``),
otherwise it needed ``n`` transmissions, ``P(n > k) = p^k``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammainc, gammaincinv

__all__ = [
    "THERMAL_DBM_PER_HZ",
    "adapted_efficiency",
    "block_error_rate",
    "harq_transmissions",
    "noise_dbm",
    "slot_s",
    "transmission_slots",
]

THERMAL_DBM_PER_HZ = -174.0
"""Thermal noise density at 290 K, dBm/Hz."""


def noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    """Receiver noise power: −174 dBm/Hz + 10 log10(B) + NF.

    >>> round(noise_dbm(20e6, 9.0), 2)
    -91.99
    """
    return THERMAL_DBM_PER_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db


def slot_s(numerology: int) -> float:
    """NR slot length for numerology μ: 1 ms / 2^μ (TS 38.211 §4.3.2).

    >>> slot_s(1)
    0.0005
    """
    return 1e-3 / 2**numerology


def _x_eps(diversity: int, bler_target: float) -> float:
    return float(gammaincinv(diversity, bler_target)) / diversity


def adapted_efficiency(
    sinr_db: ArrayLike,
    *,
    bler_target: float,
    diversity: int,
    gap_db: float,
    eta_min: float,
    eta_max: float,
) -> np.ndarray:
    """Spectral efficiency (bit/s/Hz) chosen by link adaptation at SINR ``sinr_db``.

    >>> float(adapted_efficiency(60.0, bler_target=0.1, diversity=2, gap_db=0.0,
    ...                          eta_min=0.2344, eta_max=5.5547))
    5.5547
    """
    gamma = 10.0 ** (np.asarray(sinr_db, dtype=float) / 10.0)
    gap = 10.0 ** (gap_db / 10.0)
    eta = np.log2(1.0 + gamma * _x_eps(diversity, bler_target) / gap)
    return np.clip(eta, eta_min, eta_max)


def block_error_rate(
    sinr_db: ArrayLike, efficiency: ArrayLike, *, diversity: int, gap_db: float
) -> np.ndarray:
    """Probability that one transmission at ``efficiency`` fails at mean SINR ``sinr_db``.

    With one Rayleigh branch this is 1 − exp(−(2^η − 1) Γ / γ̄):

    >>> g = 10 ** (10 / 10); round(1 - math.exp(-(2 ** 1.0 - 1) / g), 6)
    0.095163
    >>> round(float(block_error_rate(10.0, 1.0, diversity=1, gap_db=0.0)), 6)
    0.095163
    """
    gamma = 10.0 ** (np.asarray(sinr_db, dtype=float) / 10.0)
    gap = 10.0 ** (gap_db / 10.0)
    need = (2.0 ** np.asarray(efficiency, dtype=float) - 1.0) * gap
    with np.errstate(divide="ignore"):
        x = diversity * need / gamma
    return np.asarray(gammainc(diversity, x), dtype=float)


def transmission_slots(
    size_bytes: ArrayLike, rate_bps: ArrayLike, slot_length_s: float
) -> np.ndarray:
    """Whole slots needed to send ``size_bytes`` at ``rate_bps`` (at least one).

    >>> int(transmission_slots(1200, 50e6, 0.0005))  # 9600 bit, 25 000 bit per slot
    1
    """
    bits = np.asarray(size_bytes, dtype=float) * 8.0
    per_slot = np.asarray(rate_bps, dtype=float) * slot_length_s
    return np.maximum(1.0, np.ceil(bits / per_slot - 1e-12))


def harq_transmissions(uniform: ArrayLike, bler: ArrayLike, max_tx: int) -> np.ndarray:
    """Transmissions a message needs, from one uniform draw each; ``max_tx + 1`` means lost.

    Each try fails independently with probability ``bler``: the number of
    failures before the first success is geometric, ``P(F ≥ k) = p^k``, drawn
    by inversion as ``F = floor(log u / log p)``. The message is lost when
    ``F ≥ max_tx`` (probability ``p^max_tx``).

    >>> harq_transmissions([0.5, 0.2, 0.05], 0.3, 2).tolist()  # 0.3² = 0.09 < 0.2 < 0.3 < 0.5
    [1, 2, 3]
    """
    u = np.asarray(uniform, dtype=float)
    p = np.broadcast_to(np.asarray(bler, dtype=float), u.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        failures = np.floor(np.log(u) / np.log(p))
    failures = np.where(p <= 0.0, 0.0, np.where(p >= 1.0, max_tx, failures))
    return (np.minimum(failures, max_tx) + 1).astype(int)
