"""Data races: two threads' accesses to a shared variable that nothing orders.

Happens-before (SPEC section 5) comes from each thread's program order and
from the primitives only: a Lock, RLock or Semaphore release -> a later
acquire; `start` -> the started thread; a thread's last step -> the `join`
that waits for it; `set` -> a `wait` (or an `is_set()`) that finds the event
set; `notify` -> the wait it wakes; every arrival at a barrier -> that
round's passes; `put` -> the `get` that takes that item. A plain shared
variable orders nothing, so a handoff through a flag is a race, as
ThreadSanitizer would report it. Which of these a step is, semantics says
(`sync_effects`); this module only says what each passes on.

Vector clocks give that order along one run, but runs share states, and
round a spinning loop a clock grows without bound. What a clock says about
one access is finite, though: the set of *agents* (threads, and sync
objects such as a lock or a queued item) that know it. A release, set,
put, arrival or start teaches the object what the thread knows; an
acquire, wait, get, pass or join teaches the thread what the object knows.
A later access by T races with it when it conflicts, comes from another
thread, and T does not know it.

So accesses are tracked one *record key* at a time, a key being (variable,
thread, line, how it touches the variable), and only the key's latest
access: whoever knows it knows the earlier ones (program order), so it
catches every race they would, for the same pair of lines. Each key is a
breadth-first search over (state, who knows the latest access), starting
right after each step that makes that access, a shortest run away; so the
first run found racing on a pair of lines is a shortest one. Once every
unfinished thread knows the access it can never race again, and that
branch of the search ends. Keys are independent (a step changes each
one's knowers on its own), which keeps the search to the sum of the keys'
sizes, not their product. Two accesses that both hold a common lock never
race (the first thread must release it, the second acquire it, in
between), so those pairs are never searched for: a variable that is
always locked costs nothing. What is left is finite but can be large:
`max_states` bounds it, and the result says when it cut the search short.

Each element of a list is its own variable, as each memory location is for
ThreadSanitizer: `xs[0] = a` and `xs[1] = b` do not conflict, though either
conflicts with a read of `xs` (a read takes the whole list). Two appends do
not conflict either: `list.append` is atomic in CPython, so neither can lose
the other's item; only their order varies, and the outcomes show that.
"""
from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass
from typing import Callable

from ..engine import program as p
from .edges import LOCK_KINDS, Moves, Site
from ..engine.explorer import Exploration, follow, path_to
from ..limits import DEFAULT_BOUNDS
from ..engine.program import DONE, Program
from ..engine.semantics import State, Sync, lock_owner, renamed, sync_effects, written_element
from ..engine.symmetry import inverse

# How a step touches a variable; an int >= 0 is a write of that list element.
READ, WRITE, APPEND = -3, -2, -1
# Sync objects, as agents; a thread is an agent by its number.
LOCK, EVENT, NOTIFIED, ROUND, PASS, ITEM = range(6)
# What a step does to the knowledge of every record (see _transform).
TEACH, LEARN, COPY, FORGET, SHIFT = range(5)


@dataclass(frozen=True)
class RaceAccess:
    """One side of a race: where, and how it touches the variable."""

    site: Site
    kind: str                # "read", "write" or "append"
    index: int | None = None  # the list element that a `xs[i] = v` writes

    def as_json(self) -> dict:
        entry = dict(self.site.as_json(), access=self.kind)
        if self.index is not None:
            entry["index"] = self.index
        return entry


@dataclass(frozen=True)
class Race:
    """Two accesses to `variable`, at least one a write, in either order on some run."""

    variable: str
    first: RaceAccess
    second: RaceAccess
    schedule: tuple[str, ...]  # a shortest run that makes the first access, then the second

    def as_json(self) -> dict:
        return {"variable": self.variable, "accesses": [self.first.as_json(), self.second.as_json()],
                "schedule": list(self.schedule), "message": self.message}

    @property
    def message(self) -> str:
        first, second = self.first, self.second
        return (f"{first.site.thread} {_VERBS[first.kind]} {self.variable}{_index_text(first)} at line {first.site.line} "
                f"and {second.site.thread} {_VERBS[second.kind]} it at line {second.site.line}, and no lock, join, "
                f"event, condition, barrier or queue orders the two, so either can come first.")


_VERBS = {"read": "reads", "write": "writes", "append": "appends to"}


def _index_text(access: RaceAccess) -> str:
    return "" if access.index is None else f"[{access.index}]"


@dataclass(frozen=True)
class RaceSearch:
    races: list[Race]
    complete: bool       # False when max_states cut the search short, or Ctrl-C did
    states: int          # (state, knowers) pairs searched, over all tracked accesses
    interrupted: bool = False


