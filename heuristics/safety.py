"""The safety check every untrusted heuristic passes before it runs anywhere.

Source written by an LLM, produced by the genetic-programming proposer, exported as a
winner or given by a user goes through :func:`compile_heuristic` (or at least
:func:`check_source`) before the simulator, a sandbox worker or the extender executes it.

What is allowed (an allow-list, not a deny-list):

* a module holding an optional docstring, ``import numpy as np`` and ``import math``,
  constant assignments (``SCALE = 0.5``) and one or more function definitions, one of
  which is the entry point ``score(pod, nodes, ctx)``;
* inside functions: expressions, assignments, ``if``/``for``/``while``, ``try``, ``return``,
  comprehensions and lambdas over ``numpy``, ``math`` and a small set of pure builtins.

What is rejected, with the line and the reason (:class:`UnsafeCodeError`): any other
import, class definitions, ``global``/``nonlocal``, ``with``, generators and ``async``; any
name or attribute starting with an underscore (this covers every dunder trick); calls to
``exec``, ``eval``, ``open``, ``compile``, ``getattr`` and friends; numpy's file, ctypes and
printing entry points; ``str.format`` (it reaches attributes by name); the frame, code and
traceback attributes of generators and exceptions (``gi_frame``, ``f_globals``, ...), which
lead back to a module's globals; sources larger than
:data:`MAX_SOURCE_BYTES` or with more than :data:`MAX_AST_NODES` syntax nodes.

The check bounds what code can *reach*, not how long it runs or how much memory it takes:
that is the sandbox's job (:mod:`heuristics.sandbox`).
"""

from __future__ import annotations

import ast
import builtins
import math
from typing import Any

import numpy as np

from heuristics.contract import Heuristic

__all__ = [
    "ENTRY_POINT",
    "MAX_AST_NODES",
    "MAX_SOURCE_BYTES",
    "UnsafeCodeError",
    "check_source",
    "compile_heuristic",
]

ENTRY_POINT = "score"
"""The function a heuristic module must define: ``score(pod, nodes, ctx) -> scores``."""

MAX_SOURCE_BYTES = 32_000
"""Largest accepted source, in UTF-8 bytes."""

MAX_AST_NODES = 5_000
"""Largest accepted syntax tree, in nodes."""

_ALLOWED_IMPORTS = {"numpy": "np", "math": "math"}

_SAFE_BUILTINS = [
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "pow",
    "range",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "ArithmeticError",
    "Exception",
    "FloatingPointError",
    "IndexError",
    "KeyError",
    "OverflowError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
]

_FORBIDDEN_NAMES = frozenset(
    [
        "exec",
        "eval",
        "open",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "object",
        "type",
        "super",
        "classmethod",
        "staticmethod",
        "property",
        "print",
        "exit",
        "quit",
        "copyright",
        "credits",
        "license",
        "dir",
        "id",
        "hash",
        "iter",
        "next",
        "callable",
    ]
)

# numpy and str attributes that reach files, raw memory, global state or attributes by
# name, and the frame, code and traceback attributes that lead from a generator or an
# exception back to a module's globals (and from there to the real builtins).
_FORBIDDEN_ATTRIBUTES = frozenset(
    [
        "ctypes",
        "ctypeslib",
        "load",
        "loads",
        "save",
        "savez",
        "savez_compressed",
        "savetxt",
        "loadtxt",
        "genfromtxt",
        "fromfile",
        "fromregex",
        "tofile",
        "memmap",
        "dump",
        "dumps",
        "lib",
        "testing",
        "f2py",
        "distutils",
        "DataSource",
        "os",
        "sys",
        "char",
        "rec",
        "core",
        "format",
        "format_map",
        "set_printoptions",
        "seterr",
        "seterrcall",
        "setbufsize",
        "show_config",
        "show_runtime",
        "info",
        "source",
        "who",
        "test",
        "get_include",
        "frombuffer",
        "from_dlpack",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "ag_frame",
        "f_back",
        "f_globals",
        "f_builtins",
        "f_locals",
        "f_code",
        "f_trace",
        "tb_frame",
        "tb_next",
        "co_code",
        "with_traceback",
    ]
)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.Expr, ast.FunctionDef, ast.arguments, ast.arg, ast.Return,
    ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If, ast.For, ast.While, ast.Break,
    ast.Continue, ast.Pass, ast.Try, ast.ExceptHandler, ast.Raise, ast.Assert,
    ast.Import, ast.alias,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword,
    ast.Attribute, ast.Subscript, ast.Slice, ast.Starred, ast.Name, ast.Constant,
    ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.Lambda, ast.JoinedStr, ast.FormattedValue,
    ast.Load, ast.Store, ast.Del, ast.Delete,
    ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context,
)  # fmt: skip


class UnsafeCodeError(ValueError):
    """Source that fails the safety check; the message names the line and the reason."""

    def __init__(self, filename: str, line: int, reason: str) -> None:
        super().__init__(f"{filename}:{line}: {reason}")
        self.filename = filename
        self.line = line
        self.reason = reason


