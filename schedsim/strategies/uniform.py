"""The uniform strategy: every complete interleaving is equally likely.

An interleaving is a path from the initial state to an end, so a walk that
moves to each successor in proportion to the number of paths from it to
the ends draws every path with the same chance. Those path counts are exact
integers computed once on the explored graph, in reverse topological order;
a graph with a cycle has infinitely many paths, and no uniform choice.
"""
from __future__ import annotations

import bisect
import random

from ..engine.explorer import Exploration
from ..analyses.graphs import components
from ..engine.semantics import State, step


class CyclicGraph(ValueError):
    """The state graph has a cycle: infinitely many interleavings."""


def path_counts(exploration: Exploration) -> list[int]:
    """For each node, the number of paths from it to a node with no step left."""
    parts = components(exploration)
    if not parts.acyclic:
        raise CyclicGraph("the state graph has a cycle")
    counts = [0] * len(exploration.states)
    for node in reversed(parts.node_order()):
        successors = exploration.successors(node)
        counts[node] = sum(counts[successor] for successor in successors) if successors else 1
    return counts


class Uniform:
    def __init__(self, exploration: Exploration):
        self._exploration = exploration
        self._counts = path_counts(exploration)
        self._choices: dict[int, tuple[tuple[int, ...], list[int]]] = {}
        self._rng: random.Random | None = None

    def begin(self, rng: random.Random) -> None:
        self._rng = rng

    def pick(self, state: State, ready: tuple[int, ...], position: int) -> int:
        node = self._exploration.index[state]
        tids, bounds = self._choices.get(node) or self._weigh(node, state, ready)
        # randrange draws an exact integer below the (possibly huge) total.
        return tids[bisect.bisect_right(bounds, self._rng.randrange(bounds[-1]))]

    def _weigh(self, node: int, state: State, ready: tuple[int, ...]) -> tuple:
        """Each runnable thread with the running total of paths through its step."""
        program, index = self._exploration.program, self._exploration.index
        bounds, total = [], 0
        for tid in ready:
            total += self._counts[index[step(program, state, tid)]]
            bounds.append(total)
        self._choices[node] = (ready, bounds)
        return ready, bounds
