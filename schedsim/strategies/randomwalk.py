"""The random strategy: each step picks uniformly among the runnable threads.

This is the scheduler whose outcome probabilities `analysis` computes
exactly, so sampled frequencies converge to the explore report's
`probability`.
"""
from __future__ import annotations

import random

from ..engine.semantics import State


class RandomWalk:
    _random = None  # set by begin()

    def begin(self, rng: random.Random) -> None:
        # random() is one C call; randrange costs several Python frames a step.
        self._random = rng.random

    def pick(self, state: State, ready: tuple[int, ...], position: int) -> int:
        if len(ready) == 1:
            return ready[0]
        # int(random() * n) is off from uniform by at most n / 2**53.
        return ready[int(self._random() * len(ready))]
