"""Real threads for `schedsim crosscheck`, run in a child process of schedsim.

`realrun` starts this file as `python -I realchild.py`: standard library only,
so it starts fast and imports nothing of the project (the model never runs
here). It reads one JSON job on stdin and writes one JSON line per run on
stdout, flushed, so a parent that has to kill a hung child keeps every run
before it. Two jobs:

- "controlled": the steps program once per schedule. Each thread waits at
  `turn(pc)` before each step; the replayer lets exactly the named thread take
  its next step and waits until every thread stands still again. It records
  after each step where every thread stands, the shared values and the output.
- "free": the plain program's own `run()` again and again, each run in a
  fresh namespace, until a run leaves threads behind that may still be
  running (daemons cut off, threads after an exception); the parent then
  starts a new child for the rest. The blocked threads of a deadlocked run
  stay behind, harmless, up to MAX_STUCK threads.

The child ends with os._exit: threads stuck in a real lock must not keep it alive.
"""
import json
import os
import sys
import threading
import time

NEW, DONE = -1, -2  # as in schedsim.engine.program


class Abort(BaseException):
    """Raised at a turnstile once a replayed run is over, so its threads leave."""


class Gate:
    """A Condition's lock as its Condition sees it: inside wait(), letting the lock go
    marks the thread as inside the call, and the lock is taken back only once the
    replay grants the model's wake step. Everything else is the lock's own."""

    def __init__(self, replay, lock):
        self.replay, self.lock = replay, lock
        self.acquire, self.release = lock.acquire, lock.release

    def __enter__(self):
        return self.lock.__enter__()

    def __exit__(self, *exc_info):
        return self.lock.__exit__(*exc_info)

    def _is_owned(self):
        if hasattr(self.lock, "_is_owned"):
            return self.lock._is_owned()
        if self.lock.acquire(False):  # CPython's test for a plain Lock: merely locked
            self.lock.release()
            return False
        return True

    def _release_save(self):
        saved = self.lock._release_save() if hasattr(self.lock, "_release_save") else self.lock.release()
        self.replay.enter(self.replay.local.waking)
        return saved

    def _acquire_restore(self, saved):
        self.replay.turn(self.replay.local.waking)
        if hasattr(self.lock, "_acquire_restore"):
            self.lock._acquire_restore(saved)
        else:
            self.lock.acquire()


def own(value):
    """A copy of a list, which the model holds as a value; anything else as it is."""
    return value[:] if type(value) is list else value


