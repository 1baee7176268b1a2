"""Safe YAML loading that remembers where every value was written, and refuses hostile input quickly.

We build values straight from PyYAML's event stream (libyaml's parser when available) instead of calling
`yaml.load`, because that lets us, in one pass and without recursion:
- record the file, line, column and key path of every key and value (for findings that point at the line),
- refuse duplicate keys (PyYAML silently keeps the last one) naming both lines,
- bound nesting depth and alias expansion (billion laughs) so memory stays bounded,
- refuse tags other than YAML's own, Ansible's `!unsafe`, and `!vault` (kept encrypted as VaultText).
Scalars are resolved and constructed by PyYAML's SafeLoader machinery, so `yes`, `1_000`, `~` mean exactly
what they mean to Ansible's loader.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

from orchestrator.model import Location

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000

Key = str | int
KeyPath = tuple[Key, ...]

_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_TAG + "merge"
_SAFE_SCALAR_TAGS = {_YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_UNSAFE_TAG = "!unsafe"  # Ansible's marker for "never template this string"
_VAULT_TAG = "!vault"  # Ansible Vault: the value is an encrypted envelope (orchestrator.inventory.vaulted)

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written: the file, 1-based line and column, and the path of keys leading to it."""

    file: str
    line: int = 1
    column: int = 1
    path: KeyPath = ()

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.column, self.path)

    def at(self, key: Key) -> Origin:
        """The same place, one key deeper (for values whose own position is unknown)."""
        return Origin(self.file, self.line, self.column, (*self.path, key))


class TMap(dict):
    """A mapping from YAML that knows where it, each key and each value was written."""

    __slots__ = ("key_origins", "origin", "value_origins")

    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin
        self.key_origins: dict[Any, Origin] = {}
        self.value_origins: dict[Any, Origin] = {}

    def put(self, key: Any, value: Any, key_origin: Origin, value_origin: Origin) -> None:
        self[key] = value
        self.key_origins[key] = key_origin
        self.value_origins[key] = value_origin

    def origin_of(self, key: Any) -> Origin:
        """Where the value of `key` was written (or, for a key added later, the mapping itself)."""
        return self.value_origins.get(key) or self.origin.at(key)


class TList(list):
    """A sequence from YAML that knows where it and each item was written."""

    __slots__ = ("item_origins", "origin")

    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin
        self.item_origins: list[Origin] = []

    def origin_of(self, index: int) -> Origin:
        if 0 <= index < len(self.item_origins):
            return self.item_origins[index]
        return self.origin.at(index)


class VaultText:
    """A `!vault |` value as written: the envelope, still encrypted, and where it was written.

    Not a str on purpose: nothing may read it as text before orchestrator.inventory.vaulted decrypts it.
    """

    __slots__ = ("origin", "text")

    def __init__(self, text: str, origin: Origin) -> None:
        self.text = text
        self.origin = origin

    def __repr__(self) -> str:
        return "VaultText(...)"


class YamlProblem(Exception):
    """Input we refuse, with the place and a one-line fix; the loader turns it into a Finding."""

    def __init__(self, message: str, origin: Origin, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.origin = origin
        self.fix = fix


def read_text(path: Path, shown: str) -> str:
    """The file's text, refusing what is not a small UTF-8 text file, with a clear message."""
    whole = Origin(shown)
    try:
        if path.is_dir():
            raise YamlProblem(
                "this path is a directory, not a YAML file", whole, "give the path of the inventory file"
            )
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise YamlProblem("this path is not a regular file", whole, "give the path of the inventory file")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise YamlProblem(
                f"the file is {size} bytes, larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit for inventory files",
                whole,
                "split it, or check that this is really the inventory",
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except YamlProblem:
        raise
    except FileNotFoundError as exc:
        raise YamlProblem("no such file", whole, "check the path") from exc
    except PermissionError as exc:
        raise YamlProblem(
            "the file cannot be read: permission denied", whole, "make it readable by this user"
        ) from exc
    except OSError as exc:
        raise YamlProblem(f"the file cannot be read: {exc.strerror or exc}", whole, "check the path") from exc
    except ValueError as exc:  # e.g. a NUL character in the path
        raise YamlProblem(f"the path is not valid: {exc}", whole, "check the path") from exc
    if len(data) > MAX_FILE_BYTES:
        raise YamlProblem("the file is larger than the 10 MB limit for inventory files", whole, "split it")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); is it a binary file?",
            Origin(shown, line, column),
            "save the file as UTF-8 text",
        ) from exc


def load_yaml(text: str, shown: str) -> Any:
    """The single document in `text` as TMap/TList/scalars, or None for an empty document."""
    return _Builder(text, shown).build()


