"""One student cannot take the key, stop the class, or swamp the grader (issue 7: 1, 7, 9, 10).

- symlinks: an answers file (or a directory on its way) that leads out of the
  student's tree is graded invalid, or not searched; links inside it are fine;
- signals: SIGTERM/SIGINT end `bpcheck grade` with 128 + the signal and no
  worker left, and a SIGKILLed grader's workers die with it;
- limits: too many files in one student directory refuse that directory only;
  what a worker sends back is bounded whatever the file holds;
- the pinned problem is solved under the sandbox's limits.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_check import answers as answers_module
from backprop_check import class_files, classroom
from backprop_check.classroom import Grader, Submission, discover
from backprop_check.cli import main
from backprop_check.errors import InputError
from backprop_check.sandbox import Limits
from backprop_check.spec import load_problem

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="symlinks, /proc and the limits need Linux")

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "dsga1008-2022-p1.yaml"
FULL = 19.0  # the problem's points
WRONG = "bpcheck: 1\nanswers:\n  z1: [1, 2, 3]\n"


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    """The instructor's key, as `solve --key` writes it: full marks if graded."""
    folder = tmp_path_factory.mktemp("instructor")
    path = folder / "key.answers.yaml"
    result = CliRunner().invoke(main, ["solve", str(PROBLEM), "--key", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return path


def _grade(target: Path) -> tuple[int, dict]:
    """Exit code and JSON results of grading `target`, keyed by path below it (a directory)."""
    import json
    result = CliRunner().invoke(main, ["grade", "--problem", str(PROBLEM), "--format", "json", "--jobs", "2",
                                       str(target)])
    assert result.exit_code in (0, 1, 2), result.output
    rows = json.loads(result.stdout)["results"]
    name = (lambda f: Path(f).relative_to(target).as_posix()) if target.is_dir() else str
    return result.exit_code, {name(r["file"]): r for r in rows}


# ----------------------------------------------------------------- 1. symlinks

def _class_with_links(tmp_path: Path, key: Path) -> Path:
    room = tmp_path / "class"
    for student in ("alice", "bob", "carol", "dave", "erin"):
        (room / student).mkdir(parents=True)
    (room / "alice" / "answers.yaml").symlink_to(key)  # absolute
    rel = os.path.relpath(key, room / "bob")
    (room / "bob" / "answers.yaml").symlink_to(rel)  # relative, ../../instructor/key.answers.yaml
    (room / "carol" / "answers.yaml").write_text(WRONG)
    (room / "carol" / "sub").symlink_to(key.parent, target_is_directory=True)  # a directory out of the tree
    (room / "dave" / "work").mkdir()
    (room / "dave" / "work" / "mine.yaml").write_text(WRONG)
    (room / "dave" / "answers.yaml").symlink_to("work/mine.yaml")  # stays inside dave's tree: fine
    (room / "erin" / "answers.yaml").symlink_to("../carol/answers.yaml")  # another student's file
    (room / "frank").symlink_to(key.parent, target_is_directory=True)  # a student directory that is a link
    (room / "gone.answers.yaml").symlink_to("nowhere.answers.yaml")  # dangling
    return room


def test_symlinks_out_of_a_students_tree_are_invalid_and_the_rest_grades(tmp_path, key):
    room = _class_with_links(tmp_path, key)
    code, results = _grade(room)
    assert code == 2
    for name in ("alice/answers.yaml", "bob/answers.yaml", "erin/answers.yaml"):
        assert results[name]["score"] == 0 and "outside the graded directory" in results[name]["error"], name
    assert "broken symbolic link" in results["gone.answers.yaml"]["error"]
    assert results["carol/answers.yaml"]["error"] is None  # graded, not swept away by carol/sub
    assert results["dave/answers.yaml"]["error"] is None  # a link inside the tree is followed
    assert not any("key" in name or name.startswith(("frank", "carol/sub")) for name in results)
    assert all(r["score"] < FULL for r in results.values())


def test_a_file_named_on_the_command_line_is_confined_to_its_directory(tmp_path, key):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "answers.yaml").symlink_to(os.path.relpath(key, folder))
    code, results = _grade(folder / "answers.yaml")
    assert code == 2
    (only,) = results.values()
    assert only["score"] == 0 and "outside the graded directory" in only["error"]
    # the key named directly (its own directory is its tree) is graded: the instructor chose it
    assert Grader(problem=PROBLEM).grade(key).score == FULL


def test_a_symlinked_directory_on_the_way_is_caught_by_the_loader(tmp_path, key):
    """Whatever discovery did, the loader resolves every level of the path."""
    tree = tmp_path / "alice"
    tree.mkdir()
    (tree / "sub").symlink_to(key.parent, target_is_directory=True)
    result = Grader(problem=PROBLEM).grade(Submission(tree / "sub" / key.name, tree))
    assert result.score == 0 and "outside the graded directory" in result.error


def test_special_files_are_invalid(tmp_path):
    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)
    result = Grader(problem=PROBLEM).grade(fifo)  # must not block on the FIFO
    assert "not a regular file" in result.error


