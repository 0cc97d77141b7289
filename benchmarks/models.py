"""The benchmark models, one program each, written out for schedsim, Harmony and SPIN.

Every model is built from its parameters (threads, increments, ...), so a
size is an argument, not a file. Each tool gets the same program in its own
language; what a step is differs between the tools (schedsim: one shared
access or one statement; Harmony: local work merged into the next shared
access; SPIN: one Promela statement), so their state counts differ too.
None of the peer models states a check that fails: Harmony and SPIN stop
at the first failure, which would cut their search short.

    python3 benchmarks/models.py --list
    python3 benchmarks/models.py --out /tmp/models                # every default model, all three tools
    python3 benchmarks/models.py --out /tmp/models --only filter_3
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {"schedsim": ".yaml", "harmony": ".hny", "spin": ".pml"}


@dataclass(frozen=True)
class Model:
    """One program in each tool's language; a peer is None where it has no model."""

    name: str
    schedsim: str
    harmony: str | None
    spin: str | None
    cyclic: bool = False  # its state graph has cycles (issue 8's family)

    def text(self, tool: str) -> str | None:
        return getattr(self, tool)


def _indent(lines: list[str], spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in lines)


# -- counter: N threads x K unlocked increments ------------------------------------

def counter(threads: int, increments: int, differ: bool = False, rmw: bool = False) -> Model:
    """N threads, each adding to a shared x K times without a lock: read, then write.

    The copies are alike (each adds 1), or, with `differ`, thread i adds
    i + 1, so each reads its own index and no two are interchangeable.
    With `rmw` the add is a statement of its own between the read and the
    write (`a = x`, `a = a + 1`, `x = a`, as scenarios/counter.yaml has it):
    a local-only step, which `--steps shared` merges into the read.
    """
    name = f"counter_{threads}x{increments}" + ("_differ" if differ else "") + ("_rmw" if rmw else "")
    return Model(name, _counter_schedsim(name, threads, increments, differ, rmw),
                 _counter_harmony(threads, increments, differ, rmw), _counter_spin(threads, increments, differ, rmw))


def _increment(added: str, rmw: bool) -> list[str]:
    """One increment in Python's (and Harmony's) syntax: a read and a write, or read, add, write."""
    return ["a = x", f"a = {added}", "x = a"] if rmw else ["a = x", f"x = {added}"]


def _counter_schedsim(name: str, threads: int, increments: int, differ: bool, rmw: bool = False) -> str:
    added = "a + index + 1" if differ else "a + 1"
    body = [f"for _ in range({increments}):"] + [f"    {line}" for line in _increment(added, rmw)]
    what = "thread i adds i + 1" if differ else "each adds 1"
    return (f"name: {name}\n"
            f"description: {threads} threads, {increments} unlocked increments each ({what}); updates can be lost.\n"
            "shared:\n  x: 0\n"
            f"threads:\n  T:\n    count: {threads}\n    code: |\n" + _indent(body, 6))


def _counter_harmony(threads: int, increments: int, differ: bool, rmw: bool = False) -> str:
    if differ:
        header, added, spawn = "def worker(self):", "a + self + 1", "spawn worker(i)"
    else:
        header, added, spawn = "def worker():", "a + 1", "spawn worker()"
    first, *rest = _increment(added, rmw)
    return ("x = 0\n\n" + header + "\n"
            f"    for _ in {{1..{increments}}}:\n"
            f"        var {first}\n" + "".join(f"        {line}\n" for line in rest) + "\n"
            f"for i in {{0..{threads - 1}}}:\n    {spawn}\n")


def _counter_spin(threads: int, increments: int, differ: bool, rmw: bool = False) -> str:
    """The K increments written out: schedsim's `for` loop over a constant range takes no step of its own."""
    added = "a + _pid + 1" if differ else "a + 1"
    body = ["; ".join(_increment(added, rmw)) for _ in range(increments)]
    return ("int x = 0;\n\n"
            f"active [{threads}] proctype T() {{\n"
            "    int a;\n"
            + ";\n".join(f"    {line}" for line in body) + "\n"
            "}\n")


