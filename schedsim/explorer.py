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
from itertools import chain
from operator import itemgetter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable

from .interrupts import deferred
from .limits import DEFAULT_BOUNDS
from .program import Program, Start, Unset
from .semantics import State, initial_state, runnable, step
from .values import EXACT_TYPES, all_exact, exact_key

if TYPE_CHECKING:
    import networkx as nx

PROGRESS_EVERY = 20_000

LIMIT, INTERRUPTED = "limit", "interrupted"

Progress = Callable[[int, int, float], None]  # (states, transitions, seconds)


@dataclass
class Exploration:
    program: Program
    states: list[State]         # states[node], nodes in BFS order
    index: "StateIndex"         # node of a state
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
    def graph(self) -> "nx.DiGraph":
        """The state graph as a networkx DiGraph: nodes 0..n-1, one bare edge per step.

        Built on demand (graph export, the Python API): no analysis needs it,
        and networkx takes a sixth of a second to load.
        """
        import networkx as nx

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


class StateIndex:
    """The node of each state, where two states are one only if every value
    in them has the same type and value (`values.exact_key`).

    Python's `==` says `False == 0 == 0.0`, and NaN is unequal to itself, so
    a dict of States would merge runs that print differently and split runs
    that are the same. Building an exact key for every successor would cost
    a walk over every value, so the index starts keyed by the States
    themselves, which is exact while `_TypeWatch` finds every variable
    holding one kind of number. The first state where that fails re-keys it
    once by exact keys (`state_key`), and it stays exact from then on.
    """

    def __init__(self) -> None:
        self.nodes: dict = {}
        self.exact = False

    def key(self, state: State):
        return state_key(state) if self.exact else state

    def __getitem__(self, state: State) -> int:
        return self.nodes[self.key(state)]

    def get(self, state: State, default: int | None = None) -> int | None:
        return self.nodes.get(self.key(state), default)

    def __contains__(self, state: State) -> bool:
        return self.key(state) in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def go_exact(self, states: list[State]) -> None:
        """Re-key every state found so far by its exact key."""
        self.exact = True
        self.nodes = {state_key(state): node for node, state in enumerate(states)}


def state_key(state: State) -> tuple:
    """`values.exact_key` of a state, quicker: plain parts (only ints,
    strings, None) are their own keys, and output and fault are strings."""
    threads = state.threads
    if not EXACT_TYPES.issuperset(map(type, chain.from_iterable(map(_LOCALS, threads)))):
        threads = tuple([_thread_key(thread) for thread in threads])
    shared, prims = state.shared, state.prims
    return (threads, shared if all_exact(shared) else exact_key(shared),
            prims if all_exact(prims) else exact_key(prims), state.output, state.fault)


_LOCALS = itemgetter(1)


def _thread_key(thread: tuple) -> tuple:
    """A thread's (pc, locals) as the exact key of its locals: itself when they are plain."""
    return thread if all_exact(thread[1]) else (thread[0], exact_key(thread[1]))


# Types that never equal a value of another type; a variable may hold any mix
# of them and of one of _NUMBERS.
_LONERS = frozenset({str, type(None), Unset})
_NUMBERS = frozenset({int, bool})


class _TypeWatch:
    """Whether `==` is still exact on every state seen: each variable (a
    shared one, or one local slot of one thread) has held at most one of
    int and bool, and nothing equal to another type's value (no float,
    complex or list). A typical scenario, an int counter and a bool flag,
    stays so; `x = 1` in one run and `x = True` in another does not.

    The types of a variable's values are checked once per distinct
    signature (the tuple of its values' types), so the cost for each step
    is one tuple of types and one set lookup.
    """

    def __init__(self, program: Program) -> None:
        self.signatures: list[set] = [set() for _ in range(len(program.threads) + 1)]  # last: shared
        self.numbers: list[dict[int, type]] = [{} for _ in self.signatures]
        self.starters = frozenset(tid for tid, thread in enumerate(program.threads)
                                  if any(isinstance(instr, Start) for instr in thread.code))

    def fits(self, place: int, values: tuple) -> bool:
        """Whether the values of one thread's locals (place = thread) or of the shared ones (place = -1) fit."""
        signature = tuple(map(type, values))
        known = self.signatures[place]
        if signature in known:
            return True
        numbers = self.numbers[place]
        for position, kind in enumerate(signature):
            if kind in _LONERS:
                continue
            if kind not in _NUMBERS or numbers.setdefault(position, kind) is not kind:
                return False
        known.add(signature)
        return True

    def fits_state(self, state: State) -> bool:
        return self.fits(-1, state.shared) and all(self.fits(tid, loc) for tid, (_, loc) in enumerate(state.threads))

    def fits_steps(self, state: State, successors: list[State], ready: tuple[int, ...]) -> bool:
        """`fits_state` of every successor of a fitting state, looking only at what a
        step changed: its thread's locals and the shared values (after a step
        that can start a thread: everything). This runs for every transition,
        so known signatures are looked up inline and the state's parts are
        read by position."""
        if self.starters and not self.starters.isdisjoint(ready):
            return all(map(self.fits_state, successors))
        threads, shared, signatures = state[0], state[1], self.signatures
        shared_known = signatures[-1]
        for successor, tid in zip(successors, ready):
            loc = successor[0][tid][1]
            if loc is not threads[tid][1] and tuple(map(type, loc)) not in signatures[tid] and not self.fits(tid, loc):
                return False
            values = successor[1]
            if values is not shared and tuple(map(type, values)) not in shared_known and not self.fits(-1, values):
                return False
        return True


