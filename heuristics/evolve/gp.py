"""The offline genetic-programming proposer: mutates and recombines syntax trees.

No model, no network: a child is a parent's ``score`` function with one to
``mutations_max`` changes to its numeric expressions, or a crossover that grafts an
expression of the second parent into the first. The changes:

* ``constant``: scale a number by ``exp(N(0, constant_sigma))`` (a quarter of the time with
  three times the spread; rarely flip its sign);
* ``operator``: swap ``+``, ``-``, ``*``, ``/`` (or ``<``/``>``) in place;
* ``subtree``: replace an expression by a small random expression over the inputs;
* ``feature``: add ``c * feature`` to an expression, for one of :data:`FEATURES` (the
  pod's requests and the nodes' free and total capacity, in their units), a share
  ``gate_share`` of them as ``c * gate * feature`` for one of :data:`GATES` (the kind of
  cluster or of pod);
* ``wrap``: pass an expression through ``np.sqrt(np.abs(.))``, ``np.log1p(np.abs(.))``,
  a square or ``np.minimum``/``np.maximum`` with a feature;
* ``crossover``: replace an expression by one taken from the second parent.

With ``gp.shape_safe``, ``subtree``, ``feature``, ``wrap`` and ``crossover`` only touch
expressions worth one number per node (or a scalar): not code over per-GPU or per-shape
arrays, such as FGD's, where a per-node term breaks numpy's broadcasting.

Every child returns through one guard, ``np.nan_to_num(E * np.ones(len(nodes)), ...)``,
so a scalar expression still scores every node and a division by zero ranks a node
last instead of failing. Randomness comes only from the request's seed: the same request
gives the same child.
"""

from __future__ import annotations

import ast
import copy
import math
import random
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from heuristics.evolve.config import EvolutionConfig, GPConfig
from heuristics.evolve.proposer import Proposal, ProposalKind, ProposalRequest, register
from heuristics.safety import UnsafeCodeError, check_source

__all__ = ["FEATURES", "GATES", "GPProposer", "mutate_source"]

FEATURES: tuple[str, ...] = (
    "(nodes.cpu_free - pod.cpu_milli)",
    "(nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)",
    "(nodes.memory_free - pod.memory_mib) / np.maximum(nodes.memory_total, 1)",
    "(nodes.gpu_free - pod.gpu_milli_total) / np.maximum(1000 * nodes.gpu_total, 1)",
    "nodes.cpu_free / np.maximum(nodes.cpu_total, 1)",
    "nodes.memory_free / np.maximum(nodes.memory_total, 1)",
    "nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1)",
    "pod.cpu_milli / np.maximum(nodes.cpu_free, 1)",
    "pod.memory_mib / np.maximum(nodes.memory_free, 1)",
    "nodes.gpu_idle",
    "nodes.gpu_total",
    "nodes.pods",
    "pod.cpu_milli",
    "pod.gpu_milli_total",
    "1.0 * (nodes.cpu_free == pod.cpu_milli)",
    "1.0 * (nodes.gpu_free == pod.gpu_milli_total)",
    "1.0 * (nodes.cpu_free == nodes.cpu_total)",
    "np.exp(-(nodes.cpu_free - pod.cpu_milli) / (0.1 * np.maximum(nodes.cpu_total, 1)))",
    "(nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1)",
    # a small but non-zero gap left behind (stranded capacity); the threshold evolves
    "1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)",
    "1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total)",
    "1.0 * (nodes.memory_free > pod.memory_mib)"
    " * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total)",
    "1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 500)",
)
"""Input features the GP may insert; units follow the contract (millicores, MiB, 1/1000 GPU)."""

GATES: tuple[str, ...] = (
    "1.0 * np.any(ctx.shape_num_gpu > 0)",  # a GPU cluster: its workload asks for GPUs
    "1.0 * np.all(ctx.shape_num_gpu == 0)",  # a CPU-only cluster
    "1.0 * (pod.gpu_milli_total > 0)",  # the pod asks for GPUs
    "1.0 * (pod.gpu_milli_total == 0)",  # the pod does not
)
"""0/1 conditions a gated feature insertion multiplies its term by (``gp.gate_share``), so
one program can rank differently on GPU and CPU-only clusters, or for GPU and CPU pods."""