def load_yaml_file(path: Path, shown: str | None = None) -> Any:
    """Read and load one YAML file; every refusal is a YamlProblem.

    Like Ansible's loader, a file that is valid JSON but not valid YAML (tab-indented JSON, say) is read as
    JSON; its values then all point at line 1.
    """
    shown = shown if shown is not None else os.fspath(path)
    return load_yaml_text(read_text(path, shown), shown)


def load_yaml_text(text: str, shown: str) -> Any:
    """`load_yaml`, falling back to JSON as Ansible's loader does (see load_yaml_file)."""
    try:
        return load_yaml(text, shown)
    except YamlProblem as problem:
        if not text.lstrip().startswith(("{", "[")):
            raise
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise problem from None  # the YAML problem, with its line, is the better message
        return _tracked(data, Origin(shown), problem)


def _tracked(value: Any, origin: Origin, problem: YamlProblem, depth: int = 0) -> Any:
    """Plain JSON data as TMap/TList whose every value points at `origin` (JSON carries no positions here)."""
    if depth > MAX_DEPTH:
        raise problem
    if isinstance(value, dict):
        mapping = TMap(origin)
        for key, item in value.items():
            inner = origin.at(key)
            mapping.put(key, _tracked(item, inner, problem, depth + 1), inner, inner)
        return mapping
    if isinstance(value, list):
        items = TList(origin)
        for index, item in enumerate(value):
            inner = origin.at(index)
            items.append(_tracked(item, inner, problem, depth + 1))
            items.item_origins.append(inner)
        return items
    return value


class _Frame:
    """One open mapping or sequence while the event stream is walked."""

    __slots__ = ("anchor", "base", "container", "explicit", "key", "key_origin", "merges", "size")

    def __init__(self, container: TMap | TList, anchor: str | None, base: tuple = ()) -> None:
        self.container = container
        self.anchor = anchor
        self.base = base  # the key path to this container: it cannot change while the container is open
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_origin: Origin | None = None
        self.merges: list[tuple[Any, Origin]] = []
        self.explicit: set[Any] = set()


_NO_KEY = object()


