"""Stage 5: what the state graph says, computed on the graph itself.

Interleavings are paths from the initial state to a state with no step left.
They are counted by dynamic programming over the graph's strongly connected
components in topological order (exact Python ints, never listing paths);
the chance of each end under a scheduler that picks uniformly among
runnable threads flows along the same order.

Without cycles every number is exact: the flow is pushed in integers (see
`_exact_unit`). With cycles (a `while` that can spin), the count through a
cycle is infinite, and the mass that enters a strongly connected component
leaves it in proportion to the expected number of visits to each of its
states, the solution of a sparse linear system. A small component on a small
graph is solved in exact fractions; any other in floating point (SuperLU,
through scipy), with its residual checked and reported. A probability is a
`Fraction` when every solve it went through was exact and a `float`
otherwise, so the report can say which numbers are exact.

A component that no step leaves traps every run that enters it. If every
thread still running there is a worker meant to run forever (its body ends
in a `while True:` that no `break` leaves) and each keeps going round, that
is an outcome of its own, "runs forever"; otherwise the run spins forever
where it could have ended, which is a failure (`never_ends`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable

from ..engine import program as p
from ..engine import symmetry
from ..engine.explorer import Exploration, gc_paused, moves, names_at, real_state, schedule_to
from ..engine.symmetry import restored
from .graphs import Components, components, height
from ..limits import DEFAULT_BOUNDS, Bounds
from ..engine.values import Exact
from ..engine.semantics import DEADLOCK, ERROR, FINISHED, VIOLATION, State, current_instruction, renamed, status, waiting_for

if TYPE_CHECKING:
    import numpy as np  # loaded only where a cycle is solved in floating point (see graphs)

RUNS_FOREVER = "runs_forever"


class Infinite:
    """The count of interleavings through a cycle."""

    def __repr__(self) -> str:
        return "infinite"


INFINITE = Infinite()
STATUS_ORDER = {FINISHED: 0, RUNS_FOREVER: 1, VIOLATION: 2, DEADLOCK: 3, ERROR: 4}
Probability = Fraction | float
StageProgress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Outcome:
    """One way a run can end, with how many interleavings end that way.

    A "runs forever" outcome does not end: its `final` and `output` are
    those of the state where its shortest schedule enters the loop that it
    then repeats. `interleavings` and `probability` are None where an
    interrupted analysis never computed them.
    """

    status: str
    final: tuple                 # the shared variables at the end
    output: tuple[str, ...]
    message: str | None          # the failed check, the error, who waits for what, or who goes round
    interleavings: int | Infinite | None
    probability: Probability | None
    schedule: tuple[str, ...]    # a shortest schedule that ends this way

    @property
    def exact(self) -> bool:
        return isinstance(self.probability, Fraction)


@dataclass(frozen=True)
class Loop:
    """A `while` loop that can spin: its test lies on a cycle of the graph."""

    thread: str
    line: int
    text: str


@dataclass
class Analysis:
    outcomes: list[Outcome]
    interleavings: int | Infinite | None
    loops: list[Loop] = field(default_factory=list)
    never_ends: Probability = Fraction(0)   # chance that a run spins forever where it could end
    unexplored: Probability = Fraction(0)   # chance of reaching a state left unexpanded
    deadlock_states: int = 0
    complete: bool = True                   # False when Ctrl-C stopped it: no counts or probabilities
    residual: float = 0.0                   # the largest relative residual of a floating-point solve
    unsolved: int = 0                       # states of the largest cycle not solved within the bounds: the
                                            # probabilities past it are None (Bounds.max_solve_iterations)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status not in (FINISHED, RUNS_FOREVER)]

    @property
    def exact(self) -> bool:
        """True when every probability is an exact fraction."""
        return all(isinstance(x, Fraction | int) for x in [self.never_ends, self.unexplored]
                   + [outcome.probability for outcome in self.outcomes])


def analyse(exploration: Exploration, bounds: Bounds = DEFAULT_BOUNDS,
            progress: StageProgress | None = None) -> Analysis:
    """Outcomes, exact counts and probabilities, and spinning loops of a state graph.

    Ctrl-C (KeyboardInterrupt) gives the outcomes reached, each with its
    shortest schedule, without counts or probabilities.
    """
    with gc_paused():
        try:
            return _analyse(exploration, bounds, progress or _quiet)
        except KeyboardInterrupt:
            return reached(exploration)


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def reached(exploration: Exploration) -> Analysis:
    """Every end the exploration reached, grouped into outcomes, with no counts or probabilities."""
    offsets, program, states = exploration.offsets, exploration.program, exploration.states
    ends = {node: (None, None) for node in range(exploration.expanded)
            if offsets[node] == offsets[node + 1] and status(program, states[node]) is not None}
    outcomes = _outcomes(exploration, ends, lambda mass: None)
    return Analysis(outcomes, None, deadlock_states=_deadlock_states(exploration, ends),
                    never_ends=None, unexplored=None, complete=False)


def _analyse(exploration: Exploration, bounds: Bounds, progress: StageProgress) -> Analysis:
    longest = height(exploration)  # the common case: every step leads to a later node, no cycle
    parts = components(exploration) if longest is None else None
    acyclic = parts is None or parts.acyclic
    if acyclic:
        order = range(len(exploration.states)) if parts is None else parts.node_order()
        longest = height(exploration, order) if longest is None else longest
        flow = _Flow(exploration, _exact_unit(exploration, longest), progress)
        flow.through_dag(order)
        loops: list[Loop] = []
    else:
        exact = exploration.transitions <= bounds.exact_max_transitions
        flow = _Flow(exploration, Fraction(1) if exact else 1.0, progress, bounds)
        flow.through_components(parts)
        loops = sorted({loop for component in range(len(parts.cyclic)) if parts.cyclic[component]
                        for loop in _spinning_loops(exploration, set(parts.members(component)))},
                       key=lambda loop: (loop.thread, loop.line))
    forever, never_ends = [], Fraction(0)
    for members, mass in flow.trapped:
        message = _runs_forever(exploration, members)
        if message is None:
            chance = flow.probability(mass)
            never_ends = None if chance is None or never_ends is None else never_ends + chance
        else:
            forever.append((min(members), mass, message))
    outcomes = _outcomes(exploration, flow.ends, flow.probability, forever)
    total = INFINITE if not acyclic else total_count(outcome.interleavings for outcome in outcomes)
    return Analysis(outcomes, total, loops, never_ends, flow.probability(flow.unexplored),
                    _deadlock_states(exploration, flow.ends), residual=flow.residual, unsolved=flow.unsolved)


def _deadlock_states(exploration: Exploration, ends: dict) -> int:
    """How many states of the full graph are deadlocks (with symmetry, each end stands for its orbit)."""
    program, states, classes = exploration.program, exploration.states, exploration.symmetry
    return sum(1 if classes is None else symmetry.orbit_size(program, classes, states[node])
               for node in ends if status(program, states[node]) == DEADLOCK)


def _exact_unit(exploration: Exploration, longest: int) -> int:
    """L**H, where L is the lcm of the out-degrees and H the longest path (`longest` steps).

    Starting with this much mass, every share mass // outdegree is exact: a
    path's share keeps a factor L for every step it has left. Integers are
    several times faster than Fractions, and only the ends become fractions.
    """
    offsets = exploration.offsets
    degrees = set(map(int.__sub__, offsets[1:], offsets[:-1]))
    return math.lcm(1, *degrees - {0}) ** longest


def _add(a: Any, b: Any) -> Any:
    if a is INFINITE or b is INFINITE:
        return INFINITE
    return a + b


def total_count(counts: Any) -> int | Infinite | None:
    """The sum of interleaving counts, infinite if any one is, None if any is unknown."""
    total: int | Infinite | None = 0
    for count in counts:
        if count is None:
            return None
        total = _add(total, count)
    return total


class _Flow:
    """Path counts and probability mass, pushed from the initial state to the ends.

    Mass is measured in units of `unit`, the initial state's mass: an int
    that makes every division exact on a graph without cycles, otherwise
    Fraction(1) (exact) or 1.0 (a graph too large for fractions). Counts
    are ints, or math.inf past a cycle.
    """

    PROGRESS_EVERY = 50_000

    def __init__(self, exploration: Exploration, unit: int | Fraction | float, progress: StageProgress,
                 bounds: Bounds = DEFAULT_BOUNDS):
        size = len(exploration.states)
        self.exploration = exploration
        self.bounds = bounds
        self.unsolved = 0  # states of the largest component too large to solve
        self.unit = unit
        self.progress = progress
        self.counts: list[Any] = [0] * size
        self.mass: list[Any] = [0] * size
        self.counts[0], self.mass[0] = 1, unit
        self.ends: dict[int, tuple[Any, Any]] = {}
        self.trapped: list[tuple[list[int], Any]] = []  # (members, mass) of each component no step leaves
        self.unexplored: Any = 0
        self.residual = 0.0

    def probability(self, mass: Any) -> Probability | None:
        """The mass as a probability: a Fraction if exact, a float if not, None if not known."""
        if isinstance(mass, float) or isinstance(self.unit, float):
            return None if math.isnan(mass) else float(mass) / float(self.unit)
        return Fraction(mass) / self.unit

    def end(self, node: int) -> None:
        exploration = self.exploration
        if exploration.is_frontier(node) and status(exploration.program, exploration.states[node]) is None:
            self.unexplored += self.mass[node]
        else:
            count = self.counts[node]
            self.ends[node] = (INFINITE if count == math.inf else count, self.mass[node])

    def through_dag(self, order: list[int]) -> None:
        """The whole graph at once, in topological order, in exact integers.

        A node's count and mass are dropped once passed on: they are big
        integers (the unit is L**H), and only the frontier of the walk and
        the ends need theirs."""
        offsets, targets, counts, mass = self.exploration.offsets, self.exploration.targets, self.counts, self.mass
        for done, node in enumerate(order):
            begin, end = offsets[node], offsets[node + 1]
            if begin == end:
                self.end(node)
                continue
            count, share = counts[node], mass[node] // (end - begin)
            counts[node] = mass[node] = 0
            for successor in targets[begin:end]:
                counts[successor] += count
                mass[successor] += share
            if done % self.PROGRESS_EVERY == 0:
                self.progress("probabilities", done, len(order))

    def through_components(self, parts: Components) -> None:
        """Component by component: single states pass their mass on; cycles are solved."""
        offsets, targets, counts, mass = self.exploration.offsets, self.exploration.targets, self.counts, self.mass
        cyclic = parts.cyclic
        for done, component in enumerate(parts.order):
            if done % self.PROGRESS_EVERY == 0:
                self.progress("probabilities", done, len(parts.order))
            if cyclic[component]:
                self.through_cycle(parts.members(component))
                continue
            node = parts.first(component)
            begin, end = offsets[node], offsets[node + 1]
            if begin == end:
                self.end(node)
                continue
            count, share = counts[node], mass[node] / (end - begin)
            for edge in range(begin, end):
                successor = targets[edge]
                counts[successor] += count
                mass[successor] += share

    def through_cycle(self, members: list[int]) -> None:
        """Every path into a cycle can go round it any number of times."""
        offsets = self.exploration.offsets
        inside, exits = _steps_of(self.exploration, members)
        inflow = [self.mass[node] for node in members]
        if not exits:
            self.trapped.append((members, sum(inflow[1:], inflow[0])))
            return
        if len(members) <= self.bounds.exact_max_component and all(not isinstance(m, float) for m in inflow):
            visits = _exact_visits(members, inside, inflow)
        else:
            visits = self._float_visits(members, inside, inflow)
        for node, successor in exits:
            self.counts[successor] = math.inf
            self.mass[successor] += visits[node] / (offsets[node + 1] - offsets[node])

    def _float_visits(self, members: list[int], inside: list[tuple[int, int, int]], inflow: list) -> dict[int, float]:
        visits, residual = _float_visits(members, inside, inflow, self.bounds)
        if residual is None:
            # Not solved within the bounds: what leaves it, and all that follows, is not known (NaN).
            self.unsolved = max(self.unsolved, len(members))
        else:
            self.residual = max(self.residual, residual)
        return visits


def _steps_of(exploration: Exploration, members: list[int]) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """A component's steps in one pass: (from, to, out-degree of from) inside it, numbered by position
    in `members`, and (node, target) for each step that leaves it."""
    offsets, targets = exploration.offsets, exploration.targets
    local = {node: position for position, node in enumerate(members)}
    inside, exits = [], []
    for position, node in enumerate(members):
        begin, end = offsets[node], offsets[node + 1]
        for edge in range(begin, end):
            target = targets[edge]
            to = local.get(target)
            if to is None:
                exits.append((node, target))
            else:
                inside.append((position, to, end - begin))
    return inside, exits


def _exact_visits(members: list[int], inside: list[tuple[int, int, int]], inflow: list) -> dict[int, Fraction]:
    """Solve visits[v] = inflow[v] + sum(visits[u] / outdegree(u)) over steps u->v inside, in exact rationals.

    The system, scaled by the lcm of the out-degrees, is an integer
    M-matrix, so fraction-free (Bareiss) elimination needs no pivoting and
    keeps every number an int; Fractions everywhere were ten times slower. Only ever given components small
    enough (`Bounds.exact_max_component`) for the cubic elimination.
    """
    size = len(members)
    scale = math.lcm(1, *{degree for _, _, degree in inside})
    common = math.lcm(*[Fraction(value).denominator for value in inflow])
    rows = [[0] * size + [int(Fraction(value) * common) * scale] for value in inflow]
    for row in range(size):
        rows[row][row] = scale
    for source, target, degree in inside:
        rows[target][source] -= scale // degree
    previous = 1
    for pivot in range(size - 1):
        top, lead = rows[pivot], rows[pivot][pivot]
        for row in rows[pivot + 1:]:
            factor = row[pivot]
            for column in range(pivot + 1, size + 1):
                row[column] = (row[column] * lead - factor * top[column]) // previous
            row[pivot] = 0
        previous = lead
    # After Bareiss the last pivot is det(M), and det * solution is integral (Cramer's rule).
    determinant = rows[-1][-2]
    scaled = [0] * size
    for row in range(size - 1, -1, -1):
        entries = rows[row]
        known = sum(entries[column] * scaled[column] for column in range(row + 1, size))
        scaled[row] = (determinant * entries[size] - known) // entries[row]
    return {node: Fraction(scaled[position], determinant * common) for position, node in enumerate(members)}


def _float_visits(members: list[int], inside: list[tuple[int, int, int]], inflow: list,
                  bounds: Bounds = DEFAULT_BOUNDS) -> tuple[dict[int, float], float | None]:
    """The same system in floating point, and its relative residual (None where it was not solved).

    A small component by dense LU. A larger one first by summing the
    visits step by step (v = b + Qb + Q²b + ...), which converges as fast
    as runs leave the component; where that takes more than
    `bounds.max_solve_iterations` terms, by sparse LU up to
    `bounds.max_lu_component` states (past that its factors would fill
    beyond any budget), and otherwise it is left unsolved (NaN), never
    guessed. An LU solve is followed by one step of iterative refinement
    with the same factors; the residual left is what the report states.
    """
    import numpy as np

    size = len(members)
    source, target, degree = (np.array(column, dtype=np.float64).reshape(-1) for column in zip(*inside)) if inside \
        else (np.zeros(0), np.zeros(0), np.ones(0))
    rows, columns = target.astype(np.int64), source.astype(np.int64)
    rhs = np.array([float(value) for value in inflow])
    if size > bounds.dense_max_component:
        # The sum converges fast where runs leave often, and sparse LU can fill in badly
        # (8 s on a 15,795-state component that the sum solves in milliseconds).
        summed = _summed_visits(members, rows, columns, degree, rhs, bounds.max_solve_iterations)
        if summed[1] is not None or size > bounds.max_lu_component:
            return summed
    if size <= bounds.dense_max_component:
        system = np.eye(size)
        np.subtract.at(system, (rows, columns), 1.0 / degree)
        solve = lambda vector: np.linalg.solve(system, vector)  # noqa: E731 - one name for both paths
    else:
        from scipy.sparse import csr_matrix, identity  # only here: see graphs on loading scipy
        from scipy.sparse.linalg import splu

        system = (identity(size, format="csc") - csr_matrix((1.0 / degree, (rows, columns)), shape=(size, size))).tocsc()
        solve = splu(system).solve
    solution = solve(rhs)
    solution += solve(rhs - system @ solution)
    scale = max(float(np.abs(rhs).max()), 1e-300)
    residual = float(np.abs(system @ solution - rhs).max()) / scale
    return {node: float(value) for node, value in zip(members, solution)}, residual


def _summed_visits(members: list[int], rows: np.ndarray, columns: np.ndarray, degree: np.ndarray, rhs: np.ndarray,
                   iterations: int) -> tuple[dict[int, float], float | None]:
    """Visits as the sum of the mass still inside after 0, 1, 2, ... steps, while that mass is not negligible."""
    import numpy as np
    from scipy.sparse import csr_matrix

    size = len(members)
    step = csr_matrix((1.0 / degree, (rows, columns)), shape=(size, size))
    total, inside = rhs.copy(), rhs.copy()
    scale = max(float(np.abs(rhs).sum()), 1e-300)
    for _ in range(iterations):
        inside = step @ inside
        total += inside
        if float(inside.sum()) <= 1e-14 * scale:
            residual = float(np.abs(total - step @ total - rhs).max()) / max(float(np.abs(rhs).max()), 1e-300)
            return {node: float(value) for node, value in zip(members, total)}, residual
    return dict.fromkeys(members, math.nan), None


def _spinning_loops(exploration: Exploration, members: set) -> list[Loop]:
    """The `while` tests that some step inside the cycle runs."""
    program = exploration.program
    loops = set()
    for member in members:
        for tid, target in moves(exploration, member):
            instr = current_instruction(program, exploration.states[member], tid)
            if isinstance(instr, p.Test) and instr.loop and target in members:
                loops.add(Loop(program.threads[tid].name, instr.line, instr.text))
    return list(loops)


def _going_round(exploration: Exploration, members: list[int]) -> dict[int, bool]:
    """For each thread still running in the component: does it take its forever loop's test inside it?"""
    program, states = exploration.program, exploration.states
    inside = set(members)
    running = {tid: False for tid, (pc, _) in enumerate(states[min(members)].threads) if pc >= 0}
    for node in members:
        for tid, target in moves(exploration, node):
            forever = program.threads[tid].forever
            if forever >= 0 and states[node].threads[tid][0] == forever and target in inside:
                running[tid] = True
    return running


