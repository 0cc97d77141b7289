"""Python expressions of a thread body, compiled into closures.

`compile_expression(node, load)` turns an `ast` expression into a function
`fn(locals, state)`. Names, and queries on primitives such as `E.is_set()`,
are resolved by the caller's `load`, which is called once per occurrence in
Python's evaluation order: that is how the compiler decides which shared
reads become steps of their own. Nothing is ever passed to `eval`.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Callable

from ..errors import ScenarioError
from .program import Expr
from ..limits import DEFAULT_BOUNDS
from .values import ListValue, OutOfModel, bounded, check_widths, too_big

Load = Callable[[ast.expr], Expr]  # given an ast.Name, or an ast.Call of NAME.method()

def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _too_many_bits(what: str) -> OutOfModel:
    return OutOfModel(f"{what} would have more than {DEFAULT_BOUNDS.max_int_bits:,} bits, "
                      "more than the model holds (see limits.Bounds)")


def _pow(base: Any, exponent: Any) -> Any:
    """`base ** exponent`, refused before it is computed when the int would be too big."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1 \
            and (_int_bits(base) - 1) * exponent >= DEFAULT_BOUNDS.max_int_bits:
        raise _too_many_bits(f"{base} ** {exponent}")
    return bounded(base ** exponent)


def _lshift(value: Any, count: Any) -> Any:
    if isinstance(value, int) and isinstance(count, int) and value and count > DEFAULT_BOUNDS.max_int_bits:
        raise _too_many_bits(f"{value} << {count}")
    return bounded(value << count)


def _mul(left: Any, right: Any) -> Any:
    """`left * right`; a repeated str is refused before it is built (a list refuses itself)."""
    if isinstance(left, int) and isinstance(right, int):
        if _int_bits(left) + _int_bits(right) - 1 > DEFAULT_BOUNDS.max_int_bits:
            raise _too_many_bits(f"the product of ints of {_int_bits(left):,} and {_int_bits(right):,} bits")
    else:
        text, count = (left, right) if isinstance(left, str) else (right, left)
        if isinstance(text, str) and isinstance(count, int) and len(text) * count > DEFAULT_BOUNDS.max_value_size:
            raise too_big(f"a str of {len(text):,} characters times {count:,}")
    return bounded(left * right)


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        check_widths(left, "% format")
    return bounded(left % right)


_SMALL_INT = 1 << min(62, DEFAULT_BOUNDS.max_int_bits)  # an int below this in size is always held


