"""Assertions about every interleaving, for tests (pytest, unittest, or a plain assert).

Each helper explores a scenario (or takes a `Result` already explored) and
raises AssertionError whose message tells the offending outcome and the
command that replays it, so a failing test shows the schedule to look at.
A claim about every run (`assert_outcomes`, `assert_never`) fails on an
exploration that stopped early: the runs it did not reach may break it.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .api import Outcome, Result, Source, explore

Pattern = Mapping[str, Any]  # shared variable name -> value; names left out are not compared


def result_of(scenario: Source | Result, **options: Any) -> Result:
    """A Result as it is, anything else explored with `options` (those of `schedsim.explore`)."""
    return scenario if isinstance(scenario, Result) else explore(scenario, **options)


def matches(outcome: Outcome, status: str | None = None, final: Pattern | None = None,
            output: Sequence[str] | None = None) -> bool:
    """True when the outcome has `status`, the values in `final`, and exactly `output` (each if given)."""
    return ((status is None or outcome.status == status)
            and all(name in outcome.final and outcome.final[name] == value for name, value in (final or {}).items())
            and (output is None or outcome.output == list(output)))


def assert_outcomes(scenario: Source | Result, expected: Mapping[str, Sequence[Pattern]], **options: Any) -> Result:
    """Exactly these outcomes: `{"finished": [{"x": 2}], "violation": [{"x": 1}]}`.

    Every outcome must match one of the patterns listed under its status,
    and every pattern must match some outcome. Returns the Result, for more
    assertions (probabilities, counts).
    """
    __tracebackhide__ = True
    result = result_of(scenario, **options)
    _require_complete(result)
    wanted = [(status, pattern) for status, patterns in expected.items() for pattern in patterns]
    unexpected = [outcome for outcome in result.outcomes
                  if not any(matches(outcome, status, pattern) for status, pattern in wanted)]
    missing = [(status, pattern) for status, pattern in wanted
               if not any(matches(outcome, status, pattern) for outcome in result.outcomes)]
    if unexpected or missing:
        lines = [f"{result.program.name}: the outcomes differ from those expected"]
        lines += [f"unexpected {outcome}" for outcome in unexpected]
        lines += [f"never reached: {status} {dict(pattern)}" for status, pattern in missing]
        raise AssertionError("\n".join(lines))
    return result


def assert_never(scenario: Source | Result, status: str | None = None, *, final: Pattern | None = None,
                 output: Sequence[str] | None = None, **options: Any) -> Result:
    """No interleaving ends this way: `assert_never(s, status="deadlock")`, `assert_never(s, final={"x": 1})`."""
    __tracebackhide__ = True
    result = result_of(scenario, **options)
    found = [outcome for outcome in result.outcomes if matches(outcome, status, final, output)]
    if found:
        shortest = min(found, key=lambda outcome: len(outcome.schedule))
        more = f" (and {len(found) - 1} more outcomes like it)" if len(found) > 1 else ""
        raise AssertionError(f"{result.program.name}: an interleaving ends {_described(status, final, output)}"
                             f"{more}:\n{shortest}")
    _require_complete(result)
    return result


def assert_possible(scenario: Source | Result, status: str | None = None, *, final: Pattern | None = None,
                    output: Sequence[str] | None = None, **options: Any) -> Outcome:
    """Some interleaving ends this way; returns that outcome (the first in the report's order)."""
    __tracebackhide__ = True
    result = result_of(scenario, **options)
    for outcome in result.outcomes:
        if matches(outcome, status, final, output):
            return outcome
    reached = "\n".join(str(outcome) for outcome in result.outcomes)
    partial = "" if result.complete else " in the part explored (exploration stopped early)"
    raise AssertionError(f"{result.program.name}: no interleaving ends {_described(status, final, output)}"
                         f"{partial}; the outcomes are:\n{reached}")


def _described(status: str | None, final: Pattern | None, output: Sequence[str] | None) -> str:
    parts = [f"as {status}" if status else "", f"with {dict(final)}" if final else "",
             f"printing {list(output)}" if output is not None else ""]
    return " ".join(part for part in parts if part) or "at all"


def _require_complete(result: Result) -> None:
    __tracebackhide__ = True
    if not result.complete:
        raise AssertionError(f"{result.program.name}: the exploration stopped early "
                             f"({result.to_dict()['stopped'] or 'interrupted'}), so a claim about every run "
                             "cannot be checked; raise max_states")
