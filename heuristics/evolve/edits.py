"""Turning a model's answer into a candidate heuristic source, or a recorded reason why not.

A model answers a prompt from :mod:`heuristics.evolve.prompt` in one of two ways:

* a **full rewrite**: a fenced ```python block (or bare code) defining ``score_vN``; the
  block that defines the requested function is chosen and the function renamed ``score``;
* **SEARCH/REPLACE diff blocks** (AlphaEvolve's format) that edit the last parent shown::

      <<<<<<< SEARCH
      old lines
      =======
      new lines
      >>>>>>> REPLACE

  Each block's search text is matched exactly first, then ignoring indentation and trailing
  whitespace; it must match exactly one place of the parent.

:func:`parse_answer` never raises for a bad answer: it returns an :class:`EditFailure` with
one of the :data:`FAILURE_REASONS` and a detail, so the engine can record it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal, get_args

from heuristics.safety import ENTRY_POINT, UnsafeCodeError, check_source

__all__ = [
    "FAILURE_REASONS",
    "Edit",
    "EditFailure",
    "FailureReason",
    "parse_answer",
    "versioned_name",
]

FailureReason = Literal[
    "no_code",
    "missing_function",
    "ambiguous_search",
    "search_not_found",
    "syntax_error",
    "unsafe_code",
]
FAILURE_REASONS: tuple[FailureReason, ...] = get_args(FailureReason)


@dataclass(frozen=True)
class Edit:
    """A usable candidate: ``source`` defines ``score`` and passed the safety check."""

    kind: Literal["rewrite", "diff"]
    source: str


@dataclass(frozen=True)
class EditFailure:
    """Why an answer gave no usable candidate (``reason``) and the specifics (``detail``)."""

    reason: FailureReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.DOTALL)
_DIFF_BLOCK = re.compile(
    r"^<{7} ?SEARCH[ \t]*\n(.*?)^={7}[ \t]*\n(.*?)^>{7} ?REPLACE[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_DIFF_MARKER = re.compile(r"^(<{7} ?SEARCH|>{7} ?REPLACE)", re.MULTILINE)
_CODE_START = re.compile(r"^(def |import |from |[A-Z_][A-Z0-9_]* *=)", re.MULTILINE)


def versioned_name(version: int) -> str:
    """The name a program has in a prompt: ``score_v0``, ``score_v1``, ..."""
    return f"{ENTRY_POINT}_v{version}"


def parse_answer(answer: str, parent_source: str, target_version: int) -> Edit | EditFailure:
    """The candidate in ``answer``, as a module defining ``score``; never raises.

    ``parent_source`` is the program the diff blocks edit, exactly as shown in the prompt
    (its function named ``score_v{target_version - 1}``); ``target_version`` is the version
    the prompt asked for.
    """
    target = versioned_name(target_version)
    answer = answer.replace("\r\n", "\n")
    if _DIFF_MARKER.search(answer):
        return _apply_diff(answer, parent_source, target)
    return _extract_rewrite(answer, target)


def _extract_rewrite(answer: str, target: str) -> Edit | EditFailure:
    blocks = [body for lang, body in _FENCE.findall(answer) if lang.lower() in ("", "python", "py")]
    if not blocks:
        bare = _bare_code(answer)
        if bare is None:
            return EditFailure("no_code", "the answer holds no code block and no function")
        blocks = [bare]
    chosen = _choose_block(blocks, target)
    if chosen is None:
        return EditFailure(
            "missing_function", f"no code block defines {target}() or {ENTRY_POINT}()"
        )
    return _finish("rewrite", chosen, target)


def _choose_block(blocks: list[str], target: str) -> str | None:
    """The last block defining ``target``, else ``score``, else any ``score_vN``."""
    for pattern in (
        rf"^def {target}\s*\(",
        rf"^def {ENTRY_POINT}\s*\(",
        rf"^def {ENTRY_POINT}_v\d+\s*\(",
    ):
        matching = [b for b in blocks if re.search(pattern, b, re.MULTILINE)]
        if matching:
            return matching[-1]
    return None


def _bare_code(answer: str) -> str | None:
    """Code written without fences: from the first definition to the last line that parses."""
    start = _CODE_START.search(answer)
    if start is None or "def " not in answer[start.start() :]:
        return None
    lines = answer[start.start() :].splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        if "def " not in candidate:
            break
        try:
            ast.parse(candidate)
        except SyntaxError:
            continue
        return candidate + "\n"
    return "\n".join(lines) + "\n"  # let _finish report the syntax error


def _apply_diff(answer: str, parent_source: str, target: str) -> Edit | EditFailure:
    blocks = _DIFF_BLOCK.findall(answer)
    if not blocks:
        return EditFailure(
            "no_code", "diff markers present but no complete SEARCH/=======/REPLACE block"
        )
    source = parent_source
    for number, (search, replace) in enumerate(blocks, start=1):
        result = _replace_once(source, search, replace)
        if isinstance(result, EditFailure):
            return EditFailure(result.reason, f"diff block {number}: {result.detail}")
        source = result
    return _finish("diff", source, target)


def _replace_once(source: str, search: str, replace: str) -> str | EditFailure:
    if not search.strip():
        return EditFailure("search_not_found", "empty SEARCH text")
    count = source.count(search)
    if count == 1:
        return source.replace(search, replace, 1)
    if count > 1:
        return EditFailure("ambiguous_search", f"SEARCH text occurs {count} times")
    return _replace_tolerant(source, search, replace)


def _replace_tolerant(source: str, search: str, replace: str) -> str | EditFailure:
    """Match line by line ignoring indentation, trailing whitespace and blank lines."""
    lines = source.splitlines()
    wanted = [line.strip() for line in search.splitlines() if line.strip()]
    content = [i for i, line in enumerate(lines) if line.strip()]
    starts = [
        k
        for k in range(len(content) - len(wanted) + 1)
        if all(lines[content[k + j]].strip() == wanted[j] for j in range(len(wanted)))
    ]
    if not starts:
        first = wanted[0][:60]
        return EditFailure(
            "search_not_found", f"SEARCH text not in the parent (first line {first!r})"
        )
    if len(starts) > 1:
        return EditFailure("ambiguous_search", f"SEARCH text matches {len(starts)} places")
    first_line = content[starts[0]]
    last_line = content[starts[0] + len(wanted) - 1]
    shift = _indent(lines[first_line]) - _indent(_first_content_line(search))
    replaced = [_reindent(line, shift) for line in replace.splitlines()]
    new_lines = lines[:first_line] + replaced + lines[last_line + 1 :]
    return "\n".join(new_lines) + ("\n" if source.endswith("\n") else "")


def _first_content_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _reindent(line: str, shift: int) -> str:
    if shift >= 0 or not line.strip():
        return " " * max(shift, 0) + line if line.strip() else line
    return line[min(-shift, _indent(line)) :]


def _finish(kind: Literal["rewrite", "diff"], code: str, target: str) -> Edit | EditFailure:
    code = code.strip("\n") + "\n"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return EditFailure("syntax_error", f"line {exc.lineno}: {exc.msg}")
    code = _rename_entry_point(tree, code, target)
    try:
        check_source(code, filename="<proposal>")
    except UnsafeCodeError as exc:
        reason: FailureReason = "missing_function" if "no function" in exc.reason else "unsafe_code"
        return EditFailure(reason, str(exc))
    return Edit(kind, code)


def _rename_entry_point(tree: ast.Module, code: str, target: str) -> str:
    """Name the requested function ``score``; drop other ``score_vN`` copies nothing calls."""
    defined = {s.name for s in tree.body if isinstance(s, ast.FunctionDef)}
    if target in defined:
        chosen = target
    elif ENTRY_POINT in defined:
        chosen = ENTRY_POINT
    else:
        versions = sorted(n for n in defined if re.fullmatch(rf"{ENTRY_POINT}_v\d+", n))
        if not versions:
            return code
        chosen = versions[-1]
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    lines = code.splitlines()
    drop: set[int] = set()
    for statement in tree.body:
        if (
            isinstance(statement, ast.FunctionDef)
            and statement.name != chosen
            and re.fullmatch(rf"{ENTRY_POINT}(_v\d+)?", statement.name)
            and statement.name not in used
        ):
            start = min([statement.lineno, *(d.lineno for d in statement.decorator_list)])
            drop.update(range(start - 1, (statement.end_lineno or statement.lineno)))
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    kept = re.sub(r"\n{3,}", "\n\n\n", kept).strip("\n") + "\n"
    return re.sub(rf"\b{re.escape(chosen)}\b", ENTRY_POINT, kept) if chosen != ENTRY_POINT else kept