def _runs_forever(exploration: Exploration, members: list[int]) -> str | None:
    """Why a run trapped in this component runs forever by design, or None if it spins where it could end.

    By design means: every thread still running is a worker whose body ends
    in a `while True:` that no `break` leaves, and each takes that loop's
    test inside the component, so it keeps doing its work.
    """
    going = _going_round(exploration, members)
    if not all(going.values()):
        return None
    threads, names = exploration.program.threads, names_at(exploration, min(members))
    workers = ", ".join(f"{name} (line {threads[tid].code[threads[tid].forever].line})"
                        for name, tid in sorted((names[tid], tid) for tid in going))
    return f"every thread still running is a `while True:` worker going round: {workers}"


def _outcomes(exploration: Exploration, ends: dict, probability: Callable[[Any], Any],
              forever: list[tuple[int, Any, str]] = ()) -> list[Outcome]:
    """Ends with equal keys grouped into outcomes, most likely first within each status."""
    states = exploration.states
    groups: dict[tuple, list] = {}  # key -> [nearest node, count, mass]
    for node in sorted(ends):  # BFS order: the first found is the nearest
        count, mass = ends[node]
        for key, share, of in _end_keys(exploration, node):
            _join(groups, key, node, _share(count, share, of), _share(mass, share, of))
    for node, mass, message in sorted(forever, key=lambda item: item[0]):
        state = states[node]
        _join(groups, Exact((RUNS_FOREVER, state.shared, state.output, message)), node, INFINITE, mass)
    outcomes = []
    for position, ((kind, final, output, message), (nearest, count, mass)) in enumerate(groups.items()):
        chance = probability(mass) if mass is not None else None
        outcome = Outcome(kind, final, output, message, count, chance, _schedule(exploration, nearest, message))
        outcomes.append((STATUS_ORDER[kind], -(chance or 0), position, outcome))
    return [outcome for *_, outcome in sorted(outcomes, key=lambda item: item[:3])]