_GUARD = "np.nan_to_num({} * np.ones(len(nodes)), nan=-1e12, posinf=1e12, neginf=-1e12)"

_NUMERIC_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_WRAPS = (
    "np.sqrt(np.abs({}))",
    "np.log1p(np.abs({}))",
    "({}) ** 2",
    "np.minimum({}, {f})",
    "np.maximum({}, {f})",
    "({}) * ({f})",
    "np.exp(-np.abs({}))",
    "np.where(({f}) > 0, {}, 0)",
)
_MODULE_NAMES = frozenset({"np", "math", "nodes", "pod", "ctx"})
_SHAPE_FUNCTIONS = frozenset({"zeros", "ones", "full", "empty", "arange", "reshape"})
_GPU_MATRIX = ("nodes", "gpu_free_milli")  # (nodes x GPUs); every ctx.shape_* is per shape


@dataclass
class GPProposer:
    """Proposes children by genetic programming; registered as ``gp``."""

    config: GPConfig
    name: str = "gp"

    async def propose(self, request: ProposalRequest) -> Proposal:
        """A mutated or recombined child of ``request.parents``; never raises."""
        sources = [p.source for p in request.parents]
        rng = random.Random(request.seed)
        crossover = len(sources) > 1 and rng.random() < self.config.crossover_rate
        kind: ProposalKind = "crossover" if crossover else "mutation"
        try:
            child = mutate_source(sources, rng, self.config, crossover=crossover)
        except (UnsafeCodeError, ValueError, RecursionError) as exc:
            return Proposal(None, "", kind, error=f"gp: {exc}", proposer=self.name)
        return Proposal(child, child, kind, proposer=self.name)


def mutate_source(
    sources: Sequence[str], rng: random.Random, config: GPConfig, *, crossover: bool = False
) -> str:
    """A child of ``sources[0]`` (and ``sources[1]`` for a crossover), checked for safety.

    Raises:
        ValueError: when no valid child came out of a few attempts.
        UnsafeCodeError: when the parent itself fails the safety check.
    """
    parent = check_source(sources[0], "<parent>")
    donor = check_source(sources[1], "<donor>") if crossover else None
    last = "no attempt"
    for _ in range(8):
        tree = _guarded(copy.deepcopy(parent))
        if donor is not None:
            blend = config.blend_rate > 0 and rng.random() < config.blend_rate
            if not (blend and _blend(tree, donor, rng)):
                _crossover(tree, donor, rng, config.shape_safe)
        for _ in range(1 + (0 if donor is not None else rng.randrange(config.mutations_max))):
            _mutate(tree, rng, config)
        _set_docstring(tree, "crossover" if donor is not None else "mutation")
        ast.fix_missing_locations(tree)
        child = ast.unparse(tree) + "\n"
        try:
            checked = check_source(child, "<child>")
        except UnsafeCodeError as exc:
            last = str(exc)
            continue
        if sum(1 for _ in ast.walk(checked)) > config.max_nodes:
            last = f"child larger than {config.max_nodes} syntax nodes"
            continue
        if ast.dump(checked) == ast.dump(parent):
            last = "child equals its parent"
            continue
        return child
    raise ValueError(f"no valid child: {last}")


def _set_docstring(tree: ast.Module, kind: str) -> None:
    """Replace the parent's docstring: it described the parent, not the child."""
    body = _score_function(tree).body
    text = ast.Expr(ast.Constant(f"Evolved by the binforge GP proposer ({kind} of a parent)."))
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body[0] = text
    else:
        body.insert(0, text)


def _score_function(tree: ast.Module) -> ast.FunctionDef:
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "score"]
    return functions[-1]


