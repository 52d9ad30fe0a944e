"""The prompt an LLM proposer sends: the contract, the rules, the parents, the request.

Following FunSearch, the parents are shown as successive versions of one function,
weakest first (``score_v0``, ``score_v1``, ...), each with its fitness, metrics and
failures, and the model is asked for the next version. Following AlphaEvolve, the model is
asked either for a full rewrite in a ```python block or for SEARCH/REPLACE diff blocks
that edit the last (best) version shown; :mod:`heuristics.evolve.edits` parses both.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from heuristics.evolve.config import PromptConfig
from heuristics.evolve.edits import versioned_name
from heuristics.evolve.proposer import Parent, ProposalRequest
from heuristics.safety import ENTRY_POINT

__all__ = ["CONTRACT", "RULES", "Prompt", "build_prompt", "rename_entry_point"]

CONTRACT = """\
You are improving a scheduling heuristic for a GPU datacenter (online bin packing of pods
onto nodes). The heuristic is a pure Python function

    def score(pod, nodes, ctx) -> np.ndarray

called once per pod to place. It returns one finite float per candidate node; the pod goes
to the node with the highest score (ties go to the first such node). Feasibility is
already decided: `nodes` holds only nodes with room for the pod. The goal is to pack so
that as much of the future workload as possible still fits (less fragmentation).
Candidates come in a fixed order: the cluster's node order; in online bin packing, the
order the bins were opened, with one fresh empty bin last. A score may compare a node
with its neighbours in that order.

Inputs (units are part of the names: milli = thousandths, mib = MiB):
- pod.cpu_milli (int): CPU request in millicores.
- pod.memory_mib (int): memory request in MiB.
- pod.num_gpu (int): whole GPUs requested (0 for CPU-only pods).
- pod.gpu_milli (int): share of each requested GPU in thousandths (1000 = a whole GPU).
- pod.gpu_milli_total (int): num_gpu * gpu_milli.
- pod.priority (int): scheduling priority.
- nodes: numpy arrays over the candidate nodes, all of length len(nodes):
  nodes.cpu_free, nodes.cpu_total (millicores); nodes.memory_free, nodes.memory_total
  (MiB); nodes.gpu_total (whole GPUs); nodes.gpu_free (free GPU share, thousandths, summed
  over the node's GPUs); nodes.gpu_idle (count of fully idle GPUs); nodes.gpu_free_milli
  (shape (len(nodes), max GPUs per node): free share of each GPU slot, 0 for absent
  slots); nodes.gpu_model (int code into ctx.gpu_models, -1 without GPUs); nodes.pods
  (pods already placed on each node).
- ctx: the typical workload and the cluster: ctx.shape_cpu_milli, ctx.shape_memory_mib,
  ctx.shape_num_gpu, ctx.shape_gpu_milli (arrays: the most frequent pod shapes) with
  ctx.shape_probability (their probabilities, summing to 1); ctx.gpu_models (tuple of
  model names); ctx.cluster_cpu_milli, ctx.cluster_memory_mib, ctx.cluster_gpu (totals).
"""

RULES = """\
Rules:
- The only imports allowed are `import numpy as np` and `import math`.
- Pure and deterministic: no randomness, no I/O, no global state, no printing.
- Vectorise with numpy over the nodes; avoid Python loops over nodes where possible.
- Return an array of len(nodes) finite floats (guard divisions by zero; no NaN or inf).
- No names starting with an underscore, no classes, no exec/eval/open/getattr.
- Small helper functions and module-level constants are allowed.
"""

PromptKind = Literal["rewrite", "diff"]


@dataclass(frozen=True)
class Prompt:
    """A built prompt.

    Attributes:
        system: the system instruction (contract and rules).
        user: the user message (parents and the request).
        kind: whether a full rewrite or diff blocks were asked for.
        target_version: the version asked for (``score_v{target_version}``).
        base_source: the last parent exactly as shown, the text diff blocks edit.
    """

    system: str
    user: str
    kind: PromptKind
    target_version: int
    base_source: str

    @property
    def text(self) -> str:
        """System and user parts together, as recorded in the program database."""
        return f"{self.system}\n{self.user}"


def rename_entry_point(source: str, name: str) -> str:
    """``source`` with its ``def score(`` renamed to ``def {name}(`` (other text kept)."""
    return source.replace(f"def {ENTRY_POINT}(", f"def {name}(", 1)


def build_prompt(request: ProposalRequest, config: PromptConfig) -> Prompt:
    """The prompt for ``request``: rewrite or diff chosen by ``config.diff_share``, seeded.

    Raises:
        ValueError: when ``request`` has no parents.
    """
    if not request.parents:
        raise ValueError("build prompt: the request has no parents")
    parents = list(request.parents[: max(1, config.parents)])[::-1]  # weakest first
    kind: PromptKind = (
        "diff" if random.Random(request.seed).random() < config.diff_share else "rewrite"
    )
    target = len(parents)
    shown = [
        rename_entry_point(p.source.strip("\n") + "\n", versioned_name(v))
        for v, p in enumerate(parents)
    ]
    sections = [
        _parent_section(v, p, s) for v, (p, s) in enumerate(zip(parents, shown, strict=True))
    ]
    ask = _ask_diff(target) if kind == "diff" else _ask_rewrite(target)
    user = "\n".join(sections) + "\n" + ask
    return Prompt(
        system=CONTRACT + "\n" + RULES,
        user=user,
        kind=kind,
        target_version=target,
        base_source=shown[-1],
    )


def _parent_section(version: int, parent: Parent, shown: str) -> str:
    name = versioned_name(version)
    fitness = "not scored" if parent.score is None else f"{parent.score:.6g}"
    lines = [f"## {name} (fitness {fitness}; higher is better)"]
    lines.extend(_metric_lines(parent.metrics))
    lines.extend(_error_lines(parent.errors))
    lines.append(f"```python\n{shown}```")
    return "\n".join(lines) + "\n"


def _metric_lines(metrics: Mapping[str, float], limit: int = 16) -> list[str]:
    items = sorted(metrics.items())
    if not items:
        return []
    more = [f"- ... and {len(items) - limit} more"] if len(items) > limit else []
    return ["Metrics:"] + [f"- {name}: {value:.6g}" for name, value in items[:limit]] + more


def _error_lines(errors: Sequence[str], limit: int = 3, width: int = 300) -> list[str]:
    if not errors:
        return []
    shown = [e if len(e) <= width else e[:width] + "..." for e in errors[:limit]]
    more = [f"- ... and {len(errors) - limit} more"] if len(errors) > limit else []
    return ["Failures:"] + [f"- {e}" for e in shown] + more


def _ask_rewrite(target: int) -> str:
    name, previous = versioned_name(target), versioned_name(target - 1)
    return (
        f"Write {name}, an improved version of {previous} that packs better. Answer with the "
        f"complete new function {name}(pod, nodes, ctx), with any helpers and constants it "
        "needs, in a single ```python code block. Explain nothing outside the block.\n"
    )


def _ask_diff(target: int) -> str:
    name, previous = versioned_name(target), versioned_name(target - 1)
    return (
        f"Write {name}, an improved version of {previous} that packs better, as one or more "
        f"SEARCH/REPLACE blocks that edit {previous} exactly as shown above. Each SEARCH "
        f"text must match {previous} exactly and appear only once. Rename the function to "
        f"{name} in one of the blocks. Use this format:\n"
        "<<<<<<< SEARCH\n"
        "lines copied exactly from the current version\n"
        "=======\n"
        "the lines that replace them\n"
        ">>>>>>> REPLACE\n"
    )
