"""What the findings read off an explored state graph: its steps, sites and lock owners.

Exploration graphs carry no edge labels (see `explorer`), yet every finding
needs to know who steps where: which thread spins, which access comes
second. `Moves` reads it from the exploration's flat arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..engine.explorer import Exploration
from ..engine.program import Instruction, Program

LOCK_KINDS = ("Lock", "RLock")  # the primitives with an owner


@dataclass(frozen=True)
class Site:
    """A place in the scenario, as a student reads it: whose step, which line, what it says."""

    thread: str
    line: int
    text: str

    def as_json(self) -> dict:
        return {"thread": self.thread, "line": self.line, "text": self.text}


def site(program: Program, tid: int, instr: Instruction) -> Site:
    return Site(program.threads[tid].name, instr.line, instr.text)


class Moves:
    """Per node, its steps as (thread, target node), in scenario order of the threads.

    A view on the exploration's flat arrays: every runnable thread has a
    move; nodes left unexpanded have none.
    """

    def __init__(self, exploration: Exploration):
        self.exploration = exploration
        self.starts = exploration.offsets
        self.tids = exploration.movers
        self.targets = exploration.targets

    def count(self, node: int) -> int:
        """How many steps `node` has: 0 where a run ends (or the node was left unexpanded)."""
        return self.starts[node + 1] - self.starts[node]

    def of(self, node: int) -> list[tuple[int, int]]:
        """The (thread, target) pairs of `node`'s steps."""
        begin, end = self.starts[node], self.starts[node + 1]
        return list(zip(self.tids[begin:end], self.targets[begin:end]))

    def may_cycle(self) -> bool:
        """False when every step leads to a later node: with nodes in BFS order, a cycle
        must step back somewhere, so such a graph has none (the common case, cheaply)."""
        starts, targets = self.starts, self.targets
        return any(targets[edge] <= node for node in range(len(starts) - 1)
                   for edge in range(starts[node], starts[node + 1]))

    def schedule(self, path: list[int]) -> tuple[int, ...]:
        """The threads that take a path of nodes, step by step (the first that fits each edge)."""
        tids = []
        for source, target in zip(path, path[1:]):
            tids.append(next(tid for tid, to in self.of(source) if to == target))
        return tuple(tids)
