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
from ..limits import DEFAULT_BOUNDS
from .program import Program, Start, Unset
from .semantics import State, initial_state, runnable, step
from .symmetry import Canon, Frame, Symmetry, erased
from . import symmetry as symmetries
from .values import EXACT_TYPES, all_exact, exact_key

if TYPE_CHECKING:
    import networkx as nx

PROGRESS_EVERY = 20_000
NODE = "i"  # a node number: 4 bytes, as Bounds.max_states is far below 2**31 (edges are counted in 8 bytes)

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
    symmetry: Symmetry | None = None  # the classes of interchangeable threads, when states are representatives
    mappings: array | None = None     # per edge, the renaming into its target's representative (symmetry)
    renamings: list = field(default_factory=lambda: [None])  # mappings[edge] indexes this; 0: none
    unreduced_why: str | None = None  # why alike threads were explored one by one, where they were

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

    def __init__(self, program: Program, symmetry: Symmetry | None = None) -> None:
        # Interchangeable threads' parts trade places, so they share one table (the class's first thread's).
        places = list(range(len(program.threads)))
        for members in symmetry.classes if symmetry else ():
            for tid in members:
                places[tid] = members[0]
        known = [set() for _ in range(len(program.threads) + 1)]  # last: shared
        numbers: list[dict[int, type]] = [{} for _ in known]
        self.signatures = [known[place] for place in places] + [known[-1]]
        self.numbers = [numbers[place] for place in places] + [numbers[-1]]
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


def explore(program: Program, max_states: int = DEFAULT_BOUNDS.max_states, progress: Progress | None = None,
            symmetry: bool = True) -> Exploration:
    """Build the whole state graph, or as much as `max_states` allows.

    With `symmetry` (the default), threads that are interchangeable
    (`symmetry.find`) are explored as orbits: each node is a representative,
    and counts, probabilities and schedules come out as on the full graph.
    Ctrl-C stops the search between two states and returns what was found,
    so a partial report can still be printed.
    """
    max_states = min(max_states, 2**31 - 1)  # node numbers are 4-byte ints (NODE)
    classes = symmetries.find(program)
    if classes is not None and not symmetry:
        unreduced = _explore(program, max_states, progress, None)
        unreduced.unreduced_why = "symmetry reduction was turned off"
        return unreduced
    if classes is not None:
        reduced = _explore(program, max_states, progress, classes)
        if reduced.stopped == INTERRUPTED or not _has_cycle(reduced):
            return reduced
        # Starvation follows each thread round a cycle, and a cycle of representatives may
        # hand a thread's part to its twin on the way round: cyclic graphs are explored in full.
        unreduced = _explore(program, max_states, progress, None)
        unreduced.unreduced_why = "its state graph has cycles, where starvation needs every thread's identity"
        return unreduced
    return _explore(program, max_states, progress, None)