# -- private counters: N threads that share nothing but a lock at the end ----------------

def private_counters(threads: int, increments: int) -> Model:
    """Thread i adds 1 to its own x_i K times (read, then write), then takes lock L once to add to `total`.

    Mostly independent threads: the full graph is the product of the threads'
    progress, about (2K + 1)^N states, where a partial-order reduction needs
    one order of the private steps.
    """
    name = f"private_{threads}x{increments}"
    shared = [f"x{i}" for i in range(threads)]
    lines = [f"name: {name}",
             f"description: {threads} threads, each adding to its own counter {increments} times, then to a "
             "total under a lock.",
             "shared: {" + ", ".join(f"{var}: 0" for var in shared) + ", total: 0}", "locks: [L]", "threads:"]
    for i in range(threads):
        lines += [f"  P{i}: |", f"    for _ in range({increments}):", f"        a = x{i}", f"        x{i} = a + 1",
                  "    with L:", f"        total = total + x{i}"]
    harmony = ("from synch import Lock, acquire, release\n\nlock = Lock()\n"
               + "".join(f"x{i} = 0\n" for i in range(threads)) + "total = 0\n\n"
               + "".join(f"def worker{i}():\n    for _ in {{1..{increments}}}:\n        var a = x{i}\n"
                         f"        x{i} = a + 1\n    acquire(?lock)\n    total = total + x{i}\n    release(?lock)\n\n"
                         for i in range(threads))
               + "".join(f"spawn worker{i}()\n" for i in range(threads)))
    spin = ("bool lock;\nint total = 0;\n" + "".join(f"int x{i} = 0;\n" for i in range(threads))
            + "".join(f"\nactive proctype P{i}() {{\n    int a;\n"
                      + "".join(f"    a = x{i}; x{i} = a + 1;\n" for _ in range(increments))
                      + f"    atomic {{ !lock -> lock = true }};\n    total = total + x{i};\n    lock = false\n}}\n"
                      for i in range(threads)))
    return Model(name, "\n".join(lines) + "\n", harmony, spin)


# -- dining philosophers: each takes the left fork, then the right -------------------

def dining(philosophers: int) -> Model:
    """scenarios/dining_philosophers_N.yaml's program: Pi takes Fi, then F(i+1 mod N), sets ate_i."""
    name = f"dining_{philosophers}"
    return Model(name, _dining_schedsim(name, philosophers), _dining_harmony(philosophers),
                 _dining_spin(philosophers))


def _forks(i: int, philosophers: int) -> tuple[int, int]:
    return i, (i + 1) % philosophers


def _dining_schedsim(name: str, philosophers: int) -> str:
    lines = [f"name: {name}",
             f"description: {philosophers} philosophers, each taking the left fork first; all can deadlock.",
             "shared:"]
    lines += [f"  ate{i}: false" for i in range(philosophers)]
    lines.append("locks: [" + ", ".join(f"F{i}" for i in range(philosophers)) + "]")
    lines.append("threads:")
    for i in range(philosophers):
        left, right = _forks(i, philosophers)
        lines += [f"  P{i}: |", f"    with F{left}:", f"        with F{right}:", f"            ate{i} = True"]
    everyone = " and ".join(f"ate{i}" for i in range(philosophers))
    lines += ["checks:", f'  final: ["{everyone}"]']
    return "\n".join(lines) + "\n"


def _dining_harmony(philosophers: int) -> str:
    forks = ", ".join("Lock()" for _ in range(philosophers))
    ate = ", ".join("False" for _ in range(philosophers))
    return ("from synch import Lock, acquire, release\n\n"
            f"forks = [{forks}]\n"
            f"ate = [{ate}]\n\n"
            "def philosopher(i):\n"
            "    acquire(?forks[i])\n"
            f"    acquire(?forks[(i + 1) % {philosophers}])\n"
            "    ate[i] = True\n"
            f"    release(?forks[(i + 1) % {philosophers}])\n"
            "    release(?forks[i])\n\n"
            f"for i in {{0..{philosophers - 1}}}:\n    spawn philosopher(i)\n")


