"""yamlsource places the scalars of lists and mappings in its own loop (`_Builder.build`): the
document, every position and every error are what feeding each event to `_Builder.feed` gives."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check import yamlsource
from backprop_check.errors import InputError

scalars = st.sampled_from(["", "~", "null", "Null", "NULL", "nul", "1", "-0.5", "x y", "'q'", "a: b", "#c"]) | \
    st.text(max_size=4)
data = st.recursive(st.none() | scalars, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(scalars, inner, max_size=4), max_leaves=15)
edits = st.sampled_from(["", "~", "&a ", "*a", "!!null ", "!!str ", "'", "[", "]", "{", "}", ": ", "\n- ", "\n",
                         "  ", "? ", "---\n"])


def _read(text: str, build):
    """The document `build(builder)` makes of `text`, or how reading it failed."""
    builder = yamlsource._Builder("f.yaml", text, {})
    try:
        build(builder)
        doc = builder.document()
    except InputError as exc:
        return ("error", str(exc))
    except yaml.YAMLError:
        return ("broken",)
    return doc.data, doc.positions, doc.key_positions


def _by_feed(text: str):
    """The reference: every event through `feed` (yamlsource's general path)."""
    def feed_all(builder):
        for event in yaml.parse(text, Loader=yamlsource._LOADER):
            builder.feed(event)
    return _read(text, feed_all)


def _by_build(text: str):
    return _read(text, lambda builder: builder.build(yamlsource._events(text)))


@given(data, st.booleans(), st.lists(st.tuples(st.integers(0, 10_000), edits), max_size=3))
@settings(max_examples=400, deadline=None)
def test_build_is_feeding_every_event(value, flow, changes):
    text = yaml.safe_dump({"answers": value}, default_flow_style=flow, allow_unicode=True)
    for at, edit in changes:  # anchors, aliases, tags, nulls, duplicate keys, broken YAML
        at %= len(text) + 1
        text = text[:at] + edit + text[at:]
    assert _by_build(text) == _by_feed(text)


def test_examples_of_each_case():
    cases = ["a: ~\nb: null\nc: ''\nd: !!null x\ne: 'null'\nf: Null\ng:\n", "- &a x\n- *a\n- ~\n",
             "a: 1\na: 2\n", "~: 1\n'~': 2\n", "a: &x [1, ~]\nb: *x\nc: [&y 3, *y]\n", "a: [1, {b: ~, c: [~]}]\n",
             "x", "- [1, 2\n"]
    for text in cases:
        assert _by_build(text) == _by_feed(text)
    assert _by_build(cases[0])[0] == {"a": None, "b": None, "c": "", "d": None, "e": "null", "f": None, "g": None}
    assert _by_build(cases[2]) == ("error", "f.yaml:2:1: duplicate key 'a'")
