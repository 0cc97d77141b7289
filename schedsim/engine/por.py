"""`--reduce por`: every way a run can end, for programs too big for the full state graph.

A partial-order reduction: breadth-first from the initial state, each state
is expanded by a *stubborn set* of its runnable threads rather than by all
of them, computed from `dependence` (which threads' futures can touch what
a step touches), and every step is `semantics.step`. Why stubborn sets with
BFS and not sleep sets or DPOR: they cut states, not just edges (sleep sets
visit every state), they fit a search with stored states and cycles (DPOR
is stateless, and sound state caching for it is subtle), and BFS gives
short schedules.

The set T of threads expanded at a state s is closed under:

1. a runnable thread k in T: every thread whose future has a step
   dependent with k's next step is in T (dependent: see `dependence`;
   a step that may fault is dependent with every visible one);
2. a blocked thread k in T: every thread that could unblock it is in T
   (the ones whose future changes what k waits for; for a join, the
   thread joined; for the exit step, every non-daemon thread still
   running);
3. some runnable thread in T does not fault at s (checked by stepping).

Among the sets that each runnable thread generates, the one with the fewest
runnable threads is taken. And the cycle proviso: a state whose reduced
steps lead back to a state found no later than it (a cycle can close there)
is expanded by every runnable thread, so every cycle of the reduced graph
has a fully expanded state.

What that preserves: every *end* of a run, as `analysis.outcome_key` sees
it: each finish (final checks included), each deadlock with what every
thread waits for, each violation and error with the shared values and
output of the moment it happened. (A run that ends in s after steps w
either has a step of T in w, which 1 and 2 let move first, or has none: it
cannot be a deadlock or a finish, as T's steps stay possible; it can be a
fault, and then the non-faulting step of 3 commutes with w and, if it is
visible, 1 keeps every thread that may fault inside T; if invisible, the
outcome is the same after it. The proviso makes that argument end on
cycles.) Every outcome comes with a schedule that `replay` accepts, a
shortest one among the runs explored (not necessarily in the full graph).

What it does not preserve: counts and probabilities (most interleavings are
never walked), runs that never end (a `while True:` worker's "runs forever"
and a spin that could end are about cycles, which the reduction cuts), and
the findings (races, lock order, starvation), which need every state.
"""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass

from .dependence import Dependence
from .explorer import INTERRUPTED, LIMIT, PROGRESS_EVERY, Exploration, Progress, StateIndex, gc_paused, state_key
from ..analyses.graphs import components
from .interrupts import deferred
from ..limits import DEFAULT_BOUNDS
from .program import Join, Program
from .semantics import State, current_instruction, initial_state, runnable, step

POR = "por"
COVERS = ("finished", "deadlock", "violation", "error")
NOT_COVERED = ("counts and probabilities", "runs that never end", "races", "lock order", "starvation")


@dataclass
class Reduction:
    """A reduced exploration: the graph of the states it visited, in the shape of a full one."""

    exploration: Exploration
    fully_expanded: int  # states expanded by every runnable thread
    cyclic: bool         # the reduced graph has a cycle: runs that never end may exist, and are not covered


def explore_por(program: Program, max_states: int = DEFAULT_BOUNDS.max_states,
                progress: Progress | None = None) -> Reduction:
    """Explore `program` by stubborn sets; Ctrl-C or `max_states` stop it between two states."""
    started = time.perf_counter()
    search = _Search(program)
    states = [initial_state(program)]
    index = StateIndex()
    index.go_exact(states)
    nodes = index.nodes
    parents, offsets, targets, movers = array("q", [-1]), array("q", [0]), array("q"), array("h")
    stopped, node, full = None, 0, 0
    with gc_paused(), deferred() as interrupt:
        try:
            while node < len(states):
                if interrupt.pending:
                    stopped = INTERRUPTED
                    break
                state = states[node]
                ready = runnable(program, state)
                chosen, successors = search.expand(state, ready)
                keys = [state_key(successor) for successor in successors]
                found = [nodes.get(key) for key in keys]
                if len(chosen) < len(ready) and any(target is not None and target <= node for target in found):
                    chosen, successors = search.expand_all(state, ready, chosen, successors)
                    keys = [state_key(successor) for successor in successors]
                    found = [nodes.get(key) for key in keys]
                if len(states) + found.count(None) > max_states:
                    stopped = LIMIT
                    break
                full += len(chosen) == len(ready) and bool(ready)
                for successor, key, target in zip(successors, keys, found):
                    if target is None:
                        target = nodes.get(key)  # two steps may reach one new state
                    if target is None:
                        target = nodes[key] = len(states)
                        states.append(successor)
                        parents.append(node)
                    targets.append(target)
                movers.extend(chosen)
                offsets.append(len(targets))
                node += 1
                if progress is not None and node % PROGRESS_EVERY == 0:
                    progress(len(states), len(targets), time.perf_counter() - started)
        except KeyboardInterrupt:
            stopped = INTERRUPTED
            del offsets[node + 1:]
            del targets[offsets[-1]:]
            del movers[offsets[-1]:]
    offsets.extend([len(targets)] * (len(states) - node))
    exploration = Exploration(program, states, index, parents, offsets, targets, movers, node, stopped,
                              time.perf_counter() - started)
    return Reduction(exploration, full, not components(exploration).acyclic)


