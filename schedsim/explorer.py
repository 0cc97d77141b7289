"""Stage 4: exhaustive exploration of every interleaving into a state graph.

Breadth-first from the initial state, each state is expanded once by calling
`semantics.step` for every runnable thread in scenario order; a state reached
twice is one node. Edges carry no attributes, to keep a million states
affordable: the thread of an edge is recovered by `edge_thread`. The BFS
parent of each state is kept, which gives a shortest schedule to any state.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import networkx as nx

from .program import Program
from .semantics import State, initial_state, runnable, step

DEFAULT_MAX_STATES = 1_000_000
PROGRESS_EVERY = 20_000

LIMIT, INTERRUPTED = "limit", "interrupted"

Progress = Callable[[int, int, float], None]  # (states, transitions, seconds)


@dataclass
class Exploration:
    program: Program
    graph: nx.DiGraph
    initial: State
    parents: dict[State, State | None]  # the BFS parent of every state (None for the initial one)
    frontier: tuple[State, ...] = ()    # states found but not expanded when exploration stopped
    stopped: str | None = None          # None when complete, else LIMIT or INTERRUPTED
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.stopped is None


def explore(program: Program, max_states: int = DEFAULT_MAX_STATES, progress: Progress | None = None) -> Exploration:
    """Build the whole state graph, or as much as `max_states` allows.

    Ctrl-C (KeyboardInterrupt) stops the search and returns what was found,
    so a partial report can still be printed.
    """
    started = time.perf_counter()
    initial = initial_state(program)
    graph = nx.DiGraph()
    graph.add_node(initial)
    parents: dict[State, State | None] = {initial: None}
    queue = deque([initial])
    stopped = None
    expanded = 0
    try:
        while queue:
            if len(parents) >= max_states:
                stopped = LIMIT
                break
            state = queue[0]
            for tid in runnable(program, state):
                successor = step(program, state, tid)
                if successor not in parents:
                    parents[successor] = state
                    queue.append(successor)
                graph.add_edge(state, successor)
            queue.popleft()
            expanded += 1
            if progress is not None and expanded % PROGRESS_EVERY == 0:
                progress(len(parents), graph.number_of_edges(), time.perf_counter() - started)
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    return Exploration(program, graph, initial, parents, tuple(queue), stopped, time.perf_counter() - started)


def edge_thread(program: Program, source: State, target: State) -> int:
    """The thread whose step leads from `source` to `target`."""
    for tid in runnable(program, source):
        if step(program, source, tid) == target:
            return tid
    raise ValueError("no step leads from the source state to the target state")


def path_to(exploration: Exploration, state: State) -> list[State]:
    """A shortest path of states from the initial state to `state`."""
    path = [state]
    while (parent := exploration.parents[path[-1]]) is not None:
        path.append(parent)
    path.reverse()
    return path


def schedule_to(exploration: Exploration, state: State) -> tuple[str, ...]:
    """A shortest schedule (thread names) from the initial state to `state`."""
    program = exploration.program
    path = path_to(exploration, state)
    return tuple(program.threads[edge_thread(program, a, b)].name for a, b in zip(path, path[1:]))
