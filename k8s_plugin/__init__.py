"""The kube-scheduler extender (``binforge serve``): wire format, live cluster state,
decisions with the simulator's own code, Prometheus metrics. See docs/extender.md.

Layering: ``k8s_plugin`` imports ``heuristics``, ``simulator`` and ``cluster_traces``;
none of them imports ``k8s_plugin`` (tests/test_layering.py checks it).

Public entry points: :class:`k8s_plugin.config.ExtenderConfig` and
:func:`k8s_plugin.config.load_config`; :class:`k8s_plugin.cache.ClusterCache` and
:class:`k8s_plugin.watch.Watcher`; :class:`k8s_plugin.extender.Extender`;
:func:`k8s_plugin.server.build_extender`, :func:`k8s_plugin.server.build_app` and
:func:`k8s_plugin.server.serve`.
"""
