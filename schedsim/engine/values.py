"""Values that scenario programs compute with.

States must be hashable, so a Python list in a scenario is held as a
`ListValue`: an immutable tuple that prints, compares and concatenates like a
list. Assigning a list therefore copies it; mutation goes through the shared
variable (`xs[i] = v`, `xs.append(v)`), which is one step.
"""
from __future__ import annotations

import math
import re
from typing import Any

from .program import Unset
from ..limits import DEFAULT_BOUNDS

NAN = math.nan  # every NaN a step makes is this one object, so equal runs give equal states


class OutOfModel(ValueError):
    """A value the model does not hold: over a bound of `limits.Bounds`, or complex.

    A step that would create one raises this instead, before it spends the
    time and memory, and the run ends with status "error".
    """


class ListValue(tuple):
    """An immutable list: hashable for states, list-like for users."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(item) for item in self) + "]"

    __str__ = __repr__

    def __add__(self, other: Any) -> "ListValue":
        if not isinstance(other, ListValue):
            raise TypeError(
                f'can only concatenate list (not "{type(other).__name__}") to list'
            )
        return bounded(ListValue(tuple.__add__(self, other)))

    def __mul__(self, count: Any) -> "ListValue":
        if isinstance(count, int) and count > 1 and size(self) * count > DEFAULT_BOUNDS.max_value_size:
            raise too_big(f"a list of size {size(self):,} times {count:,}")
        return bounded(ListValue(tuple.__mul__(self, count)))

    __rmul__ = __mul__

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return ListValue(tuple.__getitem__(self, index))
        try:
            return tuple.__getitem__(self, index)
        except IndexError:
            raise IndexError("list index out of range") from None

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ListValue) and tuple.__eq__(self, other)

    def __ne__(self, other: Any) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def replaced(self, index: Any, value: Any) -> "ListValue":
        """The list with one item replaced, as `xs[index] = value` would."""
        items = list(self)
        try:
            items[index] = value
        except IndexError:
            raise IndexError("list assignment index out of range") from None
        return bounded(ListValue(items))

    def appended(self, value: Any) -> "ListValue":
        return bounded(ListValue(tuple.__add__(self, (value,))))


SCALARS = (int, float, str, bool, type(None))


def from_yaml(value: Any) -> Any:
    """A YAML value as a program value, or TypeError if it is not one we model."""
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"unsupported value {value!r}: use a finite number")
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, list):
        return bounded(ListValue(from_yaml(item) for item in value))  # aliases can make a list of huge strs
    raise TypeError(f"unsupported value {value!r}: use int, float, bool, str, None or a list")


# Values whose `==` is already type-exact: two of them are equal only if
# they have the same type and value. bool, float and complex are not among
# them (False == 0 == 0.0, -0.0 == 0.0, NaN != NaN), nor is any container
# that may hold those.
EXACT_TYPES = frozenset({int, str, type(None), Unset})


def exact_key(value: Any) -> Any:
    """A key equal to another's only when both values have the same type and value.

    `1`, `1.0` and `True` print differently, so a state must not merge them
    as `==` does; -0.0 prints `-0.0`; every NaN is one value here (all
    print `nan`), though Python's NaN is unequal even to itself. Containers
    (states, lists, tuples) are keyed item by item, tagged by their type.
    """
    kind = type(value)
    if kind in EXACT_TYPES:
        return value
    if kind is bool:
        return _TRUE_KEY if value else _FALSE_KEY
    if kind is float:
        return (float, value.hex())
    if kind is complex:
        return (complex, value.real.hex(), value.imag.hex())
    if isinstance(value, tuple):
        if EXACT_TYPES.issuperset(map(type, value)):
            return (kind, value)
        return _tuple_key(value, {})
    return (kind, value)


def _tuple_key(value: tuple, memo: dict[int, Any]) -> tuple:
    """`exact_key` of a container, each inner container keyed once however often it is held
    (`a = [a, a]` holds one list twice: walked naively, its key doubles in work with every round)."""
    known = memo.get(id(value))
    if known is None:
        known = memo[id(value)] = (type(value), tuple([
            item if type(item) in EXACT_TYPES else _tuple_key(item, memo) if isinstance(item, tuple)
            else exact_key(item) for item in value]))
    return known


_TRUE_KEY, _FALSE_KEY = (bool, True), (bool, False)


class Exact(tuple):
    """A tuple that equals another only when `exact_key` says so: for grouping
    ends into outcomes, where `x == False` and `x == 0` are two outcomes."""

    __slots__ = ()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Exact) and exact_key(tuple(self)) == exact_key(tuple(other))

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(exact_key(tuple(self)))


def all_exact(values: tuple) -> bool:
    """True when `==` on these values is already type-exact (see EXACT_TYPES)."""
    return EXACT_TYPES.issuperset(map(type, values))


def too_big(what: str) -> OutOfModel:
    return OutOfModel(f"{what} is larger than the model holds (size at most "
                      f"{DEFAULT_BOUNDS.max_value_size:,}; see limits.Bounds)")


def bounded(value: Any) -> Any:
    """`value` if the model can hold it (a NaN becomes `NAN`); else OutOfModel."""
    kind = type(value)
    if kind is int:
        if value.bit_length() > DEFAULT_BOUNDS.max_int_bits:
            raise OutOfModel(f"an int of {value.bit_length():,} bits is larger than the model holds "
                             f"(at most {DEFAULT_BOUNDS.max_int_bits:,} bits)")
    elif kind is float:
        return NAN if value != value else value
    elif kind is str:
        if len(value) > DEFAULT_BOUNDS.max_value_size:
            raise too_big(f"a str of {len(value):,} characters")
    elif kind is ListValue:
        size(value)
    elif kind is complex:
        raise OutOfModel(f"the result {value!r} is a complex number, which the model does not hold")
    return value


def size(value: Any) -> int:
    """A value's size as `limits.Bounds.max_value_size` counts it; OutOfModel past the bounds."""
    kind = type(value)
    if kind is str:
        return len(value) + 1
    if kind is int:
        return 1 + value.bit_length() // 8
    if kind is not ListValue:
        return 1
    total, height = _list_size(value, {})
    if height > DEFAULT_BOUNDS.max_list_depth:
        raise OutOfModel(f"lists nested more than {DEFAULT_BOUNDS.max_list_depth} deep are deeper than the model holds")
    return total


