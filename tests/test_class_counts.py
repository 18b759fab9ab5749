"""Counting a record's entries (`classroom._size`) and keying an answer's texts (`answers._key`) in C
loops: the same counts and keys as counting item by item."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check import answers, classroom

items = st.recursive(st.integers(0, 3) | st.text(max_size=3) | st.none(), lambda inner: st.lists(inner, max_size=4),
                     max_leaves=20)


def _size_by_item(value) -> int:
    if not isinstance(value, list):
        return 1
    if not value or not isinstance(value[0], list):
        return len(value)
    if all(type(v) is list and not (v and isinstance(v[0], list)) for v in value):
        return sum(len(v) for v in value)
    return sum(_size_by_item(v) for v in value)


def _key_by_item(value):
    if type(value) is str:
        return value if len(value) <= answers.MAX_KEPT_CHARS else None
    if type(value) is not list or len(value) > answers.MAX_KEPT_ENTRIES:
        return None
    if all(type(v) is str for v in value):
        return tuple(value) if sum(len(v) for v in value) <= answers.MAX_KEPT_CHARS else None
    if not all(type(r) is list for r in value) or not all(type(v) is str for r in value for v in r):
        return None
    if sum(len(r) for r in value) > answers.MAX_KEPT_ENTRIES or \
            sum(len(v) for r in value for v in r) > answers.MAX_KEPT_CHARS:
        return None
    return tuple(tuple(r) for r in value)


@given(items)
@settings(max_examples=500)
def test_size_counts_as_item_by_item(value):
    assert classroom._size(value) == _size_by_item(value)


@given(items | st.lists(st.lists(st.text(max_size=700), max_size=5), max_size=5))
@settings(max_examples=500)
def test_key_is_as_item_by_item(value):
    assert answers._key(value) == _key_by_item(value)


def test_examples():
    assert classroom._size([[1, 2], [3]]) == 3 and classroom._size([[[1, 2], 3], [4]]) == 4
    assert classroom._size([[], [[1, 2]]]) == 2 and classroom._size(5) == 1 and classroom._size([5, [1, 2]]) == 2
    assert answers._key([["1", "2"], ["3"]]) == (("1", "2"), ("3",)) and answers._key([["1", 2]]) is None
    assert answers._key([["x" * 3000], ["y" * 1500]]) is None  # 4,500 characters
