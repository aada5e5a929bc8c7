"""The Autotask filter grammar on its own: parsing, typing, SQL-like evaluation, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.autotask_query import (
    MISSING_FILTER,
    TOO_MANY_ORS,
    QueryError,
    QueryField,
    matches,
    parse_query,
    restricted_values,
)

FIELDS = {f.name.lower(): f for f in (
    QueryField("id", "integer"), QueryField("companyName", "string"), QueryField("isActive", "boolean"),
    QueryField("price", "decimal"), QueryField("startDate", "datetime"), QueryField("city", "string"),
)}

ROWS = [
    {"id": 1, "companyName": "Acme Mfg. Inc.", "isActive": True, "price": Decimal("12.50"),
     "startDate": date(2024, 1, 1), "city": "Austin"},
    {"id": 2, "companyName": "acme co.", "isActive": False, "price": Decimal("9.99"),
     "startDate": datetime(2024, 3, 1, 12, 0, tzinfo=UTC), "city": None},
    {"id": 3, "companyName": "Beta LLC", "isActive": True, "price": Decimal("100"),
     "startDate": date(2023, 12, 31), "city": ""},
]


def ids(*filters: dict, fields=FIELDS) -> list[int]:
    spec = parse_query({"filter": list(filters)}, fields, "Company")
    return [row["id"] for row in ROWS if matches(spec.where, row)]


@pytest.mark.parametrize(("flt", "expected"), [
    ({"op": "eq", "field": "companyName", "value": "ACME CO."}, [2]),
    ({"op": "noteq", "field": "companyName", "value": "acme co."}, [1, 3]),
    ({"op": "gt", "field": "id", "value": 1}, [2, 3]),
    ({"op": "gte", "field": "price", "value": 12.5}, [1, 3]),
    ({"op": "lt", "field": "startDate", "value": "2024-01-01T00:00:00Z"}, [3]),
    ({"op": "lte", "field": "startDate", "value": "2024-01-01"}, [1, 3]),
    ({"op": "beginsWith", "field": "companyName", "value": "acme"}, [1, 2]),
    ({"op": "endsWith", "field": "companyName", "value": "LLC"}, [3]),
    ({"op": "contains", "field": "companyName", "value": "MFG"}, [1]),
    ({"op": "exist", "field": "city"}, [1]),
    ({"op": "notExist", "field": "city"}, [2, 3]),
    ({"op": "in", "field": "id", "value": [1, 3, 99]}, [1, 3]),
    ({"op": "notIn", "field": "id", "value": [1]}, [2, 3]),
    ({"op": "eq", "field": "isActive", "value": False}, [2]),
    ({"op": "in", "field": "companyName", "value": ["beta llc", "nobody"]}, [3]),
    ({"op": "EQ", "Field": "COMPANYNAME", "Value": "beta llc"}, [3]),  # keys, op and field names ignore case
])
def test_each_operator(flt: dict, expected: list[int]) -> None:
    assert ids(flt) == expected


def test_and_or_nesting_and_top_level_and() -> None:
    nested = {"op": "or", "items": [
        {"op": "and", "items": [{"op": "beginsWith", "field": "companyName", "value": "acme"},
                                {"op": "eq", "field": "isActive", "value": True}]},
        {"op": "eq", "field": "id", "value": 3},
    ]}
    assert ids(nested) == [1, 3]
    assert ids(nested, {"op": "gt", "field": "price", "value": 50}) == [3]


def test_sql_null_semantics() -> None:
    # city is NULL on row 2 and empty (= NULL) on row 3: no comparison is true for them, not even noteq
    assert ids({"op": "noteq", "field": "city", "value": "Paris"}) == [1]
    assert ids({"op": "notIn", "field": "city", "value": ["Paris"]}) == [1]


@pytest.mark.parametrize(("body", "message"), [
    ({"filter": []}, MISSING_FILTER),
    ({"MaxRecords": 5}, MISSING_FILTER),
    ({"filter": {"op": "eq"}}, "'filter' must be an array"),
    ([], "must be a JSON object"),
    ({"filter": [{"op": "eq", "field": "projectID", "value": 1}]}, "Unable to find projectID in the Company Entity."),
    ({"filter": [{"op": "eq", "field": "isActive", "value": "true"}]}, "use true or false"),
    ({"filter": [{"op": "eq", "field": "isActive", "value": None}]}, "use true or false"),
    ({"filter": [{"op": "eq", "field": "id", "value": None}]}, "use the exist or notExist operator"),
    ({"filter": [{"op": "eq", "field": "id", "value": "abc"}]}, "not a whole number"),
    ({"filter": [{"op": "gt", "field": "startDate", "value": "yesterday"}]}, "not an ISO-8601"),
    ({"filter": [{"op": "in", "field": "id", "value": 3}]}, "needs an array value"),
    ({"filter": [{"op": "contains", "field": "id", "value": 3}]}, "applies to text fields only"),
    ({"filter": [{"op": "gt", "field": "isActive", "value": True}]}, "cannot be used on the boolean field"),
    ({"filter": [{"op": "eq", "field": "id"}]}, "needs a 'value'"),
    ({"filter": [{"op": "eq", "value": 1}]}, "needs a 'field'"),
    ({"filter": [{"field": "id", "value": 1}]}, "needs an 'op'"),
    ({"filter": [{"op": "or", "items": []}]}, "non-empty 'items'"),
    ({"filter": [{"op": "eq", "field": "Region", "udf": True, "value": "x"}]}, "user-defined fields"),
    ({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 0}, "between 1 and 500"),
    ({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 501}, "between 1 and 500"),
    ({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": "10"}, "whole number"),
    ({"filter": [{"op": "exist", "field": "id"}], "IncludeFields": ["nope"]}, "Unable to find nope"),
    ({"filter": [{"op": "exist", "field": "id"}], "IncludeFields": "id"}, "array of field names"),
])
def test_errors(body, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(body, FIELDS, "Company")
    assert message in str(caught.value)


def test_or_limit_counts_every_or_group() -> None:
    def ors(n: int) -> dict:
        return {"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(n)]}

    parse_query({"filter": [ors(500)]}, FIELDS, "Company")
    with pytest.raises(QueryError, match="500 or fewer 'OR' conditions") as caught:
        parse_query({"filter": [ors(300), {"op": "and", "items": [ors(201)]}]}, FIELDS, "Company")
    assert str(caught.value) == TOO_MANY_ORS


def test_unknown_operator_is_dropped_like_the_live_api_when_asked() -> None:
    spec = parse_query({"filter": [{"op": "ne", "field": "id", "value": 1}]}, FIELDS, "Company",
                       drop_unknown_operators=True)
    assert [row["id"] for row in ROWS if matches(spec.where, row)] == [1, 2, 3]
    # inside a group too: an `or` of unknown operators narrows nothing, the known condition still applies
    spec = parse_query({"filter": [{"op": "or", "items": [{"op": "ne", "field": "id", "value": 1}]},
                                   {"op": "eq", "field": "id", "value": 2}]}, FIELDS, "Company",
                       drop_unknown_operators=True)
    assert [row["id"] for row in ROWS if matches(spec.where, row)] == [2]


def test_unknown_operator_is_an_error_by_default() -> None:
    with pytest.raises(QueryError, match="'ne' is not a valid filter operator"):
        parse_query({"filter": [{"op": "ne", "field": "id", "value": 1}]}, FIELDS, "Company")


def test_query_model_keys_and_include_fields_are_case_insensitive() -> None:
    spec = parse_query({"Filter": [{"op": "exist", "field": "id"}], "maxrecords": 7,
                        "includefields": ["ID", "companyname", "id"]}, FIELDS, "Company")
    assert spec.max_records == 7
    assert spec.include_fields == ("id", "companyName")


def test_restricted_values_reads_top_level_eq_and_in_only() -> None:
    spec = parse_query({"filter": [
        {"op": "and", "items": [{"op": "in", "field": "id", "value": [1, 2, 3]}]},
        {"op": "eq", "field": "id", "value": 2},
        {"op": "or", "items": [{"op": "eq", "field": "city", "value": "x"}]},
    ]}, FIELDS, "Company")
    assert restricted_values(spec, "id") == {2}
    assert restricted_values(spec, "city") is None


names = st.text(alphabet="abcAB .", min_size=0, max_size=6)


@given(value=names, rows=st.lists(st.one_of(st.none(), names), max_size=6))
def test_noteq_is_eq_negated_for_non_null_rows(value: str, rows: list[str | None]) -> None:
    eq = parse_query({"filter": [{"op": "eq", "field": "city", "value": value}]}, FIELDS, "Company")
    noteq = parse_query({"filter": [{"op": "noteq", "field": "city", "value": value}]}, FIELDS, "Company")
    for city in rows:
        row = {"city": city}
        if city:
            assert matches(eq.where, row) != matches(noteq.where, row)
        else:
            assert not matches(noteq.where, row)


@given(wanted=st.lists(st.integers(0, 5), min_size=1, max_size=5), actual=st.integers(0, 5))
def test_in_equals_an_or_of_eqs(wanted: list[int], actual: int) -> None:
    as_in = parse_query({"filter": [{"op": "in", "field": "id", "value": wanted}]}, FIELDS, "Company")
    as_or = parse_query({"filter": [{"op": "or", "items": [{"op": "eq", "field": "id", "value": v}
                                                            for v in wanted]}]}, FIELDS, "Company")
    assert matches(as_in.where, {"id": actual}) == matches(as_or.where, {"id": actual}) == (actual in wanted)
