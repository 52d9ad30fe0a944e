"""k8s_plugin."""