def find_races(exploration: Exploration, moves: Moves, max_states: int = DEFAULT_BOUNDS.max_race_states,
               shortcut: bool = True, progress: Callable[[str, int, int], None] | None = None) -> RaceSearch:
    """Every pair of source lines that races on some explored run, each with a shortest schedule.

    `shortcut=False` searches pairs that hold a common lock too, which
    finds the same races more slowly: it is there to check that it does.
    Ctrl-C (KeyboardInterrupt) keeps the races found so far.
    """
    return _Search(exploration, moves, max_states, shortcut).run(progress or (lambda stage, done, total: None))


_NOTHING: frozenset = frozenset()


class _Walk:
    """The pairs (node, knowers) one record key's search has reached, with how it reached them.

    A start's parent is -1 - (the node before the access), so a schedule
    is the shortest run to that node, then the steps recorded here.
    """

    def __init__(self, key: tuple):
        self.key = key
        self.nodes, self.knowers, self.parents = array("q"), [], array("q")
        self.owners = array("h")  # the thread that made the access, as each node numbers it (symmetry)
        self.via, self.depth = array("h"), array("q")
        self.seen: set = set()

    def add(self, item: tuple, parent: int, tid: int, depth: int, queue: deque) -> None:
        if item in self.seen:
            return
        self.seen.add(item)
        queue.append(len(self.nodes))
        self.nodes.append(item[0])
        self.knowers.append(item[1])
        self.owners.append(item[2])
        self.parents.append(parent)
        self.via.append(tid)
        self.depth.append(depth)


