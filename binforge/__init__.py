"""binforge: discover scheduling heuristics by evolution and serve them to kube-scheduler."""

__all__ = ["__version__"]

__version__ = "0.1.0"
