"""Render a Solution: JSON, YAML, the answer key; the sheets, drawings and terminal tables by their own modules.

JSON is exactly FORMAT.md section 4: {"problem": ID, "quantities": {...}}
with float64 values. The other formats add the precise values (exact
fractions or 30 digits) and the formulas.
"""

from __future__ import annotations

import json
import os
import struct
from itertools import chain
from pathlib import Path

import yaml

from .. import formulas as F
from ..jacobians import Diagonal
from ..solve import Entry, Solution
from ..spec import is_graph
from .drawing import drawn_samples, render_dot  # noqa: F401 (the drawings' formats: solve --format dot|svg)
from .drawing_svg import render_svg  # noqa: F401

GROUP_TITLES = {
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass",
    "local": "Local Jacobians",
    "update": "Update (gradient descent)",
    "sample": "Per sample",
}


def _grouped(solution: Solution) -> dict:
    groups: dict = {g: [] for g in GROUP_TITLES}
    for entry in solution.entries.values():
        groups[entry.group].append(entry)
    return {g: entries for g, entries in groups.items() if entries}


def _shape_text(shape: tuple) -> str:
    return "scalar" if not shape else "×".join(str(s) for s in shape)


def _display(solution: Solution, name: str) -> str:
    """`dl/dz1 (dl/dS1)` where the spec gives z1 the display alias S1."""
    head, _, base = name.rpartition(".")
    grad = base.startswith("dl/d")
    target = base[4:] if grad else base
    alias = solution.problem.display.get(target)
    if alias is None:
        return name
    return f"{name} ({head + '.' if head else ''}{'dl/d' if grad else ''}{alias})"


# ------------------------------------------------------------------ shared by the human formats

def _summary(solution: Solution) -> str:
    """One line: the network's layers and loss, or the graph's nodes and output."""
    p = solution.problem
    if is_graph(solution.problem):
        nodes = "; ".join(f"{name} = {F.to_code(tree)}" for name, tree in p.graph.nodes)
        data = f"; data: {', '.join(p.data)} over N = {p.n_samples} samples ({p.reduce})" if p.data else ""
        return f"{p.id}: {nodes}; output {p.graph.output}{data}"
    layers = " → ".join(f"Linear{i}({l.weight}{', ' + l.bias if l.bias else ''}) → {l.activation.label()}"
                        for i, l in enumerate(p.layers, start=1))
    return f"{p.id}: {layers} → loss {p.loss.label()}; N = {p.n_samples}, layout {p.layout}"


# ------------------------------------------------------------------ machine formats

def _written(value):
    """A value as JSON and YAML write it: a wide diagonal Jacobian as {"diagonal": [...]} (`jacobians`)."""
    return {"diagonal": value.entries()} if isinstance(value, Diagonal) else value


def render_json(solution: Solution) -> str:
    quantities = {name: _written(e.value) for name, e in solution.entries.items()}
    return _indented({"problem": solution.problem.id, "quantities": quantities}, "\n")


