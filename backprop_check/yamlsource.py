"""Load YAML safely, keeping every scalar as text and remembering positions.

PyYAML's YAML 1.1 resolver reads `1e-3` as a string and `no` as False; we
sidestep the guessing entirely: every scalar stays the text the user wrote
(null becomes None) and the validators parse it. Each node's line and column
are kept in `Document.positions`, keyed by its path, so that every message can
point at the exact place in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

MAX_FILE_BYTES = 2_000_000
MAX_NODES = 1_000_000  # guards against alias ("billion laughs") expansion; above any 2 MB file
MAX_DEPTH = 64  # nesting; libyaml's composer recurses in C and crashes on ~30 000 levels

NULL_TAG = "tag:yaml.org,2002:null"
# libyaml's parser when PyYAML was built with it (the wheels are): ~5x faster on a class.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    """A parsed YAML file: plain data (dict/list/str/None) plus positions."""

    file: str
    data: Any
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: tuple) -> tuple[int | None, int | None]:
        """The (line, column) of `path`, or of its nearest recorded parent."""
        path = tuple(path)
        while path not in self.positions and path:
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


def read_text(path: str | Path) -> str:
    """Read a file as UTF-8 text with a size bound, or raise InputError."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError("is a directory, not a YAML file", str(path))
        if p.exists() and not p.is_file():
            raise InputError("is not a regular file", str(path))  # /dev/zero never ends
        with open(p, "rb") as fh:
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


def load(path: str | Path) -> Document:
    """Read and parse a YAML file into a Document."""
    return parse(read_text(path), str(path))


def parse(text: str, file: str = "<string>") -> Document:
    """Parse YAML text into a Document; every YAML error becomes an InputError."""
    if _may_nest_deeply(text):
        _check_depth(text, file)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise InputError(f"broken YAML: {exc.problem or exc.context}", file, line, col) from None
    except yaml.YAMLError as exc:
        raise InputError(f"broken YAML: {exc}", file) from None
    except RecursionError:
        raise InputError("nested too deeply", file) from None
    doc = Document(file, None)
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG and not node.value):
        raise InputError("the file is empty", file, 1, 1)
    counter = [0]
    try:
        doc.data = _convert(node, (), doc, counter)
    except RecursionError:
        raise InputError("nested too deeply", file) from None
    return doc


def _may_nest_deeply(text: str) -> bool:
    """A cheap test that lets ordinary files skip the exact depth check."""
    depth = deepest = 0
    for m in re.finditer(r"[\[\]{}]", text):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH // 2:
        return True
    return any(line.count("- ") > MAX_DEPTH // 4 or len(line) - len(line.lstrip(" -?:")) > MAX_DEPTH
               for line in text.splitlines())


def _check_depth(text: str, file: str) -> None:
    """Walk the parser's events (no recursion) and refuse deep nesting."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise InputError(f"nested more than {MAX_DEPTH} levels deep", file,
                                     mark.line + 1, mark.column + 1)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the real parse reports it, with its position


def _convert(node: yaml.Node, path: tuple, doc: Document, counter: list) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise InputError(f"more than {MAX_NODES} YAML nodes once aliases are expanded (an alias bomb?)",
                         doc.file, node.start_mark.line + 1, node.start_mark.column + 1)
    doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == NULL_TAG else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), doc, counter) for i, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            raise InputError("a mapping key must be a plain name", doc.file, line, col)
        key = key_node.value
        if key in result:
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            raise InputError(f"duplicate key {key!r}", doc.file, line, col)
        doc.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        result[key] = _convert(value_node, path + (key,), doc, counter)
    return result
