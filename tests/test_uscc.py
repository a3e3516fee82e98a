"""统一社会信用代码: our check character against python-stdnum's independent implementation (cn.uscc).

python-stdnum also requires the first eight characters to be digits; GB 32100-2015 allows a letter as the
登记管理部门代码 (A 中央军委改革和编制办公室, N 农业, Y 其他), so nianbao accepts those and the
comparison of validity is made on codes whose first eight characters are digits.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from nianbao.schemas.uscc import ALPHABET, check_character, complete, problem

# the first character: 登记管理部门代码 (1 机构编制, 5 民政, 9 工商, Y 其他 …), the second: 机构类别
_BODY = st.tuples(
    st.sampled_from("123456789ANY"), st.sampled_from("123459"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_BODY)
def test_check_character_agrees_with_stdnum(first17):
    assert check_character(first17) == stdnum_uscc.calc_check_digit(first17)
    code = complete(first17)
    assert problem(code) is None
    assert stdnum_uscc.is_valid(code) == first17[:8].isdigit()


@settings(max_examples=300, deadline=None)
@given(_BODY, st.sampled_from(ALPHABET))
def test_a_wrong_check_character_is_refused_by_both(first17, last):
    code = first17 + last
    if first17[:8].isdigit():
        assert (problem(code) is None) == stdnum_uscc.is_valid(code)
    else:
        assert (problem(code) is None) == (last == stdnum_uscc.calc_check_digit(first17))


@pytest.mark.parametrize("code", ["91500000MA5U4D8X3E", "91110000802100433B", "11500237MB1234567"])
def test_known_codes(code):
    assert (problem(code) is None) == stdnum_uscc.is_valid(code)


def test_any_seventeen_characters():
    rng = random.Random(0)
    for _ in range(100):
        first17 = "".join(rng.choice(ALPHABET) for _ in range(17))
        assert check_character(first17) == stdnum_uscc.calc_check_digit(first17)
