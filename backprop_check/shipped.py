"""The example problems shipped with bpcheck, and copying them out (`bpcheck examples`).

In a wheel they are package data, `backprop_check/examples/` (pyproject maps
the repository's `problems/` there); in a source checkout they are
`problems/` itself. Either way the copy has the repository's layout, so
`bpcheck examples && bpcheck solve problems/assignment1-ex2.yaml` works after
a plain `pip install bpcheck`.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

PATTERNS = ("*.yaml", "graphs/*.yaml")


def examples_root() -> Path | None:
    """Where the shipped problems are: the installed package data, else the checkout's problems/."""
    here = Path(__file__).resolve().parent
    for folder in (here / "examples", here.parent / "problems"):
        if any(folder.glob("*.yaml")):
            return folder
    return None


def example_files() -> list[Path]:
    """The shipped problems, relative to `examples_root()`."""
    root = examples_root()
    if root is None:
        return []
    return sorted({p.relative_to(root) for pattern in PATTERNS for p in root.glob(pattern) if p.is_file()})


def copy_examples(directory: Path, force: bool = False) -> tuple[list[Path], int]:
    """Copy every shipped problem into `directory`: (files written, files already identical).

    A file that is there with other content is kept, and the copy stops
    before writing anything, unless `force`.
    """
    root = examples_root()
    plan = []
    same = 0
    for rel in example_files():
        target = directory / rel
        data = (root / rel).read_bytes()
        if target.exists():
            try:
                identical = target.is_file() and target.read_bytes() == data
            except OSError:
                identical = False
            if identical:
                same += 1
                continue
            if not force:
                raise InputError("already exists with other content; give --force to overwrite "
                                 "(nothing was copied)", str(target))
        plan.append((target, data))
    for target, data in plan:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", str(target)) from None
    return [target for target, _ in plan], same
