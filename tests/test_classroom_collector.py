"""grade_all receives the records with the collector paused; its workers collect as usual."""

from __future__ import annotations

import gc

from backprop_check.classroom import Grader
from backprop_check.grade import FileResult


class _Probe(Grader):
    def grade(self, item):  # runs in a worker: reports whether that worker's collector is on
        return FileResult(str(item), None, None, error=f"collector on: {gc.isenabled()}")


def test_workers_collect_and_the_parent_collects_again_after(tmp_path):
    files = [tmp_path / f"s{i}.answers.yaml" for i in range(4)]
    assert gc.isenabled()
    results = _Probe(jobs=2).grade_all(files)
    assert [r.error for r in results] == ["collector on: True"] * 4
    assert gc.isenabled()
