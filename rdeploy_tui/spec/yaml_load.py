"""Read a spec file without letting the file decide how much memory or time it takes (issue 15).

- only regular files, at most MAX_SPEC_BYTES, checked before reading (a FIFO would block, /dev/zero never ends);
- YAML aliases are bounded while loading: PyYAML shares an aliased node, so a 1 KB "billion laughs" loads small
  but every later walk (json.dumps, validation) expands it; the expanded size is counted on the node graph,
  before any Python object is built, and refused past MAX_EXPANDED_NODES or MAX_DEPTH;
- a key given twice in one mapping is an error (YAML 1.2 says keys are unique; PyYAML keeps the last silently).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_SPEC_BYTES = 1024 * 1024  # a spec is a few KB; a sample request of 1 MiB is already far past a useful one
MAX_EXPANDED_NODES = 100_000  # YAML nodes after alias expansion: a large sample request has a few thousand
MAX_DEPTH = 64  # mappings/lists inside each other; a spec needs 4 or 5


class SpecFileError(Exception):
    """The file cannot be read as a spec; the message names the file and says why."""


def read_spec_text(path: Path) -> str:
    try:
        info = os.stat(path)  # follows a symlink: what is read is what is checked
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecFileError(f"{path} is a folder, not a spec file")
    if not stat.S_ISREG(info.st_mode):
        raise SpecFileError(f"{path} is not a regular file (a pipe, device or socket); give the path of a YAML file")
    if info.st_size > MAX_SPEC_BYTES:
        raise SpecFileError(f"{path} is {info.st_size:,} bytes; a spec may be at most {MAX_SPEC_BYTES:,}")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)  # the file may grow between stat and read
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecFileError(f"{path} is larger than {MAX_SPEC_BYTES:,} bytes, the most a spec may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecFileError(
            f"cannot read {path}: it is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from None


class _BoundedLoader(yaml.SafeLoader):
    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"the key {shown(key)} is given twice (again on line {key_node.start_mark.line + 1}); keep one",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node) -> None:
    """Count nodes as if every alias were copied out, and the deepest nesting; iterative, memoised per node."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_EXPANDED_NODES:
                raise _refused(
                    node, f'its aliases expand to more than {MAX_EXPANDED_NODES:,} values (a "billion laughs" file?)'
                )
            if depth[key] > MAX_DEPTH:
                raise _refused(node, f"it is nested more than {MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in on_path:  # an alias to one of its own ancestors: PyYAML builds a cycle; JSON cannot carry it
            raise _refused(node, "an alias refers to a mapping or list that contains it")
        on_path.add(key)
        stack.append((node, True))
        if len(on_path) > MAX_DEPTH:
            raise _refused(node, f"it is nested more than {MAX_DEPTH} levels deep")
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refused(node: yaml.Node, why: str) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError(None, None, f"refused: {why}", node.start_mark)


def load_yaml(text: str) -> Any:
    """yaml.safe_load with the bounds above; raises yaml.YAMLError (with a mark) on a refused document."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except RecursionError:
        # PyYAML's parser recurses per nesting level before the composer hands us a node.
        raise yaml.YAMLError(
            f"refused: it is nested too deeply (more than {MAX_DEPTH} levels are never needed)"
        ) from None


_PLAIN = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def shown(value: Any, limit: int = 40) -> str:
    """A value from a file, safe to print: a plain short name as it is, anything else quoted with escapes visible
    (no terminal control sequences) and truncated (a spec symlinked to a secret must not echo its lines)."""
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    cut = len(text) > limit
    text = text[:limit].encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{text}{"..." if cut else ""}"'
