"""Run each file's grading in a worker process with limits.

Answer files are untrusted. Each is graded in a forked worker whose address
space is capped (RLIMIT_AS), whose CPU time per file is capped (RLIMIT_CPU,
raised before each file), and which the parent kills when a file overruns
its wall-clock timeout. A worker that dies or is killed is replaced; the file
it was grading gets a result saying why, and the rest of the class grades.
Workers also give a class two cores: `jobs` of them run at once.

A worker is given up to MAX_TASKS_AT_ONCE files in one message and sends
their results back in one: a message per file each way cost as much as
grading a simple file. So that each file still has its own time limit, the
worker writes which of its files it is on, and that file's deadline, into
one shared word before grading it; the parent reads the word to know when
to stop the worker and which file to blame (read once per decision, and
never while results it sent wait to be received). The files given with it
whose results never came back are graded again by whichever worker is free
first (a worker sends what it has every SEND_AFTER seconds, so that little is
graded twice). A worker also retires on its own, sending RETIRE: after a
MemoryError (its heap need not shrink back), and before a CPU limit set
outside bpcheck (`ulimit -t`, counted over all its files) would stop a file.

Workers never outlive the run: SIGTERM or SIGINT (a cancelled CI job) makes
`run` kill them and raise `Interrupted` (exit 128 + the signal), and a worker
whose parent dies anyway (SIGKILL) is killed by the kernel (Linux
PR_SET_PDEATHSIG) or notices within a second that its parent changed.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable

from .errors import BpcheckError

try:
    import resource
except ImportError:  # not on Windows: limits are then wall-clock only
    resource = None


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0  # wall-clock seconds per file
    cpu: int = 15  # CPU seconds per file
    memory_mb: int = 1024  # address space a worker may add to what it had at start


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


class Interrupted(BpcheckError):
    """SIGTERM or SIGINT while grading: the workers were stopped; exit 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.exit_code = 128 + signum


@contextmanager
def stop_on_signals():
    """Turn SIGTERM and SIGINT into `Interrupted` for the duration (main thread only).

    An exception, rather than dying of the signal, lets `run` kill its workers
    on the way out; Python only lets the main thread install handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _bind_to_parent() -> int:
    """Die with the parent: default signal handling, and SIGKILL when the parent dies (Linux)."""
    parent = os.getppid()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the fork inherited the parent's `stop`
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the polling in _next_task still notices, within a second
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    return parent


def _next_task(conn, parent: int):
    """The next task, or None when told to stop, the pipe closed or the parent died."""
    while not conn.poll(1.0):
        if os.getppid() != parent:
            return None
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


MAX_TASKS_AT_ONCE = 32  # files given to a worker in one message (a class's tail goes one by one)
SEND_AFTER = 0.25  # seconds: a worker sends what it has done before a file that starts later than this
_POSITION_BITS = 16  # the shared word: deadline in ms << 16 | position among the files given


def _word(position: int, deadline: float) -> int:
    """The file a worker is on and its deadline (time.monotonic, which every process shares), in
    one 64-bit word: a single store, so the parent never pairs one file's deadline with another file."""
    return math.ceil(deadline * 1000) << _POSITION_BITS | position


def _unword(word: int) -> tuple[int, float]:
    return word & ((1 << _POSITION_BITS) - 1), (word >> _POSITION_BITS) / 1000


def _worker(conn, grade: Callable, limits: Limits, now_on) -> None:
    parent = _bind_to_parent()
    if resource is not None:
        base = _address_space()
        if base:
            cap = base + limits.memory_mb * 2 ** 20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    outside = _outside_cpu_limit()
    while True:
        tasks = _next_task(conn, parent)
        if tasks is None:
            return
        done, first, sent = [], 0, time.monotonic()
        for position, (index, item) in enumerate(tasks):
            start = time.monotonic()
            if done and start - sent >= SEND_AFTER:  # slow files: what a kill would lose stays small
                _send(conn, done, first, now_on)
                done, first, sent = [], position, start
            now_on.value = _word(position, start + limits.timeout)
            result = _graded(grade, item, limits, outside)
            done.append((index, result))
            if result[0] == "memory" or _spent(limits, outside):
                _send(conn, done, first, now_on)
                conn.send(RETIRE)  # the parent gives the rest to a fresh worker
                return
        _send(conn, done, first, now_on)


