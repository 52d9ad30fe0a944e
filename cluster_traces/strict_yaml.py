"""YAML as binforge reads its own files: safe, and a key given twice in one mapping is an
error naming both lines (PyYAML alone keeps the last one, silently).

Used by every reader of binforge's YAML (evolution configs, the extender's config, the
campaign tables); trace files are CSV or JSON, not YAML.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import yaml

__all__ = ["safe_load"]


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    """Build the mapping in two steps, as PyYAML's own constructor does (so a mapping may
    hold an alias of itself), after checking its keys."""
    first: dict[Hashable, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # ``<<: *anchor`` merges, by design
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # the SafeLoader's own error names it
        line = key_node.start_mark.line + 1
        if key in first:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found the key {key!r} again (first on line {first[key]}); expected each key once",
                key_node.start_mark,
            )
        first[key] = line
    data: dict[Any, Any] = {}
    yield data
    data.update(loader.construct_mapping(node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def safe_load(text: str) -> Any:
    """The YAML document in ``text``, as ``yaml.safe_load`` reads it.

    Raises:
        yaml.YAMLError: invalid YAML, or a mapping that has a key twice (a
            ``ConstructorError`` whose marks give both lines).
    """
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
