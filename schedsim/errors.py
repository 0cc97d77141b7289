"""The one exception type that user mistakes become.

Every mistake in a scenario file (bad YAML, an unknown name, an unsupported
statement, a thread started twice) is raised as a `ScenarioError` that knows
where it happened, so the CLI can print one line and exit 2 instead of a
traceback.
"""
from __future__ import annotations


class ScenarioError(ValueError):
    """A mistake in a scenario file, located by file, thread and line."""

    def __init__(self, message: str, file: str = "", thread: str = "", line: int = 0):
        self.message = message
        self.file = file
        self.thread = thread
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        place = self.file or "<scenario>"
        if self.line:
            place += f":{self.line}"
        if self.thread:
            place += f": thread {self.thread}"
        return f"{place}: {self.message}"

    def located(self, file: str = "", thread: str = "", line: int = 0) -> "ScenarioError":
        """Fill in whatever part of the location is still unknown."""
        return ScenarioError(
            self.message, self.file or file, self.thread or thread, self.line or line
        )