class Replay:
    """One controlled run of the steps program on real threads."""

    def __init__(self, code, job):
        self.job = job
        names = job["names"]
        self.cv = threading.Condition()
        self.local = threading.local()
        self.abort = False
        self.lines = []
        space = {"__name__": "schedsim_steps", "print": self.print, names["turn"]: self.turn,
                 names["own"]: own, names["enter"]: self.enter, names["run_thread"]: self.run_thread,
                 names["gate"]: lambda lock: Gate(self, lock), names["waking"]: self.waking}
        exec(code, space)
        self.space = space
        self.threads = space[names["THREADS"]]
        self.where = [NEW] * len(self.threads)  # pc at a turnstile, NEW, DONE, "running", ("inside", pc), ("fault", ...)
        self.granted = [False] * len(self.threads)

    # -- called by the program's threads --------------------------------------------

    def run_thread(self, body, *args):
        tid = self.threads.index(threading.current_thread())
        self.local.tid = tid
        with self.cv:
            self.where[tid] = "running"
        try:
            body(*args)
            end = DONE
        except Abort:
            end = "aborted"
        except BaseException as exc:
            end = ("fault", type(exc).__name__, str(exc), isinstance(exc, AssertionError))
        with self.cv:
            self.where[tid] = end
            self.cv.notify_all()

    def turn(self, pc):
        tid = self.local.tid
        with self.cv:
            self.where[tid] = pc
            self.cv.notify_all()
            while not self.granted[tid]:
                if self.abort:
                    raise Abort
                self.cv.wait()
            self.granted[tid] = False
            self.where[tid] = "running"

    def enter(self, pc):
        """The thread goes into a real blocking call that stands for the model's step pc."""
        with self.cv:
            self.where[self.local.tid] = ("inside", pc)
            self.cv.notify_all()

    def waking(self, pc):
        """The step pc at which the thread's next Condition.wait may take its lock back."""
        self.local.waking = pc

    def print(self, *args, sep=None):
        self.lines.append((" " if sep is None else sep).join(map(str, args)))

    # -- the replayer -----------------------------------------------------------------

    def busy(self, tid):
        where = self.where[tid]
        return where == "running" or (where == NEW and self.threads[tid].ident is not None)

    def settle(self, timeout, tids=None):
        """Wait until no thread (of `tids`) is between turnstiles; False on timeout."""
        tids = range(len(self.threads)) if tids is None else tids
        deadline = time.monotonic() + timeout
        with self.cv:
            while any(self.granted[t] or self.busy(t) for t in tids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
        return True

    def grant(self, tid, timeout):
        """Let thread `tid` take one step: False if it is not waiting for one (within `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while isinstance(self.where[tid], tuple) and self.where[tid][0] == "inside":
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
            if not isinstance(self.where[tid], int) or self.where[tid] < 0:
                return False
            self.granted[tid] = True
            self.cv.notify_all()
        return True

    def position(self, tid):
        where = self.where[tid]
        if isinstance(where, int):
            return where
        if isinstance(where, tuple):
            return where[1] if where[0] == "inside" else "fault"
        return where  # "running": stuck inside a step

    def observe(self):
        shared = [repr(self.space[name]) for name in self.job["shared"]]
        return [[self.position(t) for t in range(len(self.threads))], shared, len(self.lines)]

    def values(self):
        return [self.space[name] for name in self.job["shared"]]

    def judge(self):
        """(status, message) if the real run has ended by the model's rules, else (None, None)."""
        for tid, where in enumerate(self.where):
            if isinstance(where, tuple) and where[0] == "fault":
                _, kind, text, failed = where
                return ("violation" if failed else "error"), f"{self.threads[tid].name}: {kind}: {text}"
        names = self.job["names"]
        verdict = self.check(names["ALWAYS_CHECKS"], "always")
        if verdict[0] is not None:
            return verdict
        if all(self.where[t] in (NEW, DONE) for t, thread in enumerate(self.threads) if not thread.daemon):
            if self.shutting_down():
                return None, None  # daemon threads run on until the replay grants the exit
            return self.exit()
        return None, None

    def shutting_down(self):
        """Only daemon threads are left running, so the next step may be the interpreter's exit."""
        return any(thread.daemon and self.where[t] not in (NEW, DONE) for t, thread in enumerate(self.threads))

    def exit(self):
        verdict = self.check(self.job["names"]["FINAL_CHECKS"], "final")
        return verdict if verdict[0] is not None else ("finished", None)

    def check(self, role, kind):
        values = self.values()
        for text, holds in self.space[role]:
            try:
                if not holds(*values):
                    return "violation", f"{kind} check failed: {text}"
            except Exception as exc:
                return "error", f"check {text!r} raised {type(exc).__name__}: {exc}"
        return None, None

    def run(self, schedule, probe):
        record = {"trace": [], "status": None, "message": None, "ended_after": None,
                  "blocked_at": None, "not_ready_at": None, "probe_ran": None}
        for thread in self.space[self.job["names"]["RUNNING_AT_START"]]:
            thread.start()
        try:
            self.replay(record, schedule, probe)
        finally:
            with self.cv:
                self.abort = True
                self.cv.notify_all()
        record["output"] = self.lines
        return record

    def replay(self, record, schedule, probe):
        timeout = self.job["step_timeout"]
        if not self.settle(timeout):
            record["blocked_at"] = 0
            return
        record["trace"].append(self.observe())
        status, message = self.judge()
        for number, tid in enumerate(schedule, 1):
            if status is not None:
                break
            if self.where[tid] == DONE and self.shutting_down():  # the main thread's exit step
                record["trace"].append(self.observe())
                status, message = self.exit()
                record["ended_after"] = number
                break
            if not self.grant(tid, timeout):
                record["not_ready_at"] = number
                return
            settled = self.settle(timeout)
            record["trace"].append(self.observe())
            if not settled:
                record["blocked_at"] = number
                return
            status, message = self.judge()
            record["ended_after"] = number if status is not None else None
        else:
            if status is None and probe:
                status, message = self.probe(record)
        if status is not None and record["ended_after"] is None:
            record["ended_after"] = len(record["trace"]) - 1
        record["status"], record["message"] = status, message

    def probe(self, record):
        """The model says every thread is blocked: each real one must block too."""
        for tid, where in enumerate(self.where):
            if isinstance(where, int) and where >= 0 or isinstance(where, tuple) and where[0] == "inside":
                if self.grant(tid, self.job["probe_timeout"]) and self.settle(self.job["probe_timeout"], [tid]):
                    record["probe_ran"] = tid
                    return None, None
        return "deadlock", None


def controlled(job, out):
    code = compile(job["source"], "<steps program>", "exec")
    blocked = 0
    for schedule in job["schedules"]:
        record = Replay(code, job).run(schedule["threads"], schedule["probe"])
        emit(out, record)
        blocked += record["blocked_at"] is not None or record["not_ready_at"] is not None
        if blocked >= job["max_blocked"]:
            break


def free(job, out):
    code = compile(job["source"], "<exported program>", "exec")
    names = job["names"]
    for number in range(job["first"], job["first"] + job["count"]):
        space = {"__name__": "schedsim_free"}
        exec(code, space)
        result = space[names["run"]](f"{job['seed']}:{number}")
        emit(out, {"run": number, "status": result["status"], "message": result["message"],
                   "final": [repr(result["final"][name]) for name in job["shared"]], "output": result["output"]})
        if result["status"] != "deadlock" and left_behind(space[names["THREADS"]]):
            break  # a thread may still be running: the next run gets a fresh process
        if threading.active_count() > MAX_STUCK:
            break  # threads of deadlocked runs stay blocked, harmless, but not without end


MAX_STUCK = 200


def left_behind(threads):
    """True if some thread of a finished run is still alive after a moment."""
    for thread in threads:
        if thread.ident is not None:
            thread.join(0.05)
    return any(thread.is_alive() for thread in threads)


def emit(out, record):
    out.write(json.dumps(record) + "\n")
    out.flush()


# Address space of this child. The model refuses a value too big to hold before
# computing it; a real run computes it, so 'a' * 10**10 must be a MemoryError
# here, not the machine's memory. Thread stacks count too: MAX_STUCK of them fit.
MEMORY_CAP = 4 << 30


def cap_memory():
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    except (ImportError, ValueError, OSError):  # not on this platform, or a lower hard limit already
        pass


def main():
    cap_memory()
    job = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # what the programs print goes nowhere; they keep it themselves
    (controlled if job["mode"] == "controlled" else free)(job, out)
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
