"""Findings that explain the outcomes: races, lock orders, locks held at exit, starvation.

Outcomes say what can happen; findings say why, in the words SPEC section 5
fixes, each with a shortest schedule that shows it and one sentence for a
student. Everything is read off the explored state graph (the threads of
its edges come from `edges.Moves`), so a finding covers exactly the runs
explored; races come from the happens-before search in `races`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

from ..engine import program as p
from .edges import LOCK_KINDS, Moves, Site, site
from ..engine.explorer import Exploration, gc_paused, names_at, real_run
from ..engine.program import DONE, Program
from ..limits import DEFAULT_BOUNDS, Bounds
from .races import Race, find_races
from ..engine.semantics import DEADLOCK, FINISHED, State, lock_owner, lock_wanted, status

if TYPE_CHECKING:
    from .liveness import Starvation

EXPLANATIONS = {
    "races": "A data race is two threads touching the same shared variable, at least one of them writing, "
             "with nothing (a lock, join, event, condition, barrier or queue) making one happen before the "
             "other, so the result depends on timing.",
    "lock_order": "A lock-order inversion is threads taking the same locks in different orders: once each "
                  "holds one and asks for the next, they wait for each other forever, even if no run explored "
                  "here happened to do it.",
    "held_at_exit": "A thread that ends while still holding a lock never releases it, so every thread that "
                    "asks for that lock afterwards waits forever.",
    "starvation": "Starvation (or livelock) is a thread that even a fair scheduler, one that gives every thread "
                  "that is ready again and again its turn, can keep forever from finishing (or, for a `while True:` "
                  "worker, from going round its loop), because what it waits for never happens.",
}


@dataclass(frozen=True)
class LockStep:
    """One edge of a lock-order cycle: a thread holds `held` and asks for `wanted`."""

    thread: str
    held: str
    wanted: str
    held_since: Site | None   # the step that took `held`, on the schedule below
    asks: Site                # the acquire of `wanted`
    schedule: tuple[str, ...]  # a shortest run to the moment it asks

    def as_json(self) -> dict:
        since = self.held_since and {"line": self.held_since.line, "text": self.held_since.text}
        return {"thread": self.thread, "held": self.held, "wanted": self.wanted, "line": self.asks.line,
                "text": self.asks.text, "held_since": since, "schedule": list(self.schedule)}


@dataclass(frozen=True)
class LockOrder:
    locks: tuple[str, ...]      # the cycle: each is held while the next is asked for
    steps: tuple[LockStep, ...]
    guarded_by: tuple[str, ...]  # locks that every step's thread also holds
    deadlock_schedule: tuple[str, ...] | None  # a shortest run that deadlocks on the cycle, if one does

    @property
    def message(self) -> str:
        asks = ", while ".join(f"{s.thread} holds {s.held} and asks for {s.wanted}" for s in self.steps)
        if self.deadlock_schedule is not None:
            return f"{asks}: once each has its first lock, they wait for each other forever, as some runs do."
        if self.guarded_by:
            return (f"{asks}: the locks are taken in opposite orders, and only {_and(self.guarded_by)}, "
                    f"which each of them also holds, keeps them from deadlocking.")
        return (f"{asks}: the locks are taken in opposite orders, though no explored run deadlocks on them "
                f"(something else keeps the threads apart here).")

    def as_json(self) -> dict:
        return {"locks": list(self.locks), "steps": [step.as_json() for step in self.steps],
                "guarded_by": list(self.guarded_by), "deadlock_schedule": _list(self.deadlock_schedule),
                "message": self.message}


@dataclass(frozen=True)
class HeldAtExit:
    thread: str
    lock: str
    acquired: Site | None       # the step that took the lock, on the schedule below
    schedule: tuple[str, ...]   # a shortest run to the thread's end
    blocked: tuple[str, ...]    # threads that some deadlocked run leaves waiting for the lock
    deadlock_schedule: tuple[str, ...] | None

    @property
    def message(self) -> str:
        taken = f", taken at line {self.acquired.line}," if self.acquired else ""
        if self.blocked:
            wait = "waits" if len(self.blocked) == 1 else "wait"
            return f"{self.thread} ends still holding {self.lock}{taken} so {_and(self.blocked)} {wait} for it forever."
        return f"{self.thread} ends still holding {self.lock}{taken} so any later acquire of it would wait forever."

    def as_json(self) -> dict:
        where = {"line": self.acquired.line, "text": self.acquired.text} if self.acquired else {"line": None, "text": None}
        return {"thread": self.thread, "lock": self.lock, **where, "blocked": list(self.blocked),
                "schedule": list(self.schedule), "deadlock_schedule": _list(self.deadlock_schedule),
                "message": self.message}


@dataclass
class Findings:
    races: list[Race] = field(default_factory=list)
    lock_order: list[LockOrder] = field(default_factory=list)
    held_at_exit: list[HeldAtExit] = field(default_factory=list)
    starvation: list[Starvation] = field(default_factory=list)
    races_complete: bool = True       # False when the race search hit its bound
    starvation_complete: bool = True  # False when the starvation search hit its bound
    interrupted: str | None = None    # the search Ctrl-C stopped; the later ones did not run


def find(exploration: Exploration, max_race_states: int = DEFAULT_BOUNDS.max_race_states,
         bounds: Bounds = DEFAULT_BOUNDS, progress: Callable[[str, int, int], None] | None = None) -> Findings:
    """Every finding of an exploration; the race search explores at most `max_race_states`.

    Ctrl-C (KeyboardInterrupt) keeps the findings of the searches already
    done (and the races found so far) and says which search it stopped.
    """
    moves = Moves(exploration)
    found = Findings()
    stage = "races"
    try:
        with gc_paused():
            search = find_races(exploration, moves, max_race_states, progress=progress)
            found.races, found.races_complete = search.races, search.complete
            if search.interrupted:
                raise KeyboardInterrupt
            stage = "lock_order"
            found.lock_order = lock_orders(exploration, moves)
            stage = "held_at_exit"
            found.held_at_exit = held_at_exit(exploration, moves)
            stage = "starvation"
            if progress is not None:
                progress("starvation", 0, 1)
            if moves.may_cycle():  # starvation needs a cycle; the search (and numpy) load only for one
                from .liveness import starvation

                liveness = starvation(exploration, moves, bounds)
                found.starvation, found.starvation_complete = liveness.starvation, liveness.complete
    except KeyboardInterrupt:
        found.interrupted = stage
    return found


def _ends(exploration: Exploration, moves: Moves, *statuses: str) -> list[int]:
    """The explored nodes where a run ends with one of `statuses`, nearest first."""
    program = exploration.program
    return [node for node in range(exploration.expanded)
            if not moves.count(node) and status(program, exploration.states[node]) in statuses]


# -- helpers over states ----------------------------------------------------------------

def _list(schedule: tuple[str, ...] | None) -> list[str] | None:
    return None if schedule is None else list(schedule)


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _lock_slots(program: Program) -> tuple[int, ...]:
    return tuple(slot for slot, prim in enumerate(program.primitives) if prim.kind in LOCK_KINDS)


def _schedule(exploration: Exploration, node: int) -> tuple[list[State], tuple[int, ...], list[int]]:
    """A shortest run to `node`: its real states, the real threads that take it, and which
    real thread each of the node's threads is (all one numbering without symmetry)."""
    states, tids, frame = real_run(exploration, node)
    return states, tuple(tids), frame.real


