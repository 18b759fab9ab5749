"""A class roster (CSV with a `student` column) and safe file names for one handout per student.

Student ids come from a spreadsheet and may hold anything (`../../etc/x`,
`con`, spaces, accents): a file name keeps letters, digits, '.', '_' and '-'
only, never starts with a dot, and two ids that would share a name (also
when the file system ignores case) get `-2`, `-3`, … so no handout
overwrites another and none is written outside the chosen directory.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .errors import InputError
from .yamlsource import read_text

MAX_STUDENTS = 10_000
MAX_ID = 200
MAX_STEM = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)  # device names on Windows


def read_roster(path: str | Path, repeats: bool = False) -> list[tuple[str, int]]:
    """(student id, line) of each row of a roster, in order: the `student` column (any case), stripped.

    A student listed twice is an error, or with `repeats` kept once (at the first line): a
    handout per row would overwrite one, while a variant check need only skip the repeat."""
    text = read_text(path).lstrip("\ufeff")  # spreadsheets write a byte-order mark
    try:
        rows = csv.reader(io.StringIO(text))
        header = next((row for row in rows if any(cell.strip() for cell in row)), None)  # blank lines first
        if header is None:
            raise InputError("the roster is empty: it needs a header line with a 'student' column", str(path))
        names = [h.strip().lower() for h in header]
        if "student" not in names:
            shown = ", ".join(repr(h[:40]) for h in header[:10])
            raise InputError(f"the roster has no 'student' column (its columns: {shown})", str(path), rows.line_num)
        column, ids, seen = names.index("student"), [], {}
        for row in rows:
            number = rows.line_num
            student = row[column].strip() if column < len(row) else ""
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if not student or len(student) > MAX_ID:
                raise InputError(f"the student id must be 1 to {MAX_ID} characters", str(path), number)
            if student in seen and repeats:
                continue
            if student in seen:
                raise InputError(f"student {student[:40]!r} is listed twice (lines {seen[student]} and "
                                 f"{number})", str(path), number)
            seen[student] = number
            ids.append((student, number))
            if len(ids) > MAX_STUDENTS:
                raise InputError(f"more than {MAX_STUDENTS} students", str(path), number)
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", str(path)) from None
    if not ids:
        raise InputError("the roster lists no student", str(path))
    return ids


def file_names(students, suffix: str) -> dict[str, str]:
    """student id -> a file name of its own (`lw2350.tex`), safe on every file system."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        stem = _UNSAFE.sub("_", student).lstrip(".-")[:MAX_STEM] or "student"
        stem = "_" + stem if _RESERVED.fullmatch(stem) else stem
        candidate, n = stem, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}-{n}"
        taken.add(candidate.lower())
        out[student] = candidate + suffix
    return out


def target(directory: Path, file_name: str) -> Path:
    """The path to write, checked to lie in `directory` and not to be a symbolic link."""
    path = directory / file_name
    if path.parent.resolve() != directory.resolve() or path.is_symlink():
        raise InputError(f"refusing to write {file_name!r}: not a plain file in the output directory", str(directory))
    return path