class _Search:
    """The stubborn set of each state, from the program's static `Dependence`."""

    def __init__(self, program: Program):
        self.program = program
        self.dependence = Dependence(program)
        self.non_daemons = tuple(tid for tid, thread in enumerate(program.threads) if not thread.daemon)
        self.sets: dict[tuple, list[tuple[int, ...]]] = {}  # (pcs, runnable) -> stubborn sets, smallest first

    def expand(self, state: State, ready: tuple[int, ...]) -> tuple[tuple[int, ...], list[State]]:
        """The threads of the smallest stubborn set that has a step which does not fault, and their successors."""
        if len(ready) <= 1:
            return ready, [step(self.program, state, tid) for tid in ready]
        stepped: dict[int, State] = {}
        for chosen in self.candidates(state, ready):
            if len(chosen) == len(ready):
                break
            for tid in chosen:
                if tid not in stepped:
                    stepped[tid] = step(self.program, state, tid)
            if any(stepped[tid].fault is None for tid in chosen):
                return chosen, [stepped[tid] for tid in chosen]
        return self.expand_all(state, ready, (), [])

    def candidates(self, state: State, ready: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The stubborn sets that the runnable threads generate, smallest first.

        They depend only on where each thread stands and on which can run, so
        they are computed once for each such situation."""
        situation = (tuple([pc for pc, _ in state.threads]), ready)
        sets = self.sets.get(situation)
        if sets is None:
            sets = self.sets[situation] = sorted({self.stubborn(state, ready, seed) for seed in ready},
                                                 key=lambda chosen: (len(chosen), chosen))
        return sets

    def expand_all(self, state: State, ready: tuple[int, ...], chosen: tuple[int, ...],
                   successors: list[State]) -> tuple[tuple[int, ...], list[State]]:
        """Every runnable thread's step, reusing those already taken."""
        done = dict(zip(chosen, successors))
        return ready, [done[tid] if tid in done else step(self.program, state, tid) for tid in ready]

    def stubborn(self, state: State, ready: tuple[int, ...], seed: int) -> tuple[int, ...]:
        """The runnable threads of the stubborn set that `seed` generates (rules 1 and 2 of the module)."""
        dependence, threads = self.dependence, state.threads
        futures = {tid: dependence.future(tid, pc) for tid, (pc, _) in enumerate(threads)}
        members, work = {seed}, [seed]
        while work:
            tid = work.pop()
            pc = threads[tid][0]
            if tid in ready:
                touch = dependence.step(tid, pc)
                added = [other for other, future in futures.items() if other not in members and touch.conflicts(future)]
            else:
                added = [other for other in self._unblockers(state, tid, futures) if other not in members]
            members.update(added)
            work.extend(added)
        return tuple(tid for tid in ready if tid in members)

    def _unblockers(self, state: State, tid: int, futures: dict) -> list[int]:
        """The threads that could let blocked thread `tid` go on."""
        instr = current_instruction(self.program, state, tid)
        if instr is None:  # the main thread, finished, whose exit waits for the other non-daemon threads
            return [other for other in self.non_daemons if state.threads[other][0] >= 0]
        if isinstance(instr, Join):
            return [instr.thread]
        touch = self.dependence.step(tid, state.threads[tid][0])
        waited = touch.reads | touch.writes
        return [other for other, future in futures.items() if future.writes & waited]
