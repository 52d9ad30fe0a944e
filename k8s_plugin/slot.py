"""The heuristic being served, swappable at run time without dropping requests.

Heuristics load by registry name or file path through :func:`heuristics.registry.resolve`,
the same lookup (and, for files, the same safety check) as the simulator and the
evolution engine. :meth:`HeuristicSlot.reload` builds the new pair first and swaps one
reference, so a request in flight finishes with the pair it started with. A reload
that fails keeps the current pair.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from heuristics.contract import Heuristic
from heuristics.registry import NamedHeuristic, resolve
from k8s_plugin.config import ExtenderConfig

__all__ = ["HeuristicSlot", "Loaded"]

log = logging.getLogger("binforge.extender.heuristic")


@dataclass(frozen=True)
class Loaded:
    """A heuristic and its baseline, ready to call.

    Attributes:
        heuristic, baseline: the scoring functions.
        identity: name, spec, summary, source (provenance: ``builtin:...`` or the file),
            baseline name, and the sha256 of the source file (empty for builtins).
    """

    heuristic: Heuristic
    baseline: Heuristic
    identity: dict[str, str]


def _file_of(named: NamedHeuristic) -> Path | None:
    """The source file of a heuristic loaded from a file or a winner (None for builtins)."""
    return None if named.source.startswith("builtin:") else Path(named.source)


def _load(config: ExtenderConfig) -> tuple[Loaded, Path | None]:
    named = resolve(config.heuristic)
    baseline = resolve(config.baseline)
    path = _file_of(named)
    identity = {
        "name": named.name,
        "spec": config.heuristic,
        "summary": named.summary,
        "source": named.source,
        "baseline": baseline.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path else "",
    }
    return Loaded(named.heuristic, baseline.heuristic, identity), path


class HeuristicSlot:
    """Holds the current :class:`Loaded` pair; :meth:`reload` swaps it atomically."""

    def __init__(self, config: ExtenderConfig) -> None:
        """Load the configured heuristic and baseline.

        Raises:
            whatever :func:`heuristics.registry.resolve` raises for an unknown name, a
            missing file or unsafe code.
        """
        self._config = config
        self._lock = threading.Lock()
        self.current, self._path = _load(config)
        self._seen = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        # Inode and size too: a ConfigMap update swaps a symlink to a new file whose
        # modification time may equal the old one's.
        if self._path is None:
            return None
        try:
            info = self._path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_ino, info.st_size

    def reload(self) -> bool:
        """Load again and swap; on failure keep the current pair. True when swapped."""
        with self._lock:
            self._seen = self._stat()
            try:
                loaded, path = _load(self._config)
            except Exception as exc:
                log.error("reload heuristic %s: %s", self._config.heuristic, exc)
                return False
            self.current, self._path = loaded, path
            log.info("loaded heuristic %s", loaded.identity)
            return True

    def file_changed(self) -> bool:
        """True when the heuristic's file changed since the last load (always False for names)."""
        return self._path is not None and self._stat() != self._seen
