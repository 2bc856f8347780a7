"""The --id grammar (SPEC section 4): every form, every error, and selection by SQL."""

from __future__ import annotations

import itertools
import logging

import pytest
from _shared_data import makeEmptyRepo
from pipetask import Butler
from pipetask.dataid import IdQuery, Range, parseId, selectDataIds
from pipetask.errors import DataIdError

KEYS = {"visit": int, "filter": str}
SYNTH = {"visit": int, "ccd": int}


def test_single_values_are_typed():
    query = parseId(["visit=3", "filter=g"], KEYS)
    assert [(t.key, t.values, t.ranges) for t in query.terms] == [
        ("visit", (3,), ()),
        ("filter", ("g",), ()),
    ]
    assert isinstance(query.terms[0].values[0], int)


def test_alternatives_ranges_steps_and_mixed():
    (visit,) = parseId(["visit=1..3^7^10..20:5"], KEYS).terms
    assert visit.values == (7,)
    assert visit.ranges == (Range(1, 3, 1), Range(10, 20, 5))
    (filt,) = parseId(["filter=g^r"], KEYS).terms
    assert filt.values == ("g", "r")


def test_range_membership_is_inclusive_with_step():
    rng = parseId(["visit=1..9:2"], KEYS).terms[0].ranges[0]
    assert [v for v in range(-2, 13) if v in rng] == list(range(1, 10, 2))


def test_commas_are_literal():
    (term,) = parseId(["filter=7,7"], KEYS).terms
    assert term.values == ("7,7",)


def test_no_tokens_selects_everything():
    query = parseId([], KEYS)
    assert query.terms == ()
    assert query.where() == ("1", [])


def test_sql_uses_between_modulo_and_in_not_expanded_lists():
    where, params = parseId(["visit=1..1000000:7^5", "filter=g^r"], KEYS).where()
    assert "BETWEEN" in where and "%" in where and "IN" in where
    assert len(params) < 10  # a range is never expanded into its values


