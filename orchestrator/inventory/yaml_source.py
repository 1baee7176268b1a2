"""Safe YAML loading that remembers where every value was written, and refuses hostile input quickly.

We build values straight from PyYAML's event stream (libyaml's parser when available) instead of calling
`yaml.load`, because that lets us, in one pass and without recursion:
- record the file, line, column and key path of every key and value (for findings that point at the line),
- warn about duplicate keys naming both lines, the last value winning, as Ansible's loader does (its
  DUPLICATE_YAML_DICT_KEY setting, `duplicate_keys` here: warn by default, or error, or ignore),
- bound nesting depth and alias expansion (billion laughs) so memory stays bounded,
- refuse tags other than YAML's own, Ansible's `!unsafe` (its text kept as UnsafeStr, never templated), and
  `!vault` (kept encrypted as VaultText).
Scalars are resolved and constructed by PyYAML's SafeLoader machinery, so `yes`, `1_000`, `~` mean exactly
what they mean to Ansible's loader.
"""

from __future__ import annotations

import json
import os
import stat
from contextvars import ContextVar
from dataclasses import dataclass, fields
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
# Aliases share their anchor's value, so reusing one costs nothing while loading; what must stay bounded is
# the number of values a reader walking the document (the resolver, `inventory --list`) visits once every
# alias is written out. Ordinary reuse (`<<: *defaults` on hundreds of hosts) grows that linearly with the
# file; billion laughs grows it exponentially. So aliases may stand for up to MAX_ALIAS_EXPANSION values,
# or, in a larger file, one value per character read so far (a 10 MB file of real values holds a few
# million): both far above any inventory, far below what nine levels of ten aliases (10**9) expand to.
MAX_ALIAS_EXPANSION = 1_000_000

# What a key written twice in one mapping does, as Ansible's DUPLICATE_YAML_DICT_KEY says (ansible/config/
# base.yml, used by ansible/_internal/_yaml/_constructor.py construct_mapping): "warn" (its default: the last
# value wins, with a warning naming the key), "error" (the file is refused) or "ignore" (the last value wins).
# A key that overrides one merged in with `<<` counts as written twice, as it does for Ansible.
DUPLICATE_KEY_MODES = ("error", "warn", "ignore")
duplicate_keys: ContextVar[str] = ContextVar("duplicate_keys", default="warn")

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
        # Location(self.file, self.line, self.column, self.path), its slots set directly: the typed model
        # asks this of nearly every value of an inventory (see _ORIGIN_SLOTS for the same on Origin).
        made = _new(Location)
        set_file, set_line, set_column, set_path = _LOCATION_SLOTS
        set_file(made, self.file)
        set_line(made, self.line)
        set_column(made, self.column)
        set_path(made, self.path)
        return made

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


class UnsafeStr(str):
    """Text written with Ansible's `!unsafe`: literal, never a template, never a `{{ name }}` reference nor
    an env lookup (lookup.py and the credential readers treat it as plain text), so a password such as
    `!unsafe "pa{{ss"` is the password as written.

    Ansible constructs `!unsafe` by resolving the scalar's implicit tag again and marking the result as
    untrusted for templating (ansible/_internal/_yaml/_constructor.py:152-160 _resolve_and_construct_object,
    :200-206 construct_yaml_unsafe), so only text needs a marker: `!unsafe 5986` is the int 5986.
    """

    __slots__ = ()


