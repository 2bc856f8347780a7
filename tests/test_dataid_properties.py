"""Property-based tests of the ``--id`` grammar (hypothesis, a bounded number of examples).

- Any text at all given as ``--id`` tokens either parses or raises :class:`DataIdError`;
  a parsed query always runs against a registry.
- Queries built from random values, ranges and steps select, through SQL, exactly the
  data IDs a plain Python matcher of the same values picks (and ``IdQuery.matches``
  agrees), also past the sizes where the SQL changes form (many alternatives).
"""

from __future__ import annotations

import itertools

import pytest
from _shared_data import makeEmptyRepo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipetask import Butler
from pipetask.dataid import parseId
from pipetask.errors import DataIdError

SYNTH = {"visit": int, "ccd": int}
INT64 = (-(2**63), 2**63 - 1)
VISITS = [*range(-3, 60), INT64[0], INT64[1], 2**62, -(2**62)]
CCDS = range(0, 5)
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A synth registry of the VISITS x CCDS data IDs (rows only)."""
    root = makeEmptyRepo(tmp_path_factory.mktemp("grid") / "repo")
    butler = Butler(root)
    rows = sorted(itertools.product(VISITS, CCDS))
    butler.output.registry.insertMany("raw", rows, lambda r: f"raw/v{r[0]}/r_{r[0]}_{r[1]}.fits")
    yield butler, rows
    butler.close()


# -- any text --------------------------------------------------------------------------
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("=^.:-+0123456789 "), max_size=30)
SURROGATES = st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1)
TOKEN = st.one_of(
    TEXT,
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["visit", "ccd", "filter", ""]), TEXT),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["visit", "ccd"]), SURROGATES),
    st.builds(lambda d: f"visit={'9' * d}", st.integers(18, 5000)),
    st.builds(lambda d: f"visit=1..{'9' * d}", st.integers(18, 5000)),
)


@EXAMPLES
@given(tokens=st.lists(TOKEN, max_size=4))
def test_any_tokens_parse_or_raise_the_projects_error(grid, tokens):
    butler, rows = grid
    try:
        query = parseId(tokens, SYNTH)
    except DataIdError as exc:
        assert str(exc)  # a message; no other exception type may escape
        return
    selected = butler.queryDataIds("raw", query)
    assert selected == [r for r in rows if query.matches(dict(zip(SYNTH, r, strict=True)))]


# -- structured queries against a plain matcher -----------------------------------------
VALUE = st.sampled_from(VISITS) | st.integers(INT64[0], INT64[1])
RANGE = st.builds(
    lambda a, b, step: (min(a, b), max(a, b), step),
    VALUE,
    VALUE,
    st.integers(1, 9) | st.integers(1, INT64[1]),
)
SMALL_RANGE = st.builds(
    lambda a, n, step: (a, a + n, step), st.integers(-5, 60), st.integers(0, 8), st.integers(1, 4)
)
# Past 32 values or ranges of one key the SQL passes them as a JSON array: draw both sizes.
MANY_VALUES = st.lists(st.integers(-5, 70), min_size=33, max_size=200)
MANY_RANGES = st.builds(
    lambda values, ranges: values + ranges,
    st.lists(st.integers(-5, 70), max_size=50),
    st.lists(SMALL_RANGE, min_size=33, max_size=120),
)
ALTERNATIVES = (
    st.lists(VALUE | RANGE | SMALL_RANGE, min_size=1, max_size=6) | MANY_VALUES | MANY_RANGES
)


def _text(alternatives) -> str:
    return "^".join(
        str(a) if isinstance(a, int) else f"{a[0]}..{a[1]}:{a[2]}" for a in alternatives
    )


def _plainMatch(alternatives, value: int) -> bool:
    for a in alternatives:
        if isinstance(a, int):
            if value == a:
                return True
        elif a[0] <= value <= a[1] and (value - a[0]) % a[2] == 0:
            return True
    return False


@EXAMPLES
@given(visit=st.none() | ALTERNATIVES, ccd=st.none() | ALTERNATIVES)
def test_sql_selection_agrees_with_a_plain_matcher(grid, visit, ccd):
    butler, rows = grid
    tokens = []
    if visit is not None:
        tokens.append(f"visit={_text(visit)}")
    if ccd is not None:
        tokens.append(f"ccd={_text(ccd)}")
    expected = [
        r
        for r in rows
        if (visit is None or _plainMatch(visit, r[0])) and (ccd is None or _plainMatch(ccd, r[1]))
    ]
    query = parseId(tokens, SYNTH)
    assert butler.queryDataIds("raw", query) == expected
    assert [r for r in rows if query.matches(dict(zip(SYNTH, r, strict=True)))] == expected
