"""sandbox.run gives a worker many files at once: each file keeps its own limits and its own blame.

A file that misbehaves in the middle of a batch must be the only one that
fails, with the reason of its own limit; the files given with it are graded
all the same (again, by the worker that replaces a dead one); and a file's
time limit runs from its own start, not from the batch's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from backprop_check import sandbox
from backprop_check.sandbox import Limits

from test_sandbox import failed, grade, pid_of

pytestmark = pytest.mark.skipif(sandbox.resource is None or sys.platform != "linux",
                                reason="the limits need POSIX resource limits (Linux)")

BAD_AT = 5  # inside the first batch, whatever the order the workers ask in


@pytest.fixture
def batches(monkeypatch):
    """The indices given to the workers, message by message."""
    given_ = []
    real = sandbox._Slot.give

    def give(self, tasks, timeout):
        given_.append([index for index, _ in tasks])
        real(self, tasks, timeout)
    monkeypatch.setattr(sandbox._Slot, "give", give)
    return given_


@pytest.mark.parametrize("kind, arg, limits, says", [
    ("sleep", 60, Limits(timeout=1), "time limit of 1 s"),
    ("burn", 30, Limits(timeout=60, cpu=1), "CPU limit of 1 s"),
    ("alloc", 4096, Limits(timeout=60, memory_mb=200), "memory limit of 200 MB"),
    ("grow", 2048, Limits(timeout=60, memory_mb=200), "memory limit of 200 MB"),
    ("exit", 3, Limits(timeout=60), "died"),
    ("unpicklable", 0, Limits(timeout=60), "died"),
    ("raise", 1, Limits(timeout=60), "ValueError: bad answer 1"),
    ("recurse", 0, Limits(timeout=60), "nested too deeply"),
])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_misbehaving_file_inside_a_batch_is_blamed_alone(kind, arg, limits, says, jobs, batches):
    items = [("ok", i) for i in range(200)]
    items[BAD_AT] = (kind, arg)
    results = sandbox.run(items, grade, failed, limits, jobs=jobs)
    batch = next(b for b in batches if BAD_AT in b)
    assert batch.index(BAD_AT) > 0 and len(batch) > 2  # files before and after it in its batch
    assert results[BAD_AT][:2] == ("failed", kind)
    assert says in results[BAD_AT][2], results[BAD_AT]
    others = results[:BAD_AT] + results[BAD_AT + 1:]
    assert [r[:2] for r in others] == [("ok", i) for i in range(200) if i != BAD_AT]


def test_the_files_given_with_a_dead_worker_are_graded_by_its_replacement(batches):
    bad = 30  # in the second batch of one worker
    items = [("ok", i) for i in range(200)]
    items[bad] = ("exit", 3)
    results = sandbox.run(items, grade, failed, Limits(timeout=60), jobs=1)
    batch = next(b for b in batches if bad in b)
    first, last = batch[0], batch[-1]
    assert first < bad < last
    assert pid_of(results[first - 1]) != pid_of(results[last + 1])  # the worker was replaced
    assert pid_of(results[first]) == pid_of(results[last]) == pid_of(results[last + 1])  # graded again
    assert sum(len(b) for b in batches) == 200 + len(batch) - 1  # each of the others given twice


def test_each_file_has_its_own_time_limit_not_its_batchs(batches):
    """Twelve files of 0.25 s given at once take 3 s together, past a 2 s limit; each is under it."""
    items = [("nap", 0.25)] * 12 + [("ok", i) for i in range(100)]
    results = sandbox.run(items, grade, failed, Limits(timeout=2), jobs=1)
    assert len(batches[0]) >= 12  # the naps were given at once
    assert [r[0] for r in results] == ["ok"] * len(items), [r for r in results if r[0] != "ok"][:3]
    assert len({pid_of(r) for r in results}) == 1  # never stopped


def test_a_late_file_is_stopped_at_its_own_deadline_after_quick_ones(batches):
    """A file that sleeps, after others in its batch: stopped by the 1 s limit (it would say "slept")."""
    items = [("ok", i) for i in range(200)]
    items[BAD_AT] = ("sleep", 60)
    results = sandbox.run(items, grade, failed, Limits(timeout=1), jobs=1)
    assert results[BAD_AT][:2] == ("failed", "sleep") and "time limit" in results[BAD_AT][2]


def test_a_worker_sends_what_it_has_before_a_late_file_so_a_kill_loses_little(batches):
    """Four files of 0.3 s, then one past the limit, given at once: the four results were sent
    before the fifth started (SEND_AFTER), so only the files after it are given again."""
    items = [("nap", 0.3)] * 4 + [("sleep", 60)] + [("ok", i) for i in range(100)]
    results = sandbox.run(items, grade, failed, Limits(timeout=2), jobs=1)
    assert batches[0][:5] == [0, 1, 2, 3, 4] and len(batches[0]) > 6
    assert results[4][:2] == ("failed", "sleep") and "time limit" in results[4][2]
    assert [r[:2] for r in results[:4]] == [("ok", 0.3)] * 4
    assert len({pid_of(r) for r in results[:4]}) == 1 and pid_of(results[0]) != pid_of(results[5])
    assert sum(len(b) for b in batches) == len(items) + len(batches[0]) - 5  # only those after it again


@given(st.integers(0, 2 ** sandbox._POSITION_BITS - 1), st.floats(0, 1e9))
def test_the_shared_word_keeps_the_position_and_never_shortens_the_deadline(position, deadline):
    got_position, got_deadline = sandbox._unword(sandbox._word(position, deadline))
    assert got_position == position
    assert deadline <= got_deadline <= deadline + 0.0011


# ------------------------------------------------------------- the parent's own races (review of the batches)

def test_a_file_is_blamed_by_one_reading_of_the_word(monkeypatch):
    """The parent is descheduled right after it reads an expired deadline, while the late file
    finishes and the next one starts: the file blamed is the one whose deadline it read."""
    real, delayed = sandbox._Slot.on, []

    def on(self):
        position, deadline = real(self)
        if not delayed and time.monotonic() >= deadline and self.busy:
            delayed.append(position)
            time.sleep(0.5)  # the parent preempted after its load of the word
        return position, deadline
    monkeypatch.setattr(sandbox._Slot, "on", on)
    items = [("nap", 1.05), ("nap", 0.8)] + [("ok", i) for i in range(40)]
    results = sandbox.run(items, grade, failed, Limits(timeout=1), jobs=1)
    assert delayed == [0]
    # the late file's result came in while the parent slept: taken (a wall-clock limit is only as
    # exact as the parent's attention), or the file is blamed; never the next one, which had its own second
    assert results[0][:2] == ("ok", 1.05) or "time limit" in results[0][2]
    assert results[1][:2] == ("ok", 0.8)
    assert [r[0] for r in results[2:]] == ["ok"] * 40


def test_results_sent_in_time_are_taken_when_the_parent_was_slow_to_read_them():
    """A slow progress callback keeps the parent away while a file finishes in time and sends:
    its deadline has passed by the time the parent looks, but its result is waiting."""
    slow = []

    def progress():
        if not slow:
            slow.append(1)
            time.sleep(1.3)
    items = [("ok", 0), ("nap", 0.6)] + [("ok", i) for i in range(2, 20)]
    results = sandbox.run(items, grade, failed, Limits(timeout=1), jobs=2, progress=progress)
    assert [r[:2] for r in results] == [("ok", arg) for _, arg in items]


def _dies_later(item):
    """A file whose worker dies 0.2 s after its result is sent, while it waits for more."""
    if item[0] == "die-later":
        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
        return ("ok", item[1], os.getpid())
    return grade(item)


def test_a_worker_that_dies_while_it_has_no_files_is_replaced(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_TASKS_AT_ONCE", 1)  # its next file comes in a message of its own
    slow = []

    def progress():
        if not slow:
            slow.append(1)
            time.sleep(0.5)  # the worker is dead by the time it is given its next file
    items = [("die-later", 0)] + [("ok", i) for i in range(1, 10)]
    results = sandbox.run(items, _dies_later, failed, Limits(timeout=5), jobs=1, progress=progress)
    assert [r[:2] for r in results] == [("ok", i) for i in range(10)]


def test_a_worker_retires_after_a_memory_error_and_a_fresh_one_grades_the_rest():
    items = [("ok", 0), ("ok", 1), ("alloc", 4096)] + [("ok", i) for i in range(3, 40)]
    results = sandbox.run(items, grade, failed, Limits(timeout=60, memory_mb=200), jobs=1)
    assert results[2][:2] == ("failed", "alloc") and "memory limit of 200 MB" in results[2][2]
    assert [r[:2] for r in results[3:]] == [("ok", i) for i in range(3, 40)]
    assert pid_of(results[0]) == pid_of(results[1]) != pid_of(results[3])  # not the worker that ran out


def _under_hard_cpu_limit(seconds: int, items: str, limits: str) -> str:
    """What `sandbox.run(items, ...)` prints in a process whose hard CPU limit is `seconds` (ulimit -t):
    the kinds of result, and whether more than two workers graded them."""
    code = ("import resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_CPU, ({seconds}, {seconds}))\n"
            "sys.path.insert(0, 'tests')\n"
            "from test_sandbox import grade, failed\n"
            "from backprop_check import sandbox\n"
            f"results = sandbox.run({items}, grade, failed, sandbox.{limits}, jobs=2)\n"
            "print(sorted({r[0] for r in results}), len({r[2] for r in results}) > 2)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    return done.stdout.strip() or done.stderr


def test_a_hard_cpu_limit_over_the_whole_worker_fails_no_file():
    """`ulimit -t 3` counts a worker's CPU over every file it grades: the worker retires before the
    limit would stop a file, and a fresh one (counting from 0) goes on; twelve files of 0.4 s CPU."""
    assert _under_hard_cpu_limit(3, "[('burn', 0.4)] * 12", "Limits(timeout=60, cpu=1)") == "['burnt'] True"


def test_a_hard_cpu_limit_set_outside_is_kept_not_raised():
    """`ulimit -t` in a CI job: a worker may not raise the hard limit; every file still grades."""
    got = _under_hard_cpu_limit(600, "[('ok', i) for i in range(20)]", "Limits(timeout=5)")
    assert got.startswith("['ok']"), got
