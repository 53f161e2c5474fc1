"""Builds one YAML document from the parser's events: its values, where each key and item was written, and
the checks hostile or careless input meets, without PyYAML's node tree (three objects a value, held at once).

It gives what PyYAML's safe loader gives (aliases as the same object, YAML 1.1 plain values; a document
with merge keys is built by PyYAML itself once checked) and refuses what the node-tree reader refused,
with the same messages: a syntax error anywhere first, then the first fault in the order a walk of the
nodes meets them (a hash's repeated key before its values), then the first value that PyYAML's
constructor could not build. An alias is never expanded: it is its anchor's value and size.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError

from agent.errors import TendError
from agent.formats.document import Block, DuplicateKey, Duplicates
from agent.location import Location

# Far beyond any real file, and small enough that what reads the values later (merges, interpolation,
# JSON) cannot be made to recurse or to expand without bound.
MAX_DEPTH = 100
MAX_ALIAS_VALUES = 100_000  # values that aliases may add, each alias counted as a copy of what it names
MAX_INT_DIGITS = 100

_YAML = "tag:yaml.org,2002:"
STR, MAP, SEQ, MERGE = _YAML + "str", _YAML + "map", _YAML + "seq", _YAML + "merge"
# The tags of plain values; a file that names any other (!!python/..., !!binary, !custom) is refused.
_TAGS = frozenset(_YAML + name for name in ("null", "bool", "int", "float", "str", "seq", "map", "merge", "timestamp"))
_BUILT = {_YAML + kind: kind for kind in ("int", "float", "bool", "timestamp")}
_SHARED = 32  # strings up to this long are shared (keys, modes, owners): one object for each text
_SCALAR, _SEQUENCE, _MAPPING = "scalar", "sequence", "mapping"  # PyYAML's node ids, named in its messages
_NO_KEY: Any = object()  # a hash waiting for its next key


class _Node:
    """A value as its container receives it: built, with the line it starts on and what the checks need."""

    __slots__ = ("block", "kind", "line", "size", "tag", "text", "unfit", "value")

    def __init__(self, value: Any, line: int, size: int, kind: str, tag: str, text: str | None, block: Block | None):
        self.value = value
        self.line = line
        self.size = size  # values it stands for, each alias inside counted as a copy of what it names
        self.kind = kind
        self.tag = tag
        self.text = text  # a scalar's text as written (a hash key's name in the line index)
        self.block = block  # where the keys or items of a hash or list were written
        self.unfit: str | None = None  # why it cannot be built as a value (a tag its kind cannot take)


class _Open:
    """A hash or list still being read."""

    __slots__ = ("anchor", "first", "key", "node", "order", "round")

    def __init__(self, node: _Node, order: int, anchor: str | None, round_: int):
        self.node = node
        self.order = order  # its place in a walk of the nodes: a fault of its own comes before its values'
        self.anchor = anchor
        # When PyYAML's constructor builds its values: hashes and lists are filled a round after they are made.
        self.round = round_
        self.first: dict[Any, int] = {}  # a hash's keys: the line each was first written on
        self.key: Any = _NO_KEY  # a hash's key waiting for its value, as (key node, merge key or not)


class Composer:
    """One document's events into values and a line index; `build()` returns them or raises the error."""

    def __init__(self, loader: Any, source: str, error: type[TendError], duplicates: Duplicates, hook: Any):
        self.loader = loader
        self.source = source
        self.error = error
        self.duplicates = duplicates
        self.hook = hook
        self.anchors: dict[str, _Node] = {}
        self.open_anchors: set[str] = set()
        self.shared: dict[str, str] = {}
        self.found: list[DuplicateKey] = []
        self.fault: tuple[int, TendError] | None = None  # the first fault of the checks, in walk order
        self.unbuilt: tuple[tuple[int, int], TendError] | None = None  # the first value that cannot be built
        # A merge key was met: the values are left to PyYAML's constructor, whose merge rules changed
        # between its versions (which keys win, in which order), once the document passed the checks.
        self.merged = False
        self.added = 0
        self.order = 0
        self.stack: list[_Open] = []
        self.root: _Node | None = None

    def build(self) -> tuple[Any, Block | None, tuple[DuplicateKey, ...]]:
        """The document's value, its line index and the keys it repeated (None, None, () when it is empty)."""
        get = self.loader.get_event
        get()  # the stream's start
        started = get()
        if isinstance(started, yaml.StreamEndEvent):
            return None, None, ()
        self._events(get)
        get()  # the document's end
        after = get()
        if not isinstance(after, yaml.StreamEndEvent):
            raise ComposerError(
                "expected a single document in the stream", None, "but found another document", after.start_mark
            )
        if self.fault is not None:
            raise self.fault[1]
        if self.unbuilt is not None and not self.merged:
            raise self.unbuilt[1]
        root = self.root
        assert root is not None, "a document that started has a node"
        found = tuple(sorted(self.found, key=lambda duplicate: duplicate.location.line or 0))
        return root.value, root.block or Block(root.line, None), found

    def _events(self, get: Any) -> None:
        stack = self.stack
        scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
        mapping, sequence = yaml.MappingStartEvent, yaml.SequenceStartEvent
        while True:
            event = get()
            kind = type(event)
            if kind is scalar:
                self._deliver(self._scalar(event), self.order)
            elif kind is mapping or kind is sequence:
                self._start(event, kind is mapping)
                continue
            elif kind is alias:
                self._deliver(self._alias(event), self.order)
            else:  # the end of the innermost hash or list
                done = stack.pop()
                self._deliver(self._end(done), done.order)
            if not stack:
                return

    # Nodes ------------------------------------------------------------------------------------------------

    def _begin(self, event: Any, kind: type[yaml.Node]) -> tuple[int, int, str, int]:
        """The checks every new node meets: its depth and tag. Returns (order, depth, tag, line)."""
        self.order += 1
        depth = len(self.stack) + 1
        line = event.start_mark.line + 1
        anchor = event.anchor
        if (anchor is not None and anchor in self.anchors) or anchor in self.open_anchors:
            raise ComposerError("found duplicate anchor; first occurrence", None, "second occurrence", event.start_mark)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, event.value if kind is yaml.ScalarNode else None, event.implicit)
        if depth > MAX_DEPTH:
            self._fail(self.order, f"nested more than {MAX_DEPTH} levels deep", line)
        elif tag not in _TAGS:
            self._fail(self.order, f"unsupported tag '{tag.replace(_YAML, '!!')}' (tend reads plain YAML values)", line)
        return self.order, depth, tag, line

    def _scalar(self, event: Any) -> _Node:
        order, _, tag, line = self._begin(event, yaml.ScalarNode)
        text = event.value
        if len(text) <= _SHARED:
            text = self.shared.setdefault(text, text)
        node = _Node(None, line, 1, _SCALAR, tag, text, None)
        if tag == STR:
            node.value = text if self.hook is None else self.hook(text, line, event.start_mark.column)
        elif tag in _BUILT:
            node.value = self._built(order, tag, text, line)
        elif tag in (SEQ, MAP, MERGE):
            node.unfit = _unfit(tag, _SCALAR)
            node.value = [] if tag == SEQ else {} if tag == MAP else None  # what PyYAML has made when it fails
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def _built(self, order: int, tag: str, text: str, line: int) -> Any:
        """A YAML 1.1 int, float, bool or date, as PyYAML builds it; a fault when the text is none."""
        kind = _BUILT[tag]
        digits = sum(c.isdigit() for c in text) if kind == "int" else 0
        if digits > MAX_INT_DIGITS:
            return self._fail(order, f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})", line)
        try:
            return getattr(self.loader, f"construct_yaml_{kind}")(yaml.ScalarNode(tag, text))
        except (ValueError, IndexError, KeyError) as problem:
            if kind == "timestamp":
                return self._fail(order, f"not a valid date or time: {text!r} ({problem})", line)
            return self._fail(order, f"not a valid {kind}: {text!r}", line)

    def _start(self, event: Any, mapping: bool) -> None:
        order, _, tag, line = self._begin(event, yaml.MappingNode if mapping else yaml.SequenceNode)
        block = Block(line, {} if mapping else [])
        node = _Node({} if mapping else [], line, 1, _MAPPING if mapping else _SEQUENCE, tag, None, block)
        node.unfit = _unfit(tag, node.kind)
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.stack.append(_Open(node, order, anchor, self._round() + (tag in (SEQ, MAP))))

    def _end(self, done: _Open) -> _Node:
        node = done.node
        if done.anchor is not None:
            self.open_anchors.discard(done.anchor)
            self.anchors[done.anchor] = node
        return node

    def _alias(self, event: Any) -> _Node:
        """An alias is its anchor's node: counted as a copy of it, refused inside it."""
        self.order += 1
        name = event.anchor
        if name in self.open_anchors:
            line = event.start_mark.line + 1
            self._fail(self.order, "an alias refers to its own anchor (a structure that contains itself)", line)
            return _Node(None, line, 0, _SCALAR, STR, None, None)
        node = self.anchors.get(name)
        if node is None:
            raise ComposerError(None, None, "found undefined alias", event.start_mark)
        self.added += node.size
        if self.added > MAX_ALIAS_VALUES:
            self._fail(self.order, f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)",
                       self._used_at(node))  # fmt: skip
        return node

    def _used_at(self, node: _Node) -> int:
        """Where a node is used, as the node-tree reader said it: its key in a hash (the key itself for a
        key), else its list."""
        parent = self.stack[-1] if self.stack else None
        if parent is None or parent.node.kind == _SEQUENCE:
            return parent.node.line if parent is not None else node.line
        return node.line if parent.key is _NO_KEY else parent.key[0].line

    # Containers -------------------------------------------------------------------------------------------

    def _round(self) -> int:
        return self.stack[-1].round if self.stack else 0

    def _deliver(self, node: _Node, order: int) -> None:
        """A finished node (met at `order`) to the hash or list it is in, or the document's root."""
        if not self.stack:
            self._use(node, order)
            self.root = node
            return
        into = self.stack[-1]
        into.node.size += node.size
        if into.node.kind == _SEQUENCE:
            self._use(node, order)
            into.node.value.append(node.value)
            _add_item(into.node.block, node.line, node.block)
        elif into.key is _NO_KEY:
            self._key(into, node, order)
        else:
            key, merge = into.key
            into.key = _NO_KEY
            if not merge:  # what a merge key names is merged by PyYAML itself (see `merged`)
                self._use(node, order)
                self._pair(into, key, node)

    def _key(self, into: _Open, key: _Node, order: int) -> None:
        merge = key.kind == _SCALAR and key.tag == MERGE
        into.key = (key, merge)
        if merge:
            self.merged = True
            return
        self._use(key, order)
        if key.kind == _SCALAR:
            ident = key.text if key.tag == STR else (key.tag, key.text)
            first = into.first.get(ident)
            if first is None:
                into.first[ident] = key.line
            else:
                self._repeated(into, key, first)
        try:
            hash(key.value)
        except TypeError:
            self._unbuilt((self._round(), order), "found unhashable key", key.line, "while constructing a mapping")

    def _repeated(self, into: _Open, key: _Node, first: int) -> None:
        duplicate = DuplicateKey(key.text or "", Location(self.source, key.line), first)
        if self.duplicates is Duplicates.REFUSE:
            self._fail(into.order, duplicate.message, key.line)
        else:
            self.found.append(duplicate)

    def _pair(self, into: _Open, key: _Node, value: _Node) -> None:
        try:
            into.node.value[key.value] = value.value
        except TypeError:
            return  # an unhashable key, already refused
        if key.kind == _SCALAR and key.text is not None:
            _set_entry(into.node.block, key.text, key.line, value.block)

    def _use(self, node: _Node, order: int) -> None:
        """A node taken as a value: one whose tag its kind cannot take is refused, when PyYAML would build it."""
        if node.unfit is not None:
            self._unbuilt((self._round() + (node.tag in (SEQ, MAP)), order), node.unfit, node.line)

    # Faults -----------------------------------------------------------------------------------------------

    def _fail(self, order: int, message: str, line: int) -> None:
        if self.fault is None or order < self.fault[0]:
            self.fault = (order, self.error(message, location=Location(self.source, line)))

    def _unbuilt(self, when: tuple[int, int], problem: str, line: int, context: str | None = None) -> None:
        """A value PyYAML cannot build; the first it would meet (`when`: its round and walk order) is refused."""
        if self.unbuilt is None or when < self.unbuilt[0]:
            what = f"{context}, {problem}" if context else problem
            self.unbuilt = (when, self.error(f"Unable to parse YAML: {what}", location=Location(self.source, line)))


