"""Find a class's answers files: the paths named, each student's directory, its limits.

A file named is graded as it is; a directory is a class, each directory
directly inside it one student's graded tree (its own file limit, no symbolic
link out of it followed), and the answers files directly in it each graded on
their own. An answers file is `answers.yaml` (`.yml`, `.md`, `.tex`) or ends
`.answers.yaml` (…): a class's README.md is neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .answers import inside
from .errors import InputError

ANSWER_NAMES = ("answers.yaml", "answers.yml", "answers.md", "answers.tex")
ANSWER_SUFFIXES = (".answers.yaml", ".answers.yml", ".answers.md", ".answers.tex")
MAX_FILES_PER_DIRECTORY = 5_000  # per student directory (and per named directory's own files)
WRITEUP_SUFFIXES = {"md": (".md", ".markdown", ".txt"), "tex": (".tex", ".ltx")}


def writeup_kind(name: str) -> str | None:
    """'md' or 'tex' for a write-up's file name (any case), None for anything else."""
    lower = name.lower()
    return next((kind for kind, suffixes in WRITEUP_SUFFIXES.items() if lower.endswith(suffixes)), None)


@dataclass(frozen=True)
class Submission:
    """An answers file, the tree it must resolve inside, or why it is not graded."""

    path: Path
    tree: Path
    refused: str | None = None

    @classmethod
    def of(cls, item: str | Path | Submission) -> Submission:
        """A file named on its own is confined to the directory it is in."""
        return item if isinstance(item, Submission) else cls(Path(item), Path(item).parent)


def discover(paths: Iterable[str | Path]) -> list[Submission]:
    """Files as given; below directories, answers.yaml and *.answers.yaml.

    In a directory named here, each directory directly inside is one
    student's tree; files directly in it are confined to the named directory.
    """
    found: list[Submission] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(_class(p))
        elif p.exists() or p.is_symlink():  # a dangling link is graded invalid, with the reason
            found.append(Submission.of(p))
        else:
            raise InputError("no such file or directory", str(p))
    return found


def _class(top: Path) -> list[Submission]:
    own: list[Path] = []
    found: list[Submission] = []
    for entry in _listing(top):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            found.extend(_limited(_walk(path), path))
        elif entry.is_symlink() and path.is_dir():
            continue  # a link to another student (or out of the class): not a student's tree
        elif _is_answers(entry.name) and entry.is_symlink() and path.exists():  # (a dangling one: "broken")
            # files side by side share no student's tree: a link here is another student's file
            found.append(Submission(path, top, "a symbolic link directly in the class directory; "
                                               "only real files (or students' own directories) are graded"))
        elif _is_answers(entry.name):
            own.append(path)
    found.extend(_limited(own, top))
    return sorted(found, key=lambda s: s.path)


def _limited(files: list[Path], tree: Path) -> list[Submission]:
    """A tree's files, or one refusal for all of them past the limit: never the class's."""
    if len(files) > MAX_FILES_PER_DIRECTORY:
        return [Submission(tree, tree, f"more than {MAX_FILES_PER_DIRECTORY} answers files in this "
                                       "directory; none of them graded")]
    return [Submission(f, tree) for f in files]


def _walk(tree: Path) -> list[Path]:
    """Answers files below `tree`, following only symlinked directories that stay inside it.

    Stops one past the limit, so that a huge directory costs no more to refuse.
    """
    root = os.path.realpath(tree)
    files: list[Path] = []
    stack, seen = [tree], set()
    while stack and len(files) <= MAX_FILES_PER_DIRECTORY:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen or not inside(real, root):  # a loop, or a link out of the tree
            continue
        seen.add(real)
        for entry in _listing(folder):
            if entry.is_dir():
                stack.append(Path(entry.path))
            elif _is_answers(entry.name):
                files.append(Path(entry.path))  # a link: `load_answers` checks where it leads
    return files


def _listing(folder: Path) -> list:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []  # unreadable: nothing in it can be graded or leak


def _is_answers(name: str) -> bool:
    """An answers file or a write-up, by its name (a class's README.md is neither)."""
    return name in ANSWER_NAMES or name.endswith(ANSWER_SUFFIXES)
