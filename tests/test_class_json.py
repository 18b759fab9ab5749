"""The class JSON report written with shared findings (`json_text.Shared`) is what json writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check.formats import json_text, report
from backprop_check.grade import FileResult, Finding

leaves = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, -0.0, 1.0, 0.5]) | st.text(max_size=3)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                          max_size=3), max_leaves=12)


@given(st.lists(st.tuples(st.integers(0, 3), values), max_size=8), st.integers(0, 3))
@settings(max_examples=200)
def test_shared_values_are_written_as_themselves_at_every_depth(pairs, depth):
    table = {}
    for key, value in pairs:
        table.setdefault(key, value)  # one value per key, as Shared requires
    written: dict = {}
    shared, plain = [], []
    for key, _ in pairs:
        shared.append(json_text.Shared(key, lambda key=key: table[key], written))
        plain.append(table[key])
    for _ in range(depth):  # the same values deeper down: another indentation
        shared, plain = [{"x": shared}], [{"x": plain}]
    assert json_text.dumps({"a": shared, "b": shared}) == json.dumps({"a": plain, "b": plain}, indent=2,
                                                                     ensure_ascii=False)


def _result(name: str, findings: list) -> FileResult:
    return FileResult(name, None, "p", score=1.0, max_score=2.0, findings=findings, passed=True)


def test_findings_equal_as_numbers_but_written_apart_keep_their_own_text():
    # 0.0 == -0.0 and 1 == 1.0 == True: a key by value alone would give the second file the first's text
    findings = [[Finding("z1", "correct", score, 1.0, "ok", ["t"], line=line)]
                for score in (0.0, -0.0, 1, 1.0, True) for line in (1, True, None)]
    results = [_result(f"f{i}", found) for i, found in enumerate(findings)]
    written = json.loads(report.render_json(results, None))["results"]
    assert [(repr(r["questions"][0]["score"]), repr(r["questions"][0]["line"])) for r in written] == \
        [(repr(json.loads(json.dumps(s))), repr(json.loads(json.dumps(ln))))
         for s in (0.0, -0.0, 1, 1.0, True) for ln in (1, True, None)]
    text = report.render_json(results, None)
    assert text.count('"score": -0.0') == 3 and text.count('"line": true') == 5