def _names(program: Program, tids: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(program.threads[tid].name for tid in tids)


def _taken_at(program: Program, states: list[State], tids: tuple[int, ...], tid: int, slot: int) -> Site | None:
    """The last step of a run where `tid` took lock `slot` (an acquire, or a wait that takes it back)."""
    for position in range(len(tids) - 1, -1, -1):
        if tids[position] != tid:
            continue
        before, after = states[position], states[position + 1]
        if lock_owner(program, before, slot) != tid and lock_owner(program, after, slot) == tid:
            return site(program, tid, program.threads[tid].code[before.threads[tid][0]])
    return None


def _kind(exploration: Exploration) -> Callable[[int], int]:
    """A thread's class: interchangeable threads are one (symmetry), as nodes number them differently."""
    symmetry = exploration.symmetry
    first = {tid: members[0] for members in symmetry.classes for tid in members} if symmetry else {}
    return lambda tid: first.get(tid, tid)


# -- lock-order inversion ------------------------------------------------------------------

def lock_orders(exploration: Exploration, moves: Moves) -> list[LockOrder]:
    """Cycles in "held A while asking for B", over every explored state, deadlocking or not.

    A try-acquire (a timeout, or blocking=False) cannot wait forever, so it
    adds no edge; nor does re-entering an RLock. A cycle is reported only
    when two or more threads make its edges, as one thread cannot deadlock
    with itself this way.
    """
    program = exploration.program
    witnesses = _lock_witnesses(exploration)
    if not witnesses:
        return []
    symmetry = exploration.symmetry
    alike = frozenset(tid for members in symmetry.classes for tid in members) if symmetry else frozenset()
    import networkx as nx  # only where some thread holds one lock while it asks for another

    graph = nx.DiGraph()
    graph.add_edges_from(sorted(witnesses))
    deadlocks = _ends(exploration, moves, DEADLOCK)
    found = []
    for cycle in sorted(_rotated(cycle) for cycle in nx.simple_cycles(graph)):
        edges = list(zip(cycle, cycle[1:] + cycle[:1]))
        chosen = _choose_witnesses([witnesses[edge] for edge in edges], alike)
        if chosen is None:
            continue
        steps, guards = [], None
        for (held, wanted), (tid, node, holding) in zip(edges, chosen):
            states, tids, real = _schedule(exploration, node)
            asks = program.threads[tid].code[exploration.states[node].threads[tid][0]]
            steps.append(LockStep(program.threads[real[tid]].name, program.primitives[held].name,
                                  program.primitives[wanted].name, _taken_at(program, states, tids, real[tid], held),
                                  site(program, real[tid], asks), _names(program, tids)))
            guards = set(holding) if guards is None else guards & set(holding)
        steps = _apart(exploration, steps)
        guarded = tuple(program.primitives[slot].name for slot in sorted(guards - set(cycle)))
        deadlock = next((node for node in deadlocks if _deadlocked_on(program, exploration.states[node], edges)), None)
        found.append(LockOrder(tuple(program.primitives[slot].name for slot in cycle), tuple(steps), guarded,
                               None if deadlock is None else _names(program, _schedule(exploration, deadlock)[1])))
    return found


def _apart(exploration: Exploration, steps: list[LockStep]) -> list[LockStep]:
    """The steps of a cycle told of different threads: where symmetry found each edge on one of
    several interchangeable threads, a later edge is told of the next of them (swapping the two
    names throughout its schedule gives a real run, as they are interchangeable)."""
    symmetry, program = exploration.symmetry, exploration.program
    if symmetry is None or len({step.thread for step in steps}) > 1:
        return steps
    names = next((names for names in symmetry.names(program) if steps[0].thread in names), None)
    if names is None:
        return steps
    first = names.index(steps[0].thread)
    result = [steps[0]]
    for position, step in enumerate(steps[1:], 1):
        other = names[(first + position) % len(names)]
        swap = {step.thread: other, other: step.thread}
        result.append(replace(step, thread=other, held_since=step.held_since and replace(step.held_since, thread=other),
                              asks=replace(step.asks, thread=other),
                              schedule=tuple(swap.get(name, name) for name in step.schedule)))
    return result


def _deadlocked_on(program: Program, state: State, edges: list[tuple[int, int]]) -> bool:
    """Whether, for every edge, some thread holds its first lock and waits for its second."""
    return all(any(lock_wanted(program, state, tid) == wanted for tid in range(len(state.threads))
                   if lock_owner(program, state, held) == tid) for held, wanted in edges)


def _lock_witnesses(exploration: Exploration) -> dict[tuple[int, int], dict[int, tuple[int, tuple[int, ...]]]]:
    """{(held, wanted): {thread: (first node where it holds `held` and asks for `wanted`, all it holds)}}."""
    program = exploration.program
    slots = _lock_slots(program)
    witnesses: dict = {}
    if len(slots) < 2:
        return witnesses  # holding one lock while asking for another takes two
    for node, state in enumerate(exploration.states):
        if state.fault is not None:
            continue
        owners = {slot: lock_owner(program, state, slot) for slot in slots}
        for tid, (pc, _) in enumerate(state.threads):
            if pc < 0:
                continue
            instr = program.threads[tid].code[pc]
            if not isinstance(instr, p.Acquire) or instr.timeout or instr.primitive not in owners:
                continue
            holding = tuple(slot for slot in slots if owners[slot] == tid)
            if instr.primitive in holding:
                continue
            for held in holding:
                witnesses.setdefault((held, instr.primitive), {}).setdefault(tid, (node, holding))
    return witnesses


def _rotated(cycle: list[int]) -> list[int]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def _choose_witnesses(options: list[dict], alike: frozenset = frozenset()) -> list[tuple[int, int, tuple]] | None:
    """Per edge the earliest (thread, node, holding), with at least two threads in all; None if only one thread.

    With symmetry a witness by one of several interchangeable threads is one
    by each of them, so two edges made by "one" such thread are made by two."""
    chosen = [min(((node, tid, holding) for tid, (node, holding) in edge.items())) for edge in options]
    threads = {tid for edge in options for tid in edge}
    if len(threads) < 2 and not threads & alike:
        return None
    if len({tid for _, tid, _ in chosen}) == 1:
        only = chosen[0][1]
        for position, edge in enumerate(options):
            others = [(node, tid, holding) for tid, (node, holding) in edge.items() if tid != only]
            if others:
                chosen[position] = min(others)
                break
    return [(tid, node, holding) for node, tid, holding in chosen]


# -- locks held at exit ------------------------------------------------------------------------

def held_at_exit(exploration: Exploration, moves: Moves) -> list[HeldAtExit]:
    """Threads that finish owning a Lock or RLock that some run then never gets back, and whom that blocks.

    A plain Lock may be released by another thread (a readers/writers lock
    does that), so a thread that ends holding one is reported only when some
    run ends, finished or deadlocked, with the lock still its. Reported once
    per lock and line that took it: copies of one thread (`count:`) that end
    the same way are one finding.
    """
    program = exploration.program
    slots = _lock_slots(program)
    if not slots:
        return []
    ends = _ends(exploration, moves, FINISHED, DEADLOCK)
    kind = _kind(exploration)
    kept = {(kind(tid), slot) for node in ends for tid, slot in _dead_owners(program, exploration.states[node], slots)}
    first: dict[tuple[int, int], tuple[int, int]] = {}
    for node, state in enumerate(exploration.states):
        if state.fault is None:
            for tid, slot in _dead_owners(program, state, slots):
                if (kind(tid), slot) in kept:
                    first.setdefault((kind(tid), slot), (node, tid))
    found: dict[tuple, HeldAtExit] = {}
    for (who, slot), (node, tid) in sorted(first.items(), key=lambda item: item[1]):
        states, tids, real = _schedule(exploration, node)
        acquired = _taken_at(program, states, tids, real[tid], slot)
        if (slot, acquired and acquired.line) in found:
            continue  # a copy of a thread already reported, ending the same way
        deadlocks = [end for end in ends if status(program, exploration.states[end]) == DEADLOCK
                     and _owned_by(program, exploration.states[end], slot, who, kind)]
        blocked = {name for end in deadlocks for name in _blocked_names(exploration, end, slot)}
        blocked = tuple(sorted(blocked, key=program.thread_names.index))
        deadlock = next((end for end in deadlocks if blocked), None)
        found[(slot, acquired and acquired.line)] = HeldAtExit(
            program.threads[real[tid]].name, program.primitives[slot].name, acquired, _names(program, tids),
            blocked, None if deadlock is None else _names(program, _schedule(exploration, deadlock)[1]))
    return list(found.values())


def _owned_by(program: Program, state: State, slot: int, who: int, kind: Callable[[int], int]) -> bool:
    owner = lock_owner(program, state, slot)
    return owner is not None and kind(owner) == who


def _blocked_names(exploration: Exploration, node: int, slot: int) -> list[str]:
    """The real names of the threads whose next step at `node` takes lock `slot`."""
    program, state = exploration.program, exploration.states[node]
    names = names_at(exploration, node)
    return [names[tid] for tid in range(len(program.threads)) if lock_wanted(program, state, tid) == slot]


def _dead_owners(program: Program, state: State, slots: tuple[int, ...]) -> list[tuple[int, int]]:
    """(thread, lock) for every lock whose owner has finished."""
    owners = ((lock_owner(program, state, slot), slot) for slot in slots)
    return [(tid, slot) for tid, slot in owners if tid is not None and state.threads[tid][0] == DONE]