class _Search:
    """One breadth-first search per record key, over (state, who knows its latest access)."""

    def __init__(self, exploration: Exploration, moves: Moves, max_states: int, shortcut: bool):
        self.exploration = exploration
        self.shortcut = shortcut
        self.program = exploration.program
        self.moves = moves
        self.max_states = max_states
        self.depths = _depths(exploration)
        self.racy = _racy_variables(self.program)
        # per thread and pc: (variable, line, how) of each racy access, how None for an element write
        self.racy_steps = [[tuple((self.racy[access.target], instr.line, _how(instr, access))
                                  for access in instr.accesses
                                  if access.target in self.racy and access.kind in ("read", "write"))
                            for instr in thread.code] for thread in self.program.threads]
        self.texts = _access_texts(self.program)
        self.transformed: dict = {}
        self.relabelled: dict = {}
        symmetry = exploration.symmetry
        self.plain = not any(prim.kind in LOCK_KINDS + ("Condition", "Barrier") for prim in self.program.primitives)
        self.kin = {tid: frozenset(members) for members in symmetry.classes for tid in members} if symmetry else {}
        self.step_facts: dict[int, list[tuple]] = {}
        self.found: dict[tuple, tuple[int, Race]] = {}  # pair of lines -> (schedule length, race)
        self.searched = 0

    def run(self, progress: Callable[[str, int, int], None]) -> RaceSearch:
        complete, interrupted = True, False
        try:
            seeds, locksets = self.seeds()
            if not self.shortcut:
                locksets = {key: _NOTHING for key in locksets}
            for done, key in enumerate(sorted(seeds)):
                progress("races", done, len(seeds))
                partners = _partners(key, locksets, self.kin)
                if partners and not self.follow(_Walk(key), seeds[key], partners):
                    complete = False
                    break
        except KeyboardInterrupt:
            complete, interrupted = False, True
        races = sorted((race for _, race in self.found.values()), key=_lines)
        return RaceSearch(races, complete, self.searched, interrupted)

    def seeds(self) -> tuple[dict[tuple, array], dict[tuple, frozenset]]:
        """Per record key, every step that makes that access, and the locks held at all of them.

        An access replaces its key's record whatever came before, so its
        search starts right after the step: the steps are kept as (node
        before, node after) pairs, flat, in BFS order and so nearest first.
        The locks are those the thread owns at every such step, less any
        lock some thread releases for another (a plain Lock allows that).
        """
        states, program, racy_steps = self.exploration.states, self.program, self.racy_steps
        slots = [slot for slot, prim in enumerate(program.primitives) if prim.kind in LOCK_KINDS]
        seeds: dict[tuple, array] = {}
        locksets: dict[tuple, frozenset] = {}
        foreign: set[int] = set()
        for node in range(self.exploration.expanded):
            before = states[node]
            owners = [(slot, owner) for slot in slots for owner in (lock_owner(program, before, slot),) if owner is not None]
            for edge, (tid, target) in enumerate(self.moves.of(node), self.moves.starts[node]):
                after = self.after(edge, target)
                if owners:
                    foreign.update(slot for slot, owner in owners if owner != tid and lock_owner(program, after, slot) != owner)
                pc = before.threads[tid][0]
                if pc < 0 or not racy_steps[tid][pc]:  # pc < 0: the interpreter's exit touches nothing
                    continue
                held = frozenset([slot for slot, owner in owners if owner == tid]) if owners else _NOTHING
                for key in self.accesses(before, tid, after):
                    seeds.setdefault(key, array("q")).extend((node, edge))
                    locksets[key] = locksets.get(key, held) & held
        return seeds, {key: held - foreign for key, held in locksets.items()}

    def accesses(self, before: State, tid: int, after: State) -> list[tuple]:
        """The record keys (variable, thread, line, how) of a step's accesses to racy variables."""
        pc = before.threads[tid][0]
        return [(var, tid, line, _element(self.program, before, tid, after) if how is None else how)
                for var, line, how in self.racy_steps[tid][pc]]

    def follow(self, walk: _Walk, seeds: array, remaining: set[tuple]) -> bool:
        """Search the runs on which `walk.key`'s latest access lives, from every step that makes it.

        Breadth-first from many starts at different depths: a start joins
        the queue once the queue has reached its depth. Stops once every pair
        of lines in `remaining` is found. False if the bound cut it short.
        """
        owner = walk.key[1]
        starts = iter(zip(seeds[0::2], seeds[1::2]))
        start = next(starts, None)
        queue: deque = deque()
        targets = self.exploration.targets
        while remaining and (queue or start):
            if start and (not queue or self.depths[start[0]] + 1 <= walk.depth[queue[0]]):
                source, edge = start
                knowers, now_owner = self.relabel(frozenset((owner,)), owner, edge)
                walk.add((targets[edge], knowers, now_owner), -1 - source, owner, self.depths[source] + 1, queue)
                start = next(starts, None)
            else:
                self.expand(walk, queue.popleft(), queue, remaining)
                if self.searched + len(walk.nodes) >= self.max_states:
                    self.searched += len(walk.nodes)
                    return False
        self.searched += len(walk.nodes)
        return True

    def expand(self, walk: _Walk, position: int, queue: deque, remaining: set[tuple]) -> None:
        """Every step from one searched pair: who then knows the access, and any race the step makes."""
        var, _, line, how = walk.key
        node, known, owner = walk.nodes[position], walk.knowers[position], walk.owners[position]
        own_key = (var, owner, line, how)
        for edge, tid, target, ops, mine, unfinished in self.steps_of(node):
            now = self.transform(known, tid, ops) if ops else known
            if own_key in mine:
                continue  # replaced: that access starts a search of its own
            for other in mine:
                if other[0] == var and other[1] != owner and _conflict(how, other[3]) and tid not in now:
                    self.report(walk, other, position, tid, remaining)
            if unfinished <= now:
                continue  # every unfinished thread knows it: it can never race again
            now, now_owner = self.relabel(now, owner, edge)
            walk.add((target, now, now_owner), position, tid, walk.depth[position] + 1, queue)

    def steps_of(self, node: int) -> list[tuple]:
        """Per step of `node`: (thread, target, knowledge it passes on, racy accesses, threads still running
        after it). The same for every record key's search, so worked out once a node."""
        facts = self.step_facts.get(node)
        if facts is None:
            states = self.exploration.states
            before = states[node]
            facts = []
            for edge, (tid, target) in enumerate(self.moves.of(node), self.moves.starts[node]):
                after = self.after(edge, target)
                pc = before.threads[tid][0]
                mine = self.accesses(before, tid, after) if pc >= 0 and self.racy_steps[tid][pc] else ()
                unfinished = frozenset(t for t, (at, _) in enumerate(after.threads) if at != DONE)
                facts.append((edge, tid, target, self.sync(before, tid, after), mine, unfinished))
            self.step_facts[node] = facts
        return facts

    def report(self, walk: _Walk, second: tuple, position: int, tid: int, remaining: set[tuple]) -> None:
        """Keep the race if it is the first, or the shortest, found for its pair of lines."""
        first = walk.key
        pair = (first[0], min(first[2], second[2]), max(first[2], second[2]))
        remaining.discard(pair)
        length = walk.depth[position] + 1
        if pair in self.found and self.found[pair][0] <= length:
            return
        tids = [tid]
        while position >= 0:
            tids.append(walk.via[position])
            position = walk.parents[position]
        prefix = self.moves.schedule(path_to(self.exploration, -1 - position))
        real = follow(self.exploration, list(prefix + tuple(reversed(tids))))[0]
        names = self.program.thread_names
        schedule = tuple(names[t] for t in real)
        self.found[pair] = (length, Race(self.program.shared_names[first[0]], self.access(first, real[len(prefix)]),
                                         self.access(second, real[-1]), schedule))

    def transform(self, knowers: frozenset, tid: int, ops: tuple) -> frozenset:
        """Who knows an access after the step: memoised, as few distinct sets recur."""
        memo = (knowers, tid, ops)
        result = self.transformed.get(memo)
        if result is None:
            result = self.transformed[memo] = _transform(knowers, tid, ops)
        return result

    def sync(self, before: State, tid: int, after: State) -> tuple:
        """The knowledge a step passes on, from what semantics says it did."""
        return tuple(op for effect in sync_effects(self.program, before, tid, after)
                     for op in _OPS[effect.what](effect, tid))

    def after(self, edge: int, target: int) -> State:
        """The state a step leads to, its threads numbered as in the state it left."""
        state = self.exploration.states[target]
        mappings = self.exploration.mappings
        if mappings is None or not mappings[edge]:
            return state
        mapping = self.exploration.renamings[mappings[edge]]
        if self.plain and state.fault is None:  # nothing but the threads' places to put back
            threads = state.threads
            return State(tuple([threads[new] for new in mapping]), state.shared, state.prims, state.output)
        return renamed(self.program, state, inverse(mapping))

    def relabel(self, knowers: frozenset, owner: int, edge: int) -> tuple[frozenset, int]:
        """Who knows, and who made the access, as the step's target numbers its threads (symmetry)."""
        mappings = self.exploration.mappings
        if mappings is None or not mappings[edge]:
            return knowers, owner
        number = mappings[edge]
        mapping = self.exploration.renamings[number]
        memo = (knowers, number)
        result = self.relabelled.get(memo)
        if result is None:
            result = self.relabelled[memo] = frozenset(_relabelled(agent, mapping) for agent in knowers)
        return result, mapping[owner]

    def access(self, key: tuple, real: int) -> RaceAccess:
        """One side of a race, told of the real thread `real` that made it."""
        var, tid, line, how = key
        text = self.texts[tid, var, line, "read" if how == READ else "write"]
        site = Site(self.program.thread_names[real], line, text)
        if how >= 0:
            return RaceAccess(site, "write", how)
        return RaceAccess(site, {READ: "read", WRITE: "write", APPEND: "append"}[how])


