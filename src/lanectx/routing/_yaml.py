"""YAML input and output for the renderer: strict loading, deterministic dumping.

Loading refuses duplicate keys (PyYAML would silently keep the last one)::

    data = load_yaml_text("namespace: shop\\n", source="lanes.yaml")
    text = dump_documents([{"kind": "Service", ...}])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import SpecError

__all__ = ["dump_documents", "load_yaml_documents", "load_yaml_text"]


def _strict_loader() -> Any:
    """Return a SafeLoader subclass that rejects duplicate mapping keys."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that reports a duplicate key with its line."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise SpecError(f"line {line}: duplicate key {key!r}")
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def load_yaml_documents(text: str, source: str) -> list[Any]:
    """Parse every YAML document in *text*; a syntax error becomes a one-line `SpecError`."""
    import yaml

    try:
        return [doc for doc in yaml.load_all(text, Loader=_strict_loader()) if doc is not None]
    except SpecError as err:
        raise SpecError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise SpecError(f"{source}:{where}: {problem}") from None


def load_yaml_text(text: str, source: str) -> Any:
    """Parse a single-document YAML text strictly."""
    documents = load_yaml_documents(text, source)
    if len(documents) != 1:
        raise SpecError(f"{source}: expected one YAML document, found {len(documents)}")
    return documents[0]


def dump_documents(documents: Iterable[Mapping[str, Any]], header: str = "") -> str:
    """Dump *documents* as multi-document YAML; keys keep their insertion order."""
    import yaml

    class Dumper(yaml.SafeDumper):
        """SafeDumper that indents block sequences under their key."""

        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def block_text(dumper: Any, text: str) -> Any:
        # Programs (Lua) read best as literal blocks; PyYAML quotes them when it must.
        style = "|" if "\n" in text else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, block_text)

    parts = [
        yaml.dump(dict(doc), Dumper=Dumper, sort_keys=False, default_flow_style=False, width=1000)
        for doc in documents
    ]
    return header + "---\n" + "---\n".join(parts) if parts else header
