"""cluster_traces: the real public traces as one explicit, unit-checked model.

Importing the package imports nothing else, so ``cluster_traces.model`` stays cheap for the
extender. The public modules:

* ``model``: Cluster, Workload, BinPackingInstance, Replay, Scenario (units in names).
* ``errors``: TraceFormatError (bad trace files), ScenarioError (unresolvable names).
* ``scenarios``: ``load_scenario(name, trace_dir, *, protocol, seed, ...)`` and ``load_trace``.
* ``catalog``: every known set with folder, files, licence, citation and upstream URLs.
* ``derive``: time window, subsample, scale, shuffle and FGD inflation, deterministic by seed.
* ``synthetic``: the embedded default cluster and workload (no files).
* ``units``: the explicit assumptions for normalised capacities (NormalisedUnits).
* loaders: ``alibaba_gpu``, ``alibaba_v2017``, ``inventories`` (v2018, PAI v2020, spot v2026),
  ``google``, ``azure``, ``philly``, ``binpack``.
* ``fetch`` and ``summary``: what ``binforge traces fetch`` and ``info`` use.
* ``strict_yaml``: YAML that refuses a key given twice (binforge's own config files).

See docs/traces.md for units, assumptions, licences and citations.
"""