def _list_size(items: ListValue, seen: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(size, nesting) of a list; a list held many times is counted each time but walked once."""
    total, height = 1 + len(items), 1
    for item in items:
        kind = type(item)
        if kind is ListValue:
            if id(item) not in seen:
                seen[id(item)] = _list_size(item, seen)
            inner, inner_height = seen[id(item)]
            total, height = total + inner - 1, max(height, inner_height + 1)
        elif kind is str:
            total += len(item)
        elif kind is int:
            total += item.bit_length() // 8
        if total > DEFAULT_BOUNDS.max_value_size:
            raise too_big("a list")
    return total, height


_NUMBER = re.compile(r"\d+")


def check_widths(spec: str, what: str) -> None:
    """Refuse a format spec (or % format) whose width or precision asks for a huge string."""
    for digits in _NUMBER.findall(spec):
        if len(digits) > 7 or int(digits) > DEFAULT_BOUNDS.max_value_size:
            raise too_big(f"the {what} {spec[:40]!r} asks for a string that")


def to_json(value: Any) -> Any:
    """A program value as plain data for a report (lists become lists).

    Floats stay floats, NaN and infinities included, so that the text
    reports print them as Python does; `strict_json` makes them JSON.
    """
    if isinstance(value, ListValue):
        return [to_json(item) for item in value]
    return value


def strict_json(data: Any) -> Any:
    """Report data as strict JSON can hold it: what JSON has no form for
    becomes the string Python prints for it.

    JSON has no NaN or infinity and no complex numbers, so those are
    written `"nan"`, `"inf"`, `"-inf"`, `"(1+2j)"` (README, "JSON output").
    """
    if isinstance(data, dict):
        return {key: strict_json(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(item) for item in data]
    if isinstance(data, float) and not math.isfinite(data):
        return repr(data)
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    return repr(data)


def show(value: Any) -> str:
    """A program value as Python would `repr` it."""
    return repr(value)
