"""Heuristic discovery by evolution: proposers, a program database, a sandboxed evaluator.

Modules, one role each: :mod:`~heuristics.evolve.config` (run configuration),
:mod:`~heuristics.evolve.proposer` (the proposer interface and registry),
:mod:`~heuristics.evolve.gp` (the offline genetic-programming proposer),
:mod:`~heuristics.evolve.database` (the SQLite program database),
:mod:`~heuristics.evolve.evaluator` (the evaluation cascade),
:mod:`~heuristics.evolve.executor` (local or Ray sandboxes) and
:mod:`~heuristics.evolve.engine` (the asyncio loop that wires them). The LLM proposers,
the prompt builder, the edit parser, reports and exports live beside them. Import the
module you need; the package itself exports nothing, so importing it stays cheap.
"""

__all__: list[str] = []