def _unfit(tag: str, kind: str) -> str | None:
    """PyYAML's refusal to build a `kind` node with `tag`, or None when it builds it."""
    if tag == MERGE:
        return f"could not determine a constructor for the tag '{MERGE}'"
    wanted = _SEQUENCE if tag == SEQ else _MAPPING if tag == MAP else _SCALAR if tag in _TAGS else kind
    return None if wanted == kind else f"expected a {wanted} node, but found {kind}"


def _add_item(block: Block | None, line: int, inner: Block | None) -> None:
    assert block is not None and isinstance(block.lines, list)
    index = len(block.lines)
    block.lines.append(line)
    if inner is not None:
        if block.inner is None:
            block.inner = {}
        block.inner[index] = inner


def _set_entry(block: Block | None, text: str, line: int, inner: Block | None) -> None:
    """A hash's key in its line index; written again, its last place counts, as its last value does."""
    assert block is not None and isinstance(block.lines, dict)
    block.lines[text] = line
    if inner is not None:
        if block.inner is None:
            block.inner = {}
        block.inner[text] = inner
    elif block.inner is not None:
        block.inner.pop(text, None)


def node_index(node: yaml.Node, done: dict[int, Block] | None = None) -> Block:
    """The line index of a PyYAML node tree (an alias's node indexed once)."""
    done = {} if done is None else done
    if id(node) in done:
        return done[id(node)]
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        block = done[id(node)] = Block(line, {})
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                inner = node_index(value, done) if isinstance(value, yaml.CollectionNode) else None
                _set_entry(block, key.value, key.start_mark.line + 1, inner)
    elif isinstance(node, yaml.SequenceNode):
        block = done[id(node)] = Block(line, [])
        for item in node.value:
            inner = node_index(item, done) if isinstance(item, yaml.CollectionNode) else None
            _add_item(block, item.start_mark.line + 1, inner)
    else:
        block = Block(line, None)
    return block