# ----------------------------------------------------------------- 7. signals

def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _state(int(entry), parent=pid):
            out.append(int(entry))
    return out


def _state(pid: int, parent: int | None = None) -> bool:
    """Is `pid` alive (and, if given, a child of `parent`)?"""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in ("Z", "X") and (parent is None or int(fields[1]) == parent)


def _poll(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def slow_class(tmp_path_factory) -> Path:
    """Enough formula files to keep two workers busy for far longer than the test waits."""
    folder = tmp_path_factory.mktemp("slow")
    text = (ROOT / "fixtures" / "seeds" / "001-p1.formulas.answers.yaml").read_text(encoding="utf-8")
    for i in range(1500):
        (folder / f"s{i:04}.answers.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_leaves_no_worker_behind(slow_class, signum):
    problem = ROOT / "fixtures" / "problems" / "dsga1008-2020-p1-formulas.yaml"
    grader = subprocess.Popen([sys.executable, "-m", "backprop_check", "grade", "--problem", str(problem),
                               "--jobs", "2", "--format", "json", str(slow_class)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _poll(lambda: len(_children(grader.pid)) == 2, 120), "the workers never started"
        workers = _children(grader.pid)
        assert grader.poll() is None, "the class finished before the signal: make it slower"
        grader.send_signal(signum)
        code = grader.wait(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 128 + signum)
    assert _poll(lambda: not any(_state(w) for w in workers), 30), "a worker outlived the grader"
    if signum != signal.SIGKILL:
        assert grader.stderr.read().decode().strip() == f"bpcheck: error: interrupted by {signum.name}"


# ----------------------------------------------------------------- 9. one student cannot stop the class

def test_a_student_with_too_many_files_is_refused_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(class_files, "MAX_FILES_PER_DIRECTORY", 5)
    room = tmp_path / "class"
    (room / "mallory" / "deep").mkdir(parents=True)
    for i in range(3):
        (room / "mallory" / f"{i}.answers.yaml").write_text(WRONG)
        (room / "mallory" / "deep" / f"{i}.answers.yaml").write_text(WRONG)  # 6 in her tree
    for student in ("alice", "bob"):
        (room / student).mkdir()
        (room / student / "answers.yaml").write_text(WRONG)
    found = discover([room])
    assert [s.path.relative_to(room).as_posix() for s in found] == ["alice/answers.yaml", "bob/answers.yaml",
                                                                     "mallory"]
    results = Grader(problem=PROBLEM, jobs=2).grade_all(found)
    assert [r.error is None for r in results] == [True, True, False]
    assert "more than 5 answers files" in results[2].error and results[2].file == str(room / "mallory")


def test_twenty_thousand_and_one_files_refuse_one_directory_not_the_run(tmp_path):
    room = tmp_path / "class"
    flood = room / "mallory"
    flood.mkdir(parents=True)
    for i in range(20_001):
        (flood / f"{i}.answers.yaml").touch()
    (room / "alice").mkdir()
    (room / "alice" / "answers.yaml").write_text(WRONG)
    found = discover([room])
    assert [s.refused is not None for s in found] == [False, True]
    assert f"more than {class_files.MAX_FILES_PER_DIRECTORY}" in found[1].refused


def _alias_file(path: Path, entries: int, uses: int) -> Path:
    """A small file whose answers all alias one long list (the red team's 300 kB case)."""
    names = ["z1", "z2", "z3", "y_hat", "loss", "dl/dW1", "dl/db1", "dl/dW2", "dl/db2"][:uses]
    body = f"answers:\n  {names[0]}: &a [{', '.join(['1'] * entries)}]\n"
    path.write_text(body + "".join(f"  {n}: *a\n" for n in names[1:]))
    return path


def test_an_answers_file_bounds_its_entries_with_aliases_expanded(tmp_path):
    path = _alias_file(tmp_path / "alias.answers.yaml", 20_000, 9)  # 180,000 once expanded
    result = Grader(problem=PROBLEM).grade(path)
    assert f"more than {answers_module.MAX_FILE_ENTRIES} numbers" in result.error
    assert len(pickle.dumps(result)) < 2_000


def test_what_a_worker_sends_back_is_bounded(tmp_path, monkeypatch):
    """Within every input limit, a file's big arrays still do not travel to the parent."""
    monkeypatch.setattr(answers_module, "MAX_FILE_ENTRIES", 10 ** 7)  # the forked workers inherit it
    files = [_alias_file(tmp_path / f"s{i}.answers.yaml", 5_000, 9) for i in range(2)]
    many = tmp_path / "warn.answers.yaml"
    many.write_text("answers:\n" + "".join(f"  nothing{i}: 1\n" for i in range(500)))
    results = Grader(problem=PROBLEM, jobs=2).grade_all([*files, many])
    for r in results[:2]:
        assert r.error is None and any(f.status == "invalid" for f in r.findings)
        assert len(pickle.dumps(r)) < 20_000  # else 9 × 5,000 floats, twice (got and texts)
    assert len(results[2].warnings) == classroom.MAX_SENT_WARNINGS + 1
    assert "450 more warnings" in results[2].warnings[-1][1]


def test_small_arrays_still_travel_for_the_diff_table(tmp_path):
    path = tmp_path / "a.answers.yaml"
    path.write_text("answers:\n  z1: [0.1, 0.55, 0.45]\n")
    (finding,) = [f for f in Grader(problem=PROBLEM).grade(path).findings if f.quantity == "z1"]
    assert finding.status == "incorrect" and finding.got == [0.1, 0.55, 0.45] and finding.expected


# ----------------------------------------------------------------- 10. the pinned problem's solve is bounded

def _slow_solve(problem, *args, **kwargs):
    time.sleep(120)


def _greedy_solve(problem, *args, **kwargs):
    hog = bytearray(4 * 2 ** 30)  # far past the 1 GB limit
    return hog


@pytest.mark.parametrize("solve, reason", [(_slow_solve, "time limit of 1 s"), (_greedy_solve, "memory limit")])
def test_the_pinned_problem_is_solved_within_the_limits(tmp_path, monkeypatch, solve, reason):
    monkeypatch.setattr(classroom, "solve", solve)  # inherited by the forked worker
    monkeypatch.setattr(classroom, "HAND_SIZED_WORK", 0)  # rehearse even this small spec
    (tmp_path / "answers.yaml").write_text(WRONG)
    grader = Grader(problem=PROBLEM, limits=Limits(timeout=1, cpu=1), jobs=1)
    with pytest.raises(InputError) as err:
        grader.grade_all([tmp_path / "answers.yaml"])
    assert "could not be solved within the grading limits" in str(err.value) and reason in str(err.value)
    assert not grader._solutions  # never solved in this process


def test_a_hand_sized_network_is_solved_without_a_rehearsal(tmp_path, monkeypatch):
    def rehearsal(*_args):
        raise AssertionError("a hand-sized spec needs no sandboxed rehearsal")

    monkeypatch.setattr(Grader, "_solve_within_limits", rehearsal)
    (tmp_path / "answers.yaml").write_text(WRONG)
    result, = Grader(problem=PROBLEM, jobs=1).grade_all([tmp_path / "answers.yaml"])
    assert result.error is None and result.findings


def test_a_graph_spec_is_always_rehearsed():
    assert not classroom._hand_sized(load_problem(ROOT / "problems" / "graphs" / "cs231n-sigmoid-neuron.yaml"))
    assert classroom._hand_sized(load_problem(PROBLEM))


def test_a_bad_pinned_problem_keeps_its_own_error(tmp_path):
    (tmp_path / "answers.yaml").write_text(WRONG)
    grader = Grader(problem=PROBLEM, problem_sha256="0" * 64, jobs=1)
    with pytest.raises(InputError, match="not the pinned"):
        grader.grade_all([tmp_path / "answers.yaml"])


def test_a_link_beside_other_students_and_a_linked_student_directory_are_refused(tmp_path, key):
    """Files side by side in a class directory share no tree: a link there is another student's
    file; and a file named in a directory that is itself a link (a glob over students' folders)."""
    room = tmp_path / "c2"
    (room / "alice").mkdir(parents=True)
    (room / "alice" / "answers.yaml").write_text(key.read_text())
    (room / "mallory.answers.yaml").symlink_to(room / "alice" / "answers.yaml")
    (room / "dave").symlink_to(key.parent, target_is_directory=True)
    code, results = _grade(room)
    assert code == 2
    assert "a symbolic link directly in the class directory" in results["mallory.answers.yaml"]["error"]
    assert results["alice/answers.yaml"]["score"] == FULL  # alice still grades
    code, results = _grade(room / "dave" / key.name)
    [result] = results.values()
    assert code == 2 and "is a symbolic link" in result["error"]