RETIRE = "retire"


def _outside_cpu_limit() -> int | None:
    """The hard CPU limit set outside bpcheck (ulimit -t), counted over every file a worker grades;
    None if there is none. A worker reads it once: it cannot raise it, and nothing in it lowers it."""
    if resource is None:
        return None
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def _spent(limits: Limits, outside: int | None) -> bool:
    """Whether the `outside` limit would stop the next file before its own: a fresh worker starts from 0."""
    return outside is not None and _cpu_used() + limits.cpu > outside - 1


def _send(conn, done: list, first: int, now_on) -> None:
    """Send the results of the files from position `first` on. One that cannot be sent (pickled)
    kills the worker, blamed on that file: the results before it are sent one by one, and
    `now_on` names it."""
    try:
        conn.send(done)
        return
    except Exception:  # noqa: BLE001 - a bug in the grader: reported as the worker's death
        pass
    deadline = _unword(now_on.value)[1]
    for position, result in enumerate(done, first):
        now_on.value = _word(position, deadline)
        try:
            conn.send([result])
        except Exception:  # noqa: BLE001
            os._exit(1)


def _graded(grade: Callable, item, limits: Limits, outside: int | None) -> tuple:
    """(kind, value): ("ok", grade(item)), or why there is no result ("limit", "memory", "crash").

    After a MemoryError the worker retires: its heap need not shrink back to what it was."""
    if resource is not None:
        soft = math.ceil(_cpu_used() + limits.cpu)
        if outside is not None:  # (kept: it cannot be raised)
            soft = max(1, min(soft, outside - 1))  # SIGXCPU (a file over its limit) before the hard limit's SIGKILL
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY if outside is None else outside))
    try:
        return ("ok", grade(item))
    except MemoryError:
        return ("memory", f"exceeded the memory limit of {limits.memory_mb} MB")
    except RecursionError:
        return ("limit", "nested too deeply")
    except Exception as exc:  # noqa: BLE001 - reported per file, never fatal
        return ("crash", f"{type(exc).__name__}: {exc}")


class _Slot:
    """A worker, the files given to it (`tasks`, as indices) and how many results came back."""

    def __init__(self, ctx, grade, limits):
        self.conn, child = ctx.Pipe()
        self.now_on = ctx.RawValue("q", 0)  # _word: the file the worker is grading, its deadline
        self.limits = limits
        self.process = ctx.Process(target=_worker, args=(child, grade, limits, self.now_on), daemon=True)
        self.process.start()
        child.close()
        self.tasks: list = []
        self.received = 0

    @property
    def busy(self) -> bool:
        return self.received < len(self.tasks)

    def give(self, tasks: list, timeout: float) -> None:
        self.tasks, self.received = [index for index, _ in tasks], 0
        self.now_on.value = _word(0, time.monotonic() + timeout)  # until the worker writes its own
        self.conn.send(tasks)

    def on(self) -> tuple[int, float]:
        """(the position among `tasks` of the file being graded, its deadline)."""
        return _unword(self.now_on.value)

    def stop(self, kill=False):
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(timeout=5)
        self.conn.close()


def run(items: list, grade: Callable, on_failure: Callable, limits: Limits = Limits(),
        jobs: int | None = None, progress: Callable | None = None) -> list:
    """grade(item) for every item in sandboxed workers; results in order.

    `on_failure(item, reason, internal)` builds the result of an item whose
    worker hit a limit or died (internal=False), or raised an exception, which
    is a bug in the grader (internal=True). SIGTERM and SIGINT raise
    `Interrupted` once every worker is dead.

    `grade` must be deterministic and free of side effects: the items given to
    a worker with one that killed it are graded again by another worker, even
    those it had finished but not yet sent.
    """
    if not items:
        return []
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(items)))
    slots: list = []
    finished = False
    with stop_on_signals():
        try:
            for _ in range(jobs):
                slots.append(_Slot(ctx, grade, limits))
            results = _loop(slots, items, lambda: _Slot(ctx, grade, limits), on_failure, limits, progress)
            finished = True
        finally:  # a signal or an error: kill every worker, not only the busy ones
            for slot in slots:
                slot.stop(kill=not finished or slot.busy)
    return results


