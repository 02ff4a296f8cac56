"""An SB3 callback that reports training steps to a :data:`tradewind.domain.progress.Progress`."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback

from tradewind.domain.progress import Progress, every


class ProgressCallback(BaseCallback):
    """``progress(timesteps done, timesteps in all)``, about 200 times over the run."""

    def __init__(self, progress: Progress, total: int) -> None:
        super().__init__()
        self._report = every(progress, total)
        self._total = total

    def _on_training_start(self) -> None:
        self._report(0)

    def _on_step(self) -> bool:
        self._report(self.num_timesteps)
        return True

    def _on_training_end(self) -> None:
        self._report(self._total)
