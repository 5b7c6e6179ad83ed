"""StepLog look-ups against a brute-force scan of the whole log (the definition:
the key's last entry at or before the time), over random windows."""

from __future__ import annotations

import numpy as np

from avzone.engine.steplog import StepLog


def test_find_is_the_last_entry_at_or_before_each_time() -> None:
    rng = np.random.default_rng(3)
    log = StepLog(value="q")
    entries: list[tuple[int, float, int]] = []
    t = 0.0
    for window_end in np.arange(1.0, 30.0, 1.0):
        # entries of this window, in time order (several per key, ties included)
        while True:
            t += float(rng.exponential(0.05)) * (rng.random() > 0.1)  # some equal times
            if t >= window_end:
                break
            key = int(rng.integers(0, 40))
            entries.append((key, t, len(entries)))
            log.append(key, t, value=len(entries) - 1)
        start = window_end - 1.0
        keys = rng.integers(0, 45, 500)
        times = rng.uniform(start, window_end, 500)
        recent = [e for e in entries if e[1] >= start][:20]  # at an entry's exact time
        times[: len(recent)] = [e[1] for e in recent]
        keys[: len(recent)] = [e[0] for e in recent]
        found = log.find(keys, times)
        for k, q, f in zip(keys.tolist(), times.tolist(), found.tolist(), strict=True):
            expected = -1
            for i, (key, at, _) in enumerate(entries):
                if key == k and at <= q:
                    expected = i
            assert f == expected
        log.advance()
    assert log["value"].tolist() == list(range(len(entries)))
