"""Stage 4, reduced: interchangeable threads explored as one orbit.

Threads made alike (`count:` copies that never name `index`; the same code,
from the same lines, with the same start) can be renamed without changing
anything a run shows: swap two of them in a state and every run from it is
the mirror image of a run from the original, with the same outputs, checks
and errors, told of the other thread. So the explorer keeps one
*representative* per class of states that differ only by such a renaming:
the state with each class's threads in a canonical order. Each edge keeps
the renaming (`mapping`) that took the step's real successor to its
representative, which is all it takes to turn a path through the
representatives back into a real schedule (`Frame`).

Why the numbers stay exact: every state in an orbit has the same number of
runs to each orbit of ends, and the same chances, so summing over the
representatives' edges (two threads that step into one orbit are two edges)
gives the full graph's counts and probabilities for each orbit. An orbit of
ends whose states differ in what the report says (an error names the thread
that raised it; a deadlock says who waits for whom) is split evenly among
its states, because the start is symmetric: `orbit_outcomes` does that.

The order is canonical, not merely some order: within a class the threads
are sorted by a number given to each distinct (pc, locals) the first time it
is seen, and threads that are alike there are ordered so that the threads
the primitives and the fault name come out smallest. So a state and any
renaming of it get the same representative, and the representatives are
exactly the orbits (`full_states` counts the full graph from them).
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from itertools import permutations, product
from math import factorial, prod
from typing import Callable

from . import program as p
from .semantics import State, fault_thread, renamed, thread_refs
from .values import exact_key

MAX_GROUP = 40_320  # 8!: the renamings of a whole class are enumerated where an end's message needs them


@dataclass(frozen=True)
class Symmetry:
    """The classes of interchangeable threads, each in scenario order (at least two threads each)."""

    classes: tuple[tuple[int, ...], ...]
    threads: int  # how many threads the program has

    @property
    def group_size(self) -> int:
        return prod(factorial(len(members)) for members in self.classes)

    def names(self, program: p.Program) -> list[list[str]]:
        return [[program.threads[tid].name for tid in members] for members in self.classes]


def find(program: p.Program) -> Symmetry | None:
    """The classes of threads that can be renamed into each other, or None when there are none."""
    referenced = {instr.thread for thread in program.threads for instr in thread.code
                  if isinstance(instr, (p.Start, p.Join))}
    daemons = any(thread.daemon for thread in program.threads)
    # the first non-daemon thread takes the interpreter's exit when daemons are left: it is unlike the others
    exit_taker = next((tid for tid, thread in enumerate(program.threads) if not thread.daemon), None) if daemons else None
    groups: dict[tuple, list[int]] = {}
    for tid, thread in enumerate(program.threads):
        if thread.starts_running and tid not in referenced and tid != exit_taker:
            groups.setdefault(_likeness(thread), []).append(tid)
    classes, size = [], 1
    for members in groups.values():
        for start in range(0, len(members), 8):
            chunk = tuple(members[start:start + 8])
            if len(chunk) > 1 and size * factorial(len(chunk)) <= MAX_GROUP:
                classes.append(chunk)
                size *= factorial(len(chunk))
    if not classes:
        return None
    return Symmetry(tuple(sorted(classes)), len(program.threads))


def _likeness(thread: p.ThreadProgram) -> tuple:
    """What two threads must share to be interchangeable: everything but the name and the unused slots.

    Instructions hold closures, which compare by identity, so the code is
    compared by what it was compiled from: each instruction's kind, line,
    text, jumps and accesses (two copies of one body compile alike).
    """
    code = tuple((type(instr).__name__, instr.line, instr.text, instr.action, instr.next, instr.accesses, instr.clear,
                  tuple(_shape(getattr(instr, name)) for name in getattr(instr, "__slots__", ())))
                 for instr in thread.code)
    initial = tuple(None if slot in thread.unused_slots else value for slot, value in enumerate(thread.initial_locals))
    return (code, thread.local_names, initial, thread.daemon, thread.first_line, thread.forever,
            tuple(sorted(thread.unused_slots)))


def _shape(value):
    """An instruction's field with every closure in it left out (one line's text compiles to one closure)."""
    if callable(value):
        return "<expression>"
    if isinstance(value, tuple):
        return tuple(_shape(item) for item in value)
    return value


class Canon:
    """The representative of a state's orbit, and the renaming that gives it.

    `key` maps a thread's (pc, locals) to what identifies it (the part
    itself, or its exact key once the exploration is exact), so that parts
    are numbered by value and type alike.
    """

    def __init__(self, program: p.Program, symmetry: Symmetry, key: Callable[[tuple], object]):
        self.program = program
        self.classes = symmetry.classes
        self.threads = symmetry.threads
        self.key = key
        self.numbers: dict = {}
        self.owned = any(prim.kind in ("Lock", "RLock", "Condition", "Barrier") for prim in program.primitives)
        self.where = {tid: (number, position) for number, members in enumerate(self.classes)
                      for position, tid in enumerate(members)}
        self.ranks: list[list[int]] = []
        self.tied = False
        self.shifts: dict = {}

    def __call__(self, state: State) -> tuple[State, tuple[int, ...] | None]:
        """(representative, mapping old thread -> new thread), the mapping None when the state is one."""
        mapping = None
        ties = False
        for members in self.classes:
            ranks = self._ranks(state.threads, members)
            if len(set(ranks)) < len(ranks):
                ties = True
            if any(ranks[i] > ranks[i + 1] for i in range(len(ranks) - 1)):
                order = sorted(range(len(members)), key=ranks.__getitem__)
                if mapping is None:
                    mapping = list(range(self.threads))
                for position, index in enumerate(order):
                    mapping[members[index]] = members[position]
        if mapping is not None:
            state = renamed(self.program, state, tuple(mapping))
        if ties and (self.owned or state.fault is not None):
            state, extra = self._break_ties(state)
            if extra is not None:
                mapping = tuple(extra) if mapping is None else tuple(extra[new] for new in mapping)
        return state, None if mapping is None else tuple(mapping)

    def _ranks(self, threads: tuple, members: tuple[int, ...]) -> list[int]:
        """Each member's part's number, given on first sight: the canonical order sorts by it."""
        numbers, key = self.numbers, self.key
        return [numbers.setdefault(key(threads[tid]), len(numbers)) for tid in members]

    def begin(self, parent: State) -> None:
        """Get ready for the successors of a representative: its threads' ranks, class by class."""
        self.ranks = [self._ranks(parent.threads, members) for members in self.classes]
        self.tied = any(len(set(ranks)) < len(ranks) for ranks in self.ranks)

    def successor(self, state: State, tid: int) -> tuple[State, tuple[int, ...] | None]:
        """`self(state)` for the state thread `tid`'s step led to from the one given to `begin`.

        Only the stepping thread's part changed (a step never changes
        another thread's pc or locals), and the others are in order: the
        stepper moves to its place among its class, the rest shift by one.
        """
        where = self.where.get(tid)
        careful = self.owned or state.fault is not None
        if where is None:
            return self(state) if careful and self.tied else (state, None)
        number, position = where
        ranks = self.ranks[number]
        rank = self.numbers.setdefault(self.key(state.threads[tid]), len(self.numbers))  # _ranks, inline: per step
        others = ranks[:position] + ranks[position + 1:]
        if careful and (self.tied or rank in others):
            return self(state)
        place = bisect_right(others, rank)
        if place == position:
            return state, None
        shift = self.shifts.get((tid, place))
        if shift is None:
            shift = self.shifts[tid, place] = self._shift(number, position, place)
        mapping, order = shift
        if careful:
            return renamed(self.program, state, mapping), mapping
        threads = state.threads
        return State(tuple([threads[old] for old in order]), state.shared, state.prims, state.output), mapping

    def _shift(self, number: int, position: int, place: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The renaming that moves a class's thread from `position` to `place`, the ones between
        shifting by one, and its inverse (the old thread at each new position)."""
        members = self.classes[number]
        mapping = list(range(self.threads))
        mapping[members[position]] = members[place]
        step = 1 if place < position else -1
        for index in range(place, position, step):
            mapping[members[index]] = members[index + step]
        return tuple(mapping), inverse(mapping)

    def _break_ties(self, state: State) -> tuple[State, tuple[int, ...] | None]:
        """Among renamings of threads whose parts are equal, the one whose primitives and fault name the
        smallest threads (so a state that names none of them is its own representative)."""
        identity = tuple(range(self.threads))
        best = None
        for mapping in _tie_renamings(self.program, self.classes, state, onto_all=True):
            candidate = state if mapping == identity else renamed(self.program, state, mapping)
            named = fault_thread(self.program, candidate.fault)
            score = (thread_refs(self.program, candidate.prims), -1 if named is None else named)
            if best is None or score < best[0]:
                best = (score, candidate, mapping)
        return (state, None) if best[2] == identity else (best[1], best[2])


def _tie_groups(program: p.Program, classes: tuple, state: State) -> list[tuple[list[int], list[int]]]:
    """Per set of alike threads of one class with equal (pc, locals): (its threads, those of them
    that the primitives or the fault name). Only the named ones can tell two renamings apart."""
    named = set(thread_refs(program, state.prims))
    named.add(fault_thread(program, state.fault))
    groups = []
    for members in classes:
        alike: dict = {}
        for tid in members:
            alike.setdefault(exact_key(state.threads[tid]), []).append(tid)
        groups.extend((group, [tid for tid in group if tid in named]) for group in alike.values() if len(group) > 1)
    return groups


def _tie_renamings(program: p.Program, classes: tuple, state: State, onto_all: bool) -> list[tuple[int, ...]]:
    """Renamings that only swap alike threads with equal parts, identity first, one per way of placing
    the named ones: onto any of their group's places (`onto_all`), or onto each other's only.
    The unnamed ones fill the places left in order, as any order of theirs gives the same state."""
    threads = len(state.threads)
    choices = []
    for group, named in _tie_groups(program, classes, state):
        places = group if onto_all else named
        choices.append([(group, named, image) for image in permutations(places, len(named))])
    result = []
    for choice in product(*choices):
        mapping = list(range(threads))
        for group, named, image in choice:
            for old, new in zip(named, image):
                mapping[old] = new
            if onto_all:
                left = [place for place in group if place not in image]
                for old, new in zip([tid for tid in group if tid not in named], left):
                    mapping[old] = new
        result.append(tuple(mapping))
    return result


def inverse(mapping) -> tuple[int, ...]:
    """The renaming that undoes `mapping`: the old number of each new thread."""
    back = [0] * len(mapping)
    for old, new in enumerate(mapping):
        back[new] = old
    return tuple(back)


def erased(program: p.Program, symmetry: Symmetry, state: State) -> State:
    """The state with each class's unused slots holding the first member's values, so copies are equal."""
    threads = list(state.threads)
    for members in symmetry.classes:
        first = threads[members[0]][1]
        for tid in members[1:]:
            slots = program.threads[tid].unused_slots
            if slots:
                pc, loc = threads[tid]
                threads[tid] = (pc, tuple(first[slot] if slot in slots else value for slot, value in enumerate(loc)))
    return state._replace(threads=tuple(threads))


def restored(program: p.Program, state: State) -> State:
    """The inverse of `erased` for a state in real thread positions: each thread's own unused slots."""
    threads = list(state.threads)
    for tid, thread in enumerate(program.threads):
        if thread.unused_slots:
            pc, loc = threads[tid]
            own = thread.initial_locals
            threads[tid] = (pc, tuple(own[slot] if slot in thread.unused_slots else value for slot, value in enumerate(loc)))
    return state._replace(threads=tuple(threads))


class Frame:
    """Which real thread each thread of a representative stands for, along a run.

    `real[t]` is the real thread that thread t of the current representative
    is. A step by t goes to its successor's representative through the
    edge's mapping m (thread i there is thread m[i] of the next one), so the
    next frame is real'[m[i]] = real[i].
    """

    def __init__(self, threads: int):
        self.real = list(range(threads))

    def step(self, mapping: tuple[int, ...] | None) -> None:
        if mapping is not None:
            real = [0] * len(self.real)
            for old, new in enumerate(mapping):
                real[new] = self.real[old]
            self.real = real

    def state(self, program: p.Program, state: State) -> State:
        """The real state the representative stands for here."""
        if self.real == list(range(len(self.real))):
            return restored(program, state)
        return restored(program, renamed(program, state, tuple(self.real)))


def orbit_size(program: p.Program, symmetry: Symmetry, state: State) -> int:
    """How many real states an explored representative stands for: the renamings that change it.

    Explored states hold one object per distinct part (the explorer interns
    them by exact value), so equal parts are the same object; where no
    primitive or fault names a thread, the renamings that keep the state
    are those among equal parts."""
    if state.fault is None and all(ref < 0 for ref in thread_refs(program, state.prims)):
        kept = 1
        for members in symmetry.classes:
            for count in Counter(id(state.threads[tid]) for tid in members).values():
                kept *= factorial(count)
        return symmetry.group_size // kept
    return symmetry.group_size // _stabiliser(program, symmetry, state)


def _stabiliser(program: p.Program, symmetry: Symmetry, state: State) -> int:
    """How many renamings leave the state as it is: those that swap alike threads with equal
    parts, the named ones only among themselves and so that the primitives and fault stay."""
    groups = _tie_groups(program, symmetry.classes, state)
    free = prod(factorial(len(group) - len(named)) for group, named in groups)
    if not any(named for _, named in groups):
        return free
    kept = 0
    for mapping in _tie_renamings(program, symmetry.classes, state, onto_all=False):
        other = renamed(program, state, mapping)
        kept += other.prims == state.prims and other.fault == state.fault
    return free * kept


def orbit_outcomes(program: p.Program, symmetry: Symmetry, state: State,
                   key: Callable[[State], tuple]) -> list[tuple[tuple, int, int]]:
    """The report keys of an end's orbit: (key, share, of), each real state of the orbit being
    equally likely. One key with share 1 of 1 when the key does not depend on the names."""
    own = key(restored(program, state))
    if own[3] is None:  # no message: shared values, output and status do not name threads
        return [(own, 1, 1)]
    counts: dict[tuple, int] = {}
    renamings = list(all_renamings(symmetry))
    for mapping in renamings:
        other = key(restored(program, renamed(program, state, mapping)))
        counts[other] = counts.get(other, 0) + 1
    return [(other, count, len(renamings)) for other, count in counts.items()]


def all_renamings(symmetry: Symmetry):
    classes, threads = symmetry.classes, symmetry.threads
    for choice in product(*(permutations(members) for members in classes)):
        mapping = list(range(threads))
        for members, image in zip(classes, choice):
            for old, new in zip(members, image):
                mapping[old] = new
        yield tuple(mapping)