class YamlProblem(Exception):
    """Input we refuse, with the place and a one-line fix; the loader turns it into a Finding."""

    def __init__(self, message: str, origin: Origin, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.origin = origin
        self.fix = fix


class NotUtf8(YamlProblem):
    """A file with bytes UTF-8 cannot decode. `text` is the file decoded with surrogateescape, so the INI
    reader can still take it when those bytes are only in its comments (sources._file)."""

    def __init__(self, message: str, origin: Origin, fix: str, text: str) -> None:
        super().__init__(message, origin, fix)
        self.text = text


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
        raise NotUtf8(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded: Latin-1 or Windows-1252 "
            "text, or a binary file?)",
            Origin(shown, line, column),
            "save the file as UTF-8 text (an INI file may keep such bytes in its comments only)",
            data.decode("utf-8", "surrogateescape"),
        ) from exc


def load_yaml(text: str, shown: str) -> Any:
    """The single document in `text` as TMap/TList/scalars, or None for an empty document."""
    return _Builder(text, shown).build()


def load_yaml_document(
    text: str, shown: str, warnings: list[YamlProblem] | None = None
) -> tuple[Any, bool]:
    """`load_yaml_text`, and whether the document holds a `!vault` value: a caller that replaces those
    (orchestrator.inventory.vaulted) need not walk a document that has none. What Ansible's loader warns
    about (a duplicate key) is appended to `warnings`, each at its place."""
    as_json = _json_first(text)
    builder = _Builder(text, shown)
    try:
        data = builder.build()
    except YamlProblem as problem:
        return _json_instead(text, shown, problem, as_json), False
    if as_json is not _MISS:
        # JSON text holds no `!vault` tag; Ansible reads it with json.loads, which keeps a duplicate key's
        # last value without a word
        return _grafted(data, as_json, Origin(shown)), False
    if warnings is not None:
        warnings.extend(builder.warnings)
    return data, builder.vaults > 0


def load_yaml_file(path: Path, shown: str | None = None) -> Any:
    """Read and load one YAML file; every refusal is a YamlProblem.

    Like Ansible's loader, a file that is valid JSON but not valid YAML (tab-indented JSON, say) is read as
    JSON; its values then all point at line 1.
    """
    shown = shown if shown is not None else os.fspath(path)
    return load_yaml_text(read_text(path, shown), shown)


def load_yaml_text(text: str, shown: str) -> Any:
    """JSON first, then YAML, as Ansible's loader reads a file (see load_yaml_file)."""
    return load_yaml_document(text, shown)[0]


def _json_first(text: str) -> Any:
    """The text as JSON when it is a JSON object or array, else _MISS.

    Ansible's loader tries json.loads before YAML for every file it reads (inventory files and vars files
    alike: ansible/parsing/utils/yaml.py:38-49 from_yaml, used by DataLoader.load_from_file). The two differ
    on numbers: YAML 1.1 reads `1e-05`, `1e+20` and `1E3` (no dot) as text, JSON as floats, and JSON reads
    NaN and Infinity. Only an object or array can be an inventory or a vars file, so other text is left to
    YAML (which refuses it as it refuses any non-mapping file).
    """
    if not text.lstrip().startswith(("{", "[")):
        return _MISS
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _MISS


def _json_instead(text: str, shown: str, problem: YamlProblem, as_json: Any) -> Any:
    """The JSON data when the text is JSON but not YAML (tab indentation, say); else the YAML problem, with
    its line (the better message)."""
    if as_json is _MISS:
        raise problem
    return _tracked(as_json, Origin(shown), problem)


def _too_deep(origin: Origin) -> YamlProblem:
    return YamlProblem(f"nested deeper than {MAX_DEPTH} levels", origin, "flatten the structure")


def _grafted(tree: Any, data: Any, origin: Origin, depth: int = 0) -> Any:
    """JSON's values in the YAML tree's places: the same document read both ways, so where the shapes agree
    (the same keys, the same lengths) each value keeps the line YAML found it on, and the value is JSON's.
    Where they do not (JSON's duplicate keys, which YAML refuses), the JSON data is used, at `origin`."""
    if depth > MAX_DEPTH:
        return tree
    if isinstance(data, dict):
        if not isinstance(tree, TMap) or list(tree) != list(data):
            return _tracked(data, getattr(tree, "origin", origin), _too_deep(origin))
        for key in data:
            tree[key] = _grafted(tree[key], data[key], tree.origin_of(key), depth + 1)
        return tree
    if isinstance(data, list):
        if not isinstance(tree, TList) or len(tree) != len(data):
            return _tracked(data, getattr(tree, "origin", origin), _too_deep(origin))
        for index, item in enumerate(data):
            tree[index] = _grafted(tree[index], item, tree.origin_of(index), depth + 1)
        return tree
    return data


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


_TAG_EXPECTS = {
    _YAML_TAG + "bool": "true or false (or yes/no, on/off)",
    _YAML_TAG + "timestamp": "a date like 2024-05-01 or a time like 2024-05-01T12:00:00Z",
}


def _tag_problem(tag: str, text: str, exc: Exception) -> str:
    """Why a tagged scalar cannot be read, in words: what the tag needs, or the constructor's own reason."""
    short = tag.removeprefix(_YAML_TAG)
    if tag in _TAG_EXPECTS and isinstance(exc, LookupError | AttributeError):
        return f"!!{short} needs {_TAG_EXPECTS[tag]}, not {text!r}"
    if isinstance(exc, LookupError | AttributeError):
        return f"{text!r} is not a valid !!{short}"
    return str(exc)


class _Frame:
    """One open mapping or sequence while the event stream is walked."""

    __slots__ = ("anchor", "base", "container", "is_map", "key", "key_origin", "merges", "size", "unsafe")

    def __init__(self, container: TMap | TList, anchor: str | None, base: tuple = ()) -> None:
        self.container = container
        self.is_map = isinstance(container, TMap)
        self.anchor = anchor
        self.base = base  # the key path to this container: it cannot change while the container is open
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_origin: Origin | None = None
        self.merges: list[tuple[Any, Origin]] = []
        self.unsafe = False  # tagged `!unsafe`: its text values become UnsafeStr when it closes


_NO_KEY = object()
_MISS = object()
_ORIGIN_FIELDS = ("file", "line", "column", "path")
if tuple(f.name for f in fields(Origin)) != _ORIGIN_FIELDS:  # pragma: no cover - a guard for editors
    raise TypeError("Origin's fields changed: update _ORIGIN_FIELDS and the builder's origins")
_ORIGIN_SLOTS = tuple(vars(Origin)[name].__set__ for name in _ORIGIN_FIELDS)
if tuple(f.name for f in fields(Location)) != _ORIGIN_FIELDS:  # pragma: no cover - a guard for editors
    raise TypeError("Location's fields changed: update Origin.location")
_LOCATION_SLOTS = tuple(vars(Location)[name].__set__ for name in _ORIGIN_FIELDS)
_new = object.__new__
_KEY_TYPES = (str, int, float, bool, type(None))  # what a constructed key may be; other keys stay text
_STR_TAG = _YAML_TAG + "str"


def _tab_indented(text: str, line: int) -> bool:
    """Whether that line (0-based) is indented with a tab: the usual cause of "found character that cannot
    start any token", which libyaml reports without naming the character."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return False
    row = lines[line]
    return "\t" in row[: len(row) - len(row.lstrip(" \t"))]


class _Builder:
    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.text = text
        self.loader = _BaseLoader(text)
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0
        self.vaults = 0  # `!vault` values read
        self.duplicates = duplicate_keys.get()
        self.warnings: list[YamlProblem] = []
        # (tag, text, implicit) -> the value a safe scalar stands for. Resolving and constructing depend on
        # nothing else, and every such value is immutable, so one inventory's thousands of `cpus: 2` or
        # `memory: 4GB` are read once. Failures are never stored: each one raises at its own place.
        self.scalars: dict[tuple[Any, str, Any], Any] = {}

    def origin(self, mark: Any, path: KeyPath) -> Origin:
        return Origin(self.shown, mark.line + 1, mark.column + 1, path)

    def syntax_problem(self, exc: yaml.YAMLError) -> YamlProblem:
        """The parser's (or reader's) refusal as a YamlProblem at its place."""
        if isinstance(exc, yaml.MarkedYAMLError):
            mark = exc.problem_mark or exc.context_mark
            where = self.origin(mark, ()) if mark else Origin(self.shown)
            what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            fix = "fix the YAML syntax at this line"
            if mark and _tab_indented(self.text, mark.line):
                fix = "indent with spaces: YAML does not allow a tab in indentation"
            return YamlProblem(f"YAML syntax error: {what}", where, fix)
        if isinstance(exc, yaml.reader.ReaderError):
            before = self.text[: exc.position] if isinstance(exc.position, int) else ""
            where = Origin(self.shown, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
            return YamlProblem(
                f"unacceptable character #x{exc.character:04x} ({exc.reason}); is it a binary file?"
                if isinstance(exc.character, int)
                else f"unreadable text ({exc.reason})",
                where,
                "remove the control character or save the file as text",
            )
        text = " ".join(str(exc).split())
        return YamlProblem(f"YAML error: {text}", Origin(self.shown), "fix the YAML syntax")

    def build(self) -> Any:
        try:
            return self._build()
        finally:
            dispose = getattr(self.loader, "dispose", None)
            if dispose:
                dispose()

    def _build(self) -> Any:
        """Walk the event stream once. The common events (a scalar key, a scalar value, a list item) are
        handled inline with their origins built straight from the parser's marks: this loop runs for every
        value of the inventory, so it is written for speed; the rare cases go through the helpers below."""
        shown = self.shown
        scalar = self._scalar
        known = self.scalars.get
        # Origins of the common events are made by setting their slots directly: the same frozen Origin
        # as Origin(...) builds, at half the cost of its generated __init__ (hundreds of thousands here).
        new = object.__new__
        set_file, set_line, set_column, set_path = _ORIGIN_SLOTS
        deliver = self._deliver
        get_event = self.loader.get_event
        stack: list[_Frame] = []
        top: _Frame | None = None
        result: Any = None
        documents = 0
        while True:
            try:
                event = get_event()
            except yaml.YAMLError as exc:
                raise self.syntax_problem(exc) from exc
            if event is None:
                break
            kind = event.__class__
            if kind is ScalarEvent:
                mark = event.start_mark
                if top is None:
                    origin = Origin(shown, mark.line + 1, mark.column + 1, ())
                    value = scalar(event, origin, False)
                    if event.anchor:
                        self.anchors[event.anchor] = (value, 1)
                    result = value
                    continue
                top.size += 1
                value = known((event.tag, event.value, event.implicit), _MISS)  # see _scalar
                if not top.is_map:
                    container = top.container
                    origin = new(Origin)
                    set_file(origin, shown)
                    set_line(origin, mark.line + 1)
                    set_column(origin, mark.column + 1)
                    set_path(origin, (*top.base, len(container)))
                    if value is _MISS:
                        value = scalar(event, origin, False)
                    if event.anchor:
                        self.anchors[event.anchor] = (value, 1)
                    container.append(value)
                    container.item_origins.append(origin)
                    continue
                key = top.key
                if key is _NO_KEY:
                    base = top.base
                    if value is _MISS:
                        value = scalar(event, None, True, mark, base)
                    elif type(value) is not str and not isinstance(value, _KEY_TYPES):
                        value = event.value  # a timestamp or binary key stays its text (see _scalar)
                    if event.anchor:
                        self.anchors[event.anchor] = (value, 1)
                    top.key = value
                    top.key_origin = origin = new(Origin)
                    set_file(origin, shown)
                    set_line(origin, mark.line + 1)
                    set_column(origin, mark.column + 1)
                    set_path(origin, (*base, value if type(value) is str else _path_key(value)))
                    continue
                key_origin = top.key_origin
                assert key_origin is not None
                # The value's path is its key's: (*base, key), already built for the key's origin.
                origin = new(Origin)
                set_file(origin, shown)
                set_line(origin, mark.line + 1)
                set_column(origin, mark.column + 1)
                set_path(origin, key_origin.path)
                if value is _MISS:
                    value = scalar(event, origin, False)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                container = top.container
                if key is _MergeKey or key in container:
                    self._put(top, value, origin)  # kept for the merge, or a duplicate
                    continue
                top.key = _NO_KEY
                container[key] = value
                container.key_origins[key] = key_origin
                container.value_origins[key] = origin
                continue
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                top = stack[-1] if stack else None
                if frame.is_map and frame.merges:
                    self._apply_merges(frame)
                if frame.unsafe:
                    _mark_unsafe(frame.container)
                value, size = frame.container, frame.size
                if frame.anchor:
                    self.anchors[frame.anchor] = (value, size)
                result = deliver(top, value, size, frame.container.origin)
                continue
            if kind is StreamStartEvent or kind is StreamEndEvent or kind is DocumentEndEvent:
                continue
            if kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        "the file holds more than one YAML document",
                        self.origin(event.start_mark, ()),
                        "keep one document: remove the second '---' and what follows, or merge them",
                    )
                continue
            path = self._path(top)
            origin = self.origin(event.start_mark, path)
            if kind is AliasEvent:
                if event.anchor not in self.anchors:
                    raise YamlProblem(
                        f"unknown alias *{event.anchor}", origin, "define the &anchor before using it"
                    )
                value, size = self.anchors[event.anchor]
                self.expanded += size
                limit = max(MAX_ALIAS_EXPANSION, event.start_mark.index)
                if self.expanded > limit:
                    raise YamlProblem(
                        f"aliases expand to more than {limit:,} values (a YAML alias bomb?): each *alias "
                        "stands for every value of its anchor, and anchors that alias other anchors multiply",
                        origin,
                        "write the values out instead of nesting aliases of aliases",
                    )
                result = deliver(top, value, size, origin, alias=True)
                continue
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                unsafe = self._check_collection_tag(event, origin)
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(
                        f"nested deeper than {MAX_DEPTH} levels",
                        origin,
                        "flatten the structure; an inventory never needs this depth",
                    )
                if top is not None and top.is_map and top.key is _NO_KEY:
                    raise YamlProblem(
                        "a mapping key must be a plain value, not a list or mapping",
                        origin,
                        "use a text key",
                    )
                container: TMap | TList = TMap(origin) if kind is MappingStartEvent else TList(origin)
                top = _Frame(container, event.anchor, path)
                top.unsafe = unsafe
                stack.append(top)
                continue
        if len(stack):  # pragma: no cover - the parser reports unclosed collections first
            raise YamlProblem("unexpected end of file", Origin(self.shown), "close every list and mapping")
        return result

    @staticmethod
    def _path(top: _Frame | None) -> KeyPath:
        """The key path of the next value: the open container's own path plus its current key or index
        (built from the container's stored path, not by walking the whole stack for every event)."""
        if top is None:
            return ()
        if top.is_map:
            return top.base if top.key is _NO_KEY else (*top.base, _path_key(top.key))
        return (*top.base, len(top.container))

    def _deliver(
        self, frame: _Frame | None, value: Any, size: int, origin: Origin, alias: bool = False
    ) -> Any:
        """Put a finished collection or an alias into the open container (as a key, a mapping value or a
        list item); the value itself when no container is open."""
        if frame is None:
            return value
        frame.size += size
        container = frame.container
        if not frame.is_map:
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
        self._put(frame, value, origin)
        return None

    def _put(self, frame: _Frame, value: Any, origin: Origin) -> None:
        """The value of the mapping's current key: kept for a merge key (`<<`), stored otherwise; a key
        written twice keeps its first place and takes its last value, as in Ansible (the mapping holds only
        written keys until its merges apply at its end)."""
        key, key_origin = frame.key, frame.key_origin
        assert key_origin is not None
        frame.key = _NO_KEY
        if key is _MergeKey:
            frame.merges.append((value, origin))
            return
        container = frame.container
        if key in container:
            first = container.key_origins[key]
            self._duplicate(
                f"duplicate key {key!r}: first at line {first.line}, again at line {key_origin.line}",
                key_origin,
                "keep one of the two",
            )
        container[key] = value
        container.key_origins[key] = key_origin
        container.value_origins[key] = origin

    def _duplicate(self, what: str, origin: Origin, fix: str) -> None:
        """A key written twice, as DUPLICATE_YAML_DICT_KEY says (see duplicate_keys)."""
        if self.duplicates == "ignore":
            return
        if self.duplicates == "error":
            raise YamlProblem(
                f"{what} (Ansible refuses it too: DUPLICATE_YAML_DICT_KEY is error)", origin, fix
            )
        self.warnings.append(
            YamlProblem(
                f"{what}; the last value is used, as in Ansible",
                origin,
                f"{fix}; duplicate_dict_key = ignore in ansible.cfg silences this warning, for Ansible too",
            )
        )

    def _apply_merges(self, frame: _Frame) -> None:
        """YAML merge keys (`<<: *defaults`): explicit keys win, then earlier merge sources."""
        mapping = frame.container
        assert isinstance(mapping, TMap)
        written = set(mapping)
        overridden: set[Any] = set()
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
                    elif key in written and key not in overridden:
                        # Ansible's constructor sees the merged keys, then the written ones
                        # (SafeConstructor.flatten_mapping), so it warns about this key as a duplicate
                        overridden.add(key)
                        self._duplicate(
                            f"duplicate key {key!r}: merged from '<<' at line {origin.line}, written again "
                            f"at line {mapping.key_origins[key].line}",
                            mapping.key_origins[key],
                            "to override it without a warning, leave the key out of the merged mapping",
                        )

    def _scalar(
        self,
        event: ScalarEvent,
        origin: Origin | None,
        is_key: bool,
        mark: Any = None,
        path: KeyPath = (),
    ) -> Any:
        """The value of a scalar. `origin` is where it was written; for a key (whose origin is only needed
        to report a refusal) it may be None, and is then built from `mark` and `path` when needed."""
        tag = event.tag
        cache_key = (tag, event.value, event.implicit)
        value = self.scalars.get(cache_key, _MISS)
        if value is _MISS:
            if tag == _UNSAFE_TAG:
                value = self._unsafe(event, origin or self.origin(mark, path))
            else:
                value = self._construct(event, origin or self.origin(mark, path), is_key)
                if value is _MergeKey or isinstance(value, VaultText):
                    return value
            self.scalars[cache_key] = value
        if is_key and not isinstance(value, _KEY_TYPES):
            value = event.value
        return value

    def _unsafe(self, event: ScalarEvent, origin: Origin) -> Any:
        """`!unsafe SCALAR` as Ansible reads it: the scalar's implicit tag resolved again as if it were
        plain, quoted or not (resolve(..., (True, False)), _constructor.py:156), so `!unsafe 5986` is an int,
        `!unsafe true` a bool and `!unsafe ''` null; text becomes UnsafeStr."""
        tag = self.loader.resolve(ScalarNode, event.value, (True, False))
        plain = ScalarEvent(None, tag, (False, False), event.value, event.start_mark, event.end_mark, event.style)
        value = self._construct(plain, origin, False)  # `!unsafe <<` is text, never a merge key
        return UnsafeStr(value) if isinstance(value, str) else value

    def _construct(self, event: ScalarEvent, origin: Origin, is_key: bool) -> Any:
        """Resolve and construct a scalar as PyYAML's SafeLoader does (what Ansible's loader reads)."""
        tag = event.tag
        if tag in (None, "!"):
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        if tag == _MERGE_TAG and is_key:
            return _MergeKey
        if tag == _VAULT_TAG:
            if is_key:
                raise YamlProblem("a vault value cannot be a mapping key", origin, "write the key out")
            self.vaults += 1
            return VaultText(event.value, origin)
        if tag not in _SAFE_SCALAR_TAGS:
            raise YamlProblem(f"unsupported YAML tag {tag}", origin, "remove the tag")
        if tag == _STR_TAG:
            return event.value  # SafeConstructor.construct_yaml_str: the scalar's text
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, LookupError, AttributeError) as exc:
            # PyYAML's SafeConstructor checks no text against an explicit tag: `!!bool maybe` fails as a
            # KeyError of its table, `!!timestamp soon` as an AttributeError of a failed match, `!!int ''`
            # as an IndexError (yaml/constructor.py construct_yaml_bool, construct_yaml_timestamp,
            # construct_yaml_int). Each is the admin's value, refused at its place.
            raise YamlProblem(
                f"cannot read the value: {_tag_problem(tag, event.value, exc)}", origin, "quote the value"
            ) from exc

    def _check_collection_tag(self, event: Any, origin: Origin) -> bool:
        """Refuse a tag we do not read on a mapping or sequence; True for Ansible's `!unsafe`, which marks
        every text inside it (construct_yaml_unsafe raises _unsafe_depth for the whole subtree)."""
        tag = event.tag
        if tag in (None, "!", _YAML_TAG + "map", _YAML_TAG + "seq"):
            return False
        if tag == _UNSAFE_TAG:
            return True
        raise YamlProblem(f"unsupported YAML tag {tag}", origin, "remove the tag")


def _mark_unsafe(container: TMap | TList) -> None:
    """Every text value in `container`, at any depth, as UnsafeStr (keys stay as they are), in place."""
    todo: list[TMap | TList] = [container]
    while todo:
        current = todo.pop()
        items = list(current.items()) if isinstance(current, TMap) else list(enumerate(current))
        for key, value in items:
            if isinstance(value, TMap | TList):
                todo.append(value)
            elif isinstance(value, str) and not isinstance(value, UnsafeStr):
                current[key] = UnsafeStr(value)


def _path_key(key: Any) -> Key:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


class _MergeKeyType:
    def __repr__(self) -> str:
        return "<<"


_MergeKey = _MergeKeyType()
