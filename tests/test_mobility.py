"""Edge-by-edge mobility: exact event logs; free-flow time = length / speed."""

from __future__ import annotations

import numpy as np
import simpy

from avzone.vehicles.mobility import Vehicle, drive


class _Log:
    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.events: list[tuple[str, int, float]] = []

    def enter(self, vehicle: Vehicle, tile: int) -> None:
        self.events.append(("enter", tile, self.env.now))

    def leave(self, vehicle: Vehicle, tile: int) -> None:
        self.events.append(("leave", tile, self.env.now))


def _run(signal_wait_s: float) -> tuple[_Log, Vehicle, float]:
    env = simpy.Environment()
    log = _Log(env)
    vehicle = Vehicle(0, np.zeros(4, dtype=int))
    # edge 0: 1000 m at 10 m/s, tiles 0 then 1 from 400 m; edge 1: 500 m at 5 m/s in tile 1
    done: list[float] = []

    def trip() -> object:
        yield from drive(
            env,
            vehicle,
            [0, 1],
            length_m=np.array([1000.0, 500.0]),
            speed_mps=np.array([10.0, 5.0]),
            signalized_end=np.array([True, True]),
            edge_tiles=([(0.0, 0), (400.0, 1)], [(0.0, 1)]),
            signal_wait_s=lambda: signal_wait_s,
            tiles=log,
        )
        done.append(env.now)

    env.process(trip())
    env.run()
    return log, vehicle, done[0]


def test_free_flow_time_is_length_over_speed() -> None:
    log, vehicle, arrival = _run(0.0)
    assert arrival == 1000 / 10 + 500 / 5
    assert log.events == [("enter", 0, 0.0), ("leave", 0, 40.0), ("enter", 1, 40.0)]
    assert vehicle.odometer_m(arrival) == 1500.0


def test_signal_wait_between_edges_but_not_at_the_end() -> None:
    _log, vehicle, arrival = _run(7.0)
    assert arrival == 100 + 7 + 100
    # waiting at the end of edge 0, the vehicle holds its position
    assert vehicle.s_m(arrival) == 500.0