def _dining_spin(philosophers: int) -> str:
    return (f"bool fork[{philosophers}];\n"
            f"bool ate[{philosophers}];\n\n"
            f"active [{philosophers}] proctype P() {{\n"
            f"    byte left = _pid, right = (_pid + 1) % {philosophers};\n"
            "    atomic { !fork[left] -> fork[left] = true };\n"
            "    atomic { !fork[right] -> fork[right] = true };\n"
            "    ate[_pid] = true;\n"
            "    fork[right] = false;\n"
            "    fork[left] = false\n"
            "}\n")


# -- the cyclic family (issue 8): busy-waits in workers that run once, until stopped, or forever ----

ONCE, STOP, FOREVER = "once", "stop", "forever"
LOOPS = (ONCE, STOP, FOREVER)
_LOOP_MEANING = {ONCE: "each worker enters once and ends",
                 STOP: "each worker enters again and again until thread S sets done",
                 FOREVER: "each worker is a `while True:` loop that never ends"}


def _wrap(loop: str, body: list[str]) -> list[str]:
    """A worker's body in its loop, in Python syntax (schedsim's and Harmony's alike)."""
    if loop == ONCE:
        return body
    return ["while not done:" if loop == STOP else "while True:"] + ["    " + line for line in body]


def _wrap_spin(loop: str, body: list[str]) -> list[str]:
    """A worker's body in its loop, in Promela; the body's last statement has no `;`."""
    if loop == ONCE:
        return body
    inner = ["    " + line for line in body]
    if loop == STOP:
        return ["do", ":: !done ->"] + inner + [":: else -> break", "od"]
    return ["do", ":: true ->"] + inner + ["od"]


def _schedsim_cyclic(name: str, description: str, shared: list[str], locks: list[str],
                     bodies: list[list[str]], loop: str) -> str:
    shared = shared + (["done: false"] if loop == STOP else [])
    text = (f"name: {name}\ndescription: {description}; {_LOOP_MEANING[loop]}.\n"
            "shared:\n" + _indent(shared, 2)
            + (f"locks: [{', '.join(locks)}]\n" if locks else "") + "threads:\n")
    if loop == STOP:
        text += "  S: |\n    done = True\n"
    for me, body in enumerate(bodies):
        text += f"  P{me}: |\n" + _indent(_wrap(loop, body), 4)
    return text + 'checks:\n  always: ["in_cs <= 1"]\n'


def _harmony_cyclic(shared: list[str], helpers: str, bodies: list[list[str]], loop: str) -> str:
    shared = shared + (["done = False"] if loop == STOP else [])
    text = "\n".join(shared) + "\n\ninvariant in_cs <= 1\n\n" + helpers
    for me, body in enumerate(bodies):
        text += f"def worker{me}():\n" + _indent(_wrap(loop, body), 4) + "\n"
    spawn = "spawn eternal" if loop == FOREVER else "spawn"  # Harmony reports threads that never end, unless eternal
    text += "".join(f"{spawn} worker{me}()\n" for me in range(len(bodies)))
    if loop == STOP:
        text += "\ndef stopper():\n    done = True\n\nspawn stopper()\n"
    return text


def _spin_cyclic(shared: list[str], locals_: str, bodies: list[list[str]], loop: str) -> str:
    shared = shared + (["bool done = false;"] if loop == STOP else [])
    text = "\n".join(shared) + "\n"
    for me, body in enumerate(bodies):
        text += f"\nactive proctype P{me}() {{\n    {locals_}\n" + _indent(_wrap_spin(loop, body), 4) + "}\n"
    if loop == STOP:
        text += "\nactive proctype S() {\n    done = true\n}\n"
    return text


_SECTION = ["in_cs += 1", "in_cs -= 1"]  # the critical section: a read and a write each
_SECTION_SPIN = ["t = in_cs; in_cs = t + 1;", "assert(in_cs <= 1);", "t = in_cs; in_cs = t - 1;"]


