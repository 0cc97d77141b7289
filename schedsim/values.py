"""Values that scenario programs compute with.

States must be hashable, so a Python list in a scenario is held as a
`ListValue`: an immutable tuple that prints, compares and concatenates like a
list. Assigning a list therefore copies it; mutation goes through the shared
variable (`xs[i] = v`, `xs.append(v)`), which is one step.
"""
from __future__ import annotations

import math
from typing import Any

from .program import Unset


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
        return ListValue(tuple.__add__(self, other))

    def __mul__(self, count: Any) -> "ListValue":
        return ListValue(tuple.__mul__(self, count))

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
        return ListValue(items)

    def appended(self, value: Any) -> "ListValue":
        return ListValue(tuple.__add__(self, (value,)))


SCALARS = (int, float, str, bool, type(None))


def from_yaml(value: Any) -> Any:
    """A YAML value as a program value, or TypeError if it is not one we model."""
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"unsupported value {value!r}: use a finite number")
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, list):
        return ListValue(from_yaml(item) for item in value)
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
        return (kind, tuple([item if type(item) in EXACT_TYPES else exact_key(item) for item in value]))
    return (kind, value)


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
