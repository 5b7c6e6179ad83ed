"""Noise, block errors, link adaptation and HARQ against closed forms.

Sources: thermal noise −174 dBm/Hz (kTB at 290 K); the block-fading outage
probability of Tse & Viswanath, *Fundamentals of Wireless Communication*
(2005) §5.4.1, p_out = 1 − exp(−(2^R − 1)/SNR) for one Rayleigh branch and,
with two branches combined (chi-square with 4 degrees of freedom),
1 − e^(−x)(1 + x) with x = 2 (2^R − 1)/SNR; HARQ with independent tries that
fail with probability p loses a message with probability p^N (geometric
number of failures).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from avzone.radio.link import (
    adapted_efficiency,
    block_error_rate,
    harq_transmissions,
    noise_dbm,
    slot_s,
    transmission_slots,
)


def test_noise_power() -> None:
    """−174 + 10 log10(20e6) + 9 = −174 + 73.01 + 9 = −91.99 dBm."""
    assert noise_dbm(20e6, 9.0) == pytest.approx(-91.99, abs=0.005)


def test_block_error_rate_closed_forms() -> None:
    """One branch: 1 − exp(−(2^η − 1)/γ); two branches: 1 − e^(−x)(1 + x), x = 2(2^η − 1)/γ."""
    gamma = 10 ** (5 / 10)  # 5 dB
    assert float(block_error_rate(5.0, 1.5, diversity=1, gap_db=0.0)) == pytest.approx(
        1 - math.exp(-(2**1.5 - 1) / gamma), rel=1e-12
    )
    x = 2 * (2**1.5 - 1) / gamma
    assert float(block_error_rate(5.0, 1.5, diversity=2, gap_db=0.0)) == pytest.approx(
        1 - math.exp(-x) * (1 + x), rel=1e-12
    )
    # a 3 dB gap is the same as 3 dB less SINR
    assert float(block_error_rate(8.0, 1.5, diversity=2, gap_db=3.0)) == pytest.approx(
        float(block_error_rate(5.0, 1.5, diversity=2, gap_db=0.0)), rel=1e-12
    )


def test_link_adaptation_meets_the_target_inside_the_mcs_range() -> None:
    """Inside [η_min, η_max] the first-try BLER equals the target; below η_min it is higher."""
    kwargs = {
        "bler_target": 0.1,
        "diversity": 2,
        "gap_db": 1.0,
        "eta_min": 0.2344,
        "eta_max": 5.5547,
    }
    sinr = np.array([-10.0, 5.0, 15.0, 60.0])
    eta = adapted_efficiency(sinr, **kwargs)
    bler = block_error_rate(sinr, eta, diversity=2, gap_db=1.0)
    assert eta[0] == 0.2344
    assert bler[0] > 0.1
    assert bler[1:3] == pytest.approx([0.1, 0.1], rel=1e-9)
    assert eta[3] == 5.5547
    assert bler[3] < 0.1


def test_slots() -> None:
    """Slot = 1 ms / 2^μ (TS 38.211 §4.3.2); 1200 B at 10 Mbit/s over 0.5 ms slots:
    9600 bit / 5000 bit per slot → 2 slots."""
    assert [slot_s(mu) for mu in range(3)] == [0.001, 0.0005, 0.00025]
    assert int(transmission_slots(1200, 10e6, 0.0005)) == 2


@pytest.mark.parametrize(("p", "max_tx"), [(0.3, 3), (0.1, 2), (0.5, 4)])
def test_harq_loss_is_p_to_the_n(p: float, max_tx: int) -> None:
    """Loss = p^N; tries k with probability p^(k−1)(1 − p). 400 000 draws: the binomial
    standard error of the loss is ≤ 0.0008, the tolerance is 5 of them."""
    n = 400_000
    u = np.random.default_rng(7).random(n)
    tries = harq_transmissions(u, p, max_tx)
    lost = float(np.mean(tries > max_tx))
    sigma = math.sqrt(p**max_tx * (1 - p**max_tx) / n)
    assert lost == pytest.approx(p**max_tx, abs=5 * sigma)
    for k in range(1, max_tx + 1):
        expected = p ** (k - 1) * (1 - p)
        assert float(np.mean(tries == k)) == pytest.approx(
            expected, abs=5 * math.sqrt(expected / n)
        )
