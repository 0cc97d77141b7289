"""Values that scenario programs compute with.

States must be hashable, so a Python list in a scenario is held as a
`ListValue`: an immutable tuple that prints, compares and concatenates like a
list. Assigning a list therefore copies it; mutation goes through the shared
variable (`xs[i] = v`, `xs.append(v)`), which is one step.
"""
from __future__ import annotations

import math
from typing import Any


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


def to_json(value: Any) -> Any:
    """A program value as plain JSON data (lists become lists)."""
    if isinstance(value, ListValue):
        return [to_json(item) for item in value]
    return value


def show(value: Any) -> str:
    """A program value as Python would `repr` it."""
    return repr(value)
