"""Frontmatter YAML read strictly, with the line of every key and item.

libyaml composes the node tree; the quick builder turns the common frontmatter into
plain data without a line map, and the careful one (`Builder`) refuses what is unsafe
(aliases, unknown tags, duplicate and merge keys, deep nesting) at its line and notes
where every key and item is. Both give the same data for every text the quick one
accepts (tests hold them to it)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeAlias

import yaml

from publisher.errors import PublisherError

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "Builder",
    "DocumentError",
    "FastLoader",
    "Loc",
    "Yaml",
    "parse_yaml",
]

MAX_DEPTH = 32
MAX_NODES = 20_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP, _MERGE = (f"{_TAG}{t}" for t in ("str", "seq", "map", "merge"))
# The plain scalar types a post may use, with libyaml-safe constructors for each.
_SCALARS = {
    f"{_TAG}{t}": getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{t}")
    for t in ("int", "float", "bool", "null", "timestamp")
}


class FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's loader with PyYAML's tag resolution done in fewer steps (the composer
    calls it for every node). Same answers: safe loading has no wildcard and no path
    resolvers, which is checked below."""

    def resolve(
        self,
        kind: type[yaml.Node],
        value: Any,  # a scalar's text, None for a collection
        implicit: Any,  # a scalar's (plain, quoted) pair, a bool for a collection
        _scalar: type[yaml.ScalarNode] = yaml.ScalarNode,
        _sequence: type[yaml.SequenceNode] = yaml.SequenceNode,
        _none: tuple[()] = (),
    ) -> str:
        if kind is _scalar:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _none):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is _sequence else _MAP

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_IMPLICIT = _Loader.yaml_implicit_resolvers
if None in _IMPLICIT or _Loader.yaml_path_resolvers:  # pragma: no cover - a PyYAML change
    FastLoader = _Loader  # type: ignore[misc, assignment]

Loc = tuple[str | int, ...]
#: What frontmatter holds once read: YAML's plain types (a timestamp is a date or a
#: datetime), lists and string-keyed mappings of them.
Yaml: TypeAlias = "str | int | float | bool | dt.date | list[Yaml] | dict[str, Yaml] | None"