def filter_lock(threads: int, loop: str = ONCE) -> Model:
    """The filter lock (Peterson's algorithm for N threads) around a critical section.

    Thread i goes up levels 1 .. N-1: at each it raises level_i, makes itself
    the level's victim, and busy-waits while another thread is at that level
    or above and it is still the victim. At most one thread is in the
    critical section (in_cs counts them); with two threads it is Peterson's
    algorithm. The busy-waits make the graph cyclic. `loop` (see LOOPS): a
    worker that enters once makes many small cycles that runs leave; one
    that enters until stopped, one big component that runs leave (what the
    exact analysis must solve); one that runs forever, a component that no
    run leaves.
    """
    shared = [f"level{i}" for i in range(threads)] + [f"victim{level}" for level in range(1, threads)]
    initial = {name: (-1 if name.startswith("victim") else 0) for name in shared}
    name = f"filter_{threads}_{loop}"
    return Model(
        name,
        _schedsim_cyclic(name, f"The filter lock (Peterson for {threads} threads)",
                         [f"{var}: {value}" for var, value in initial.items()] + ["in_cs: 0"], [],
                         [_filter_body(me, threads) for me in range(threads)], loop),
        _harmony_cyclic([f"{var} = {value}" for var, value in initial.items()] + ["in_cs = 0"], "",
                        [_filter_body(me, threads) for me in range(threads)], loop),
        _spin_cyclic([f"int {var} = {value};" for var, value in initial.items()] + ["byte in_cs = 0;"], "byte t;",
                     [_filter_body_spin(me, threads) for me in range(threads)], loop),
        cyclic=True)


def _filter_body(me: int, threads: int) -> list[str]:
    """Thread `me`'s entry protocol, critical section and exit, in Python syntax."""
    body = []
    for level in range(1, threads):
        higher = " or ".join(f"(level{k} >= {level})" for k in range(threads) if k != me)
        body += [f"level{me} = {level}", f"victim{level} = {me}",  # Harmony wants every parenthesis
                 f"while ({higher}) and (victim{level} == {me}):", "    pass"]
    return body + _SECTION + [f"level{me} = 0"]


def _filter_body_spin(me: int, threads: int) -> list[str]:
    body = []
    for level in range(1, threads):
        higher = " || ".join(f"level{k} >= {level}" for k in range(threads) if k != me)
        body += [f"level{me} = {level};", f"victim{level} = {me};",
                 "do", f":: ({higher}) && victim{level} == {me} -> skip", ":: else -> break", "od;"]
    return body + _SECTION_SPIN + [f"level{me} = 0"]


def spin_lock(threads: int, loop: str = STOP) -> Model:
    """N threads around one test-and-set spin lock: try to take it without blocking until that works.

    In schedsim the test-and-set is `L.acquire(blocking=False)`; in Harmony
    and SPIN an atomic swap of a flag. Its cycles are the retries and (with
    `loop` STOP or FOREVER) the workers' own loops.
    """
    name = f"spinlock_{threads}_{loop}"
    retry = ["ok = L.acquire(blocking=False)", "while not ok:", "    ok = L.acquire(blocking=False)"]
    harmony_retry = ["var ok = test_and_set(?locked)", "while not ok:", "    ok = test_and_set(?locked)"]
    harmony_helpers = ("def test_and_set(lock):\n    atomically:\n        result = not !lock\n"
                       "        !lock = True\n\n")
    spin_body = ["atomic { ok = !locked; locked = true };", "do", ":: !ok -> atomic { ok = !locked; locked = true }",
                 ":: else -> break", "od;"] + _SECTION_SPIN + ["locked = false"]
    return Model(
        name,
        _schedsim_cyclic(name, f"{threads} threads around a test-and-set spin lock", ["in_cs: 0"], ["L"],
                         [retry + _SECTION + ["L.release()"]] * threads, loop),
        _harmony_cyclic(["locked = False", "in_cs = 0"], harmony_helpers,
                        [harmony_retry + _SECTION + ["locked = False"]] * threads, loop),
        _spin_cyclic(["bool locked = false;", "byte in_cs = 0;"], "bool ok; byte t;", [spin_body] * threads, loop),
        cyclic=True)


