"""The YAML reader: nesting bounded on libyaml's events, whatever the text looks like."""

import pytest

from backprop_check.errors import InputError
from backprop_check.yamlsource import MAX_DEPTH, parse


def _nested_flow(n: int) -> str:
    return "a: " + "[" * n + "1" + "]" * n + "\n"


def _nested_block(n: int) -> str:
    return "a:\n" + "".join(" " * (2 * i) + "-\n" for i in range(n)) + " " * (2 * n) + "1\n"


DEEP = MAX_DEPTH + 1
# Each of these holds DEEP levels of nesting; the decoys are text that a character
# count of brackets would misread (closers in comments and quotes, block styles).
FOOLING = {
    "flow": _nested_flow(DEEP),
    "comment-of-closers": "# " + "]" * 300 + "\n" + _nested_flow(DEEP),
    "quoted-closers": "q: '" + "]}" * 300 + "'\n" + _nested_flow(DEEP),
    "block-sequences": _nested_block(DEEP),
    "block-mappings": "".join(" " * (2 * i) + f"k{i}:\n" for i in range(DEEP)) + " " * (2 * DEEP) + "v\n",
    "mixed": "a:\n" + "".join(" " * (2 * i) + "- k:\n" + " " * (2 * i + 4) + "[" for i in range(1))
             + "[" * DEEP + "1" + "]" * (DEEP + 1) + "\n",
    "very-deep": _nested_flow(100_000),
}


@pytest.mark.parametrize("name", sorted(FOOLING))
def test_nesting_beyond_the_bound_is_refused(name):
    with pytest.raises(InputError) as err:
        parse(FOOLING[name], "deep.yaml")
    assert err.value.file == "deep.yaml"
    assert "nested more than 64 levels deep" in err.value.message or "nesting depth" in err.value.message


def test_nesting_at_the_bound_is_read():
    doc = parse(_nested_flow(MAX_DEPTH - 1), "ok.yaml")  # the mapping is one level, the lists the rest
    value = doc.data["a"]
    for _ in range(MAX_DEPTH - 2):
        value = value[0]
    assert value == ["1"]


def test_null_and_text_scalars():
    doc = parse("a: ~\nb: null\nc: ''\nd:\ne: 'null'\nf: !!null x\ng: 1e-3\nh: no\n~: k\n")
    assert doc.data == {"a": None, "b": None, "c": "", "d": None, "e": "null", "f": None,
                        "g": "1e-3", "h": "no", "~": "k"}


def test_aliases_share_and_count_their_expanded_size():
    doc = parse("a: &x [1, 2, 3]\nb: *x\n")
    assert doc.data == {"a": ["1", "2", "3"], "b": ["1", "2", "3"]}
    assert doc.where(("b",)) == (2, 4)


def test_undefined_alias_and_second_document_are_broken_yaml():
    with pytest.raises(InputError, match="undefined alias"):
        parse("a: *nope\n")
    with pytest.raises(InputError, match="second one") as err:
        parse("a: 1\n---\nb: 2\n")
    assert err.value.line == 2


def test_positions_of_values_and_keys():
    doc = parse("top:\n  inner: [1, 2]\n")
    assert doc.where(("top", "inner", 1)) == (2, 14)
    assert doc.key_where(("top", "inner")) == (2, 3)
