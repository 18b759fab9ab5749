"""`answers.confined` takes a file lying directly in its tree from one lstat: the same path and the
same refusals as resolving it with realpath and stat."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from backprop_check.answers import confined, inside
from backprop_check.errors import InputError


def _by_realpath(path, tree):
    """The reference: every symlink resolved by realpath, the file's mode by stat."""
    if os.path.islink(tree):
        return "error: tree is a link"
    real = os.path.realpath(path)
    if not inside(real, os.path.realpath(tree)):
        return "error: outside"
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return "error: broken link" if os.path.islink(path) else "error: no such file"
    return Path(real) if stat.S_ISREG(mode) else "error: not regular"


def _confined(path, tree):
    try:
        return confined(path, tree)
    except InputError as exc:
        return "error: " + {"symbolic link; only": "tree is a link", "leads outside": "outside",
                            "broken symbolic": "broken link", "no such file": "no such file",
                            "not a regular": "not regular"}[next(k for k in ("symbolic link; only", "leads outside",
                                                                              "broken symbolic", "no such file",
                                                                              "not a regular") if k in exc.message)]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")
def test_every_kind_of_entry_as_realpath_and_stat_say(tmp_path, monkeypatch):
    outside = tmp_path / "key.yaml"
    outside.write_text("x")
    real_class = tmp_path / "real"
    tree = real_class / "class"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.answers.yaml").write_text("a")
    (tree / "sub" / "b.answers.yaml").write_text("b")
    (tree / "in.answers.yaml").symlink_to(tree / "a.answers.yaml")
    (tree / "out.answers.yaml").symlink_to(outside)
    (tree / "broken.answers.yaml").symlink_to(tmp_path / "missing")
    (tree / "dir.answers.yaml").mkdir()
    os.mkfifo(tree / "fifo.answers.yaml")
    (tmp_path / "linked").symlink_to(real_class)  # a tree reached through a link above it
    names = ["a", "in", "out", "broken", "dir", "fifo", "missing"]
    monkeypatch.chdir(tmp_path)
    for top in (tree, tmp_path / "linked" / "class", Path("real/class"), Path("linked/class")):
        for name in names:
            path = top / f"{name}.answers.yaml"
            assert _confined(path, top) == _by_realpath(path, top), (top, name)
            assert _confined(str(path), str(top)) == _by_realpath(path, top), (top, name)
        for path in (top / "sub" / "b.answers.yaml", top / "sub" / ".." / "a.answers.yaml"):
            assert _confined(path, top) == _by_realpath(path, top)
    assert _confined(tree / "a.answers.yaml", tree) == tree / "a.answers.yaml"
    assert _confined(tree / "out.answers.yaml", tree) == "error: outside"


def test_a_file_swapped_for_a_link_or_a_fifo_after_its_check_is_not_followed(tmp_path):
    """read_text(regular=True) reads what `confined` just checked: if a student's tree swaps the file
    for a symbolic link or a FIFO in between, it is refused, not followed (nor blocked on)."""
    from backprop_check.yamlsource import read_text

    secret = tmp_path / "secret.yaml"
    secret.write_text("key: 1\n")
    swapped = tmp_path / "answers.yaml"
    swapped.symlink_to(secret)
    with pytest.raises(InputError):
        read_text(swapped, regular=True)
    fifo = tmp_path / "fifo.answers.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_text(fifo, regular=True)
    plain = tmp_path / "plain.answers.yaml"
    plain.write_text("bpcheck: 1\n")
    assert read_text(plain, regular=True) == "bpcheck: 1\n"
