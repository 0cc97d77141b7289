"""PCT, Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi and
Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of Finding
Bugs", ASPLOS 2010).

A run gives the n threads distinct random priorities d, d+1, ..., d+n-1 and
picks d-1 distinct change points among steps 1..k. Each step runs the
highest-priority runnable thread; the thread that reaches the i-th change
point drops to priority d-i, below every initial priority, just before that
step. A bug of depth d (d ordering constraints between steps) then shows up
in a run with probability at least 1 / (n * k**(d-1)), whatever the program.

A thread that spins in a `while` loop keeps the highest priority until a
change point passes it over, so after the last change point such a run never
ends: the sampler stops it at its step bound and calls it unfinished.
"""
from __future__ import annotations

import random

from ..engine.semantics import State


def bound(threads: int, steps: int, depth: int) -> float:
    """The paper's lower bound on the chance that one run finds a depth-d bug."""
    return 1 / (threads * steps ** (depth - 1))


class Pct:
    def __init__(self, threads: int, depth: int, steps: int):
        self.threads, self.depth, self.steps = threads, depth, steps
        self._priority: list[int] = []
        self._changes: dict[int, int] = {}

    def begin(self, rng: random.Random) -> None:
        d = self.depth
        self._priority = [d + rank for rank in range(self.threads)]
        rng.shuffle(self._priority)
        points = rng.sample(range(1, self.steps + 1), min(d - 1, self.steps))
        self._changes = {point: d - i for i, point in enumerate(points, start=1)}

    def pick(self, state: State, ready: tuple[int, ...], position: int) -> int:
        priority = self._priority
        chosen = max(ready, key=priority.__getitem__)
        lowered = self._changes.get(position + 1)
        if lowered is not None:
            priority[chosen] = lowered
            chosen = max(ready, key=priority.__getitem__)
        return chosen