def _guarded(tree: ast.Module) -> ast.Module:
    """Wrap each ``return E`` of ``score`` in the guard unless it already is."""
    if not any(isinstance(s, ast.Import) and s.names[0].name == "numpy" for s in tree.body):
        tree.body.insert(0, ast.parse("import numpy as np").body[0])
    for node in ast.walk(_score_function(tree)):
        if isinstance(node, ast.Return) and node.value is not None and not _is_guard(node.value):
            guard = ast.parse(_GUARD.format("(0)"), mode="eval").body
            assert isinstance(guard, ast.Call) and isinstance(guard.args[0], ast.BinOp)
            guard.args[0].left = node.value
            node.value = guard
    return tree


def _is_guard(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "nan_to_num"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.BinOp)
    )


def _sites(tree: ast.Module) -> list[tuple[ast.AST, str, int | None]]:
    """Numeric expression slots of ``score``: (parent node, field, index in a list field)."""
    sites: list[tuple[ast.AST, str, int | None]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and _is_guard(node):
            first = node.args[0]
            assert isinstance(first, ast.BinOp)
            sites.append((first, "left", None))
            visit(first.left)
            return
        for name, value in ast.iter_fields(node):
            if name in ("targets", "target"):
                continue
            if isinstance(node, ast.Call) and name == "func":
                continue
            if isinstance(node, ast.Call) and (
                isinstance(node.func, ast.Name)
                or (isinstance(node.func, ast.Attribute) and node.func.attr in _SHAPE_FUNCTIONS)
            ):
                continue  # arguments of builtins (int, max, len) and shapes stay as they are
            if isinstance(node, ast.Subscript) and name == "slice":
                continue
            if isinstance(node, ast.Attribute | ast.keyword | ast.comprehension):
                if isinstance(node, ast.keyword):
                    visit(node.value)
                continue
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                guard = isinstance(item, ast.Call) and _is_guard(item)
                if isinstance(item, ast.expr) and _numeric(item) and not guard:
                    sites.append((node, name, index if isinstance(value, list) else None))
                if isinstance(item, ast.AST):
                    visit(item)

    for statement in ast.walk(_score_function(tree)):
        if isinstance(statement, ast.Return | ast.Assign | ast.AugAssign):
            visit(statement)
    return sites


def _numeric(node: ast.expr) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False  # a count of nodes, used as a shape
    if isinstance(node, ast.Name):
        return node.id not in _MODULE_NAMES
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    return isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call | ast.Attribute | ast.IfExp)


def _get(site: tuple[ast.AST, str, int | None]) -> ast.expr:
    parent, name, index = site
    value = getattr(parent, name)
    result = value[index] if index is not None else value
    assert isinstance(result, ast.expr)
    return result


def _set(site: tuple[ast.AST, str, int | None], new: ast.expr) -> None:
    parent, name, index = site
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _constant(rng: random.Random) -> str:
    return repr(round(rng.choice([-1, 1]) * math.exp(rng.gauss(0, 1.5)), 4))