def _lines(race: Race) -> tuple:
    lines = sorted((race.first.site.line, race.second.site.line))
    return (*lines, race.variable, race.schedule)


def _how(instr: p.Instruction, access: p.Access) -> int | None:
    """READ, WRITE or APPEND; None for `xs[i] = v`, whose element is known only when it runs."""
    if access.kind == "read":
        return READ
    if isinstance(instr, p.Append):
        return APPEND
    return None if isinstance(instr, p.SetItem) else WRITE


def _element(program: Program, before: State, tid: int, after: State) -> int:
    """The element a `xs[i] = v` step writes; the whole list if the run ended there."""
    element = written_element(program, before, tid, after)
    return WRITE if element is None else element


def _conflict(a: int, b: int) -> bool:
    """Whether two ways of touching one variable conflict (see the module docstring)."""
    if a == READ or b == READ:
        return a != b
    if a == WRITE or b == WRITE:
        return True
    return a == b != APPEND  # two elements conflict when they are one; appends never


def _depths(exploration: Exploration) -> array:
    """Steps from the start to each node on a shortest run: BFS parents come before their children."""
    depths = array("q", [0]) * len(exploration.states)
    for node in range(1, len(depths)):
        depths[node] = depths[exploration.parents[node]] + 1
    return depths


def _partners(key: tuple, locksets: dict[tuple, frozenset], kin: dict[int, frozenset] | None = None) -> set[tuple]:
    """The pairs of lines that `key` may race on: conflicting accesses by other threads.

    Two accesses made under a common lock never race: the first thread
    must release it (teaching the lock) before the second acquires it.
    Leaving such pairs out spares the search of a variable every access of
    which is locked, where knowledge would otherwise fan out over the runs.
    With symmetry, a key of one of `kin`'s interchangeable threads stands for
    the same access by each of its alike threads, so it may race with itself.
    """
    var, owner, line, how = key
    kin = kin or {}
    return {(var, min(line, other[2]), max(line, other[2])) for other, held in locksets.items()
            if other[0] == var and (other[1] != owner or owner in kin) and _conflict(how, other[3])
            and not held & locksets[key]}


