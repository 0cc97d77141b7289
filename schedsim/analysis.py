"""Stage 5: what the state graph says, computed on the graph itself.

Interleavings are paths from the initial state to a state with no step left.
They are counted by dynamic programming in topological order (exact Python
ints, never listing paths); the chance of each end under a scheduler that
picks uniformly among runnable threads flows along the same order as exact
fractions. Where the graph has cycles (a `while` that can spin), each
strongly connected component is solved exactly as an absorbing Markov chain:
the counts through it are infinite, the probabilities still exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx

from . import program as p
from .explorer import Exploration, gc_paused, moves, schedule_to
from .values import Exact
from .semantics import DEADLOCK, ERROR, FINISHED, VIOLATION, State, current_instruction, status, waiting_for


class Infinite:
    """The count of interleavings through a cycle."""

    def __repr__(self) -> str:
        return "infinite"


INFINITE = Infinite()
STATUS_ORDER = {FINISHED: 0, VIOLATION: 1, DEADLOCK: 2, ERROR: 3}


@dataclass(frozen=True)
class Outcome:
    """One way a run can end, with how many interleavings end that way."""

    status: str
    final: tuple                 # the shared variables at the end
    output: tuple[str, ...]
    message: str | None          # the failed check, the error, or who waits for what
    interleavings: int | Infinite
    probability: Fraction
    schedule: tuple[str, ...]    # a shortest schedule that ends this way


@dataclass(frozen=True)
class Loop:
    """A `while` loop that can spin: its test lies on a cycle of the graph."""

    thread: str
    line: int
    text: str


@dataclass
class Analysis:
    outcomes: list[Outcome]
    interleavings: int | Infinite
    loops: list[Loop] = field(default_factory=list)
    never_ends: Fraction = Fraction(0)   # chance that a run spins forever
    unexplored: Fraction = Fraction(0)   # chance of reaching a state left unexpanded
    deadlock_states: int = 0

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status != FINISHED]


def analyse(exploration: Exploration) -> Analysis:
    """Outcomes, exact counts and probabilities, and spinning loops of a state graph."""
    with gc_paused():
        return _analyse(exploration)


def _analyse(exploration: Exploration) -> Analysis:
    graph = exploration.graph
    loops: list[Loop] = []
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        order = None
    if order is not None:
        flow = _Flow(exploration, _exact_unit(graph, order))
        flow.through_dag(order)
    else:
        flow = _Flow(exploration, Fraction(1))
        condensed = nx.condensation(graph)
        for component in nx.topological_sort(condensed):
            members = condensed.nodes[component]["members"]
            if len(members) == 1 and not _has_self_loop(graph, next(iter(members))):
                flow.through_node(next(iter(members)))
            else:
                flow.through_cycle(members)
                loops.extend(_spinning_loops(exploration, members))
    outcomes = _outcomes(exploration, flow)
    total = total_count(outcome.interleavings for outcome in outcomes)
    if flow.never_ends or order is None:
        total = INFINITE
    deadlock_states = sum(1 for node in flow.ends if status(exploration.program, exploration.states[node]) == DEADLOCK)
    return Analysis(outcomes, total, sorted(set(loops), key=lambda l: (l.thread, l.line)),
                    flow.probability(flow.never_ends), flow.probability(flow.unexplored), deadlock_states)


def _exact_unit(graph: nx.DiGraph, order: list[int]) -> int:
    """L**H, where L is the lcm of the out-degrees and H the longest path.

    Starting with this much mass, every share mass // outdegree is exact: a
    path's share keeps a factor L for every step it has left. Integers are
    several times faster than Fractions, and only the ends become fractions.
    """
    adj = graph.adj
    depth = [0] * len(order)
    degrees = {1}
    for node in order:
        successors = adj[node]
        if successors:
            degrees.add(len(successors))
        below = depth[node] + 1
        for successor in successors:
            if depth[successor] < below:
                depth[successor] = below
    return math.lcm(*degrees) ** max(depth)


def _has_self_loop(graph: nx.DiGraph, node: int) -> bool:
    return graph.has_edge(node, node)


def _add(a: Any, b: Any) -> Any:
    if a is INFINITE or b is INFINITE:
        return INFINITE
    return a + b


def total_count(counts: Any) -> int | Infinite:
    """The sum of interleaving counts, infinite if any one is."""
    total: int | Infinite = 0
    for count in counts:
        total = _add(total, count)
    return total


class _Flow:
    """Path counts and probability mass, pushed from the initial state to the ends.

    Mass is measured in units of `unit` (the initial state's mass): an int
    that makes every division exact on a DAG, or Fraction(1) with cycles.
    """

    def __init__(self, exploration: Exploration, unit: int | Fraction):
        size = len(exploration.states)
        self.graph = exploration.graph
        self.exploration = exploration
        self.unit = unit
        self.counts: list[Any] = [0] * size
        self.mass: list[Any] = [0] * size
        self.counts[0], self.mass[0] = 1, unit
        self.ends: dict[int, tuple[Any, Any]] = {}
        self.never_ends: Any = 0
        self.unexplored: Any = 0

    def probability(self, mass: Any) -> Fraction:
        return Fraction(mass) / self.unit

    def end(self, node: int) -> None:
        exploration = self.exploration
        if exploration.is_frontier(node) and status(exploration.program, exploration.states[node]) is None:
            self.unexplored += self.mass[node]
        else:
            self.ends[node] = (self.counts[node], self.mass[node])

    def through_dag(self, order: list[int]) -> None:
        """The whole graph at once, in topological order, in exact integers."""
        adj, counts, mass = self.graph.adj, self.counts, self.mass
        for node in order:
            successors = adj[node]
            if not successors:
                self.end(node)
                continue
            count, share = counts[node], mass[node] // len(successors)
            for successor in successors:
                counts[successor] += count
                mass[successor] += share

    def through_node(self, node: int) -> None:
        successors = self.graph.adj[node]
        if not successors:
            self.end(node)
            return
        share = self.mass[node] / len(successors)
        for successor in successors:
            self._arrive(successor, self.counts[node], share)

    def _arrive(self, node: int, count: Any, mass: Any) -> None:
        self.counts[node] = _add(self.counts[node], count)
        self.mass[node] += mass

    def through_cycle(self, members: set) -> None:
        """Every path into a cycle can go round it any number of times."""
        inflow = {node: Fraction(self.mass[node]) for node in members}
        visits = _expected_visits(self.graph, members, inflow)
        leaves = False
        for node in members:
            successors = self.graph.adj[node]
            for successor in successors:
                if successor not in members:
                    leaves = True
                    self._arrive(successor, INFINITE, visits[node] / len(successors))
        if not leaves:
            self.never_ends += sum(inflow.values(), Fraction(0))


def _expected_visits(graph: nx.DiGraph, members: set, inflow: dict) -> dict:
    """Solve visits[v] = inflow[v] + sum(visits[u] / outdegree(u)) over edges u->v inside.

    Exact Gauss-Jordan elimination over sparse rows of fractions. A closed
    component (no edge leaves it) has no finite solution and is skipped.
    """
    nodes = list(members)  # any order: the arithmetic is exact
    index = {node: i for i, node in enumerate(nodes)}
    if not any(successor not in members for node in nodes for successor in graph.adj[node]):
        return {node: Fraction(0) for node in nodes}
    rows: list[dict[int, Fraction]] = [{i: Fraction(1)} for i in range(len(nodes))]
    rhs = [inflow[node] for node in nodes]
    for node in nodes:
        successors = graph.adj[node]
        for successor in successors:
            if successor in index:
                row = rows[index[successor]]
                column = index[node]
                row[column] = row.get(column, Fraction(0)) - Fraction(1, len(successors))
    for pivot in range(len(nodes)):
        pivot_row = rows[pivot]
        factor = pivot_row[pivot]
        for column in pivot_row:
            pivot_row[column] /= factor
        rhs[pivot] /= factor
        for other in range(len(nodes)):
            if other == pivot:
                continue
            weight = rows[other].get(pivot)
            if not weight:
                continue
            for column, value in pivot_row.items():
                rows[other][column] = rows[other].get(column, Fraction(0)) - weight * value
            rhs[other] -= weight * rhs[pivot]
    return {node: rhs[index[node]] for node in nodes}


def _spinning_loops(exploration: Exploration, members: set) -> list[Loop]:
    """The `while` tests that some step inside the cycle runs."""
    program = exploration.program
    loops = []
    for member in members:
        for tid, target in moves(exploration, member):
            instr = current_instruction(program, exploration.states[member], tid)
            if isinstance(instr, p.Test) and instr.loop and target in members:
                loops.append(Loop(program.threads[tid].name, instr.line, instr.text))
    return loops


def _outcomes(exploration: Exploration, flow: _Flow) -> list[Outcome]:
    groups: dict[tuple, list] = {}  # key -> [nearest end node, count, mass]
    for node in sorted(flow.ends):  # BFS order: the first found is the nearest
        key = outcome_key(exploration.program, exploration.states[node])
        count, mass = flow.ends[node]
        group = groups.setdefault(key, [node, 0, 0])
        group[1] = _add(group[1], count)
        group[2] += mass
    outcomes = []
    for position, ((kind, final, output, message), (nearest, count, mass)) in enumerate(groups.items()):
        probability = flow.probability(mass)
        outcome = Outcome(kind, final, output, message, count, probability, schedule_to(exploration, nearest))
        outcomes.append((STATUS_ORDER[kind], -probability, position, outcome))
    return [outcome for *_, outcome in sorted(outcomes, key=lambda item: item[:3])]


def outcome_key(program: p.Program, state: State) -> tuple:
    """(status, shared values, output, message): ends with equal keys are one outcome.

    The message is the failed check or the error, or for a deadlock what
    each blocked thread waits for. The sampler groups its runs by this too.
    """
    kind = status(program, state)
    if state.fault is not None:
        message = state.fault[1]
    elif kind == DEADLOCK:
        message = "; ".join(
            f"{thread.name} {waiting_for(program, state, tid)}"
            for tid, thread in enumerate(program.threads) if state.threads[tid][0] >= 0
        )
    else:
        message = None
    return Exact((kind, state.shared, state.output, message))  # 0, False and 0.0 are three outcomes