def _checked(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operator whose result the model must be able to hold (it grows at most one bit or twice the size)."""
    def checked(left: Any, right: Any) -> Any:
        result = op(left, right)
        if type(result) is int and -_SMALL_INT < result < _SMALL_INT:  # the common case, without a call
            return result
        return bounded(result)
    checked.__name__ = op.__name__
    return checked


BINARY = {
    ast.Add: _checked(operator.add), ast.Sub: _checked(operator.sub), ast.Mult: _mul,
    ast.Div: _checked(operator.truediv), ast.FloorDiv: _checked(operator.floordiv), ast.Mod: _mod,
    ast.Pow: _pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: _lshift, ast.RShift: operator.rshift,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert}
COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def _sorted(items: Any) -> ListValue:
    return ListValue(sorted(items))


def _str(value: Any) -> str:
    return bounded(str(value))


def _int(*args: Any) -> int:
    return bounded(int(*args))


def _sum(items: Any, start: Any = 0) -> Any:
    return bounded(sum(items, start))


BUILTINS: dict[str, Callable] = {
    "len": len, "min": min, "max": max, "abs": abs, "str": _str, "int": _int,
    "bool": bool, "sum": _sum, "sorted": _sorted,
}


def unsupported(node: ast.AST, what: str) -> ScenarioError:
    return ScenarioError(what, line=getattr(node, "lineno", 0))


def compile_expression(node: ast.expr, load: Load) -> Expr:
    """Compile `node`; `load` supplies the closure for each name occurrence."""
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise unsupported(node, f"unsupported expression: {ast.unparse(node)}")
    return handler(node, load)


def _constant(node: ast.Constant, load: Load) -> Expr:
    value = node.value
    if not isinstance(value, (int, float, str, bool, type(None))):
        raise unsupported(node, f"unsupported constant {value!r}")
    return lambda loc, st: value


def _name(node: ast.Name, load: Load) -> Expr:
    return load(node)


def _binop(node: ast.BinOp, load: Load) -> Expr:
    op = BINARY.get(type(node.op))
    if op is None:
        raise unsupported(node, f"unsupported operator in {ast.unparse(node)}")
    left = compile_expression(node.left, load)
    right = compile_expression(node.right, load)
    if isinstance(node.right, ast.Constant):  # `a + 1`: the constant inline, one call fewer a step
        value = node.right.value
        return lambda loc, st: op(left(loc, st), value)
    return lambda loc, st: op(left(loc, st), right(loc, st))


def _unaryop(node: ast.UnaryOp, load: Load) -> Expr:
    op = UNARY[type(node.op)]
    operand = compile_expression(node.operand, load)
    return lambda loc, st: op(operand(loc, st))


def _boolop(node: ast.BoolOp, load: Load) -> Expr:
    parts = [compile_expression(value, load) for value in node.values]
    if isinstance(node.op, ast.And):
        def evaluate_and(loc: tuple, st: Any) -> Any:
            for part in parts:
                value = part(loc, st)
                if not value:
                    return value
            return value
        return evaluate_and

    def evaluate_or(loc: tuple, st: Any) -> Any:
        for part in parts:
            value = part(loc, st)
            if value:
                return value
        return value
    return evaluate_or


def _compare(node: ast.Compare, load: Load) -> Expr:
    first = compile_expression(node.left, load)
    ops = [COMPARE[type(op)] for op in node.ops]
    rest = [compile_expression(value, load) for value in node.comparators]
    if len(ops) == 1:
        op, second = ops[0], rest[0]
        return lambda loc, st: op(first(loc, st), second(loc, st))

    def chained(loc: tuple, st: Any) -> bool:
        left = first(loc, st)
        for op, part in zip(ops, rest):
            right = part(loc, st)
            if not op(left, right):
                return False
            left = right
        return True
    return chained


def _ifexp(node: ast.IfExp, load: Load) -> Expr:
    test = compile_expression(node.test, load)
    body = compile_expression(node.body, load)
    orelse = compile_expression(node.orelse, load)
    return lambda loc, st: body(loc, st) if test(loc, st) else orelse(loc, st)


def _list(node: ast.List, load: Load) -> Expr:
    if any(isinstance(item, ast.Starred) for item in node.elts):
        raise unsupported(node, "unsupported: * inside a list display")
    items = [compile_expression(item, load) for item in node.elts]
    return lambda loc, st: bounded(ListValue(item(loc, st) for item in items))


def _subscript(node: ast.Subscript, load: Load) -> Expr:
    value = compile_expression(node.value, load)
    if isinstance(node.slice, ast.Slice):
        parts = [node.slice.lower, node.slice.upper, node.slice.step]
        bounds = [None if part is None else compile_expression(part, load) for part in parts]

        def sliced(loc: tuple, st: Any) -> Any:
            low, high, step = (None if b is None else b(loc, st) for b in bounds)
            return value(loc, st)[low:high:step]
        return sliced
    index = compile_expression(node.slice, load)
    return lambda loc, st: value(loc, st)[index(loc, st)]


def _call(node: ast.Call, load: Load) -> Expr:
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        return load(node)  # a query on a primitive, such as E.is_set()
    if not isinstance(node.func, ast.Name) or node.func.id not in BUILTINS:
        raise unsupported(
            node, f"unsupported call {ast.unparse(node.func)}(); expressions may call "
            + ", ".join(sorted(BUILTINS))
        )
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise unsupported(node, f"unsupported arguments in {ast.unparse(node)}")
    function = BUILTINS[node.func.id]
    args = [compile_expression(arg, load) for arg in node.args]
    return lambda loc, st: function(*(arg(loc, st) for arg in args))


def _joinedstr(node: ast.JoinedStr, load: Load) -> Expr:
    parts = [compile_expression(value, load) for value in node.values]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:  # f"Thread {n}", the common case: no join, no generator
        first, second = parts
        return lambda loc, st: bounded(first(loc, st) + second(loc, st))
    return lambda loc, st: bounded("".join([part(loc, st) for part in parts]))


CONVERSIONS = {-1: lambda v: v, ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _formattedvalue(node: ast.FormattedValue, load: Load) -> Expr:
    value = compile_expression(node.value, load)
    convert = CONVERSIONS[node.conversion]
    spec = compile_expression(node.format_spec, load) if node.format_spec else None
    if spec is None:
        return lambda loc, st: bounded(format(convert(value(loc, st))))

    def formatted(loc: tuple, st: Any) -> str:
        wanted = spec(loc, st)
        check_widths(wanted, "format spec")
        return bounded(format(convert(value(loc, st)), wanted))
    return formatted


_HANDLERS = {
    ast.Constant: _constant, ast.Name: _name, ast.BinOp: _binop, ast.UnaryOp: _unaryop,
    ast.BoolOp: _boolop, ast.Compare: _compare, ast.IfExp: _ifexp, ast.List: _list,
    ast.Subscript: _subscript, ast.Call: _call, ast.JoinedStr: _joinedstr,
    ast.FormattedValue: _formattedvalue,
}
