"""Exported winners: each ``NAME.py`` here defines ``score(pod, nodes, ctx)`` and is loaded
through :func:`heuristics.registry.resolve` (after the safety check), never imported."""
