"""Untrusted YAML, parsed safely: the one way the daemon reads YAML (projects, sidecars, config).

Anyone can drop a file on the share, so PyYAML's `safe_load` is not enough: an alias bomb
of a few hundred bytes expands to billions of values (and a repr of it to gigabytes), a
thousand `[` make the composer recurse until RecursionError, and duplicate keys are
silently dropped. Here the text is composed into a node tree with the safe loader, bounded
before anything recurses or expands:

- nesting depth, checked while parsing (libyaml's composer recurses in C, unguarded);
- the size of the tree with every alias expanded, counted once per distinct node;
- tags (only the plain YAML types), scalar length, aliases that refer to themselves.

`compose()` gives the checked node tree (the .kproj reader keeps each value's line);
`load()` / `load_document()` build plain Python data from it, refusing duplicate keys.
Every problem is a `ProjectError` naming the file, the line and the problem in one line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotfolder.errors import ProjectError, brief, clip

MAX_DEPTH = 24                  # a real project nests 6 deep; anything near this is an attack
MAX_EXPANDED_NODES = 2_000_000  # compose(): nodes counted with every alias expanded (billion laughs)
MAX_LOADED_NODES = 10_000       # load(): config files and sidecars are small
MAX_LOADED_CHARS = 1_000_000
MAX_SCALAR_CHARS = 100_000

TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp"))

_CSafeLoader = getattr(yaml, "CSafeLoader", None)  # libyaml: ten times faster than pure Python


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader with a bound on nesting, checked while composing (before recursion bites)."""

    def __init__(self, stream: str, path: str | Path) -> None:
        super().__init__(stream)
        self._depth = 0
        self._path = path

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ProjectError(self._path, mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_depth(text: str, path: str | Path) -> None:
    """Refuse deep nesting before libyaml composes (its composer recurses in C, unguarded).

    libyaml's parser itself keeps its own stack, so walking its events is safe at any depth.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ProjectError(path, event.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _compose_unchecked(text: str, path: str | Path) -> Node | None:
    loader: yaml.SafeLoader | None = None
    try:
        if _CSafeLoader is not None:
            _check_depth(text, path)
            return yaml.compose(text, Loader=_CSafeLoader)
        loader = _GuardedLoader(text, path)  # the reader checks characters already here
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        # one line: PyYAML's own str() adds the marks and a snippet of the text on more lines
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ProjectError(path, mark.line + 1 if mark else None, f"invalid YAML: {clip(problem, 120)}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise ProjectError(path, line, f"invalid YAML: {clip(exc.reason, 120)} (character {brief(exc.character)})") from None
    except yaml.YAMLError as exc:
        raise ProjectError(path, None, f"invalid YAML: {clip(str(exc), 120)}") from None
    except RecursionError:  # a last resort; the depth checks above come first
        raise ProjectError(path, None, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        if loader is not None:
            loader.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def line_of(node: Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1


def _fail(path: str | Path, node: Node, message: str) -> NoReturn:
    raise ProjectError(path, line_of(node), message)


def _check_tree(root: Node, path: str | Path, max_nodes: int) -> None:
    """Refuse alias bombs, recursive aliases and foreign tags, without expanding anything.

    Composed aliases share nodes, so the tree is a graph: its expanded size is computed once
    per distinct node (memoised), which stays linear in the file however the aliases nest.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(size[id(k)] for k in _children(node))
            if total > max_nodes:
                _fail(path, node, f"the YAML expands to more than {max_nodes} values (aliases nested too much)")
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            _fail(path, node, "a YAML alias refers to itself")
        if node.tag not in ALLOWED_TAGS:
            _fail(path, node, f"YAML tag {brief(node.tag)} is not allowed")
        if isinstance(node, ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
            _fail(path, node, f"a value longer than {MAX_SCALAR_CHARS} characters")
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                _fail(path, kid, "a YAML alias refers to itself")
            if id(kid) not in size:
                stack.append((kid, False))


def compose(text: str, path: str | Path, *, max_nodes: int = MAX_EXPANDED_NODES) -> Node | None:
    """The checked node tree of `text` (None for an empty document). Raises only ProjectError."""
    root = _compose_unchecked(text, path)
    if root is not None:
        _check_tree(root, path, max_nodes)
    return root


# -- plain data ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    """Loaded YAML and where each value was written: `lines` maps a key path in the notation
    of error messages ("render.width", "hotfolders[0].root") to the line of that key."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, key: str) -> int | None:
        """The line of `key`, or of the nearest enclosing key that is in the file."""
        while key not in self.lines:
            shorter = re.sub(r"(?:\.[^.\[\]]*|\[\d+\])$", "", key)  # "a.b[2]" -> "a.b" -> "a"
            if shorter == key or not shorter:
                return None
            key = shorter
        return self.lines[key]

    def locate(self, file: str | Path, message: str) -> str:
        """`file:LINE: message` for a message that starts with a key path ("render.width: …")."""
        line = self.line(message.partition(": ")[0])
        return f"{file}:{line}: {message}" if line is not None else f"{file}: {message}"

    def locate_all(self, file: str | Path, messages: list[str], limit: int | None = None) -> list[str]:
        """`locate` for each message, in the order of the file (messages without a line first),
        at most `limit` lines: the last then says how many more there were."""
        lines = [(self.line(m.partition(": ")[0]) or 0, self.locate(file, m)) for m in messages]
        out = [text for _, text in sorted(lines, key=lambda item: item[0])]
        if limit is not None and len(out) > limit:
            out = out[: limit - 1] + [f"{file}: … and {len(out) - limit + 1} more problems"]
        return out


class _Builder:
    """Plain Python data from a checked node tree: dicts, lists, str, int, float, bool, None."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.scalars = SafeConstructor()  # YAML 1.1 scalar rules, as safe_load has them
        self.lines: dict[str, int] = {}

    def build(self, node: Node, key: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:  # aliases can nest deeper than the text does
            _fail(self.path, node, f"nested more than {MAX_DEPTH} levels deep (through aliases)")
        if isinstance(node, SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self.lines.setdefault(f"{key}[{i}]", line_of(item))
                out.append(self.build(item, f"{key}[{i}]", depth + 1))
            return out
        if isinstance(node, MappingNode):
            return self.mapping(node, key, depth)
        return self.scalar(node)

    def scalar(self, node: Node) -> Any:
        if node.tag == TAG + "timestamp":
            return node.value  # plain data: a date stays the text it was written as
        try:
            return self.scalars.construct_object(node, deep=True)
        except (ConstructorError, ValueError) as exc:  # e.g. an integer of 5,000 digits
            _fail(self.path, node, f"cannot read the value {brief(node.value)} ({clip(str(exc).splitlines()[0], 60)})")

    def mapping(self, node: MappingNode, key: str, depth: int) -> dict[Any, Any]:
        """Own keys (duplicates refused) over merged ones (`<<: *base`, the first source wins)."""
        own: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merges: list[Node] = []
        for knode, vnode in node.value:
            if knode.tag == TAG + "merge":
                merges.append(vnode)  # after the own keys, so their lines are the ones kept
                continue
            if not isinstance(knode, ScalarNode):
                _fail(self.path, knode, "a key must be a plain value, not a list or a mapping")
            name = self.scalar(knode)
            if name in first_line:
                _fail(self.path, knode, f"duplicate key {brief(name)} (first given on line {first_line[name]})")
            first_line[name] = line_of(knode)
            label = clip(str(name), 40)  # as messages name it; a huge key must not be copied per path
            child = f"{key}.{label}" if key else label
            self.lines.setdefault(child, line_of(knode))
            own[name] = self.build(vnode, child, depth + 1)
        merged: dict[Any, Any] = {}
        for vnode in merges:
            for src in vnode.value if isinstance(vnode, SequenceNode) else [vnode]:
                if not isinstance(src, MappingNode):
                    _fail(self.path, src, "a merge key (<<) needs a mapping or a list of mappings")
                for name, value in self.mapping(src, key, depth + 1).items():
                    merged.setdefault(name, value)
        return {**merged, **own}


def load_document(text: str, path: str | Path, *, max_nodes: int = MAX_LOADED_NODES,
                  max_chars: int = MAX_LOADED_CHARS) -> Document:
    """`text` as plain Python data with the line of every key. Raises only ProjectError."""
    if len(text) > max_chars:
        raise ProjectError(path, None, f"the file holds {len(text)} characters, more than the limit of {max_chars}")
    root = compose(text, path, max_nodes=max_nodes)
    if root is None:
        return Document(None)
    builder = _Builder(path)
    builder.lines[""] = line_of(root)
    data = builder.build(root, "")
    return Document(data, builder.lines)


def load(text: str, path: str | Path, *, max_nodes: int = MAX_LOADED_NODES,
         max_chars: int = MAX_LOADED_CHARS) -> Any:
    """`text` as plain Python data (what `yaml.safe_load` gives, bounded, duplicate keys
    refused, dates kept as text). Raises only ProjectError."""
    return load_document(text, path, max_nodes=max_nodes, max_chars=max_chars).data
