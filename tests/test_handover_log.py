"""The handover log (avzone/engine/handover_log.py) against its definition.

Reference: the state in force at a time is the last logged change at or before it
(found by a loop over the log); folding keeps what later queries need.
"""

from __future__ import annotations

import numpy as np

from avzone.engine.handover_log import HandoverLog


def _by_loop(
    log: list[tuple[int, float, int, float]], vehicle: np.ndarray, t_s: np.ndarray
) -> list[tuple[int, float]]:
    """Per query, the (serving, until) of the vehicle's last change at or before it."""
    by_vehicle: dict[int, list[tuple[int, float, int, float]]] = {}
    for x in log:
        by_vehicle.setdefault(x[0], []).append(x)
    out = []
    for v, t in zip(vehicle.tolist(), t_s.tolist(), strict=True):
        mine = [x for x in by_vehicle.get(v, []) if x[1] <= t]
        out.append((mine[-1][2], mine[-1][3]) if mine else (-1, -1.0))
    return out


def test_state_at_is_the_last_change_at_or_before() -> None:
    """Reference: the definition, by a loop. A log of 3000 changes of 40 vehicles at times
    on a 0.25 s grid (many ties between changes and queries, several changes at one
    time), queried at 5000 random (vehicle, time) pairs, before and after folding."""
    handover_log = HandoverLog()
    rng = np.random.default_rng(2)
    log = []
    for t in np.sort(rng.integers(0, 400, 3000)) / 4:
        who, serving = int(rng.integers(40)), int(rng.integers(-1, 5))
        handover_log.append(who, float(t), serving, float(t) + 0.5)
        log.append((who, float(t), serving, float(t) + 0.5))
    vehicle = rng.integers(-1, 42, 5000)
    t_s = rng.integers(-4, 420, 5000) / 4
    for fold_s in (None, 50.0):
        if fold_s is not None:
            handover_log.fold(fold_s, np.ones(40, dtype=bool))  # all still in the zone
            assert handover_log.size < len(log)
            keep = t_s >= fold_s
            vehicle, t_s = vehicle[keep], t_s[keep]
        serving, until = handover_log.state_at(vehicle, t_s)
        assert list(zip(serving.tolist(), until.tolist(), strict=True)) == _by_loop(
            log, vehicle, t_s
        )


def test_fold_forgets_vehicles_that_left_and_grows_past_its_capacity() -> None:
    """Reference: the definition. 30 000 changes (past the first capacity) of 3 vehicles
    at t = 0, 1, 2, …; folding at 29 000 with vehicle 1 gone keeps, of the old entries,
    the last one of vehicles 0 and 2 only, and every later entry."""
    handover_log = HandoverLog()
    capacity = handover_log.capacity
    log = [(t % 3, float(t), t % 7, float(t) + 0.1) for t in range(30_000)]
    for entry in log:
        handover_log.append(*entry)
    assert handover_log.capacity > capacity
    assert handover_log.size == 30_000
    handover_log.fold(29_000.0, np.array([True, False, True]))
    kept = [x for x in log if x[1] >= 29_000.0]
    assert handover_log.size == len(kept) + 2
    assert handover_log.who[: handover_log.size].tolist()[:2] == [2, 0]  # 28 997, 28 998
    vehicle = np.array([0, 1, 2, 0, 1, 2])
    t_s = np.array([29_000.0, 29_000.0, 29_000.0, 29_999.0, 29_999.0, 29_999.0])
    got = handover_log.state_at(vehicle, t_s)
    expected = _by_loop(log, vehicle, t_s)
    expected[1] = (-1, -1.0)  # vehicle 1's last old change, 28 999, is forgotten
    assert list(zip(got[0].tolist(), got[1].tolist(), strict=True)) == expected
