"""cluster_traces."""
