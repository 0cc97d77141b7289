"""Starvation and livelock: a thread that wants to get somewhere and, even under a fair scheduler, never does.

The scheduler is taken to be *strongly fair*: a thread that is ready
infinitely often gets a turn infinitely often. (Weak fairness, which owes a
turn only to a thread that is ready all the time, would call every busy
lock a starvation: a thread waiting for a lock that another thread keeps
taking back is ready only between its turns. CPython's locks do not queue,
but no real scheduler keeps missing a thread that often.)

A thread gets somewhere when it finishes or, for a worker meant to run
forever (a body that ends in a `while True:` that no `break` leaves, see
`program.ThreadProgram.forever`), each time it goes round that loop. So a
thread T starves when some fair run never lets it finish or go round: a
cycle of states where T is running, T never takes its loop's test, and
every thread that is ready somewhere in the cycle takes a step in it. Such
a cycle is looked for per thread, in the graph without T's rounds, with the
classic refinement for strong fairness: in each strongly connected
component, a thread that is ready somewhere but never steps inside cannot
be part of a fair cycle there, so the states where it is ready are removed
and the rest is searched again.

This is SPEC section 5's definition with its intent kept: a busy-wait that
ends as soon as the other thread is scheduled (Peterson's) is no
starvation, because the other thread is ready and a fair scheduler runs it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..engine import program as p
from .edges import Moves, Site, site
from ..engine.explorer import Exploration, path_to
from .graphs import components, sources, strong_labels
from ..limits import DEFAULT_BOUNDS, Bounds
from ..engine.semantics import waiting_for


@dataclass(frozen=True)
class Stuck:
    thread: str
    doing: str  # "spins in ...", what it waits for, or "keeps going round ..."


@dataclass(frozen=True)
class Starvation:
    """A lasso: a schedule to a cycle of states, and the cycle, which a fair scheduler can repeat forever."""

    starved: tuple[str, ...]    # the threads that never get past where they are
    loops: tuple[Site, ...]     # the loop tests the cycle runs
    stuck: tuple[Stuck, ...]    # every running thread, and what it does in the cycle
    schedule: tuple[str, ...]   # to the cycle
    cycle: tuple[str, ...]      # round it once, back to where it started

    @property
    def message(self) -> str:
        who = _and(self.starved)
        verb = "never gets" if len(self.starved) == 1 else "never get"
        return (f"Even a fair scheduler, which gives every thread that is ready again and again its turn, "
                f"can run this cycle forever, and {who} {verb} past where {'it is' if len(self.starved) == 1 else 'they are'}.")

    def as_json(self) -> dict:
        return {"starved": list(self.starved), "loops": [loop.as_json() for loop in self.loops],
                "stuck": [{"thread": s.thread, "doing": s.doing} for s in self.stuck],
                "schedule": list(self.schedule), "cycle": list(self.cycle), "message": self.message}


@dataclass
class Liveness:
    starvation: list[Starvation]
    complete: bool = True   # False when the search stopped at Bounds.max_liveness_edges


def starvation(exploration: Exploration, moves: Moves, bounds: Bounds = DEFAULT_BOUNDS) -> Liveness:
    """Every distinct fair cycle that starves some thread, nearest first, one per set of loop lines."""
    graph = _CyclicPart.of(exploration)
    if graph is None:
        return Liveness([])
    found: dict[tuple, Starvation] = {}
    budget = bounds.max_liveness_edges
    for tid in range(len(exploration.program.threads)):
        budget -= len(graph.sources)
        if budget < 0:
            return Liveness(list(found.values()), complete=False)
        for members, kept in graph.fair_cycles_starving(tid):
            lasso = _lasso(exploration, moves, members, kept)
            found.setdefault(tuple(sorted({loop.line for loop in lasso.loops}) or [tid]), lasso)
    return Liveness(sorted(found.values(), key=lambda lasso: len(lasso.schedule)))


class _CyclicPart:
    """The steps that lie inside some strongly connected component: only they can be on a cycle."""

    def __init__(self, exploration: Exploration, nodes: np.ndarray, labels: np.ndarray):
        self.exploration = exploration
        size = len(exploration.states)
        edge_sources = sources(exploration)
        targets = np.frombuffer(exploration.targets, dtype=f"i{exploration.targets.itemsize}").astype(np.int64)
        movers = np.frombuffer(exploration.movers, dtype=np.int16).astype(np.int64)
        on_cycle = np.zeros(size, dtype=bool)
        on_cycle[nodes] = True
        leaving = on_cycle[edge_sources]
        # Every step from a state on a cycle says its thread is ready there ...
        self.ready_nodes, self.ready_movers = edge_sources[leaving], movers[leaving]
        # ... but only steps within one component can be part of a cycle.
        inside = leaving & (labels[edge_sources] == labels[targets])
        self.sources, self.targets, self.movers = edge_sources[inside], targets[inside], movers[inside]
        self.nodes = nodes
        self.size = size
        states, threads = exploration.states, exploration.program.threads
        self.pcs = {int(node): states[node].threads for node in nodes.tolist()}
        self.forever = [thread.forever for thread in threads]
        self.thread_count = len(threads)

    @classmethod
    def of(cls, exploration: Exploration) -> "_CyclicPart | None":
        parts = components(exploration)
        if parts.acyclic:
            return None
        nodes = np.flatnonzero(parts.cyclic[parts.labels])
        return cls(exploration, nodes, parts.labels)

    def fair_cycles_starving(self, tid: int) -> list[tuple[list[int], np.ndarray]]:
        """(members, kept steps) of each fair strongly connected set where `tid` runs and never goes round."""
        pc_of = np.array([self.pcs[int(node)][tid][0] for node in self.nodes.tolist()], dtype=np.int64)
        pcs = np.full(self.size, -2, dtype=np.int64)
        pcs[self.nodes] = pc_of
        running = pcs >= 0
        if not running.any():
            return []
        forever = self.forever[tid]
        rounds = (self.movers == tid) & (pcs[self.sources] == forever) if forever >= 0 else np.zeros(len(self.movers), dtype=bool)
        kept = running[self.sources] & running[self.targets] & ~rounds
        return _fair_components(running, self.sources[kept], self.targets[kept], self.movers[kept],
                                self.ready_nodes, self.ready_movers, self.thread_count)


def _fair_components(active: np.ndarray, heads: np.ndarray, tails: np.ndarray, movers: np.ndarray,
                     ready_nodes: np.ndarray, ready_movers: np.ndarray, threads: int) -> list[tuple[list[int], np.ndarray]]:
    """The strongly connected sets of `active` nodes over the given steps in which a strongly fair run can stay.

    Refinement: a thread ready somewhere in a component but with no step
    inside it rules out every state where it is ready; repeat until no
    state is ruled out.
    """
    active = active.copy()
    size = len(active)
    while True:
        use = active[heads] & active[tails]
        h, t, m = heads[use], tails[use], movers[use]
        labels = strong_labels(size, h, t)
        same = labels[h] == labels[t]
        cyclic = np.zeros(size, dtype=bool)
        cyclic[labels[h[same]]] = True
        in_cycle = active & cyclic[labels]
        stepping = np.unique(labels[h[same]] * threads + m[same])
        ready = in_cycle[ready_nodes]
        pairs = labels[ready_nodes[ready]] * threads + ready_movers[ready]
        unfair = ~np.isin(pairs, stepping)
        ruled_out = np.zeros(size, dtype=bool)
        ruled_out[ready_nodes[ready][unfair]] = True
        remaining = in_cycle & ~ruled_out
        if (remaining == active).all():
            break
        active = remaining
    found = []
    for label in np.unique(labels[np.flatnonzero(active)]).tolist():
        members = np.flatnonzero(active & (labels == label))
        inside = same & (labels[h] == label)
        found.append((members.tolist(), np.stack([h[inside], m[inside], t[inside]], axis=1)))
    return sorted(found, key=lambda item: item[0][0])


def _lasso(exploration: Exploration, moves: Moves, members: list[int], kept: np.ndarray) -> Starvation:
    program, states = exploration.program, exploration.states
    inside: dict[int, list[tuple[int, int]]] = {node: [] for node in members}
    for head, mover, tail in kept.tolist():
        inside[head].append((mover, tail))
    stepping = {mover for edges in inside.values() for mover, _ in edges}
    entry = members[0]
    tests = sorted({(tid, states[node].threads[tid][0]) for node, edges in inside.items() for tid, _ in edges
                    if isinstance(program.threads[tid].code[states[node].threads[tid][0]], p.Test)})
    loops = tuple(sorted((site(program, tid, program.threads[tid].code[pc]) for tid, pc in tests),
                         key=lambda loop: (loop.line, loop.thread)))
    cycle = _fair_walk(inside, entry, stepping)
    stuck, starved = _what_each_does(exploration, inside, entry, stepping, loops)
    schedule = moves.schedule(path_to(exploration, entry))
    names = program.thread_names
    return Starvation(starved, loops, stuck, tuple(names[tid] for tid in schedule), tuple(names[tid] for tid in cycle))


def _what_each_does(exploration: Exploration, inside: dict, entry: int, stepping: set,
                    loops: tuple[Site, ...]) -> tuple[tuple[Stuck, ...], tuple[str, ...]]:
    """What every running thread does in the cycle, and which of them never get anywhere."""
    program, states = exploration.program, exploration.states
    going = {mover for node, edges in inside.items() for mover, _ in edges
             if states[node].threads[mover][0] == program.threads[mover].forever}
    stuck, starved = [], []
    for tid, (pc, _) in enumerate(states[entry].threads):
        if pc < 0:
            continue
        thread = program.threads[tid]
        if tid in going:
            head = thread.code[thread.forever]
            stuck.append(Stuck(thread.name, f"keeps going round `{head.text}` (line {head.line})"))
            continue
        starved.append(thread.name)
        if tid in stepping:
            spins = tuple(f"`{loop.text}` (line {loop.line})" for loop in loops if loop.thread == thread.name)
            stuck.append(Stuck(thread.name, f"spins in {_and(spins)}" if spins else "goes round a loop"))
        else:
            stuck.append(Stuck(thread.name, waiting_for(program, states[entry], tid)))
    return tuple(stuck), tuple(starved)


def _fair_walk(inside: dict, entry: int, stepping: set) -> list[int]:
    """The threads of a closed walk from `entry` inside the set in which every thread that steps there steps.

    The set is fair (see `_fair_components`): every thread ready somewhere
    in it steps somewhere in it, so such a walk, repeated, is a fair run.
    """
    steps: list[tuple[int, int]] = []
    for tid in sorted(stepping):
        if all(mover != tid for mover, _ in steps):
            here = steps[-1][1] if steps else entry
            steps += _steps_to(inside, here, lambda node, t=tid: next((e for e in inside[node] if e[0] == t), None))
    steps += _steps_to(inside, steps[-1][1], lambda node: () if node == entry else None)
    return [tid for tid, _ in steps]


def _steps_to(inside: dict, start: int, goal) -> list[tuple[int, int]]:
    """The fewest (thread, target) steps inside the set from `start` to a node where
    `goal` answers: () to stop there, or one more step to take from there."""
    parents: dict[int, tuple[int, tuple[int, int]] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        last = goal(node)
        if last is not None:
            path = []
            while parents[node] is not None:
                node, move = parents[node]
                path.append(move)
            return path[::-1] + ([last] if last else [])
        for move in inside[node]:
            if move[1] not in parents:
                parents[move[1]] = (node, move)
                queue.append(move[1])
    raise AssertionError("a strongly connected set reaches every goal it holds")


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