class DocumentError(PublisherError):
    """A post file that cannot be read as a post, with the place to fix it."""

    def __init__(self, path: str, line: int, col: int, code: str, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: {code}: {message}")
        self.path, self.line, self.col, self.code, self.message = path, line, col, code, message


def parse_yaml(
    text: str,
    path: str,
    line_offset: int,
    *,
    lines: bool = False,
    tree: list[tuple[yaml.MappingNode, FastLoader]] | None = None,
) -> tuple[dict[str, Yaml], dict[Loc, tuple[int, int]] | None]:
    """The frontmatter's data, and with ``lines`` (or when the quick reading cannot
    vouch for the text) the line of every key and item; else ``None`` for the lines,
    and the composed node and its loader appended to ``tree``."""
    if not text.strip():
        return {}, {(): (line_offset + 1, 1)}
    loader = FastLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = line_offset + (mark.line + 1 if mark else 1)
        col = mark.column + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        at = mark.index if mark is not None else -1
        if (0 <= at < len(text) and text[at] == "\t") or "'\\t'" in problem:
            problem = (
                "a tab character: YAML indents with spaces only, never tabs "
                "(replace the tab with spaces)"
            )
        raise DocumentError(
            path, line, col, "yaml.syntax", f"YAML syntax error: {problem}"
        ) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = line_offset + before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        raise DocumentError(
            path,
            line,
            col,
            "yaml.syntax",
            f"character {exc.character!r} is not allowed in YAML (a control character)",
        ) from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, line_offset + 1, 1, "yaml.syntax", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        return {}, {(): (line_offset + 1, 1)}
    builder = Builder(loader, path, line_offset)
    if not isinstance(node, yaml.MappingNode):
        raise DocumentError(
            path,
            line_offset + node.start_mark.line + 1,
            node.start_mark.column + 1,
            "yaml.type",
            "the frontmatter must be a mapping of keys (like `targets: [...]`)",
        )
    if not lines and "&" not in text and "*" not in text:  # no anchor, no alias
        try:
            data = _plain_mapping(node, loader, 0, [1])
            if tree is not None:
                tree.append((node, loader))
            return data, None
        except _Unusual:
            pass  # the careful builder below names the problem, or accepts the text
    builder.lines[()] = (line_offset + 1, 1)
    return builder.mapping(node, (), 0), builder.lines


class _Unusual(Exception):
    """The quick builder met something only the careful one handles."""


_SCALAR_NODE, _SEQ_NODE, _MAP_NODE = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


def _build_plain(node: yaml.Node, loader: FastLoader, depth: int, count: list[int]) -> Yaml:
    """The quick path of `Builder.build` for the common frontmatter, without a line map:
    string keys, plain types, no anchors (the caller checked the text), well within the
    size and depth limits. Anything else raises `_Unusual` (and `Builder` decides),
    so both give the same data for every text this accepts."""
    cls = node.__class__
    if cls is _SCALAR_NODE:
        if node.tag == _STR:
            return node.value
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise _Unusual
        try:
            return construct(loader, node)
        except Exception:
            raise _Unusual from None
    if cls is _MAP_NODE:
        return _plain_mapping(node, loader, depth, count)
    if cls is not _SEQ_NODE:
        raise _Unusual
    _count(node, depth, count, 1)
    if node.tag != _SEQ:
        raise _Unusual
    out: list[Yaml] = []
    for item in node.value:
        if item.__class__ is _SCALAR_NODE and item.tag == _STR:
            out.append(item.value)
        else:
            out.append(_build_plain(item, loader, depth + 1, count))
    return out


def _count(node: yaml.Node, depth: int, count: list[int], per_item: int) -> None:
    """Nodes as `Builder` counts them (the root is counted by the caller): every item,
    and every key and value. Near a limit, leave the verdict to `Builder`."""
    if depth >= MAX_DEPTH - 1:
        raise _Unusual
    count[0] += len(node.value) * per_item
    if count[0] >= MAX_NODES - 1:
        raise _Unusual


def _plain_mapping(
    node: yaml.Node, loader: FastLoader, depth: int, count: list[int]
) -> dict[str, Yaml]:
    """A mapping node, the quick way (`_build_plain`)."""
    _count(node, depth, count, 2)
    if node.tag != _MAP:
        raise _Unusual
    result: dict[str, Yaml] = {}
    for key_node, value_node in node.value:
        if key_node.__class__ is not _SCALAR_NODE or key_node.tag != _STR:
            raise _Unusual  # a merge key, a number or a null as a key
        key = key_node.value
        if key in result:
            raise _Unusual  # a duplicate: reported with the first one's line
        if value_node.__class__ is _SCALAR_NODE and value_node.tag == _STR:
            result[key] = value_node.value
        else:
            result[key] = _build_plain(value_node, loader, depth + 1, count)
    return result


class Builder:
    """Turns a composed YAML node tree into Python data in one pass, refusing what is
    unsafe (aliases, unknown tags, duplicate keys, merge keys, deep nesting) and noting
    the line of every key and item. Work is bounded by the size of the source text:
    a node seen twice (an alias) is refused before it could be expanded."""

    def __init__(self, loader: FastLoader, path: str, line_offset: int) -> None:
        self.loader = loader
        self.path = path
        self.offset = line_offset
        self.seen: set[int] = set()
        self.lines: dict[Loc, tuple[int, int]] = {}

    def _where(self, node: yaml.Node) -> tuple[int, int]:
        return self.offset + node.start_mark.line + 1, node.start_mark.column + 1

    def _fail(self, node: yaml.Node, code: str, message: str) -> DocumentError:
        line, col = self._where(node)
        return DocumentError(self.path, line, col, code, message)

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Yaml:
        self._enter(node, depth)
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if node.tag == _STR:  # the common case, without the constructor's bookkeeping
                return node.value
            return self._scalar(node)
        if cls is yaml.SequenceNode:
            return self._sequence(node, loc, depth)
        return self._mapping(node, loc, depth)

    def mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Yaml]:
        """The frontmatter's top mapping, as `build` reads every mapping."""
        self._enter(node, depth)
        return self._mapping(node, loc, depth)

    def _enter(self, node: yaml.Node, depth: int) -> None:
        seen = self.seen
        if id(node) in seen:
            raise self._fail(
                node,
                "yaml.alias",
                "YAML anchors and aliases (&name / *name) are not allowed in posts; "
                "this anchor is used more than once",
            )
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise self._fail(node, "yaml.size", f"frontmatter has more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise self._fail(node, "yaml.depth", f"frontmatter is nested deeper than {MAX_DEPTH}")

    def _scalar(self, node: yaml.Node) -> Yaml:
        tag = node.tag
        construct = _SCALARS.get(tag)
        if construct is None:
            raise self._fail(node, "yaml.tag", f"YAML tag {_short(tag)} is not allowed in posts")
        try:
            value: Yaml = construct(self.loader, node)
        except ValueError:
            if tag != _TIMESTAMP:
                raise self._fail(
                    node, "yaml.value", f"{node.value!r} is not a valid {_short(tag)}"
                ) from None
            # `2027-02-30` looks like a date but is none: kept as the text written,
            # so the post's checks say so at its line, beside the file's other problems
            return node.value
        except (
            yaml.YAMLError,
            OverflowError,
            AttributeError,
            TypeError,
            KeyError,
            IndexError,
        ):
            # e.g. `!!timestamp nope`, `!!int x`, a date out of range, `!!bool maybe`
            # (KeyError), `!!int ''` or `!!int '+'` (IndexError)
            raise self._fail(
                node, "yaml.value", f"{node.value!r} is not a valid {_short(tag)}"
            ) from None
        return value

    def _sequence(self, node: yaml.Node, loc: Loc, depth: int) -> list[Yaml]:
        if node.tag != _SEQ:
            raise self._fail(
                node, "yaml.tag", f"YAML tag {_short(node.tag)} is not allowed in posts"
            )
        lines = self.lines
        offset = self.offset
        out: list[Yaml] = []
        for i, item in enumerate(node.value):
            mark = item.start_mark
            lines[(*loc, i)] = (offset + mark.line + 1, mark.column + 1)
            out.append(self.build(item, (*loc, i), depth + 1))
        return out

    def _mapping(self, node: yaml.Node, loc: Loc, depth: int) -> dict[str, Yaml]:
        if node.tag != _MAP or node.__class__ is not yaml.MappingNode:
            raise self._fail(
                node, "yaml.tag", f"YAML tag {_short(node.tag)} is not allowed in posts"
            )
        result: dict[str, Yaml] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode:
                raise self._fail(key_node, "yaml.key", "keys must be plain strings")
            if key_node.tag == _MERGE:
                raise self._fail(key_node, "yaml.merge", "YAML merge keys (<<) are not allowed")
            key = self._key(key_node, loc, depth, result)
            self.lines[(*loc, key)] = self._where(key_node)
            result[key] = self.build(value_node, (*loc, key), depth + 1)
        return result

    def _key(self, key_node: yaml.Node, loc: Loc, depth: int, seen: dict[str, Yaml]) -> str:
        """A mapping's key as a string (a `true` key is "true"), not given before."""
        value = self.build(key_node, loc, depth + 1)
        if isinstance(value, str):
            key = value
        else:
            key = str(value) if not isinstance(value, bool) else str(value).lower()
        if key in seen:
            first = self.lines.get((*loc, key), ("?", "?"))[0]
            raise self._fail(
                key_node,
                "yaml.duplicate_key",
                f"duplicate key {key!r} (first set on line {first}); YAML would silently "
                "keep only the last one",
            )
        return key


_TIMESTAMP = f"{_TAG}timestamp"


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