def _racy_variables(program: Program) -> dict[str, int]:
    """The shared variables that two threads touch, one of them writing: {name: slot}."""
    touching: dict[str, set] = {}
    writing: dict[str, set] = {}
    for tid, thread in enumerate(program.threads):
        for instr in thread.code:
            for access in instr.accesses:
                if access.kind in ("read", "write") and access.target in program.shared_names:
                    touching.setdefault(access.target, set()).add(tid)
                    if access.kind == "write":
                        writing.setdefault(access.target, set()).add(tid)
    return {name: program.shared_names.index(name) for name in program.shared_names
            if writing.get(name) and len(touching[name]) > 1}


def _access_texts(program: Program) -> dict[tuple, str]:
    """{(thread, variable slot, line, "read" or "write"): the statement}, the first that fits."""
    texts: dict[tuple, str] = {}
    for tid, thread in enumerate(program.threads):
        for instr in thread.code:
            for access in instr.accesses:
                if access.kind in ("read", "write") and access.target in program.shared_names:
                    var = program.shared_names.index(access.target)
                    texts.setdefault((tid, var, instr.line, access.kind), instr.text)
    return texts


def _relabelled(agent, mapping: tuple[int, ...]):
    """An agent with the threads it names renamed: a thread, or a notified waiter's or a barrier pass's ticket."""
    if isinstance(agent, int):
        return mapping[agent]
    if agent[0] in (NOTIFIED, PASS):
        return (agent[0], agent[1], mapping[agent[2]])
    return agent


def _transform(knowers: frozenset, tid: int, ops: tuple) -> frozenset:
    agents = set(knowers)
    for op in ops:
        verb, agent = op[0], op[1]
        if verb == TEACH and tid in agents:
            agents.add(agent)
        elif verb == LEARN and agent in agents:
            agents.add(tid)
        elif verb == COPY:
            agents.discard(op[2])
            if agent in agents:
                agents.add(op[2])
        elif verb == FORGET:
            agents.discard(agent)
        elif verb == SHIFT:  # a get took item 0: the others move up
            items = sorted(a for a in agents if isinstance(a, tuple) and a[0] == ITEM and a[1] == agent)
            agents.difference_update(items)
            agents.update((ITEM, agent, a[2] - 1) for a in items if a[2] > 0)
    return frozenset(agents)


# -- what each kind of synchronisation passes on ---------------------------------------------
# Per `semantics.Sync` kind, the ops it makes for the stepping thread `tid`.

def _notified(effect: Sync, tid: int) -> tuple:
    """Each woken waiter's ticket holds what the notifier knows, and only that."""
    return tuple(op for waiter in effect.threads
                 for op in ((FORGET, (NOTIFIED, effect.slot, waiter)), (TEACH, (NOTIFIED, effect.slot, waiter))))


def _completed(effect: Sync, tid: int) -> tuple:
    """Every party's pass learns what the whole round taught the barrier."""
    copies = tuple((COPY, (ROUND, effect.slot), (PASS, effect.slot, waiter)) for waiter in effect.threads)
    return copies + ((FORGET, (ROUND, effect.slot)),)


_OPS = {
    "acquired": lambda effect, tid: ((LEARN, (LOCK, effect.slot)),),
    "released": lambda effect, tid: ((TEACH, (LOCK, effect.slot)),),
    "started": lambda effect, tid: ((TEACH, effect.slot),),
    "joined": lambda effect, tid: ((LEARN, effect.slot),),  # a finished thread's knowledge never changes again
    "set": lambda effect, tid: ((TEACH, (EVENT, effect.slot)),),
    "saw_set": lambda effect, tid: ((LEARN, (EVENT, effect.slot)),),
    "notified": _notified,
    "woken": lambda effect, tid: ((LEARN, (NOTIFIED, effect.slot, tid)), (FORGET, (NOTIFIED, effect.slot, tid))),
    "arrived": lambda effect, tid: ((TEACH, (ROUND, effect.slot)),),
    "completed": _completed,
    "passed": lambda effect, tid: ((LEARN, (PASS, effect.slot, tid)), (FORGET, (PASS, effect.slot, tid))),
    "put": lambda effect, tid: ((FORGET, (ITEM, effect.slot, effect.position)), (TEACH, (ITEM, effect.slot, effect.position))),
    "got": lambda effect, tid: ((LEARN, (ITEM, effect.slot, 0)), (SHIFT, effect.slot)),
}
