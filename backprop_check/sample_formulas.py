"""A graph problem's solution-sheet formulas, with each sample's made only when asked for.

With `data:`, sample n's formulas are one sample's formulas (`base`) in sample
n's names: sample2.h, sample2.x, sample2.dL/dh (the inputs keep theirs). A
200-node graph over 16 samples has 14,000 of them, and a solve needs few as
trees: `graph_sheet` evaluates most for all samples at once from `base`, and
a sheet writes each through `written`, which renders the base formula once
with its renamed names marked (`formula_render.SAMPLE`) and puts each sample's
number in the text. A tree is made (`formulas.substitute`) where one is asked
for: evaluating a formula per sample, grading, a failing check's message.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import formulas as F
from .formula_render import SAMPLE


class Sheet(Mapping):
    """name -> formula tree, in sheet order: sample 1's formulas, sample 2's, …, then `others`
    (the reduced output and its derivatives, the training step; all of them without data)."""

    def __init__(self, base: dict, renamed: frozenset, n_samples: int, others: dict):
        self.base, self.renamed, self.others = base, renamed, others
        # name -> (n, its name in `base`), or None for one of `others`
        self.where: dict = {f"sample{n}.{name}": (n, name) for n in range(1, n_samples + 1) for name in base}
        self.where.update(dict.fromkeys(others))
        self.made: dict = {}  # the trees made so far, shared with the sheets `only` keeps
        self.templates: dict = {}  # (base name, render, its arguments) -> the marked text

    @classmethod
    def of(cls, trees: dict) -> Sheet:
        """A sheet of ready trees (a problem without data)."""
        return cls({}, frozenset(), 0, trees)

    def __getitem__(self, name: str) -> F.Node:
        at = self.where[name]
        if at is None:
            return self.others[name]
        tree = self.made.get(name)
        if tree is None:
            n, base = at
            tree = self.base[base]
            names = {x: F.Name(f"sample{n}.{x}") for x in F.names_in(tree) if x in self.renamed}
            tree = self.made[name] = F.substitute(tree, names)
        return tree

    def __contains__(self, name) -> bool:
        return name in self.where  # without making the tree

    def __iter__(self):
        return iter(self.where)

    def __len__(self) -> int:
        return len(self.where)

    def sample_of(self, name: str) -> tuple | None:
        """(n, the name in `base`) of sample n's formula, None for any other."""
        return self.where.get(name)

    def only(self, names: list) -> Sheet:
        """The sheet of the given names (of this sheet, in their order)."""
        kept = Sheet(self.base, self.renamed, 0, self.others)
        kept.where = {name: self.where[name] for name in names}
        kept.made, kept.templates = self.made, self.templates
        return kept

    def written(self, name: str, render, *args) -> str | None:
        """`render(self[name], *args)` (None: no formula by that name), a sample's formula rendered
        once for every sample; `render` is one of `formula_render`'s, which take `marked`."""
        if name not in self.where:
            return None
        at = self.where[name]
        if at is None:
            return render(self.others[name], *args)
        n, base = at
        key = (base, render, repr(args))
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = render(self.base[base], *args, marked=self.renamed)
        return template.replace(SAMPLE, f"sample{n}")
