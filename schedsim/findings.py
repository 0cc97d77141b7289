"""Findings that explain the outcomes: races, lock orders, locks held at exit, starvation.

Outcomes say what can happen; findings say why, in the words SPEC section 5
fixes, each with a shortest schedule that shows it and one sentence for a
student. Everything is read off the explored state graph (the threads of
its edges come from `edges.Moves`), so a finding covers exactly the runs
explored; races come from the happens-before search in `races`.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx

from . import program as p
from .edges import LOCK_KINDS, Moves, Site, site
from .explorer import Exploration, path_to
from .program import DONE, Program
from .limits import DEFAULT_BOUNDS
from .races import Race, find_races
from .semantics import DEADLOCK, FINISHED, State, lock_owner, lock_wanted, status, waiting_for

EXPLANATIONS = {
    "races": "A data race is two threads touching the same shared variable, at least one of them writing, "
             "with nothing (a lock, join, event, condition, barrier or queue) making one happen before the "
             "other, so the result depends on timing.",
    "lock_order": "A lock-order inversion is threads taking the same locks in different orders: once each "
                  "holds one and asks for the next, they wait for each other forever, even if no run explored "
                  "here happened to do it.",
    "held_at_exit": "A thread that ends while still holding a lock never releases it, so every thread that "
                    "asks for that lock afterwards waits forever.",
    "starvation": "Starvation (or livelock) is a loop that even a fair scheduler, one that gives every ready "
                  "thread its turn, can run forever, because what the loop waits for never happens.",
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


@dataclass(frozen=True)
class Stuck:
    thread: str
    doing: str  # "spins in ..." or what it waits for


@dataclass(frozen=True)
class Starvation:
    """A lasso: a schedule to a cycle of states, and the cycle, which a fair scheduler can repeat forever."""

    loops: tuple[Site, ...]     # the loop tests the cycle runs
    stuck: tuple[Stuck, ...]    # every unfinished thread, and why it gets nowhere
    schedule: tuple[str, ...]   # to the cycle
    cycle: tuple[str, ...]      # round it once, back to where it started

    @property
    def message(self) -> str:
        spinning = _and(tuple(f"{loop.thread} going round `{loop.text}` (line {loop.line})" for loop in self.loops))
        return (f"Even a fair scheduler, which gives every ready thread its turn, can keep {spinning} forever: "
                f"the cycle gives every thread that stays ready its turn, and no thread gets past where it is.")

    def as_json(self) -> dict:
        return {"loops": [loop.as_json() for loop in self.loops],
                "stuck": [{"thread": s.thread, "doing": s.doing} for s in self.stuck],
                "schedule": list(self.schedule), "cycle": list(self.cycle), "message": self.message}


@dataclass
class Findings:
    races: list[Race]
    lock_order: list[LockOrder]
    held_at_exit: list[HeldAtExit]
    starvation: list[Starvation]
    races_complete: bool = True   # False when the race search hit its bound


def find(exploration: Exploration, max_race_states: int = DEFAULT_BOUNDS.max_race_states) -> Findings:
    """Every finding of an exploration; the race search explores at most `max_race_states`."""
    moves = Moves(exploration)
    search = find_races(exploration, moves, max_race_states)
    return Findings(search.races, lock_orders(exploration, moves), held_at_exit(exploration, moves),
                    starvation(exploration, moves), search.complete)


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


def _schedule(exploration: Exploration, moves: Moves, node: int) -> tuple[list[int], tuple[int, ...]]:
    """A shortest path of nodes to `node`, and the threads that take it."""
    path = path_to(exploration, node)
    return path, moves.schedule(path)


def _names(program: Program, tids: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(program.threads[tid].name for tid in tids)


def _taken_at(exploration: Exploration, path: list[int], tids: tuple[int, ...], tid: int, slot: int) -> Site | None:
    """The last step on the path where `tid` took lock `slot` (an acquire, or a wait that takes it back)."""
    program = exploration.program
    for position in range(len(tids) - 1, -1, -1):
        if tids[position] != tid:
            continue
        before, after = exploration.states[path[position]], exploration.states[path[position + 1]]
        if lock_owner(program, before, slot) != tid and lock_owner(program, after, slot) == tid:
            return site(program, tid, program.threads[tid].code[before.threads[tid][0]])
    return None


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
    graph = nx.DiGraph()
    graph.add_edges_from(sorted(witnesses))
    deadlocks = _ends(exploration, moves, DEADLOCK)
    found = []
    for cycle in sorted(_rotated(cycle) for cycle in nx.simple_cycles(graph)):
        edges = list(zip(cycle, cycle[1:] + cycle[:1]))
        chosen = _choose_witnesses([witnesses[edge] for edge in edges])
        if chosen is None:
            continue
        steps, guards = [], None
        for (held, wanted), (tid, node, holding) in zip(edges, chosen):
            path, tids = _schedule(exploration, moves, node)
            asks = program.threads[tid].code[exploration.states[node].threads[tid][0]]
            steps.append(LockStep(program.threads[tid].name, program.primitives[held].name,
                                  program.primitives[wanted].name, _taken_at(exploration, path, tids, tid, held),
                                  site(program, tid, asks), _names(program, tids)))
            guards = set(holding) if guards is None else guards & set(holding)
        guarded = tuple(program.primitives[slot].name for slot in sorted(guards - set(cycle)))
        deadlock = next((node for node in deadlocks if _deadlocked_on(program, exploration.states[node], edges)), None)
        found.append(LockOrder(tuple(program.primitives[slot].name for slot in cycle), tuple(steps), guarded,
                               None if deadlock is None else _names(program, _schedule(exploration, moves, deadlock)[1])))
    return found


def _deadlocked_on(program: Program, state: State, edges: list[tuple[int, int]]) -> bool:
    """Whether, for every edge, some thread holds its first lock and waits for its second."""
    return all(any(lock_wanted(program, state, tid) == wanted for tid in range(len(state.threads))
                   if lock_owner(program, state, held) == tid) for held, wanted in edges)


def _lock_witnesses(exploration: Exploration) -> dict[tuple[int, int], dict[int, tuple[int, tuple[int, ...]]]]:
    """{(held, wanted): {thread: (first node where it holds `held` and asks for `wanted`, all it holds)}}."""
    program = exploration.program
    slots = _lock_slots(program)
    witnesses: dict = {}
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


def _choose_witnesses(options: list[dict]) -> list[tuple[int, int, tuple]] | None:
    """Per edge the earliest (thread, node, holding), with at least two threads in all; None if only one thread."""
    chosen = [min(((node, tid, holding) for tid, (node, holding) in edge.items())) for edge in options]
    threads = {tid for edge in options for tid in edge}
    if len(threads) < 2:
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
    ends = _ends(exploration, moves, FINISHED, DEADLOCK)
    kept = {(tid, slot) for node in ends for tid, slot in _dead_owners(program, exploration.states[node], slots)}
    first: dict[tuple[int, int], int] = {}
    for node, state in enumerate(exploration.states):
        if state.fault is None:
            for held in _dead_owners(program, state, slots):
                if held in kept:
                    first.setdefault(held, node)
    found: dict[tuple, HeldAtExit] = {}
    for (tid, slot), node in sorted(first.items(), key=lambda item: item[1]):
        path, tids = _schedule(exploration, moves, node)
        acquired = _taken_at(exploration, path, tids, tid, slot)
        if (slot, acquired and acquired.line) in found:
            continue  # a copy of a thread already reported, ending the same way
        deadlocks = [end for end in ends if status(program, exploration.states[end]) == DEADLOCK
                     and lock_owner(program, exploration.states[end], slot) == tid]
        blocked = sorted({t for end in deadlocks for t in range(len(program.threads))
                          if lock_wanted(program, exploration.states[end], t) == slot})
        deadlock = next((end for end in deadlocks if blocked), None)
        found[(slot, acquired and acquired.line)] = HeldAtExit(
            program.threads[tid].name, program.primitives[slot].name, acquired, _names(program, tids),
            _names(program, tuple(blocked)),
            None if deadlock is None else _names(program, _schedule(exploration, moves, deadlock)[1]))
    return list(found.values())


def _dead_owners(program: Program, state: State, slots: tuple[int, ...]) -> list[tuple[int, int]]:
    """(thread, lock) for every lock whose owner has finished."""
    owners = ((lock_owner(program, state, slot), slot) for slot in slots)
    return [(tid, slot) for tid, slot in owners if tid is not None and state.threads[tid][0] == DONE]


# -- starvation and livelock -------------------------------------------------------------------

def starvation(exploration: Exploration, moves: Moves) -> list[Starvation]:
    """Fair cycles: strongly connected sets of states where every thread ready in all of them steps.

    Inside such a set a fair run can go round forever, as every thread that
    is always ready gets its turn and every other thread is not ready
    somewhere. A busy-wait that the other thread's next step would end (as in
    Peterson's algorithm) is not one: that thread is ready throughout and
    never steps inside. One lasso per set of spinning loop lines, nearest first.
    """
    graph = exploration.graph
    if not moves.may_cycle():
        return []
    components = [c for c in nx.strongly_connected_components(graph)
                  if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))]
    found: dict[tuple, Starvation] = {}
    for members in sorted(components, key=min):
        lasso = _lasso(exploration, moves, members)
        if lasso is not None:
            found.setdefault(tuple(sorted({loop.line for loop in lasso.loops})), lasso)
    return list(found.values())


def _lasso(exploration: Exploration, moves: Moves, members: set) -> Starvation | None:
    program, states = exploration.program, exploration.states
    ready = {node: [tid for tid, _ in moves.of(node)] for node in sorted(members)}
    inside = {node: [(tid, target) for tid, target in moves.of(node) if target in members] for node in ready}
    stepping = {tid for edges in inside.values() for tid, _ in edges}
    if not set.intersection(*(set(tids) for tids in ready.values())) <= stepping:
        return None  # unfair: some thread is ready throughout and never steps
    entry = min(members)
    tests = sorted({(tid, states[node].threads[tid][0]) for node, edges in inside.items() for tid, _ in edges
                    if isinstance(program.threads[tid].code[states[node].threads[tid][0]], p.Test)})
    spinning = [(tid, pc) for tid, pc in tests if program.threads[tid].code[pc].loop] or tests
    loops = tuple(sorted((site(program, tid, program.threads[tid].code[pc]) for tid, pc in spinning),
                         key=lambda loop: (loop.line, loop.thread)))
    _, tids = _schedule(exploration, moves, entry)
    cycle = _fair_walk(inside, ready, entry, stepping)
    return Starvation(loops, _stuck(exploration, ready, stepping, loops), _names(program, tids), _names(program, cycle))


def _stuck(exploration: Exploration, ready: dict, stepping: set, loops: tuple[Site, ...]) -> tuple[Stuck, ...]:
    """Every unfinished thread of the cycle: the loop it spins in, or what it waits for."""
    program = exploration.program
    entry = min(ready)
    stuck = []
    for tid, (pc, _) in enumerate(exploration.states[entry].threads):
        if pc == DONE:
            continue
        name = program.threads[tid].name
        if tid in stepping:
            spins = tuple(f"`{loop.text}` (line {loop.line})" for loop in loops if loop.thread == name)
            stuck.append(Stuck(name, f"spins in {_and(spins)}" if spins else "goes round a loop"))
        else:
            idle = next((node for node, tids in ready.items() if tid not in tids), entry)
            stuck.append(Stuck(name, waiting_for(program, exploration.states[idle], tid)))
    return tuple(stuck)


def _fair_walk(inside: dict, ready: dict, entry: int, stepping: set) -> list[int]:
    """The threads of a closed walk from `entry` inside the set, fair by construction.

    Every thread that steps in the set steps on it, and every thread that is
    ready somewhere but never steps passes a state where it is not ready, so
    no thread is ready throughout the walk without taking a step in it.
    """
    idle = sorted({tid for tids in ready.values() for tid in tids} - stepping)
    steps: list[tuple[int, int]] = []
    for tid in sorted(stepping):
        if all(mover != tid for mover, _ in steps):
            here = steps[-1][1] if steps else entry
            steps += _steps_to(inside, here, lambda node, t=tid: next((e for e in inside[node] if e[0] == t), None))
    for tid in idle:
        if all(tid in ready[node] for node in [entry] + [target for _, target in steps]):
            steps += _steps_to(inside, steps[-1][1], lambda node, t=tid: () if t not in ready[node] else None)
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