def explore(program: Program, max_states: int = DEFAULT_BOUNDS.max_states, progress: Progress | None = None) -> Exploration:
    """Build the whole state graph, or as much as `max_states` allows.

    Ctrl-C stops the search between two states and returns what was found,
    so a partial report can still be printed.
    """
    started = time.perf_counter()
    initial = initial_state(program)
    states = [initial]
    index = StateIndex()
    watch = _TypeWatch(program)
    # A queue's items are any values, so its position in the primitives is no one variable.
    if watch.fits_state(initial) and not any(prim.kind == "Queue" for prim in program.primitives):
        index.nodes[initial] = 0
    else:
        index.go_exact(states)
    parents = array("q", [-1])
    offsets, targets, movers = array("q", [0]), array("q"), array("h")
    # Fast: one dict of parts per thread (a local slot is one variable only
    # within its thread) and one for the shared values. Exact: one, by exact keys.
    thread_parts: list[dict] = [{} for _ in program.threads]
    shared_parts: dict = {}
    parts: dict = {}
    stopped = None
    node = 0
    add_state, add_parent, add_target, add_offset = states.append, parents.append, targets.append, offsets.append
    exact, nodes = index.exact, index.nodes
    lookup = nodes.get
    try:
        with gc_paused(), deferred() as interrupt:
            while node < len(states):
                if interrupt.pending:
                    stopped = INTERRUPTED
                    break
                state = states[node]
                ready = runnable(program, state)
                successors = [step(program, state, tid) for tid in ready]
                if exact:
                    keys = [state_key(successor) for successor in successors]
                elif watch.fits_steps(state, successors, ready):
                    keys = successors
                else:
                    index.go_exact(states)
                    exact, nodes = True, index.nodes
                    lookup = nodes.get
                    keys = [state_key(successor) for successor in successors]
                found = [lookup(key) for key in keys]
                if len(states) + found.count(None) > max_states:
                    # A node is expanded whole or not at all: with some of its
                    # edges missing, its probability would be split too few ways.
                    stopped = LIMIT
                    break
                for successor, key, target in zip(successors, keys, found):
                    if target is None:
                        if exact:
                            successor = _exact_parts(successor, key, parts)
                        else:
                            successor = key = _shared_parts(successor, thread_parts, shared_parts)
                        target = len(states)
                        nodes[key] = target
                        add_state(successor)
                        add_parent(node)
                    add_target(target)
                if len(nodes) < len(states) or len(set(found)) < len(found) - found.count(None):
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


def _shared_parts(state: State, thread_parts: list[dict], shared_parts: dict) -> State:
    """The state rebuilt from parts already stored, where equal ones exist.

    A thread's (pc, locals) and the shared values recur across many states;
    storing each distinct one once saves about a fifth of the memory. Each
    thread has its own parts: thread A's local `False` must not stand in
    for thread B's `0` (within one thread, `_TypeWatch` keeps `==` exact).
    """
    threads = tuple([parts.setdefault(thread, thread) for parts, thread in zip(thread_parts, state.threads)])
    return state._replace(threads=threads, shared=shared_parts.setdefault(state.shared, state.shared))


def _exact_parts(state: State, key: tuple, parts: dict) -> State:
    """`_shared_parts` for an exact exploration: parts are the same only if exactly so.
    `key` is the state's `state_key`, whose first parts are its threads' and shared values' keys."""
    threads = tuple([parts.setdefault(part, thread) for part, thread in zip(key[0], state.threads)])
    return state._replace(threads=threads, shared=parts.setdefault(key[1], state.shared))


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
