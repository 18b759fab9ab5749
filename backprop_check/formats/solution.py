"""Render a Solution: JSON, YAML, the answer key; the sheets, drawings and terminal tables by their own modules.

JSON is exactly FORMAT.md section 4: {"problem": ID, "quantities": {...}}
with float64 values. The other formats add the precise values (exact
fractions or 30 digits) and the formulas.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .. import formulas as F
from ..jacobians import Diagonal
from ..solve import Entry, Solution
from ..spec import is_graph
from . import json_text
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
    return json_text.dumps({"problem": solution.problem.id, "quantities": quantities}, ensure_ascii=True)


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