def _explore(program: Program, max_states: int, progress: Progress | None, classes: Symmetry | None) -> Exploration:
    started = time.perf_counter()
    initial = initial_state(program)
    canon = None
    if classes is not None:
        initial = erased(program, classes, initial)
        canon = Canon(program, classes, _same)
        initial, mapping = canon(initial)
        if mapping is not None:
            raise RuntimeError("schedsim bug: the initial state is not its own representative")
    states = [initial]
    index = StateIndex()
    watch = _TypeWatch(program, classes)
    # A queue's items are any values, so its position in the primitives is no one variable.
    if watch.fits_state(initial) and not any(prim.kind == "Queue" for prim in program.primitives):
        index.nodes[initial] = 0
    else:
        _go_exact(index, states, canon)
    parents = array(NODE, [-1])
    offsets, targets, movers = array("q", [0]), array(NODE), array("h")
    mappings = array("h") if canon is not None else None
    renamings: list = [None]
    renaming_ids: dict = {None: 0}
    # Fast: one dict of parts per thread (a local slot is one variable only
    # within its thread) and one for the shared values. Exact: one, by exact keys.
    thread_parts: list[dict] = [{} for _ in program.threads]
    if classes is not None:  # alike threads trade places: one dict per class
        for members in classes.classes:
            for tid in members[1:]:
                thread_parts[tid] = thread_parts[members[0]]
    shared_parts: dict = {}
    parts: dict = {}
    # the initial state's parts are interned too: equal parts are one object (symmetry.orbit_size)
    nothing = State((None,) * len(initial.threads), None, (), ())  # no part of it is stored yet
    states[0] = _exact_parts(initial, state_key(initial), parts) if index.exact else _shared_parts(
        initial, nothing, thread_parts, shared_parts)
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
                if not exact and not watch.fits_steps(state, successors, ready):
                    _go_exact(index, states, canon)
                    exact, nodes = True, index.nodes
                    lookup = nodes.get
                if canon is not None:
                    canon.begin(state)
                    reduced = [canon.successor(successor, tid) for successor, tid in zip(successors, ready)]
                    successors = [successor for successor, _ in reduced]
                    mappings.extend([_renaming_id(mapping, renaming_ids, renamings) for _, mapping in reduced])
                keys = [state_key(successor) for successor in successors] if exact else successors
                found = [lookup(key) for key in keys]
                if len(states) + found.count(None) > max_states:
                    # A node is expanded whole or not at all: with some of its
                    # edges missing, its probability would be split too few ways.
                    stopped = LIMIT
                    if mappings is not None:
                        del mappings[len(targets):]
                    break
                for successor, key, target in zip(successors, keys, found):
                    if target is None and canon is not None:
                        target = lookup(key)  # two threads may step into one orbit
                    if target is None:
                        if exact:
                            successor = _exact_parts(successor, key, parts)
                        else:
                            successor = key = _shared_parts(successor, state, thread_parts, shared_parts)
                        target = len(states)
                        nodes[key] = target
                        add_state(successor)
                        add_parent(node)
                    add_target(target)
                if canon is None and (len(nodes) < len(states) or len(set(found)) < len(found) - found.count(None)):
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
        if mappings is not None:
            del mappings[offsets[-1]:]
    offsets.extend([len(targets)] * (len(states) - node))
    return Exploration(program, states, index, parents, offsets, targets, movers, node, stopped,
                       time.perf_counter() - started, classes, mappings, renamings)


def _has_cycle(exploration: Exploration) -> bool:
    """Whether some run can come back to a state (Kahn's algorithm on the flat arrays).

    Cheap first: with nodes in BFS order a cycle must step back somewhere."""
    offsets, targets = exploration.offsets, exploration.targets
    if all(targets[edge] > node for node in range(exploration.expanded)
           for edge in range(offsets[node], offsets[node + 1])):
        return False
    incoming = array("q", [0]) * len(exploration.states)
    for target in targets:
        incoming[target] += 1
    ready = [node for node in range(len(incoming)) if not incoming[node]]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for edge in range(offsets[node], offsets[node + 1]):
            target = targets[edge]
            incoming[target] -= 1
            if not incoming[target]:
                ready.append(target)
    return removed < len(incoming)


def _same(part: tuple) -> tuple:
    return part


def _go_exact(index: "StateIndex", states: list[State], canon: Canon | None) -> None:
    """Key the index, and the canonical order's numbers, by exact keys from now on."""
    index.go_exact(states)
    if canon is not None:
        canon.numbers = {_thread_key(part): number for part, number in canon.numbers.items()}
        canon.key = _thread_key


def _renaming_id(mapping: tuple[int, ...] | None, ids: dict, table: list) -> int:
    """The number of a renaming in the exploration's table, added on first sight (0 is none)."""
    number = ids.get(mapping)
    if number is None:
        number = ids[mapping] = len(table)
        table.append(mapping)
    return number


def _shared_parts(state: State, parent: State, thread_parts: list[dict], shared_parts: dict) -> State:
    """The state rebuilt from parts already stored, where equal ones exist.

    A thread's (pc, locals) and the shared values recur across many states;
    storing each distinct one once saves about a fifth of the memory. Each
    thread has its own parts: thread A's local `False` must not stand in
    for thread B's `0` (within one thread, `_TypeWatch` keeps `==` exact).
    A step leaves the other threads' parts as the very objects of the state
    it left (`parent`, stored already), so only what it changed is looked up.
    """
    threads = tuple([thread if thread is known else parts.setdefault(thread, thread)
                     for parts, thread, known in zip(thread_parts, state.threads, parent.threads)])
    shared = state.shared if state.shared is parent.shared else shared_parts.setdefault(state.shared, state.shared)
    return State(threads, shared, state.prims, state.output, state.fault)


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
    """The thread whose step leads from node `source` to node `target` (the first, if several do)."""
    for tid, successor in moves(exploration, source):
        if successor == target:
            return tid
    raise ValueError(f"no step leads from node {source} to node {target}")


