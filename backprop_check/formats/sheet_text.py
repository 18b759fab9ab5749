"""What the LaTeX and Markdown solution sheets share: the given part (the handout's), the groups of
quantities, names, the spec's aliases, activations, and values as the sheets print them."""

from __future__ import annotations

from functools import lru_cache

from .. import formulas as F
from .. import handout
from ..formula_render import to_sheet_latex
from ..quantities import parts
from .solution import GROUP_TITLES, _grouped as grouped  # noqa: F401 - the groups every format shows

SOFTMAX_JACOBIAN = r"\operatorname{diag}(s) - s s^{\top} \text{ (a Jacobian, } s = \operatorname{softmax}(z))"
SIGNIFICANT = 6


def number(v: float) -> str:
    """A value to 6 significant figures (`%.6g`: nan, inf, -inf as str writes them), with no "-0"."""
    v = float(v)
    return f"{v:.{SIGNIFICANT}g}" if v else "0"  # (as `numbers`, for one)


def numbers(values) -> list[str]:
    """`number` of each value, formatted in one pass (a large graph's sheet prints 400,000)."""
    # 0 and -0.0 as "0" (%.6g writes -0.0 as -0, and no other number so): zeros are half of a
    # large graph's numbers (its Jacobians by the rows of weight matrices), formatted for nothing
    return [f"{v:.{SIGNIFICANT}g}" if v else "0" for v in map(float, values)]


def rows(value) -> list[list[float]] | None:
    """A value's rows (a vector as a column, as a book writes it), or None for a number."""
    if not isinstance(value, list):
        return None
    if value and isinstance(value[0], list):
        return value
    return [[v] for v in value]


def number_rows(rows: list[list[float]]) -> list[list[str]]:
    """`number` of each entry of the rows, formatted together."""
    width = len(rows[0]) if rows else 0
    texts = numbers([v for row in rows for v in row])
    return [texts[i:i + width] for i in range(0, len(texts), width)] if width else [[] for _ in rows]


def span(what: str, start: int, stop: int) -> str:
    """`columns 1-5` (1-based, inclusive), or `column 6` alone."""
    return f"{what} {start + 1}" if stop == start + 1 else f"{what}s {start + 1}-{stop}"


def given_blocks(problem) -> list:
    """The handout's blocks up to its questions: title, network or graph, given numbers, loss, training."""
    blocks = handout.blocks(problem)
    for i, (kind, *args) in enumerate(blocks):
        if kind == "h2" and [getattr(p, "text", None) for p in args[0]] == ["Questions"]:
            return blocks[:i]
    return blocks


def aliases(problem) -> dict[str, str]:
    """canonical -> the spec's name (`names:` z1: S1), for names the formula renderer can write."""
    return dict(getattr(problem, "display", None) or {})


def latex_name(name: str, alias: dict) -> str:
    """A quantity's name on the sheet: S_{1}, W_{1}^{(1)} (after step 1), z_{1} (sample 2)."""
    kind, k, base = parts(name)
    aliases = tuple(alias.items())
    if kind == "sample":
        return rf"{_name_tex(base, aliases)}\ \text{{(sample {k})}}"
    return _name_tex(name, aliases)


@lru_cache(maxsize=4096)  # every sample's quantities share their names
def _name_tex(name: str, aliases: tuple) -> str:
    return to_sheet_latex(F.Name(name), dict(aliases))


def activation_rows(solution) -> list[tuple[str, F.Node, F.Node | None]]:
    """(label, f(z), f′(z)) of each layer of a network (f′ None for softmax); none for a graph."""
    if getattr(solution.problem, "graph", None) is not None:
        return []
    z = F.Name("z")
    out = []
    for i, layer in enumerate(solution.problem.layers, start=1):
        a = layer.activation
        out.append((f"layer {i}: {a.label()}", a.formula(z), a.dformula(z)))
    return out


def step_words(name: str) -> str:
    """" after training step 1" for step1.W1 (how the Markdown sheet says it), else ""."""
    kind, k, _ = parts(name)
    return {"step": f" after training step {k}", "sample": f" on sample {k}"}.get(kind, "")


