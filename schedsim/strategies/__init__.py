"""Scheduling strategies: plug-ins that pick the next thread of a run.

Every strategy has the same two-method face (as shuttle's schedulers do):
`begin(rng)` starts a run with that run's own `random.Random`, and
`pick(state, ready, position)` returns one of the runnable threads for step
number `position` (0-based). A strategy never steps the program itself: the
sampling driver calls `semantics.step`, so every strategy runs the same
semantics, and the driver records the schedule that replays the run.
"""
from __future__ import annotations

import random
from typing import Protocol

from ..engine.semantics import State


class Strategy(Protocol):
    def begin(self, rng: random.Random) -> None:
        """Start a new run; all of the run's choices come from `rng`."""

    def pick(self, state: State, ready: tuple[int, ...], position: int) -> int:
        """The thread, among `ready` (never empty), that takes step `position`."""


NAMES = ("random", "uniform", "pct")