def check_source(source: str, filename: str = "<heuristic>") -> ast.Module:
    """Parse ``source`` and check it against the allow-list; returns the syntax tree.

    Raises:
        UnsafeCodeError: on a syntax error, a size limit exceeded, anything outside the
            allow-list, or a missing ``score(pod, nodes, ctx)`` entry point.
    """
    size = len(source.encode("utf-8", errors="replace"))
    if size > MAX_SOURCE_BYTES:
        raise UnsafeCodeError(filename, 1, f"source is {size} bytes, limit {MAX_SOURCE_BYTES}")
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise UnsafeCodeError(filename, exc.lineno or 1, f"syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise UnsafeCodeError(filename, 1, "expressions nested too deeply") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_AST_NODES:
        raise UnsafeCodeError(filename, 1, f"{count} syntax nodes, limit {MAX_AST_NODES}")
    for index, statement in enumerate(tree.body):
        _check_top_level(statement, index, filename)
    for node in ast.walk(tree):
        _check_node(node, filename)
    entry = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == ENTRY_POINT]
    if not entry:
        raise UnsafeCodeError(filename, 1, f"no function {ENTRY_POINT}(pod, nodes, ctx) defined")
    args = entry[-1].args
    if len(args.posonlyargs) + len(args.args) < 3 and args.vararg is None:
        raise UnsafeCodeError(
            filename, entry[-1].lineno, f"{ENTRY_POINT} must accept (pod, nodes, ctx)"
        )
    return tree


def compile_heuristic(source: str, filename: str = "<heuristic>") -> Heuristic:
    """Check ``source``, execute its definitions with restricted builtins; returns ``score``.

    Raises:
        UnsafeCodeError: when the check fails or the module's definitions raise.
    """
    tree = check_source(source, filename)
    try:
        code = compile(tree, filename, "exec")
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        raise UnsafeCodeError(filename, 1, f"compile: {type(exc).__name__}") from None
    namespace: dict[str, Any] = {"__builtins__": _restricted_builtins(), "__name__": "heuristic"}
    try:
        exec(code, namespace)  # the definitions only: the check allows nothing else at top level
    except Exception as exc:
        raise UnsafeCodeError(filename, 1, f"defining the module raised {exc!r}") from None
    entry = namespace.get(ENTRY_POINT)
    if not callable(entry):
        raise UnsafeCodeError(filename, 1, f"{ENTRY_POINT} is not a function")
    heuristic: Heuristic = entry
    return heuristic


def _check_top_level(statement: ast.stmt, index: int, filename: str) -> None:
    line = statement.lineno
    if isinstance(statement, ast.FunctionDef):
        return
    if isinstance(statement, ast.Import):
        return  # which modules: checked for every import by _check_node
    if (
        index == 0
        and isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    ):
        return
    if isinstance(statement, ast.Assign | ast.AnnAssign) and _is_constant(statement.value):
        return
    raise UnsafeCodeError(
        filename,
        line,
        f"top level: {type(statement).__name__} is not allowed (expected a docstring, "
        "imports of numpy/math, constants and function definitions)",
    )


def _is_constant(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _is_constant(value.operand)
    if isinstance(value, ast.Tuple | ast.List):
        return all(_is_constant(v) for v in value.elts)
    return False


def _check_node(node: ast.AST, filename: str) -> None:
    line = getattr(node, "lineno", 1)
    if not isinstance(node, _ALLOWED_NODES):
        raise UnsafeCodeError(filename, line, f"{type(node).__name__} is not allowed")
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise UnsafeCodeError(filename, line, f"name {node.id!r}: underscore names")
        if node.id in _FORBIDDEN_NAMES:
            raise UnsafeCodeError(filename, line, f"name {node.id!r} is not allowed")
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise UnsafeCodeError(filename, line, f"attribute {node.attr!r}: underscore names")
        if node.attr in _FORBIDDEN_ATTRIBUTES:
            raise UnsafeCodeError(filename, line, f"attribute {node.attr!r} is not allowed")
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if _ALLOWED_IMPORTS.get(alias.name) != (alias.asname or alias.name):
                raise UnsafeCodeError(
                    filename,
                    line,
                    f"import {alias.name}: only 'import numpy as np' and 'import math' are allowed",
                )
    elif isinstance(node, ast.FunctionDef):
        if node.name.startswith("_") or node.name in _FORBIDDEN_NAMES:
            raise UnsafeCodeError(filename, line, f"function name {node.name!r} is not allowed")
        if node.decorator_list:
            raise UnsafeCodeError(filename, line, "decorators are not allowed")
    elif isinstance(node, ast.arg):
        if node.arg.startswith("_"):
            raise UnsafeCodeError(filename, line, f"argument {node.arg!r}: underscore names")
    elif isinstance(node, ast.keyword):
        if node.arg is not None and node.arg.startswith("_"):
            raise UnsafeCodeError(filename, line, f"keyword {node.arg!r}: underscore names")
    elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        raise UnsafeCodeError(filename, line, "bytes literals are not allowed")


def _restricted_builtins() -> dict[str, object]:
    table: dict[str, object] = {name: getattr(builtins, name) for name in _SAFE_BUILTINS}
    table["__import__"] = _restricted_import
    return table


def _restricted_import(
    name: str,
    globals_: object = None,
    locals_: object = None,
    fromlist: object = (),
    level: int = 0,
) -> object:
    modules: dict[str, object] = {"numpy": np, "math": math}
    if name not in modules or fromlist or level:
        raise ImportError(f"import {name}: not allowed in a heuristic")
    return modules[name]