def edge_of(exploration: Exploration, node: int, tid: int) -> int:
    """The edge that thread `tid` takes out of `node`."""
    begin, end = exploration.offsets[node], exploration.offsets[node + 1]
    return begin + exploration.movers[begin:end].index(tid)


def path_to(exploration: Exploration, node: int) -> list[int]:
    """A shortest path of nodes from the initial state to `node`."""
    path = [node]
    while exploration.parents[path[-1]] >= 0:
        path.append(exploration.parents[path[-1]])
    path.reverse()
    return path


def threads_to(exploration: Exploration, node: int) -> list[int]:
    """The threads (as each node numbers them) that take the shortest path to `node`."""
    path = path_to(exploration, node)
    return [edge_thread(exploration, a, b) for a, b in zip(path, path[1:])]


def follow(exploration: Exploration, tids: list[int], start: int = 0, frame: Frame | None = None) -> tuple[list[int], Frame]:
    """The real threads of a run given as each node numbers its threads, from `start`, and the frame at its end.

    Without symmetry the two numberings are one. With it, each edge's
    renaming says which real thread each thread of the next node is.
    """
    frame = frame or Frame(len(exploration.program.threads))
    if exploration.mappings is None:
        return list(tids), frame
    real, node = [], start
    for tid in tids:
        edge = edge_of(exploration, node, tid)
        real.append(frame.real[tid])
        frame.step(exploration.renamings[exploration.mappings[edge]])
        node = exploration.targets[edge]
    return real, frame


def real_run(exploration: Exploration, node: int) -> tuple[list[State], list[int], Frame]:
    """The shortest run to `node` in real terms: its states, the threads that step, and the frame at its end."""
    path = path_to(exploration, node)
    tids = [edge_thread(exploration, a, b) for a, b in zip(path, path[1:])]
    if exploration.mappings is None:
        return [exploration.states[n] for n in path], tids, Frame(len(exploration.program.threads))
    program, frame = exploration.program, Frame(len(exploration.program.threads))
    states, real = [frame.state(program, exploration.states[0])], []
    for source, tid in zip(path, tids):
        step_real, frame = follow(exploration, [tid], source, frame)
        real += step_real
        states.append(frame.state(program, exploration.states[exploration.targets[edge_of(exploration, source, tid)]]))
    return states, real, frame


def frame_at(exploration: Exploration, node: int) -> Frame:
    """Which real thread each of `node`'s threads is at the end of the shortest run to it."""
    return follow(exploration, threads_to(exploration, node))[1]


def real_state(exploration: Exploration, node: int) -> State:
    """The real state that the shortest run to `node` ends in (the node's own state without symmetry)."""
    state = exploration.states[node]
    if exploration.mappings is None:
        return state
    return frame_at(exploration, node).state(exploration.program, state)


def names_at(exploration: Exploration, node: int) -> tuple[str, ...]:
    """The real name of each of `node`'s threads, on the shortest run to it."""
    threads = exploration.program.threads
    if exploration.mappings is None:
        return exploration.program.thread_names
    return tuple(threads[real].name for real in frame_at(exploration, node).real)


def schedule_to(exploration: Exploration, node: int) -> tuple[str, ...]:
    """A shortest schedule (thread names) from the initial state to `node`."""
    threads = exploration.program.threads
    return tuple(threads[tid].name for tid in follow(exploration, threads_to(exploration, node))[0])


def full_size(exploration: Exploration) -> tuple[int, int]:
    """(states, transitions) of the full graph: each representative stands for its orbit,
    every state of which has as many steps as it."""
    if exploration.symmetry is None:
        return len(exploration.states), exploration.transitions
    program, symmetry, offsets = exploration.program, exploration.symmetry, exploration.offsets
    states = transitions = 0
    for node, state in enumerate(exploration.states):
        size = symmetries.orbit_size(program, symmetry, state)
        states += size
        transitions += size * (offsets[node + 1] - offsets[node])
    return states, transitions