def _indented(value, newline: str) -> str:
    """What json.dumps(value, indent=2) writes, character for character, for dicts with string
    keys, lists and numbers (a large graph's 14,000 quantities hold 420,000 numbers): json's indenting
    encoder is pure Python, one generator step per number; this writes a row of floats at once."""
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (_key(k) + ": " + (_float(v) if type(v) is float else _indented(v, inner)) for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        rows = _matrix_rows(value, inner) if type(value[0]) is list else None
        if rows is not None:  # a matrix: its rows are vectors
            return "[" + inner + "[" + inner + "  " + rows + inner + "]" + newline + "]"
        text = repr(value)  # each int and float as json writes it, in C, if it holds nothing else
        if text.count("[") == 1 and not text.translate(_NUMBERS):  # a vector (not of bools, None, nan, inf)
            return "[" + inner + text[1:-1].replace(", ", "," + inner) + newline + "]"
        return "[" + inner + ("," + inner).join(_indented(v, inner) for v in value) + newline + "]"
    return _float(value) if type(value) is float else json.dumps(value)


_NUMBERS = str.maketrans("", "", "0123456789.e+-[], ")  # what repr writes for nested lists of numbers


def _matrix_rows(value: list, inner: str) -> str | None:
    """The rows of a matrix of floats (lists of one length) as `_indented` writes them, between the
    first row's "[" and the last one's "]"; None for anything else. Each row is its repr, and a row
    of zeros (+0.0; most rows of a large graph's Jacobians by weight matrices) one text made once."""
    width = len(value[0])
    if not width or set(map(type, value)) != {list} or set(map(len, value)) != {width} or \
            set(map(type, chain.from_iterable(value))) != {float}:
        return None
    zero = list(map(([0.0] * width).__eq__, value))  # (-0.0 == 0.0 too: a negative zero's bits are looked for)
    if any(zero) and _NEGATIVE_ZERO in struct.pack(f"{len(value) * width}d", *chain.from_iterable(value)):
        plus = bytes(8 * width)  # (rare: then row by row)
        zero = [z and struct.pack(f"{width}d", *row) == plus for z, row in zip(zero, value)]
    zero_row = ", ".join(["0.0"] * width)
    deeper = inner + "  "
    rows = (inner + "]," + inner + "[" + deeper).join([zero_row if z else repr(row)[1:-1]
                                                       for z, row in zip(zero, value)])
    return None if "n" in rows else rows.replace(", ", "," + deeper)  # (nan, inf: as json writes them)


_NEGATIVE_ZERO = struct.pack("d", -0.0)


_key = json.encoder.encode_basestring_ascii  # a key as json.dumps writes it (ensure_ascii)


def _float(v: float) -> str:
    """A float as json writes it: repr, or NaN/Infinity/-Infinity."""
    return float.__repr__(v) if v - v == 0 else json.dumps(v)


def _entry_record(e: Entry) -> dict:
    record = {"value": _written(e.value), "precise": _written(_plain(e.precise)), "shape": list(e.shape),
              "group": e.group}
    code = e.written(F.to_code)
    if code is not None:
        record["formula"] = code
    if e.expanded is not None and e.expanded != e.formula:
        record["expanded"] = F.to_code(e.expanded)
    return record


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, Diagonal) else value


def render_yaml(solution: Solution) -> str:
    p = solution.problem
    data = {"problem": p.id, "title": p.title, "exact": solution.exact,
            "quantities": {name: _entry_record(e) for name, e in solution.entries.items()}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


# ------------------------------------------------------------------ solution sheets

def render_markdown(solution: Solution) -> str:
    """The Markdown solution sheet (`sheet_markdown`)."""
    from .sheet_markdown import render_markdown as sheet  # late: the sheets read this module's groups

    return sheet(solution)


def render_latex(solution: Solution) -> str:
    """The LaTeX solution sheet (`sheet_latex`)."""
    from .sheet_latex import render_latex as sheet

    return sheet(solution)


# ------------------------------------------------------------------ answer key

def _key_value(e: Entry, exact: bool):
    """Exact decimals or fractions while they stay short; float64 otherwise."""
    if isinstance(e.value, Diagonal):  # an answers file holds lists: the Jacobian in full
        return e.precise.rows("0") if exact else e.value.rows()
    if not exact:
        return e.value
    def pick(precise, value):
        if isinstance(precise, list):
            return [pick(p, v) for p, v in zip(precise, value)]
        return precise if len(precise) <= 40 else value
    return pick(_plain(e.precise), e.value)


def answer_key(solution: Solution, key_path: str | Path) -> str:
    """An answers file (FORMAT.md section 3) that scores full marks."""
    p = solution.problem
    duplicate = None if is_graph(solution.problem) else p.structure.out_name  # z{2L} is y_hat: answer once
    asked = [q.quantity for q in p.questions] or [n for n in solution.entries if n != duplicate]
    forms = {q.quantity: q.form for q in p.questions}
    answers = {}
    for name in asked:
        e = solution.entries[name]
        if forms.get(name) == "expression" and e.formula is not None:
            answers[name] = F.to_code(e.formula)
        else:
            answers[name] = _key_value(e, solution.exact)
    try:
        rel = os.path.relpath(Path(p.file).resolve(), Path(key_path).resolve().parent)
    except ValueError:
        rel = str(Path(p.file).resolve())
    data = {"bpcheck": 1, "problem": rel, "student": "answer-key", "answers": answers}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
