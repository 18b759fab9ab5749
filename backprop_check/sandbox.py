"""Run each file's grading in a worker process with limits.

Answer files are untrusted. Each is graded in a forked worker whose address
space is capped (RLIMIT_AS), whose CPU time per file is capped (RLIMIT_CPU,
raised before each file), and which the parent kills when a file overruns
its wall-clock timeout. A worker that dies or is killed is replaced; the file
it was grading gets a result saying why, and the rest of the class grades.
Workers also give a class two cores: `jobs` of them run at once.

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


def _worker(conn, grade: Callable, limits: Limits) -> None:
    parent = _bind_to_parent()
    if resource is not None:
        base = _address_space()
        if base:
            cap = base + limits.memory_mb * 2 ** 20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    while True:
        task = _next_task(conn, parent)
        if task is None:
            return
        index, item = task
        if resource is not None:
            soft = math.ceil(_cpu_used() + limits.cpu)
            resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        try:
            result = ("ok", grade(item))
        except MemoryError:
            result = ("limit", f"exceeded the memory limit of {limits.memory_mb} MB")
        except RecursionError:
            result = ("limit", "nested too deeply")
        except Exception as exc:  # noqa: BLE001 - reported per file, never fatal
            result = ("crash", f"{type(exc).__name__}: {exc}")
        conn.send((index, result))


class _Slot:
    def __init__(self, ctx, grade, limits):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, grade, limits), daemon=True)
        self.process.start()
        child.close()
        self.task = None
        self.deadline = math.inf

    def give(self, index, item, timeout):
        self.task = index
        self.deadline = time.monotonic() + timeout
        self.conn.send((index, item))

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
                slot.stop(kill=not finished or slot.task is not None)
    return results


def _loop(slots: list, items: list, new_slot: Callable, on_failure: Callable, limits: Limits,
          progress: Callable | None) -> list:
    """Feed the items to the slots until every result is in; replace dead or late workers."""
    results: list = [None] * len(items)
    pending = list(enumerate(items))[::-1]

    def finish(slot, value):
        results[slot.task] = value
        slot.task, slot.deadline = None, math.inf
        if progress:
            progress()

    while pending or any(s.task is not None for s in slots):
        for slot in slots:
            if slot.task is None and pending:
                slot.give(*pending.pop(), limits.timeout)
        busy = [s for s in slots if s.task is not None]
        now = time.monotonic()
        ready = wait([s.conn for s in busy], timeout=max(0.0, min(s.deadline for s in busy) - now))
        for i, slot in enumerate(slots):
            if slot.task is None:
                continue
            if slot.conn in ready:
                try:
                    index, (kind, value) = slot.conn.recv()
                    finish(slot, value if kind == "ok" else on_failure(items[index], value, kind == "crash"))
                    continue
                except (EOFError, OSError):
                    reason = _death(slot.process, limits)
            elif time.monotonic() >= slot.deadline:
                reason = f"exceeded the time limit of {limits.timeout:g} s"
            else:
                continue
            index = slot.task
            slot.stop(kill=True)
            finish(slot, on_failure(items[index], reason, False))
            slots[i] = new_slot()
    return results


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