def _end_keys(exploration: Exploration, node: int) -> list[tuple[tuple, int, int]]:
    """(outcome key, share, of) for an end: with symmetry, an end stands for its orbit, whose
    real states can differ in who the message names; each is equally likely."""
    program, state = exploration.program, exploration.states[node]
    if exploration.symmetry is None:
        return [(outcome_key(program, state), 1, 1)]
    return symmetry.orbit_outcomes(program, exploration.symmetry, state, lambda real: outcome_key(program, real))


def _share(amount: Any, share: int, of: int) -> Any:
    """`amount * share / of`, exact where `amount` is (an orbit's count is a multiple of `of`)."""
    if amount is None or share == of or amount is INFINITE:
        return amount
    if isinstance(amount, int):
        whole, left = divmod(amount * share, of)
        if left:
            raise RuntimeError("schedsim bug: an orbit's count does not split evenly")
        return whole
    return amount * share / of if isinstance(amount, float) else amount * Fraction(share, of)


def _schedule(exploration: Exploration, node: int, message: str | None) -> tuple[str, ...]:
    """A shortest schedule to `node` that ends in the outcome with this message.

    With symmetry the shortest run to the representative ends in one real
    state of its orbit; another one of the orbit, with another message, is
    reached by renaming the run's threads."""
    schedule = schedule_to(exploration, node)
    if exploration.symmetry is None:
        return schedule
    program = exploration.program
    final = real_state(exploration, node)
    if outcome_key(program, final)[3] == message:
        return schedule
    names = program.thread_names
    for mapping in symmetry.all_renamings(exploration.symmetry):
        other = renamed(program, final, mapping)
        if outcome_key(program, restored(program, other))[3] == message:
            return tuple(names[mapping[names.index(name)]] for name in schedule)
    raise RuntimeError("schedsim bug: no renaming of a run ends in its outcome")


def _join(groups: dict, key: tuple, node: int, count: Any, mass: Any) -> None:
    group = groups.setdefault(key, [node, 0, 0])
    group[1] = None if count is None or group[1] is None else _add(group[1], count)
    group[2] = None if mass is None or group[2] is None else group[2] + mass


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
