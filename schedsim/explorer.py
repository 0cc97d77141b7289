"""Stage 4: exhaustive exploration of every interleaving into a state graph.

Breadth-first from the initial state, each state is expanded once by calling
`semantics.step` for every runnable thread in scenario order; a state reached
twice is one node. Nodes of the `networkx.DiGraph` are numbered in BFS order
(0 is the initial state; `states[n]` is node n's State), because integer
nodes hash once per lookup where nested state tuples would rehash on every
graph operation. Edges carry no attributes, to keep a million states
affordable: a node's successors are stored in the order of its runnable
threads, and no two threads step to the same state, so `moves` pairs them
up again. The BFS parent of every node is kept, which gives a shortest
schedule to any state.
"""
from __future__ import annotations

import gc
import time
from array import array
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import networkx as nx

from .limits import DEFAULT_BOUNDS
from .program import Program
from .semantics import State, initial_state, runnable, step

PROGRESS_EVERY = 20_000

LIMIT, INTERRUPTED = "limit", "interrupted"

Progress = Callable[[int, int, float], None]  # (states, transitions, seconds)


class _NoData(dict):
    """The one attribute dict shared by every node and edge of an exploration graph.

    networkx gives each node and each edge a dict of its own; at two and a
    half edges a state that is about 200 bytes a state for dicts that stay
    empty. This one stays empty: setting anything on it is an error, so a
    graph that needs labels is built by `graph_export.labelled_graph`.
    """

    def _refuse(self, *args: object, **kwargs: object) -> None:
        if args and args[-1] or kwargs:
            raise TypeError("exploration graphs carry no attributes; use graph_export.labelled_graph")

    update = __setitem__ = setdefault = _refuse


_NO_DATA = _NoData()


class StateGraph(nx.DiGraph):
    """A DiGraph whose nodes and edges share one empty attribute dict (see _NoData)."""

    node_attr_dict_factory = edge_attr_dict_factory = staticmethod(lambda: _NO_DATA)


@dataclass
class Exploration:
    program: Program
    graph: nx.DiGraph           # nodes 0..n-1 in BFS order
    states: list[State]         # states[node]
    index: dict[State, int]     # node of a state
    parents: array              # BFS parent of each node; -1 for the initial one
    expanded: int               # nodes 0..expanded-1 were expanded; the rest is the frontier
    stopped: str | None = None  # None when complete, else LIMIT or INTERRUPTED

    @property
    def complete(self) -> bool:
        return self.stopped is None

    def is_frontier(self, node: int) -> bool:
        """True for a state that was found but never expanded."""
        return node >= self.expanded


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
    graph = StateGraph()
    graph.add_node(0)
    states = [initial]
    index = {initial: 0}
    parents = array("q", [-1])
    parts: dict = {}
    stopped = None
    node = 0
    add_edge, add_state, add_parent, lookup = graph.add_edge, states.append, parents.append, index.get
    try:
        with gc_paused():
            while node < len(states):
                state = states[node]
                ready = runnable(program, state)
                successors = [step(program, state, tid) for tid in ready]
                targets = [lookup(successor) for successor in successors]
                if len(states) + targets.count(None) > max_states:
                    # A node is expanded whole or not at all: with some of its
                    # edges missing, its probability would be split too few ways.
                    stopped = LIMIT
                    break
                for successor, target in zip(successors, targets):
                    if target is None:
                        successor = _shared_parts(successor, parts)
                        target = len(states)
                        index[successor] = target
                        add_state(successor)
                        add_parent(node)
                    add_edge(node, target)
                if len(ready) > 1 and len(graph.adj[node]) != len(ready):
                    raise RuntimeError(f"schedsim bug: two threads step to one state from state {node}")
                node += 1
                if progress is not None and node % PROGRESS_EVERY == 0:
                    progress(len(states), graph.number_of_edges(), time.perf_counter() - started)
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    return Exploration(program, graph, states, index, parents, node, stopped)


def _shared_parts(state: State, parts: dict) -> State:
    """The state rebuilt from parts already stored, where equal ones exist.

    A thread's (pc, locals) and the shared values recur across many states;
    storing each distinct one once saves about a fifth of the memory.
    """
    threads = tuple([parts.setdefault(thread, thread) for thread in state.threads])
    return state._replace(threads=threads, shared=parts.setdefault(state.shared, state.shared))


def moves(exploration: Exploration, node: int) -> list[tuple[int, int]]:
    """(thread, successor node) for each step out of an expanded node, in scenario order."""
    return list(zip(runnable(exploration.program, exploration.states[node]), exploration.graph.adj[node]))


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