def bump_stop(workers: int) -> Model:
    """`workers` threads that bump x modulo 3 until a last thread sets `done`: schedsim only.

    Its cycles are large components that runs leave often (whenever the
    stopper steps); 5 workers give 1.4 million states, the size issue 8 asks
    the analysis to handle in seconds.
    """
    name = f"bump_stop_{workers}"
    return Model(name, (f"name: {name}\n"
                        f"description: {workers} workers bump x modulo 3 until a stopper sets done\n"
                        "shared: {x: 0, done: false}\nthreads:\n  W:\n"
                        f"    count: {workers}\n    code: |\n      while not done:\n          a = x\n"
                        "          x = (a + 1) % 3\n  S: |\n    s = 0\n    done = True\n"),
                 None, None, cyclic=True)


def cyclic_models(sizes: tuple[int, ...] = (2, 3, 4)) -> list[Model]:
    """The cyclic family for each number of threads: the spin lock until stopped, the filter lock in every loop."""
    return ([spin_lock(n, STOP) for n in sizes]
            + [filter_lock(n, loop) for loop in LOOPS for n in sizes])


# -- the default set -------------------------------------------------------------------------

def default_models() -> list[Model]:
    """Issue 9's targets (counter 3x2, 4x2, 5x2, alike and differing; dining 5) and issue 8's
    cyclic family for 2 and 3 threads (schedsim explores the 4-thread filter lock for over 2 minutes;
    peers.py --cyclic has the 4-thread models)."""
    models = [counter(n, 2, differ) for differ in (False, True) for n in (3, 4, 5)]
    models += [counter(n, 2, differ=True, rmw=True) for n in (3, 4, 5)]  # --steps shared merges the add
    models.append(dining(5))
    models += cyclic_models((2, 3))
    models.append(bump_stop(5))  # peers.py --stages --only bump_stop_5: a million states
    return models


def reduction_models() -> list[Model]:
    """The models of `peers.py --reduce`: threads that all share one variable (counter), a ring of locks
    (dining), busy-waits with an `always` check (filter, spin lock), and mostly independent threads
    (private). counter_5x2_differ and filter_4_once are left out: past 5 million states, neither the
    full search nor the reduced one ends within minutes here."""
    return [counter(4, 2, differ=True), dining(5), dining(7), filter_lock(3, ONCE), spin_lock(4, STOP),
            private_counters(5, 2), private_counters(6, 3)]


def write(model: Model, directory: Path) -> dict[str, Path]:
    """Write the model's files into `directory`; the path for each tool that has one."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for tool, suffix in SUFFIXES.items():
        text = model.text(tool)
        if text is not None:
            paths[tool] = directory / f"{model.name}{suffix}"
            paths[tool].write_text(text, encoding="utf-8")
    return paths


def select(models: list[Model], only: str | None) -> list[Model]:
    """The models whose name contains any of the comma-separated parts of `only`; a part that ends
    in `$` must be the whole name (`counter_3x2$` leaves out `counter_3x2_differ`)."""
    if not only:
        return models
    parts = only.split(",")
    return [model for model in models
            if any(model.name == part[:-1] if part.endswith("$") else part in model.name for part in parts)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the models' files into this directory")
    parser.add_argument("--only", help="comma-separated parts of model names, e.g. counter_4,filter")
    parser.add_argument("--list", action="store_true", help="list the default models")
    args = parser.parse_args(argv)
    models = select(default_models(), args.only)
    if args.list or not args.out:
        for model in models:
            tools = ", ".join(tool for tool in SUFFIXES if model.text(tool) is not None)
            print(f"{model.name:<20} {'cyclic' if model.cyclic else 'acyclic':<8} {tools}")
        return 0
    for model in models:
        for path in write(model, args.out).values():
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