def _random_expression(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{_constant(rng)} * {rng.choice(FEATURES)}"
    op = rng.choice(["+", "-", "*", "/"])
    return f"({rng.choice(FEATURES)}) {op} ({rng.choice(FEATURES)} + {abs(float(_constant(rng)))})"


def _mutate(tree: ast.Module, rng: random.Random, config: GPConfig) -> None:
    sites = _sites(tree)
    if not sites:
        return
    fixed = _structural(tree) if config.keep_structure else set()
    kind = rng.choices(
        ["constant", "operator", "subtree", "feature", "wrap"], weights=[4, 2, 1, 3, 1]
    )[0]
    if kind == "constant":
        constants = [
            n
            for n in ast.walk(_score_function(tree))
            if isinstance(n, ast.Constant)
            and isinstance(n.value, int | float)
            and not isinstance(n.value, bool)
            and abs(n.value) not in (1e12,)
            and id(n) not in fixed
        ]
        if constants:
            constant = rng.choice(constants)
            value = float(typing.cast(float, constant.value)) or rng.gauss(0, 1)
            sigma = config.constant_sigma * (3.0 if rng.random() < 0.25 else 1.0)  # a long jump
            factor = math.exp(rng.gauss(0, sigma))
            constant.value = round(value * factor * (-1 if rng.random() < 0.05 else 1), 6)
            return
        kind = "feature"
    heads = _guard_heads(tree)
    if kind == "operator":
        ops = [n for n in ast.walk(_score_function(tree)) if isinstance(n, ast.BinOp)]
        ops = [n for n in ops if isinstance(n.op, _NUMERIC_OPS) and id(n) not in heads]
        if ops:
            binop = rng.choice(ops)
            binop.op = rng.choice([op for op in _NUMERIC_OPS if not isinstance(binop.op, op)])()
            return
        kind = "feature"
    if fixed:
        sites = [s for s in sites if id(_get(s)) not in fixed] or sites
    if config.shape_safe:
        sites = _per_node(tree, sites) or sites
    whole = kind == "feature" and config.score_feature_share > 0
    if whole and rng.random() < config.score_feature_share:
        # the whole returned score: the left operand of a guard's ``E * np.ones(...)``
        sites = [s for s in sites if id(s[0]) in heads and s[1] == "left"] or sites
    site = rng.choice(sites)
    current = ast.unparse(_get(site))
    if kind == "subtree":
        _set(site, _expr(_random_expression(rng)))
    elif kind == "feature":
        sign = rng.choice(["+", "-"])
        weight = abs(float(_constant(rng)))
        term = f"({rng.choice(FEATURES)})"
        if config.gate_share > 0 and rng.random() < config.gate_share:
            term = f"{rng.choice(GATES)} * {term}"
        _set(site, _expr(f"({current}) {sign} {weight} * {term}"))
    else:
        wrap = rng.choice(_WRAPS)
        _set(site, _expr(wrap.format(current, f=rng.choice(FEATURES))))


def _structural(tree: ast.Module) -> set[int]:
    """Ids of the constants of ``score`` that shape arrays: keyword values (``axis=``),
    subscripts and slices, and arguments of plain-name calls (``len``, ``int``) and of
    array constructors."""
    fixed: set[int] = set()
    for node in ast.walk(_score_function(tree)):
        holders: list[ast.AST] = []
        if isinstance(node, ast.keyword) and node.arg not in ("nan", "posinf", "neginf"):
            holders.append(node.value)
        elif isinstance(node, ast.Subscript):
            holders.append(node.slice)
        elif isinstance(node, ast.Call) and (
            isinstance(node.func, ast.Name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in _SHAPE_FUNCTIONS)
        ):
            holders.extend(node.args)
        for holder in holders:
            fixed.update(id(n) for n in ast.walk(holder) if isinstance(n, ast.Constant))
    return fixed


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name ``score`` binds: assignments, loop and comprehension targets."""
    names: set[str] = set()
    for node in ast.walk(_score_function(tree)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.comprehension):
            targets = [node.target]
        names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _wide_input(node: ast.AST) -> bool:
    """``ctx.<anything>`` (per shape) or ``nodes.gpu_free_milli`` (nodes x GPUs)."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        return False
    return node.value.id == "ctx" or (node.value.id, node.attr) == _GPU_MATRIX


def _wide(expr: ast.AST, wide_names: set[str]) -> bool:
    """Whether ``expr`` may be an array of another shape than one value per node: it
    reads ``ctx`` or the per-GPU matrix, a name computed from them, indexes with ``None``
    or passes ``axis=`` (other reshapes, such as ``.reshape`` or ``.T``, go unseen)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id in wide_names:
            return True
        if _wide_input(node):
            return True
        if isinstance(node, ast.keyword) and node.arg == "axis":
            return True
        if isinstance(node, ast.Subscript) and any(
            isinstance(n, ast.Constant) and n.value is None for n in ast.walk(node.slice)
        ):
            return True
    return False


def _per_node(
    tree: ast.Module, sites: list[tuple[ast.AST, str, int | None]]
) -> list[tuple[ast.AST, str, int | None]]:
    """The sites whose value is one number per node or a scalar (``gp.shape_safe``): not in
    a statement that computes a wide array, not wide themselves, not the array of a
    subscript."""
    function = _score_function(tree)
    wide_names: set[str] = set()
    while True:  # names computed from wide inputs, to a fixed point
        grown = set(wide_names)
        for node in ast.walk(function):
            value: ast.AST | None = None
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                value, targets = node.value, list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.For):
                value, targets = (
                    (node.value if isinstance(node, ast.AugAssign) else node.iter),
                    [node.target],
                )
            if value is not None and _wide(value, grown):
                grown.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if grown == wide_names:
            break
        wide_names = grown
    inside_wide: set[int] = set()  # statements that compute or write into a wide array
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _wide(node.value, wide_names) or any(_wide(t, wide_names) for t in targets):
                inside_wide.update(id(n) for n in (node, *ast.walk(node.value)))
    return [
        site
        for site in sites
        if id(site[0]) not in inside_wide
        and not (isinstance(site[0], ast.Subscript) and site[1] == "value")
        and not _wide(_get(site), wide_names)
    ]


def _guard_heads(tree: ast.Module) -> set[int]:
    """Ids of the ``E * np.ones(len(nodes))`` products the guards of ``score`` wrap (their
    operator must stay, and their left operand is the whole returned score)."""
    return {
        id(n.args[0])
        for n in ast.walk(_score_function(tree))
        if isinstance(n, ast.Call) and _is_guard(n)
    }


def _crossover(
    tree: ast.Module, donor: ast.Module, rng: random.Random, shape_safe: bool = False
) -> None:
    donor_tree = _guarded(copy.deepcopy(donor))
    sites = _sites(donor_tree)
    pieces = [_get(s) for s in (_per_node(donor_tree, sites) if shape_safe else sites)]
    targets = _sites(tree)
    if shape_safe:
        targets = _per_node(tree, targets)
    if not pieces or not targets:
        return
    # a donor's expression may name the donor's local variables: keep those that are
    # self-contained (only inputs, numpy and constants)
    local = (
        _bound_names(donor_tree)
        if shape_safe
        else {
            t.id
            for n in ast.walk(donor_tree)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
    )
    pieces = [
        p for p in pieces if not any(isinstance(n, ast.Name) and n.id in local for n in ast.walk(p))
    ]
    if pieces:
        _set(rng.choice(targets), copy.deepcopy(rng.choice(pieces)))


def _blend(tree: ast.Module, donor: ast.Module, rng: random.Random) -> bool:
    """Add the donor's whole score to the parent's: ``E + w * blend_k(pod, nodes, ctx)``.

    The donor's ``score`` joins the module as ``blend_k`` (with any import the parent
    lacks) and every return of the parent's ``score`` adds it with one weight ``w``:
    positive three times in four, of magnitude 10^-6 to 10^2, so from a tie-breaker to a
    dominant term. Returns False, changing nothing, for a donor with helper functions.
    """
    functions = [s for s in donor.body if isinstance(s, ast.FunctionDef)]
    if len(functions) != 1 or functions[0].name != "score":
        return False
    taken = {s.name for s in tree.body if isinstance(s, ast.FunctionDef)}
    name = next(f"blend_{k}" for k in range(1, len(taken) + 2) if f"blend_{k}" not in taken)
    part = copy.deepcopy(functions[0])
    part.name = name
    have = {ast.dump(s) for s in tree.body if isinstance(s, ast.Import)}
    imports = [copy.deepcopy(s) for s in donor.body if isinstance(s, ast.Import)]
    tree.body[:0] = [s for s in imports if ast.dump(s) not in have]
    tree.body.insert(tree.body.index(_score_function(tree)), part)
    sign = 1 if rng.random() < 0.75 else -1
    weight = sign * 10 ** rng.uniform(-6, 2)
    term = _expr(f"{weight:.6g} * {name}(pod, nodes, ctx)")
    for node in ast.walk(_score_function(tree)):
        if isinstance(node, ast.Call) and _is_guard(node):
            first = node.args[0]
            assert isinstance(first, ast.BinOp)
            first.left = ast.BinOp(first.left, ast.Add(), copy.deepcopy(term))
    return True


def _factory(config: EvolutionConfig) -> GPProposer:
    return GPProposer(config.gp)


register("gp", _factory)