def _loop(slots: list, items: list, new_slot: Callable, on_failure: Callable, limits: Limits,
          progress: Callable | None) -> list:
    """Feed the items to the slots until every result is in; replace dead or late workers."""
    results: list = [None] * len(items)
    pending = deque(enumerate(items))

    def finish(index, value):
        results[index] = value
        if progress:
            progress()

    while pending or any(s.busy for s in slots):
        for i, slot in enumerate(slots):
            if not slot.busy and pending:
                # smaller shares as the queue empties (8 shares a worker left), so that the workers finish together
                share = max(1, min(MAX_TASKS_AT_ONCE, len(pending) // (8 * len(slots))))
                slots[i] = _give(slot, [pending.popleft() for _ in range(share)], limits.timeout, new_slot)
        busy = [s for s in slots if s.busy]
        # (at least 5 ms: a worker between sending results and starting its next file is not late yet)
        ready = wait([s.conn for s in busy], timeout=max(0.005, min(s.on()[1] for s in busy) - time.monotonic()))
        for i, slot in enumerate(slots):
            if not slot.busy:
                continue
            if slot.conn in ready:
                reason = _receive(slot, items, finish, on_failure)
                if reason is None:
                    continue
                if reason == RETIRE:  # it stopped on its own: its other files go to a fresh worker, no one blamed
                    _again(pending, items, slot.tasks[slot.received:])
                    slot.stop()
                    slots[i] = new_slot()
                    continue
                # (a worker that dies after sending a file's result, before the next file: the next one)
                position = max(slot.on()[0], slot.received)
            else:
                position = _overran(slot)
                if position is None:
                    continue
                reason = f"exceeded the time limit of {limits.timeout:g} s"
            slot.stop(kill=True)
            # the others given with it, done or not, are graded again, by whichever worker is free first
            _again(pending, items, slot.tasks[slot.received:position] + slot.tasks[position + 1:])
            finish(slot.tasks[position], on_failure(items[slot.tasks[position]], reason, False))
            slots[i] = new_slot()
    return results


def _again(pending: deque, items: list, indices: list) -> None:
    """The items at `indices` to be graded next, in their order."""
    pending.extendleft((j, items[j]) for j in reversed(indices))


def _give(slot: _Slot, tasks: list, timeout: float, new_slot: Callable) -> _Slot:
    """`slot` given `tasks`; a worker that died while it had none (nothing to blame) is replaced first."""
    try:
        slot.give(tasks, timeout)
        return slot
    except OSError:  # its end of the pipe is closed
        slot.stop(kill=True)
        slot = new_slot()
        slot.give(tasks, timeout)
        return slot


def _receive(slot: _Slot, items: list, finish: Callable, on_failure: Callable) -> str | None:
    """Take the results `slot`'s worker sent; why it died if it did (the pipe closed); RETIRE."""
    try:
        message = slot.conn.recv()
        if message == RETIRE:
            return RETIRE
        for index, (kind, value) in message:
            slot.received += 1
            finish(index, value if kind == "ok" else on_failure(items[index], value, kind == "crash"))
        return None
    except (EOFError, OSError):
        return _death(slot.process, slot.limits)


def _overran(slot: _Slot) -> int | None:
    """The position of the file past its deadline, or None while none is.

    The word is read once, so the deadline and the file are the same file's. A worker is not
    late if results arrived after `wait` returned (the parent was slow, not the file), or if
    its word still names a file it has already sent (it is about to write the next one's)."""
    position, deadline = slot.on()
    if time.monotonic() < deadline or slot.conn.poll() or position < slot.received:
        return None
    return position


def _death(process, limits: Limits) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if name == "SIGXCPU":
            return f"exceeded the CPU limit of {limits.cpu} s"
        if name == "SIGKILL":
            return f"killed (probably the memory limit of {limits.memory_mb} MB)"
        return f"the grading worker died ({name})"
    return "the grading worker died"
