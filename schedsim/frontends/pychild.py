"""One free run of a `.py` file itself on real threads, in a child process of schedsim.

`pyrun` starts this file as `python -I pychild.py` with a JSON job on
stdin and reads one JSON line back. Standard library only: the model never
runs here. The file's code runs as the module `__main__` in a thread named
MainThread (so that schedsim's own main thread can watch it: a deadlocked
or spinning program must not hang the watcher), with `print` kept as lines.
The run ends, as the model's does, when every non-daemon thread has
finished (daemon threads are cut off), at the first uncaught exception, or
when no thread moves any more (a deadlock). The shared values and the
output are saved at that moment. The child ends with os._exit.
"""
import builtins
import json
import os
import random
import re
import sys
import threading
import time

POLL = 0.005


class Run:
    def __init__(self, job):
        self.job = job
        self.code = compile(job["source"], job["path"], "exec")
        self.lines = []
        self.end = []  # (status, thread name, message, snapshot) of how the run ended, first one wins
        self.done = threading.Event()
        self.space = {"__name__": "__main__", "__file__": job["path"], "__builtins__": builtins, "print": self.print}

    def print(self, *args, sep=" ", end="\n", file=None, flush=False):
        """One line kept, as the model's print is one line of output."""
        self.lines.append((" " if sep is None else sep).join(map(str, args)))

    def snapshot(self):
        return [repr(self.space.get(name)) for name in self.job["shared"]], list(self.lines)

    def finish(self, status, name, exc):
        if not self.end:
            message = None if exc is None else f"{model_name(name)}: {type(exc).__name__}: {exc}"
            self.end.append((status, message, self.snapshot()))
        self.done.set()

    def hook(self, args):
        """An exception in one of the file's threads: the model's run ends there."""
        status = "violation" if issubclass(args.exc_type, AssertionError) else "error"
        self.finish(status, args.thread.name if args.thread else "?", args.exc_value)

    def main(self):
        try:
            exec(self.code, self.space)
        except BaseException as exc:
            return self.finish("violation" if isinstance(exc, AssertionError) else "error", "MainThread", exc)
        for thread in threading.enumerate():
            if thread not in (threading.current_thread(), threading.main_thread()) and not thread.daemon:
                thread.join()
        self.finish("finished", "MainThread", None)

    def run(self):
        threading.excepthook = self.hook
        sys.setswitchinterval(self.job["switch_interval"])
        if self.job["jitter"]:
            jitter(self.job["path"], random.Random(self.job["seed"]))
        runner = threading.Thread(target=self.main, name="MainThread")
        start = still_since = time.monotonic()
        last = None
        runner.start()
        while not self.done.wait(POLL):
            now = time.monotonic()
            moving = progress()
            if moving != last:
                last, still_since = moving, now
            elif now - still_since > self.job["still_seconds"]:
                self.finish("deadlock", "MainThread", None)
            if now - start > self.job["deadline_seconds"]:
                self.finish("timeout", "MainThread", None)
        status, message, (final, output) = self.end[0]
        return {"status": status, "message": message, "final": final, "output": output}


def model_name(name):
    """CPython's "Thread-3 (func)" is the model's Thread3; other names are the same."""
    match = re.fullmatch(r"Thread-(\d+)(?: \(.*\))?", name)
    return f"Thread{match[1]}" if match else name


def progress():
    """Where each other thread stands, and its CPU time: neither changing for long means no thread moves."""
    me = threading.get_ident()
    found = []
    for ident, frame in sorted(sys._current_frames().items()):
        if ident != me:
            found.append((frame.f_code, frame.f_lasti, cpu_ms(ident)))
    return found


def cpu_ms(ident):
    try:
        return round(time.clock_gettime(time.pthread_getcpuclockid(ident)) * 1000)
    except (AttributeError, OSError):
        return None


def jitter(path, rng):
    """A seeded random pause before some lines of the file, in every thread, so that races show."""
    def trace(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None
        if event == "line" and rng.random() < 0.3:
            time.sleep(rng.random() * 1e-4)
        return trace
    threading.settrace(trace)


def main():
    job = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the program's own writes, and its threads' tracebacks
    record = Run(job).run()
    out.write(json.dumps(record) + "\n")
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
