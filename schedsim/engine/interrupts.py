"""Ctrl-C noted rather than raised, for loops that stop at a point of their choosing.

A KeyboardInterrupt raised at an arbitrary bytecode can land between two
updates that belong together (a state added to the index but not to the
graph), and a partial report built on that would be wrong. Inside
`deferred()`, SIGINT only sets a flag, which a loop reads where stopping
leaves everything whole: the explorer between two states, the sampler
between two runs, the replayer between two steps.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Interrupt:
    """Whether Ctrl-C was pressed since `deferred()` began."""

    def __init__(self) -> None:
        self.pending = False


@contextmanager
def deferred() -> Iterator[Interrupt]:
    """Note SIGINT in the yielded Interrupt instead of raising KeyboardInterrupt.

    Only where Python's own handler is in place, on the main thread: anywhere
    else (a worker thread, a caller with a handler of its own, a nested
    use) Ctrl-C is left as it is, and the loops' `except KeyboardInterrupt`
    is what stops them.
    """
    interrupt = Interrupt()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield interrupt
        return

    def note(signum: int, frame: object) -> None:
        interrupt.pending = True

    signal.signal(signal.SIGINT, note)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
