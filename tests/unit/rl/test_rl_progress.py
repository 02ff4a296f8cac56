"""RL training reports its environment steps to the Progress callback it is given."""

from __future__ import annotations

import itertools

from tradewind.rl.train import train_rl


def test_training_reports_steps_from_zero_to_the_total(cfg, data) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    train_rl(cfg, data, timesteps=256, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 256)
    assert seen[-1] == (256, 256)
    assert all(total == 256 for _, total in seen)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))
