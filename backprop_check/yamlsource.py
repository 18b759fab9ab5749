"""Load YAML safely, keeping every scalar as text and remembering positions.

PyYAML's YAML 1.1 resolver reads `1e-3` as a string and `no` as False; we
sidestep the guessing entirely: every scalar stays the text the user wrote
(null becomes None) and the validators parse it. Each node's line and column
are kept in `Document.positions`, keyed by its path, so that every message can
point at the exact place in the file.

A wide spec is mostly flow sequences of plain numbers (`W1: [[0.5, -1], [2,
3e-2]]`): half a million numbers would be half a million parser events, each
a Python object with its marks. Such a sequence is read from the text by
`yamlflow` instead (a tokenizer that accepts only brackets, commas, spaces,
newlines and number-like plain scalars), and libyaml parses the text with the
sequence's inside blanked out, so that it sees an empty sequence at the same
place and every later mark is unchanged. Its items' positions are found
again from the text when a message needs one. Should libyaml not find a
sequence where one was read (the brackets were inside a quoted string or a
comment), the whole text is parsed again the ordinary way.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from . import yamlflow
from .errors import InputError

MAX_FILE_BYTES = 2_000_000
MAX_NODES = 1_000_000  # guards against alias ("billion laughs") expansion; above any 2 MB file
MAX_DEPTH = 64  # nesting, counted on the parser's events (see `parse`)

NULL_TAG = "tag:yaml.org,2002:null"
# libyaml's parser when PyYAML was built with it (the wheels are): ~5x faster on a class.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CParser = getattr(getattr(yaml, "_yaml", None), "CParser", None) if _LOADER is not yaml.SafeLoader else None


@dataclass
class Document:
    """A parsed YAML file: plain data (dict/list/str/None) plus positions."""

    file: str
    data: Any
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    flows: dict[tuple, int] = field(default_factory=dict)  # path -> offset of a sequence read from the text
    text: str = ""

    def where(self, path: tuple) -> tuple[int | None, int | None]:
        """The (line, column) of `path`, or of its nearest recorded parent."""
        path = tuple(path)
        while path not in self.positions and path:
            for cut in range(len(path) - 1, 0, -1):  # inside a sequence read from the text?
                if path[:cut] in self.flows:
                    return yamlflow.line_column(self.text, yamlflow.offset(self.text, self.flows[path[:cut]], path[cut:]))
            path = path[:-1]
        return self.positions.get(path, (None, None))

    def key_where(self, path: tuple) -> tuple[int | None, int | None]:
        """The (line, column) of the key that names `path` (else of its value)."""
        return self.key_positions.get(tuple(path)) or self.where(path)

    def key_error(self, path: tuple, message: str) -> InputError:
        line, column = self.key_where(path)
        return InputError(message, self.file, line, column)

    def error(self, path: tuple, message: str) -> InputError:
        """An InputError pointing at `path` in this file."""
        line, column = self.where(path)
        return InputError(message, self.file, line, column)


def read_text(path: str | Path, regular: bool = False) -> str:
    """Read a file as UTF-8 text with a size bound, or raise InputError.

    `regular`: the caller has just found it a regular file (`answers.confined`), so it is only read."""
    p = path if regular else Path(path)
    try:
        if not regular and p.is_dir():
            raise InputError("is a directory, not a YAML file", str(path))
        if not regular and p.exists() and not p.is_file():
            raise InputError("is not a regular file", str(path))  # /dev/zero never ends
        with _opened(p, regular) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InputError(f"file is larger than {MAX_FILE_BYTES} bytes", str(path))
        return data.decode("utf-8")
    except FileNotFoundError:
        raise InputError("no such file", str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None


def _opened(p, regular: bool):
    """The file for reading. One just found regular (`answers.confined`'s lstat) is opened without
    following a link and without blocking, and checked again on its descriptor: a student's tree
    cannot swap it for a link or a FIFO in between."""
    if not regular:
        return open(p, "rb")
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise InputError("is not a regular file", str(p))
    return fh


def load(path: str | Path) -> Document:
    """Read and parse a YAML file into a Document."""
    return parse(read_text(path), str(path))


def parse(text: str, file: str = "<string>") -> Document:
    """Parse YAML text into a Document; every YAML error becomes an InputError.

    The document is built from libyaml's event stream by a loop with an explicit
    stack, never by a recursive composer: nesting depth and alias expansion are
    counted on exactly the events libyaml produces, whatever comments, quotes or
    styles the text uses, so no input can exhaust the C or the Python stack.
    """
    found = yamlflow.find(text)
    while True:
        try:
            return _parse(text, file, found)
        except yamlflow.Mismatch as exc:
            # brackets inside a comment or a quoted string: again with the sequences libyaml did see
            # (and, should that fail too, with none)
            kept = {at: flow for at, flow in found.items() if at in exc.seen}
            found = kept if len(kept) < len(found) else {}


def _parse(text: str, file: str, found: dict) -> Document:
    builder = _Builder(file, text, found)
    try:
        builder.build(_events(yamlflow.blanked(text, found) if found else text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise InputError(f"broken YAML: {exc.problem or exc.context}", file, line, col) from None
    except yaml.YAMLError as exc:
        raise InputError(f"broken YAML: {exc}", file) from None
    if len(builder.seen) != len(found):
        raise yamlflow.Mismatch(builder.seen)
    return builder.document()


def _events(text: str):
    """The parser's next event (None past the end): libyaml's parser itself when PyYAML has it
    (what yaml.parse with CSafeLoader yields, without a generator step and a check per event)."""
    if _CParser is not None:
        return _CParser(text).get_event
    return partial(next, iter(yaml.parse(text, Loader=_LOADER)), None)


# YAML 1.1's null for plain scalars: '', '~', null, Null, NULL.
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))


class _Builder:
    """Turns parser events into plain data, positions and key positions."""

    def __init__(self, file: str, text: str, found: dict):
        self.doc = Document(file, None, text=text)
        self.stack: list[list] = []  # [container, path, pending key, anchor, nodes at start]
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, expanded node count)
        self.nodes = 0
        self.documents = 0
        self.found = found  # offset of '[' -> flows.Flow read from the text
        self.seen: set = set()  # the offsets of those libyaml saw as sequences
        self.closing: int | None = None  # where the blanked sequence just opened must close

    def build(self, next_event) -> None:
        """Feed every event. Inside a list or mapping, a scalar, a block sequence or mapping and their
        ends (nearly every event of an answers file) are handled here: what `feed` does with them,
        without its tests for other events and its calls."""
        stack = self.stack
        event = next_event()
        while event is not None:
            kind = type(event)
            if not stack or self.closing is not None or (kind in _OPENS and (event.anchor or self.found)):
                self.feed(event)
            elif kind is yaml.ScalarEvent and not event.anchor:
                self._scalar(event, stack[-1])
            elif kind in _OPENS:  # what `_open` does with a container that is not read from the text
                if len(stack) >= MAX_DEPTH:
                    raise self._error(event, f"nested more than {MAX_DEPTH} levels deep")
                self._count(event, 1)
                container = {} if kind is yaml.MappingStartEvent else []
                stack.append([container, self._place(event, container), _NO_KEY, None, self.nodes])
            elif kind in _CLOSES:
                self._close()
            else:
                self.feed(event)
            event = next_event()

    def _scalar(self, event, frame: list) -> None:
        """What `feed` does with a scalar without an anchor in the list or mapping `frame` holds."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._count(event, 0)  # its message
        mark = event.start_mark
        where = (mark.line + 1, mark.column + 1)
        container = frame[0]
        if type(container) is dict and frame[2] is _NO_KEY:
            key = event.value  # a key is its text: `~:` is the key "~", not None
            if key in container:
                raise self._error(event, f"duplicate key {key[:40]!r}")
            frame[2] = key
            self.doc.key_positions[frame[1] + (key,)] = where
            return
        value = None if _is_null(event) else event.value
        if type(container) is dict:
            path = frame[1] + (frame[2],)
            container[frame[2]] = value
            frame[2] = _NO_KEY
        else:
            path = frame[1] + (len(container),)
            container.append(value)
        self.doc.positions.setdefault(path, where)

    def feed(self, event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self._error(event, "broken YAML: a file holds one YAML document, and a second one starts here")
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._open(event)
        elif self.closing is not None:  # the blanked sequence holds nothing else
            if not isinstance(event, yaml.SequenceEndEvent) or event.start_mark.index != self.closing:
                raise yamlflow.Mismatch(())
            self.closing = None
            self._close()
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            self._close()
        elif isinstance(event, yaml.ScalarEvent):
            value = None if _is_null(event) else event.value
            self._count(event, 1)
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
            self._place(event, value)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise self._error(event, f"broken YAML: undefined alias {event.anchor[:40]!r}")
            value, size = self.anchors[event.anchor]
            self._count(event, size)
            self._place(event, value)

    def document(self) -> Document:
        data = self.doc.data
        if data is None:
            raise InputError("the file is empty", self.doc.file, 1, 1)
        return self.doc

    def _open(self, event) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self._error(event, f"nested more than {MAX_DEPTH} levels deep")
        self._count(event, 1)
        read = self.found.get(event.end_mark.index - 1) if getattr(event, "flow_style", False) else None
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else read.value if read else []
        path = self._place(event, container)
        self.stack.append([container, path, _NO_KEY, event.anchor, self.nodes])
        if read:
            if len(self.stack) + read.depth > MAX_DEPTH or self.nodes + read.nodes > MAX_NODES:
                raise yamlflow.Mismatch(())  # the ordinary parse gives the message, at its place
            self.nodes += read.nodes
            self.seen.add(event.end_mark.index - 1)
            self.closing = read.end
            if path is not None:
                self.doc.flows[path] = event.end_mark.index - 1

    def _close(self) -> None:
        frame = self.stack.pop()
        if frame[3]:
            self.anchors[frame[3]] = (frame[0], self.nodes - frame[4] + 1)

    def _count(self, event, size: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise self._error(event, f"more than {MAX_NODES} YAML nodes once aliases are expanded "
                                     "(an alias bomb?)")

    def _place(self, event, value) -> tuple | None:
        """Put a value where the parser is: the root, a list item, a key or a mapping's value."""
        where = (event.start_mark.line + 1, event.start_mark.column + 1)
        if not self.stack:
            self.doc.data = value
            self.doc.positions.setdefault((), where)
            return ()
        frame = self.stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            path = path + (len(container),)
            container.append(value)
        elif frame[2] is _NO_KEY:
            if not isinstance(event, yaml.ScalarEvent):
                raise self._error(event, "a mapping key must be a plain name")
            key = event.value  # a key is its text: `~:` is the key "~", not None
            if key in container:
                raise self._error(event, f"duplicate key {key[:40]!r}")
            frame[2] = key
            self.doc.key_positions[path + (key,)] = where
            return None
        else:
            path = path + (frame[2],)
            container[frame[2]] = value
            frame[2] = _NO_KEY
        self.doc.positions.setdefault(path, where)
        return path

    def _error(self, event, message: str) -> InputError:
        return InputError(message, self.doc.file, event.start_mark.line + 1, event.start_mark.column + 1)


_NO_KEY = object()
_OPENS = frozenset((yaml.SequenceStartEvent, yaml.MappingStartEvent))
_CLOSES = frozenset((yaml.SequenceEndEvent, yaml.MappingEndEvent))


def _is_null(event) -> bool:
    if event.tag == NULL_TAG:
        return True
    return event.tag is None and event.implicit[0] and not event.style and event.value in _NULLS
