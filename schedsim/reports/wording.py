"""Numbers and lists for people: every text report words them the same way.

The JSON keeps every number exact; these helpers only decide how the text
shows it. The rules, documented in docs/reports.md:

- a count is written with thousands separators and the noun agrees with it
  ("1 interleaving", "2,304 interleavings");
- a probability is a percent; its exact fraction is shown beside it only
  where both numerator and denominator have at most `SHORT_DIGITS` digits
  ("3/4 (75%)"), otherwise only the percent ("47.3%"), and the JSON's
  `probability_exact` keeps the fraction;
- a schedule of more than `SHORT_SCHEDULE` steps is run-length encoded:
  `A*3` is three steps of A in a row, so `A*3 B A*2` is `A,A,A,B,A,A`.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Sequence

SHORT_DIGITS = 4      # a fraction is shown where both its numbers have at most this many digits
SHORT_SCHEDULE = 12   # schedules of at most this many steps are listed in full in text
LONG_OUTPUT = 60      # printed output shown in one summary line is cut after this many characters


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 run', '3 runs', '1,024 states': the count with the noun that agrees with it."""
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count:,} {word}"


def percent(probability: float) -> str:
    """A probability as a percent, with as many digits as it takes not to read as 0% or 100%."""
    if probability <= 0:
        return "0%"
    if probability >= 1:
        return "100%"
    for digits in range(3, 16):
        text = f"{probability * 100:.{digits}g}"
        if 0 < float(text) < 100:
            break
    return text + "%"


def short_fraction(exact: str | None) -> str | None:
    """The exact fraction if it is short enough to read, else None."""
    if exact is None or "/" not in exact:
        return None
    numerator, denominator = exact.split("/")
    return exact if max(len(numerator), len(denominator)) <= SHORT_DIGITS else None


def chance(probability: float | None, exact: str | None) -> str:
    """'1/4 (25%)', '47.3%', '0.333% (floating point)', or 'not computed'."""
    if probability is None:
        return "not computed"
    if exact is None:
        return f"{percent(probability)} (floating point)"
    fraction = short_fraction(exact)
    return f"{fraction} ({percent(probability)})" if fraction else percent(probability)


def exact_sum(exacts: Iterable[str | None]) -> str | None:
    """The sum of exact fractions given as strings; None if any is not exact."""
    total = Fraction(0)
    for exact in exacts:
        if exact is None:
            return None
        total += Fraction(exact)
    return str(total)


def run_length(schedule: Sequence[str]) -> str:
    """`A*3 B A*2` for A,A,A,B,A,A: each run of one thread as NAME*COUNT (NAME alone for one step)."""
    runs: list[list] = []
    for name in schedule:
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    return " ".join(name if count == 1 else f"{name}*{count}" for name, count in runs)


def schedule_text(schedule: Sequence[str]) -> str:
    """A schedule for text: in full (A,B,A) when short, run-length encoded when long."""
    if not schedule:
        return "(none)"
    if len(schedule) <= SHORT_SCHEDULE:
        return ",".join(schedule)
    return run_length(schedule)


def output_text(output: Sequence[str], limit: int = LONG_OUTPUT, lines: int | None = None) -> str:
    """Printed lines in one line, `|` between them, cut to about `limit` characters with the count
    of `lines` printed (by default, of `output`'s items)."""
    joined = " | ".join(output)
    if len(joined) <= limit:
        return joined
    return joined[:limit].rstrip() + f" ... ({plural(len(output) if lines is None else lines, 'line')} in all)"


def code_text(text: str) -> str:
    """The statement as written, without a trailing `# comment` (a `#` inside quotes stays)."""
    quote = None
    for position, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return text[:position].rstrip()
    return text


SHARED_STEPS = ("Steps: shared (--steps shared): a step is one shared access with the local-only statements "
                "after it, so counts, probabilities and schedules are of these coarser steps; the outcomes are "
                "those of one step per statement.")


def step_mode_lines(step_mode: str) -> list[str]:
    """The line a text report gives to coarser steps; none for the default, one step per statement."""
    return [SHARED_STEPS] if step_mode == "shared" else []
