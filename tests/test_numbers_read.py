"""numbers_read.plain_row, the fast path for rows of plain decimals, against `plain` entry by entry.

An answer of 100,000 numbers is read row by row at once; every row it takes must
read exactly as `plain` reads each of its entries (value, unit of the last decimal,
-0 as 0), and any row holding something else must be left to the entry-by-entry path.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check.exact import MAX_NUMBER_CHARS, NumberError
from backprop_check.numbers_read import plain, plain_row

digits = st.text(alphabet="0123456789", max_size=12)
plain_texts = st.builds(lambda sign, whole, point, places: sign + whole + point + places,
                        st.sampled_from(["", "-", "+"]), digits, st.sampled_from(["", "."]), digits
                        ).filter(lambda t: any(c.isdigit() for c in t))
others = st.sampled_from(["1e5", "nan", "inf", " 1", "1 ", "1_0", "", ".", "-", "3/4", "1\n2", "٣", "0x10",
                          "1.2.3", "--1", "+-1", "1,5", "½"]) | st.text(max_size=6)


def _plain(text):
    try:
        return plain(text)
    except (NumberError, OverflowError, ValueError):
        return None


@settings(max_examples=400)
@given(st.lists(plain_texts, min_size=1, max_size=30))
def test_a_row_of_plain_decimals_reads_as_entry_by_entry(row):
    values, units = plain_row(row)
    expected = [plain(t) for t in row]
    assert values == [v for v, _ in expected] and units == [u for _, u in expected]
    assert [str(v) for v in values] == [str(v) for v, _ in expected]  # -0 read as 0 both ways


@settings(max_examples=400)
@given(st.lists(plain_texts | others, min_size=1, max_size=8))
def test_a_row_it_takes_is_one_plain_takes_entry_by_entry(row):
    taken = plain_row(row)
    if taken is not None:
        assert list(zip(*taken)) == [plain(t) for t in row]
    if any(_plain(t) is None for t in row):
        assert taken is None


def test_what_it_leaves_to_the_entry_by_entry_path():
    assert plain_row(["0.25", "1e5"]) is None  # an exponent
    assert plain_row(["1\n2", "3"]) is None  # a newline inside an entry must not pass as two lines
    assert plain_row(["0.25", 1]) is None  # not all text
    assert plain_row(["1" * (MAX_NUMBER_CHARS + 1)]) is None  # too long: refused with its message there
    assert plain_row(["-0.0", "0.0050", "3", "-.5", "5."]) == ([0.0, 0.005, 3.0, -0.5, 5.0], [0.0, 1e-4, 0.0, 0.0, 0.0])
