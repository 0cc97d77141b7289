"""Stage 4: exhaustive exploration of every interleaving into a state graph.

Breadth-first from the initial state, each state is expanded once by calling
`semantics.step` for every runnable thread in scenario order; a state reached
twice is one node. Nodes are numbered in BFS order (0 is the initial state;
`states[n]` is node n's State).

The graph is kept in flat arrays, a few bytes an edge, because every
analysis walks it and a million states must stay affordable: node n's steps
are `targets[offsets[n]:offsets[n + 1]]`, taken by the threads in
`movers[...]` of the same slice, in the order of its runnable threads (no two
threads step to the same state). The `networkx.DiGraph` that SPEC promises is
built from those arrays when asked for (`Exploration.graph`). The BFS parent
of every node is kept, which gives a shortest schedule to any state.
"""
from __future__ import annotations

import gc
import time
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import networkx as nx

from .limits import DEFAULT_BOUNDS
from .program import Program
from .semantics import State, initial_state, runnable, step

PROGRESS_EVERY = 20_000

LIMIT, INTERRUPTED = "limit", "interrupted"

Progress = Callable[[int, int, float], None]  # (states, transitions, seconds)


@dataclass
class Exploration:
    program: Program
    states: list[State]         # states[node], nodes in BFS order
    index: dict[State, int]     # node of a state
    parents: array              # BFS parent of each node; -1 for the initial one
    offsets: array              # node n's steps are edges offsets[n] .. offsets[n + 1] - 1
    targets: array              # the node each edge leads to
    movers: array               # the thread that takes each edge
    expanded: int               # nodes 0..expanded-1 were expanded; the rest is the frontier
    stopped: str | None = None  # None when complete, else LIMIT or INTERRUPTED
    seconds: float = field(default=0.0, compare=False)

    @property
    def complete(self) -> bool:
        return self.stopped is None

    @property
    def transitions(self) -> int:
        return len(self.targets)

    def is_frontier(self, node: int) -> bool:
        """True for a state that was found but never expanded."""
        return node >= self.expanded

    def successors(self, node: int) -> array:
        """The nodes that `node`'s steps lead to, in the order of its runnable threads."""
        return self.targets[self.offsets[node]:self.offsets[node + 1]]

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The state graph as a networkx DiGraph: nodes 0..n-1, one bare edge per step."""
        graph = nx.DiGraph()
        graph.add_nodes_from(range(len(self.states)))
        offsets, targets = self.offsets, self.targets
        graph.add_edges_from((node, targets[edge]) for node in range(self.expanded)
                             for edge in range(offsets[node], offsets[node + 1]))
        return graph


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector: states are acyclic tuples, and with
    millions alive each collection would rescan them all, slowing
    exploration by a third or more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def explore(program: Program, max_states: int = DEFAULT_BOUNDS.max_states, progress: Progress | None = None) -> Exploration:
    """Build the whole state graph, or as much as `max_states` allows.

    Ctrl-C (KeyboardInterrupt) stops the search and returns what was found,
    so a partial report can still be printed.
    """
    started = time.perf_counter()
    initial = initial_state(program)
    states = [initial]
    index = {initial: 0}
    parents = array("q", [-1])
    offsets, targets, movers = array("q", [0]), array("q"), array("h")
    parts: dict = {}
    stopped = None
    node = 0
    add_state, add_parent, lookup = states.append, parents.append, index.get
    add_target, add_offset = targets.append, offsets.append
    try:
        with gc_paused():
            while node < len(states):
                state = states[node]
                ready = runnable(program, state)
                successors = [step(program, state, tid) for tid in ready]
                found = [lookup(successor) for successor in successors]
                if len(states) + found.count(None) > max_states:
                    # A node is expanded whole or not at all: with some of its
                    # edges missing, its probability would be split too few ways.
                    stopped = LIMIT
                    break
                for successor, target in zip(successors, found):
                    if target is None:
                        successor = _shared_parts(successor, parts)
                        target = len(states)
                        index[successor] = target
                        add_state(successor)
                        add_parent(node)
                    add_target(target)
                if len(index) < len(states) or len(set(found)) < len(found) - found.count(None):
                    raise RuntimeError(f"schedsim bug: two threads step to one state from state {node}")
                movers.extend(ready)
                add_offset(len(targets))
                node += 1
                if progress is not None and node % PROGRESS_EVERY == 0:
                    progress(len(states), len(targets), time.perf_counter() - started)
    except KeyboardInterrupt:
        stopped = INTERRUPTED
        del offsets[node + 1:]   # the node being expanded when it came stays unexpanded
        del targets[offsets[-1]:]
        del movers[offsets[-1]:]
    offsets.extend([len(targets)] * (len(states) - node))
    return Exploration(program, states, index, parents, offsets, targets, movers, node, stopped,
                       time.perf_counter() - started)


def _shared_parts(state: State, parts: dict) -> State:
    """The state rebuilt from parts already stored, where equal ones exist.

    A thread's (pc, locals) and the shared values recur across many states;
    storing each distinct one once saves about a fifth of the memory.
    """
    threads = tuple([parts.setdefault(thread, thread) for thread in state.threads])
    return state._replace(threads=threads, shared=parts.setdefault(state.shared, state.shared))


def moves(exploration: Exploration, node: int) -> list[tuple[int, int]]:
    """(thread, successor node) for each step out of a node, in scenario order; none for the frontier."""
    begin, end = exploration.offsets[node], exploration.offsets[node + 1]
    return list(zip(exploration.movers[begin:end], exploration.targets[begin:end]))


def edge_thread(exploration: Exploration, source: int, target: int) -> int:
    """The thread whose step leads from node `source` to node `target`."""
    for tid, successor in moves(exploration, source):
        if successor == target:
            return tid
    raise ValueError(f"no step leads from node {source} to node {target}")


def path_to(exploration: Exploration, node: int) -> list[int]:
    """A shortest path of nodes from the initial state to `node`."""
    path = [node]
    while exploration.parents[path[-1]] >= 0:
        path.append(exploration.parents[path[-1]])
    path.reverse()
    return path


def schedule_to(exploration: Exploration, node: int) -> tuple[str, ...]:
    """A shortest schedule (thread names) from the initial state to `node`."""
    threads = exploration.program.threads
    path = path_to(exploration, node)
    return tuple(threads[edge_thread(exploration, a, b)].name for a, b in zip(path, path[1:]))