@pytest.mark.parametrize(
    ("tokens", "fragment"),
    [
        (["foo=1"], "unknown data ID key 'foo' in --id; valid keys: visit, filter"),
        (["visit=abc"], "bad value 'abc' for data ID key visit (expected int)"),
        (["visit=1.5"], "bad value '1.5' for data ID key visit (expected int)"),
        (["visit=3..1"], "reversed range '3..1'"),
        (["visit=1..9:0"], "step 0 in range '1..9:0'"),
        (["visit=1..9:-2"], "step -2 in range '1..9:-2'"),
        (["visit=1", "visit=2"], "key 'visit' appears twice in one --id"),
        (["visit"], "--id token 'visit' has no '='"),
        (["visit="], "no value for visit"),
        (["visit=1^"], "empty value"),
        (["filter=1..3"], "ranges need an int key, filter is str"),
        (["visit=1..x"], "bad range '1..x'"),
    ],
)
def test_errors_name_the_problem(tokens, fragment):
    with pytest.raises(DataIdError) as info:
        parseId(tokens, KEYS)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "value", ["../etc", "a/b", "..", ".hidden", "a\\b", "x\x00y", "tab\there", "a..b", "x" * 300]
)
def test_values_that_could_escape_the_repository_are_rejected(value):
    with pytest.raises(DataIdError, match="not allowed"):
        parseId([f"filter={value}"], KEYS)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A synth registry of visits 1..40 x ccds 0..5 (rows only) and the list of its IDs."""
    root = makeEmptyRepo(tmp_path_factory.mktemp("grid") / "repo")
    butler = Butler(root)
    rows = list(itertools.product(range(1, 41), range(6)))
    registry = butler.output.registry
    registry.insertMany("raw", rows, lambda r: f"raw/v{r[0]}/raw_v{r[0]}_c{r[1]}.fits")
    yield butler, rows
    butler.close()


def _expected(rows, predicate):
    return [{"visit": v, "ccd": c} for v, c in rows if predicate(v, c)]


@pytest.mark.parametrize(
    ("tokens", "predicate"),
    [
        (["visit=3"], lambda v, c: v == 3),
        (["visit=3^5", "ccd=2"], lambda v, c: v in (3, 5) and c == 2),
        (["visit=2..6"], lambda v, c: 2 <= v <= 6),
        (["visit=1..40:7", "ccd=3^5"], lambda v, c: (v - 1) % 7 == 0 and c in (3, 5)),
        (["visit=1..3^30"], lambda v, c: v <= 3 or v == 30),
        (["ccd=0^4^5"], lambda v, c: c in (0, 4, 5)),
        ([], lambda v, c: True),
    ],
)
def test_selection_matches_a_plain_python_filter(grid, tokens, predicate):
    butler, rows = grid
    assert selectDataIds(butler, [tokens]) == _expected(rows, predicate)


def test_several_ids_union_without_duplicates_in_stable_order(grid):
    butler, rows = grid
    got = selectDataIds(butler, [["visit=5", "ccd=1"], ["visit=2^5", "ccd=1^2"], ["visit=5"]])
    first = _expected(rows, lambda v, c: v == 5 and c == 1)
    second = _expected(rows, lambda v, c: v in (2, 5) and c in (1, 2))
    third = _expected(rows, lambda v, c: v == 5)
    expected = []
    for dataId in first + second + third:
        if dataId not in expected:
            expected.append(dataId)
    assert got == expected
    assert len({tuple(d.values()) for d in got}) == len(got)


def test_one_sql_query_per_id(grid):
    butler, _ = grid
    conn = butler.output.registry.conn
    statements = []
    conn.set_trace_callback(statements.append)
    try:
        selectDataIds(butler, [["visit=1..9:2"], ["ccd=3"], []])
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3
    assert '"visit" BETWEEN 1 AND 9 AND "visit" % 2 IN (1, -1)' in selects[0]


def test_no_match_warns_and_returns_nothing(grid, caplog):
    butler, _ = grid
    with caplog.at_level(logging.WARNING, logger="pipetask.dataid"):
        assert selectDataIds(butler, [["visit=999"]]) == []
    assert "no data found for --id visit=999" in caplog.text


def test_no_id_at_all_warns_and_selects_nothing(grid, caplog):
    butler, _ = grid
    with caplog.at_level(logging.WARNING, logger="pipetask.dataid"):
        assert selectDataIds(butler, None) == []
    assert "no --id given" in caplog.text


def test_errors_surface_through_the_butler(grid):
    butler, _ = grid
    with pytest.raises(DataIdError, match="valid keys: visit, ccd"):
        selectDataIds(butler, [["filter=g"]])


def test_query_matches_agrees_with_sql(grid):
    butler, rows = grid
    query: IdQuery = parseId(["visit=4..30:3^1", "ccd=1..4:2"], SYNTH)
    expected = [{"visit": v, "ccd": c} for v, c in rows if query.matches({"visit": v, "ccd": c})]
    assert selectDataIds(butler, [["visit=4..30:3^1", "ccd=1..4:2"]]) == expected
    assert expected  # the expression does select something


@pytest.mark.parametrize("form", ["values", "ranges", "stepped", "mixed"])
@pytest.mark.parametrize("count", [999, 1000, 5000, 100_000])
def test_any_number_of_alternatives_on_one_key(grid, form, count):
    butler, rows = grid
    visits = range(-count // 2, count - count // 2)
    alternatives = {
        "values": [str(v) for v in visits],
        "ranges": [f"{v}..{v}" for v in visits],
        "stepped": [f"{v}..{v + 3}:3" for v in visits],
        "mixed": [str(v) if v % 2 else f"{v}..{v}" for v in visits],
    }[form]
    alternatives.append("7..9")  # so that the largest lists still select something known
    tokens = ["visit=" + "^".join(alternatives), "ccd=1^3"]
    want = set(visits) | {7, 8, 9}
    if form == "stepped":
        want |= {v + 3 for v in visits}
    expected = [{"visit": v, "ccd": c} for v, c in rows if v in want and c in (1, 3)]
    assert selectDataIds(butler, [tokens]) == expected
    assert expected


def test_many_alternatives_through_the_cli(grid):
    import subprocess
    import sys
    from pathlib import Path

    butler, _ = grid
    pipetask = str(Path(sys.executable).parent / "pipetask")
    token = "visit=" + "^".join(str(v) for v in range(3, 5003, 5))  # 1,000 alternatives
    result = subprocess.run(
        [
            pipetask,
            "run",
            "exampleTask",
            str(butler.root),
            "--id",
            token,
            "ccd=2",
            "--show",
            "data",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shown = [line for line in result.stdout.splitlines() if "visit" in line]
    assert len(shown) == 8, result.stdout  # visits 3, 8, ..., 38 of the 40
