"""sandbox.run: every item graded in a limited worker; a worker that dies is replaced.

Small module-level grade functions (so that fork can run them) hit each limit
in turn; then a class directory with good and hostile answers files is graded
end to end through the command line.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check import sandbox
from backprop_check.cli import main
from backprop_check.sandbox import Limits

pytestmark = pytest.mark.skipif(sandbox.resource is None or sys.platform != "linux",
                                reason="the limits need POSIX resource limits (Linux)")

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "dsga1008-2022-p1.yaml"


# ----------------------------------------------------------------- grade functions (module level)

def _no_core() -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core


def grade(item):
    """("ok", kind, pid) for plain items; the others misbehave on purpose."""
    kind, arg = item
    if kind == "ok":
        return ("ok", arg, os.getpid())
    if kind == "nap":  # finishes, after a while
        time.sleep(arg)
        return ("ok", arg, os.getpid())
    if kind == "sleep":
        time.sleep(arg)
        return ("slept", arg, os.getpid())
    if kind == "burn":
        _no_core()
        end = time.process_time() + arg  # arg seconds of CPU, however busy the machine is
        n = 0
        while time.process_time() < end:
            n += 1
        return ("burnt", n, os.getpid())
    if kind == "alloc":
        blob = bytearray(arg * 2 ** 20)  # arg MB at once
        return ("allocated", len(blob), os.getpid())
    if kind == "grow":
        chunks = []
        for _ in range(arg):
            chunks.append(bytearray(2 ** 20))
            chunks[-1][::4096] = b"x" * len(chunks[-1][::4096])  # touch every page
        return ("grown", len(chunks), os.getpid())
    if kind == "raise":
        raise ValueError(f"bad answer {arg}")
    if kind == "recurse":
        def down(n):
            return down(n + 1) + 1
        return down(0)
    if kind == "exit":
        os._exit(arg)
    if kind == "sys-exit":
        sys.exit(arg)
    if kind == "unpicklable":
        return lambda: None
    raise AssertionError(kind)


def failed(item, reason, internal=False):
    return ("failed", item[0], reason)


def pid_of(result) -> int:
    assert result[0] in ("ok", "slept", "burnt", "allocated", "grown"), result
    return result[2]


# ----------------------------------------------------------------- sandbox.run

def test_results_come_back_in_order_with_two_workers():
    items = [("nap", 0.3), ("ok", 1), ("nap", 0.1), ("ok", 3), ("nap", 0.2), ("ok", 5), ("ok", 6)]
    results = sandbox.run(items, grade, failed, Limits(timeout=10), jobs=2)
    assert [r[:2] for r in results] == [("ok", arg) for _, arg in items]
    assert len({pid_of(r) for r in results}) == 2  # two workers shared the class
    assert os.getpid() not in {pid_of(r) for r in results}  # never in this process


def test_no_items():
    assert sandbox.run([], grade, failed, Limits(timeout=1), jobs=2) == []


def test_progress_is_called_once_per_item():
    calls = []
    items = [("ok", i) for i in range(5)] + [("raise", 0)]
    sandbox.run(items, grade, failed, Limits(timeout=5), jobs=2, progress=lambda: calls.append(1))
    assert len(calls) == len(items)


def test_sleeping_past_the_timeout_is_killed_and_the_rest_complete():
    items = [("ok", 0), ("sleep", 60), ("ok", 2), ("ok", 3)]
    results = sandbox.run(items, grade, failed, Limits(timeout=1), jobs=1)
    # No wall-clock assert (it fails on a busy machine): the 60 s sleep can only end as a
    # "time limit" result if the 1 s timeout killed it; had it run out, it would say "slept".
    assert results[1][:2] == ("failed", "sleep")
    assert "time limit" in results[1][2] and "1 s" in results[1][2]
    assert [r[:2] for r in (results[0], results[2], results[3])] == [("ok", 0), ("ok", 2), ("ok", 3)]
    assert pid_of(results[0]) != pid_of(results[2])  # the killed worker was replaced


def test_burning_cpu_past_the_cpu_limit():
    items = [("ok", 0), ("burn", 30), ("ok", 2)]
    results = sandbox.run(items, grade, failed, Limits(timeout=20, cpu=1), jobs=1)
    assert results[1][:2] == ("failed", "burn")
    # the CPU limit, not the 20 s wall clock, stopped it (whatever the machine's load)
    assert "CPU limit" in results[1][2] and "1 s" in results[1][2]
    assert "time limit" not in results[1][2]
    assert results[2][:2] == ("ok", 2)
    assert pid_of(results[0]) != pid_of(results[2])


def test_cpu_limit_is_per_item_not_per_worker():
    """Three items of 0.6 s CPU each in one worker: each is under the 1 s limit."""
    items = [("burn", 0.6), ("burn", 0.6), ("burn", 0.6)]
    results = sandbox.run(items, grade, failed, Limits(timeout=20, cpu=1), jobs=1)
    assert [r[0] for r in results] == ["burnt", "burnt", "burnt"], results
    assert len({pid_of(r) for r in results}) == 1


def test_allocating_past_the_memory_limit():
    items = [("alloc", 4096), ("grow", 2048), ("alloc", 10), ("ok", 3)]
    results = sandbox.run(items, grade, failed, Limits(timeout=20, memory_mb=200), jobs=1)
    for r, kind in zip(results[:2], ("alloc", "grow")):
        assert r[:2] == ("failed", kind)
        assert "memory limit of 200 MB" in r[2], r  # MemoryError, or killed
    assert results[2][:2] == ("allocated", 10 * 2 ** 20)  # under the cap, the same worker still works
    assert results[3][:2] == ("ok", 3)


def test_a_raising_grade_is_a_crash_result():
    items = [("raise", 7), ("ok", 1)]
    results = sandbox.run(items, grade, failed, Limits(timeout=5), jobs=1)
    assert results[0] == ("failed", "raise", "ValueError: bad answer 7")
    assert results[1][:2] == ("ok", 1)


def test_runaway_recursion_is_a_limit_result():
    results = sandbox.run([("recurse", 0), ("ok", 1)], grade, failed, Limits(timeout=10), jobs=1)
    assert results[0][:2] == ("failed", "recurse")
    assert "nested too deeply" in results[0][2]
    assert results[1][:2] == ("ok", 1)


@pytest.mark.parametrize("kind", ["exit", "sys-exit", "unpicklable"])
def test_a_worker_that_dies_is_replaced(kind):
    items = [("ok", 0), (kind, 3), ("ok", 2), ("ok", 3)]
    results = sandbox.run(items, grade, failed, Limits(timeout=10), jobs=1)
    assert results[1][:2] == ("failed", kind)
    assert "died" in results[1][2]
    assert [r[:2] for r in (results[0], results[2], results[3])] == [("ok", 0), ("ok", 2), ("ok", 3)]
    assert pid_of(results[0]) != pid_of(results[2]) == pid_of(results[3])


def test_many_failures_in_one_class_with_two_workers():
    items = [("ok", 0), ("exit", 3), ("sleep", 60), ("raise", 1), ("ok", 4), ("exit", 5), ("ok", 6),
             ("alloc", 4096), ("ok", 8)]
    results = sandbox.run(items, grade, failed, Limits(timeout=1, memory_mb=200), jobs=2)
    assert "time limit" in results[2][2]  # the 60 s sleep was cut by the 1 s timeout
    assert "memory limit of 200 MB" in results[7][2]
    assert [r[0] if r[0] != "failed" else r[1] for r in results] == \
        ["ok", "exit", "sleep", "raise", "ok", "exit", "ok", "alloc", "ok"]
    assert [r[1] for r in results if r[0] == "ok"] == [0, 4, 6, 8]


# ----------------------------------------------------------------- end to end: a class directory

GOOD_VALUES = {
    "z1": "[0.1, -0.55, 0.45]", "z2": "[0.5, 0, 2.25]", "z3": "[0.425, 0.3]", "y_hat": "[0.425, 0.3]",
    "loss": "0.970625", "dl/dW1": "[[-2.525, -1.2625], [0, 0], [1.025, 0.5125]]",
    "dl/db1": "[-2.525, 0, 1.025]", "dl/dW2": "[[-0.575, 0, -2.5875], [0.8, 0, 3.6]]",
    "dl/db2": "[-1.15, 1.6]", "dz2/dz1": "[[5, 0, 0], [0, 0, 0], [0, 0, 5]]",
    "dy_hat/dz3": "[[1, 0], [0, 1]]", "dl/dy_hat": "[-1.15, 1.6]",
    "step1.W1": "[[0.4525, -0.27375], [-0.5, 0.3], [-0.0025, 0.54875]]",
    "step1.b1": "[0.3525, -0.2, -0.0525]", "step1.W2": "[[0.3575, -0.2, 0.35875], [-0.18, 0.4, -0.16]]",
    "step1.b2": "[0.165, -0.26]", "step1.loss": "0.8548413894",
}
GOOD_FORMULAS = {
    "z1": "W1 @ x + b1", "z2": "5 * relu(z1)", "z3": "W2 @ z2 + b2", "y_hat": "z3",
    "loss": "sum((ŷ − y)²)", "dl/dW1": "dl/dz1 @ xᵀ", "dl/db1": "dl/dz1", "dl/dW2": "dl/dz3 @ z2.T",
    "dl/db2": "dl/dz3", "dz2/dz1": "diag(5 * step(z1))", "dy_hat/dz3": "eye(2)",
    "dl/dy_hat": "2 * (y_hat - y)", "step1.W1": "W1 − 0.1 · dl/dW1", "step1.b1": "b1 - 0.1 * dl/db1",
    "step1.W2": "W2 - 0.1 * dl/dW2", "step1.b2": "b2 - 0.1 * dl/db2",
}


def _answers_yaml(student: str, answers: dict) -> str:
    lines = ["bpcheck: 1", f"student: {student}", "answers:"]
    lines += [f"  {key}: {value if value.startswith('[') else json.dumps(value, ensure_ascii=False)}"
              for key, value in answers.items()]
    return "\n".join(lines) + "\n"


def _hostile_formulas(marker: Path) -> list:
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # pytest's default import mode puts it there already
        sys.path.insert(0, here)
    from test_formula_syntax import HOSTILE
    return [text.replace("MARKER", str(marker)) for text in HOSTILE.values()]


def _class_dir(root: Path, marker: Path) -> dict:
    """4 good answers files and several hostile ones; returns file name -> kind."""
    (root / "alice").mkdir(parents=True)
    (root / "bob").mkdir()
    (root / "alice" / "answers.yaml").write_text(_answers_yaml("alice", GOOD_VALUES), encoding="utf-8")
    bob = dict(GOOD_FORMULAS, **{"step1.loss": GOOD_VALUES["step1.loss"]})  # step1.loss has no formula
    (root / "bob" / "answers.yaml").write_text(_answers_yaml("bob", bob), encoding="utf-8")
    carol = dict(GOOD_VALUES, z1="[0.1, 0.55, 0.45]", loss="1.5")
    carol["dl/dW1"] = "[[-2.525, 0, 1.025], [-1.2625, 0, 0.5125]]"  # transposed
    (root / "carol.answers.yaml").write_text(_answers_yaml("carol", carol), encoding="utf-8")
    dave = {k: v for k, v in GOOD_VALUES.items() if k.startswith(("z", "y", "loss"))}
    dave["dl/dW1"] = "[[2.525, 1.2625], [0, 0], [-1.025, -0.5125]]"  # sign flipped
    dave["dl/dW2"] = "dl/dz3 @ z2.T"  # a formula: right where formulas are allowed
    # dl/db1 and the rest are missing
    (root / "dave.answers.yaml").write_text(_answers_yaml("dave", dave), encoding="utf-8")
    kinds = {"alice/answers.yaml": "full", "bob/answers.yaml": "full", "carol.answers.yaml": "partial",
             "dave.answers.yaml": "partial"}

    # the hostile formula corpus, every question of each file answered by one of them
    keys = list(GOOD_FORMULAS)
    corpus = _hostile_formulas(marker)
    for n, first in enumerate(range(0, len(corpus), len(keys))):
        chunk = dict(zip(keys, corpus[first:first + len(keys)]))
        text = yaml.safe_dump({"bpcheck": 1, "student": f"mallory{n}", "answers": chunk},
                              allow_unicode=True, width=10 ** 7)
        (root / f"mallory{n}.answers.yaml").write_text(text, encoding="utf-8")
        kinds[f"mallory{n}.answers.yaml"] = "formulas"
    # a 1.9 MB file of printable junk
    junk = "answers:\n  z1: [" + "".join(chr(33 + (i * 7919) % 94) for i in range(1_900_000))
    (root / "junk.answers.yaml").write_text(junk, encoding="utf-8")
    kinds["junk.answers.yaml"] = "error"
    # a YAML alias ("billion laughs") bomb: 9**10 strings once expanded
    bomb = ["bpcheck: 1", "student: bomb", "a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb.append("answers: {z1: *a9}")
    (root / "bomb.answers.yaml").write_text("\n".join(bomb) + "\n", encoding="utf-8")
    kinds["bomb.answers.yaml"] = "error"
    # not UTF-8
    (root / "latin1.answers.yaml").write_bytes("answers: {z1: '\u00e9\u00e8'}\n".encode("latin-1"))
    kinds["latin1.answers.yaml"] = "error"
    # nesting deep enough to crash libyaml's composer (SIGSEGV): the worker dies, the class grades
    (root / "deep.answers.yaml").write_text("answers:\n  z1: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                            encoding="utf-8")
    kinds["deep.answers.yaml"] = "error"  # refused by the depth check before parsing
    return kinds


def _formula_problem(tmp_path: Path) -> Path:
    """The shipped problem with every question that has a formula form open to formulas."""
    text = PROBLEM.read_text(encoding="utf-8")
    lines = [line.replace("}", ", form: any}") if "{quantity:" in line and "step1.loss" not in line else line
             for line in text.splitlines()]
    path = tmp_path / "p1-any.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.read_text(encoding="utf-8").count("form: any") == 16
    return path


@pytest.fixture
def quiet_crashes():
    """Forked workers inherit pytest's faulthandler, which would print a traceback when
    the deep file crashes one; the sandbox reports the crash itself."""
    was = faulthandler.is_enabled()
    faulthandler.disable()
    yield
    if was:
        faulthandler.enable(file=sys.__stderr__)


@pytest.mark.parametrize("form", ["value", "any"])
def test_grade_a_class_with_hostile_files_end_to_end(tmp_path, form, quiet_crashes):
    """The shipped problem asks for values (formulas are refused before parsing);
    its `form: any` copy sends every hostile formula through the formula parser."""
    problem = PROBLEM if form == "value" else _formula_problem(tmp_path)
    marker = tmp_path / "pwned"
    kinds = _class_dir(tmp_path / "class", marker)
    if form == "value":
        kinds["bob/answers.yaml"] = "formulas-refused"  # right formulas, but values were asked for
    assert (tmp_path / "class" / "junk.answers.yaml").stat().st_size > 1_800_000
    assert sum(kind == "formulas" for kind in kinds.values()) >= 2
    # no wall-clock bound here: every file carries its own limits, asserted below per file
    result = CliRunner().invoke(main, ["grade", str(tmp_path / "class"), "--problem", str(problem),
                                       "--format", "json"])
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code == 2, result.stderr  # some files could not be graded at all
    data = json.loads(result.stdout)
    by_file = {Path(r["file"]).relative_to(tmp_path / "class").as_posix(): r for r in data["results"]}
    assert set(by_file) == set(kinds)  # every file has a result
    assert data["summary"]["files"] == len(kinds)
    for name, kind in kinds.items():
        r = by_file[name]
        if kind in ("full", "partial"):
            assert r["error"] is None, (name, r["error"])
            assert r["max_score"] == 19.0 and len(r["questions"]) == 17
            if kind == "full":
                assert r["score"] == 19.0 and r["passed"], [q for q in r["questions"] if q["status"] != "correct"]
            else:
                assert 0 < r["score"] < 19.0 and not r["passed"]
            continue
        if kind == "formulas-refused":
            assert r["error"] is None and r["score"] == 1.0 and not r["passed"]  # only step1.loss, a value
            refused = [q for q in r["questions"] if q["quantity"] != "step1.loss"]
            assert len(refused) == 16
            assert all(q["status"] == "invalid" and "(this question asks for a value)" in q["message"]
                       for q in refused)
            continue
        assert r["passed"] is False and r["score"] == 0, name
        if kind == "error":
            assert r["error"] and r["error"].strip(), name
            continue
        # graded, or a limit hit: every answered question invalid, each with a reason
        assert r["error"] is None, (name, r["error"])
        answered = [q for q in r["questions"] if q["status"] != "missing"]
        assert answered, name
        for q in answered:
            assert q["status"] == "invalid" and q["message"].strip(), (name, q)
    assert "alias" in by_file["bomb.answers.yaml"]["error"]
    assert "UTF-8" in by_file["latin1.answers.yaml"]["error"]
    deep = by_file["deep.answers.yaml"]
    # refused before parsing (the depth check), or contained by the worker's limits
    assert ("nested more than" in (deep["error"] or "")
            or all(q["message"].startswith("not graded: ") for q in deep["questions"]))
    rejected = [q["message"] for name, kind in kinds.items() if kind == "formulas"
                for q in by_file[name]["questions"] if q["status"] != "missing"]
    assert len(rejected) >= 30
    reason = "not a formula bpcheck can read" if form == "any" else "(this question asks for a value)"
    assert sum(reason in m for m in rejected) >= 0.8 * len(rejected), rejected
    carol = {q["quantity"]: q for q in by_file["carol.answers.yaml"]["questions"]}
    assert carol["z1"]["status"] == "incorrect" and carol["loss"]["status"] == "incorrect"
    assert carol["dl/dW1"]["status"] == "invalid" and "transposed" in carol["dl/dW1"]["tags"]
    dave = {q["quantity"]: q for q in by_file["dave.answers.yaml"]["questions"]}
    assert dave["z1"]["status"] == "correct" and dave["loss"]["status"] == "correct"
    assert dave["dl/dW1"]["status"] == "incorrect" and "sign-flipped" in dave["dl/dW1"]["tags"]
    assert dave["dl/db1"]["status"] == "missing"
    assert dave["dl/dW2"]["status"] == ("correct" if form == "any" else "invalid")
    assert not marker.exists()


def test_a_deeply_nested_answers_file_is_an_input_error_without_the_sandbox(tmp_path):
    from backprop_check.classroom import Grader
    path = tmp_path / "deep.answers.yaml"
    path.write_text("answers:\n  z1: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = Grader(problem=PROBLEM).grade(path)  # in this process: no sandbox
    assert result.error and "nest" in result.error


def test_a_deeply_nested_answers_file_is_contained_by_the_sandbox(tmp_path, quiet_crashes):
    from backprop_check.classroom import Grader
    paths = []
    for depth in (5000, 100_000):  # RecursionError in a worker; SIGSEGV in libyaml
        path = tmp_path / f"deep{depth}.answers.yaml"
        path.write_text("answers:\n  z1: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
        paths.append(path)
    good = tmp_path / "good.answers.yaml"
    good.write_text(_answers_yaml("good", GOOD_VALUES), encoding="utf-8")
    results = Grader(problem=PROBLEM, limits=Limits(timeout=20), jobs=1).grade_all([*paths, good])
    for r in results[:2]:
        assert r.score == 0
        assert ("nested more than" in (r.error or "")
                or all(f.status == "invalid" and f.message.startswith("not graded: ") for f in r.findings))
    assert results[2].error is None and results[2].score == results[2].max_score == 19.0