class _Builder:
    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.text = text
        self.loader = _BaseLoader(text)
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0

    def origin(self, mark: Any, path: KeyPath) -> Origin:
        return Origin(self.shown, mark.line + 1, mark.column + 1, path)

    def events(self) -> Iterator[Any]:
        try:
            while self.loader.check_event():
                yield self.loader.get_event()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = self.origin(mark, ()) if mark else Origin(self.shown)
            what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            raise YamlProblem(
                f"YAML syntax error: {what}", where, "fix the YAML syntax at this line"
            ) from exc
        except yaml.reader.ReaderError as exc:
            before = self.text[: exc.position] if isinstance(exc.position, int) else ""
            where = Origin(self.shown, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
            raise YamlProblem(
                f"unacceptable character #x{exc.character:04x} ({exc.reason}); is it a binary file?"
                if isinstance(exc.character, int)
                else f"unreadable text ({exc.reason})",
                where,
                "remove the control character or save the file as text",
            ) from exc
        except yaml.YAMLError as exc:
            text = " ".join(str(exc).split())
            raise YamlProblem(f"YAML error: {text}", Origin(self.shown), "fix the YAML syntax") from exc

    def build(self) -> Any:
        try:
            return self._build()
        finally:
            dispose = getattr(self.loader, "dispose", None)
            if dispose:
                dispose()

    def _build(self) -> Any:
        stack: list[_Frame] = []
        result: Any = None
        documents = 0
        for event in self.events():
            if isinstance(event, StreamStartEvent | StreamEndEvent | DocumentEndEvent):
                continue
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        "the file holds more than one YAML document",
                        self.origin(event.start_mark, ()),
                        "keep one document: remove the second '---' and what follows, or merge them",
                    )
                continue
            if isinstance(event, MappingEndEvent | SequenceEndEvent):
                frame = stack.pop()
                if isinstance(frame.container, TMap):
                    self._apply_merges(frame)
                value, size = frame.container, frame.size
                self._anchor(frame.anchor, value, size)
                result = self._deliver(stack, value, size, frame.container.origin)
                continue
            path = self._path(stack)
            origin = self.origin(event.start_mark, path)
            if isinstance(event, AliasEvent):
                if event.anchor not in self.anchors:
                    raise YamlProblem(
                        f"unknown alias *{event.anchor}", origin, "define the &anchor before using it"
                    )
                value, size = self.anchors[event.anchor]
                self.expanded += size
                if self.expanded > MAX_ALIAS_EXPANSION:
                    raise YamlProblem(
                        f"aliases expand to more than {MAX_ALIAS_EXPANSION} values (a YAML alias bomb?)",
                        origin,
                        "write the values out instead of nesting aliases",
                    )
                result = self._deliver(stack, value, size, origin, alias=True)
                continue
            if isinstance(event, ScalarEvent):
                value = self._scalar(event, origin, is_key=bool(stack) and self._expects_key(stack[-1]))
                self._anchor(event.anchor, value, 1)
                result = self._deliver(stack, value, 1, origin)
                continue
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                self._check_collection_tag(event, origin)
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(
                        f"nested deeper than {MAX_DEPTH} levels",
                        origin,
                        "flatten the structure; an inventory never needs this depth",
                    )
                if stack and self._expects_key(stack[-1]):
                    raise YamlProblem(
                        "a mapping key must be a plain value, not a list or mapping",
                        origin,
                        "use a text key",
                    )
                container: TMap | TList = (
                    TMap(origin) if isinstance(event, MappingStartEvent) else TList(origin)
                )
                stack.append(_Frame(container, event.anchor, path))
                continue
        if len(stack):  # pragma: no cover - the parser reports unclosed collections first
            raise YamlProblem("unexpected end of file", Origin(self.shown), "close every list and mapping")
        return result

    @staticmethod
    def _expects_key(frame: _Frame) -> bool:
        return isinstance(frame.container, TMap) and frame.key is _NO_KEY

    @staticmethod
    def _path(stack: list[_Frame]) -> KeyPath:
        """The key path of the next value: the open container's own path plus its current key or index
        (built from the container's stored path, not by walking the whole stack for every event)."""
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.container, TMap):
            return top.base if top.key is _NO_KEY else (*top.base, _path_key(top.key))
        return (*top.base, len(top.container))

    def _anchor(self, anchor: str | None, value: Any, size: int) -> None:
        if anchor:
            self.anchors[anchor] = (value, size)

    def _deliver(
        self, stack: list[_Frame], value: Any, size: int, origin: Origin, alias: bool = False
    ) -> Any:
        """Put a finished value into the open container (as a key, a mapping value or a list item)."""
        if not stack:
            return value
        frame = stack[-1]
        frame.size += size
        container = frame.container
        if isinstance(container, TList):
            container.append(value)
            container.item_origins.append(origin)
            return None
        if frame.key is _NO_KEY:
            if alias:
                raise YamlProblem("an alias cannot be used as a mapping key", origin, "write the key out")
            frame.key = value
            frame.key_origin = Origin(
                origin.file, origin.line, origin.column, (*origin.path, _path_key(value))
            )
            return None
        key, key_origin = frame.key, frame.key_origin
        assert key_origin is not None
        frame.key = _NO_KEY
        if key is _MergeKey:
            frame.merges.append((value, origin))
            return None
        if key in frame.explicit:
            first = container.key_origins[key]
            raise YamlProblem(
                f"duplicate key {key!r}: first at line {first.line}, again at line {key_origin.line}",
                key_origin,
                "keep one of the two",
            )
        frame.explicit.add(key)
        container.put(key, value, key_origin, origin)
        return None

    def _apply_merges(self, frame: _Frame) -> None:
        """YAML merge keys (`<<: *defaults`): explicit keys win, then earlier merge sources."""
        mapping = frame.container
        assert isinstance(mapping, TMap)
        for value, origin in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, TMap):
                    raise YamlProblem(
                        "a merge key '<<' needs a mapping or a list of mappings",
                        origin,
                        "merge a mapping alias",
                    )
                for key, item in source.items():
                    if key not in mapping:
                        mapping.put(key, item, source.key_origins[key], source.value_origins[key])

    def _scalar(self, event: ScalarEvent, origin: Origin, is_key: bool) -> Any:
        tag = event.tag
        if tag == _UNSAFE_TAG:
            return event.value
        if tag in (None, "!"):
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        if tag == _MERGE_TAG and is_key:
            return _MergeKey
        if tag == _VAULT_TAG:
            if is_key:
                raise YamlProblem("a vault value cannot be a mapping key", origin, "write the key out")
            return VaultText(event.value, origin)
        if tag not in _SAFE_SCALAR_TAGS:
            raise YamlProblem(f"unsupported YAML tag {tag}", origin, "remove the tag")
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise YamlProblem(f"cannot read the value: {exc}", origin, "quote the value") from exc
        if is_key and not isinstance(value, str | int | float | bool | type(None)):
            value = event.value
        return value

    def _check_collection_tag(self, event: Any, origin: Origin) -> None:
        tag = event.tag
        if tag in (None, "!", _YAML_TAG + "map", _YAML_TAG + "seq"):
            return
        raise YamlProblem(f"unsupported YAML tag {tag}", origin, "remove the tag")


def _path_key(key: Any) -> Key:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


class _MergeKeyType:
    def __repr__(self) -> str:
        return "<<"


_MergeKey = _MergeKeyType()
