"""The ConnectWise `conditions` grammar on its own: tokens, parse errors, typing, evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.connectwise_conditions import (
    ConditionsError,
    like_pattern,
    parse_conditions,
    parse_field_list,
    tokenize,
)

SCHEMA = {
    "id": "number",
    "name": "string",
    "note": "string",
    "count": "number",
    "active": "boolean",
    "when": "datetime",
    "company/id": "number",
    "company/name": "string",
    "_info/lastUpdated": "datetime",
}
ALIASES = {"lastUpdated": "_info/lastUpdated"}

RECORDS = [
    {"id": 1, "name": "Acme Inc", "count": 10, "active": True, "when": "2026-01-01T00:00:00Z",
     "company": {"id": 7, "name": "Acme"}, "_info": {"lastUpdated": "2026-02-01T10:00:00Z"}},
    {"id": 2, "name": 'Smith "Quoted" LLC', "note": "vip", "count": 2.5, "active": False,
     "when": "2026-03-01T00:00:00Z", "company": {"id": 8, "name": "Smith"},
     "_info": {"lastUpdated": "2025-12-31T23:59:59Z"}},
    {"id": 3, "name": "Gamma [Labs]", "note": "back\\slash", "count": 0, "active": True,
     "company": {"id": 7, "name": "Acme"}, "_info": {"lastUpdated": "2026-02-15T00:00:00Z"}},
]


def ids(conditions: str) -> list[int]:
    condition = parse_conditions(conditions, SCHEMA, ALIASES)
    return [r["id"] for r in RECORDS if condition.matches(r)]


@pytest.mark.parametrize(("conditions", "expected"), [
    ('name = "Acme Inc"', [1]),
    ('name = "acme inc"', [1]),  # SQL Server's default collation ignores case
    ('name != "Acme Inc"', [2, 3]),
    ("id < 2", [1]),
    ("id <= 2", [1, 2]),
    ("id > 2", [3]),
    ("id >= 2", [2, 3]),
    ("count > 2", [1, 2]),
    ("count = 2.5", [2]),
    ("count >= -1", [1, 2, 3]),
    ('name like "Ac*"', [1]),
    ('name like "%inc"', [1]),
    ('name like "Acme_Inc"', [1]),
    ('name like "*[[]Labs]"', [3]),
    ('name like "[AG]*"', [1, 3]),
    ('name like "[^A]*"', [2, 3]),
    ('name not like "Ac*"', [2, 3]),
    ('name contains "quoted"', [2]),
    ('name not contains "quoted"', [1, 3]),
    ("id in (1,3)", [1, 3]),
    ("id not in (1, 3)", [2]),
    ('name in ("acme inc", "Gamma [Labs]")', [1, 3]),
    ("active = True", [1, 3]),
    ("active = false", [2]),
    ("active != TRUE", [2]),
    ("when = null", [3]),
    ("when != null", [1, 2]),
    ("note = null", [1]),
    ('note != "vip"', [3]),  # a null note fails != as NULL does in SQL
    ('note not contains "v"', [3]),
    ("when > [2026-02-01T00:00:00Z]", [2]),
    ("when < [2026-02-01]", [1]),
    ("lastUpdated > [2026-01-01T00:00:00Z]", [1, 3]),
    ("_info/lastUpdated <= [2025-12-31T23:59:59Z]", [2]),
    ("company/id = 7", [1, 3]),
    ('company/name = "Smith"', [2]),
    ('name = "Smith \\"Quoted\\" LLC"', [2]),
    ('note = "back\\\\slash"', [3]),
    ('note = "back\\slash"', [3]),  # a lone backslash stays a backslash
    ("company/id = 7 and active = True", [1, 3]),
    ("company/id = 8 or id = 1", [1, 2]),
    ("id = 1 or id = 2 and active = True", [1]),  # and binds tighter than or
    ("(id = 1 or id = 2) and active = True", [1]),
    ("(id = 1 or id = 2) and (active = False or count = 10)", [1, 2]),
    ("((id = 3))", [3]),
    ("id = 1 AND active = True OR id = 3", [1, 3]),
    ('NAME = "x" or id = 1'.replace("NAME", "name"), [1]),
    ("", [1, 2, 3]),
])
def test_operators_and_combinations(conditions: str, expected: list[int]) -> None:
    assert ids(conditions) == expected


@pytest.mark.parametrize(("conditions", "fragment"), [
    ('nam = "x"', "Unknown field 'nam'"),
    ('Name = "x"', "did you mean name"),
    ("company = 7", "company is an object"),
    ('name = "open', "Unterminated string"),
    ("when > [2026-01-01", "Unterminated datetime"),
    ("when > [yesterday]", "Invalid datetime"),
    ("id = ", "Expected a value"),
    ("id 5", "Expected an operator"),
    ("id = 1 and", "Expected a field name"),
    ("id = 1 id = 2", "Expected 'and', 'or'"),
    ("(id = 1", "Expected ')'"),
    ("id = 1)", "Expected 'and', 'or'"),
    ("id ! 1", "'!' must be followed by '='"),
    ("id = 1 # 2", "Unexpected character '#'"),
    ('id = "1"', "id is a number field"),
    ("name = 1", "name is a string field"),
    ("active = 1", "active is a boolean field"),
    ('when > "2026-01-01"', "when is a datetime field"),
    ("active > True", "boolean field: use = or !="),
    ("id like 1", "'like' applies to text fields"),
    ("name like 1", "needs a quoted string"),
    ("id < null", "null can only be compared with = or !="),
    ("id in 1", "parenthesised list"),
    ("id in (1 2)", "Expected ',' or ')'"),
    ("id in (1, null)", "null cannot appear"),
    ('id in (1, "2")', "id is a number field"),
    ("name not = 1", "'not' must be followed by like, contains or in"),
])
def test_errors_name_the_problem(conditions: str, fragment: str) -> None:
    with pytest.raises(ConditionsError) as caught:
        parse_conditions(conditions, SCHEMA, ALIASES)
    assert fragment in str(caught.value)
    assert caught.value.position is not None


def test_tokens_keep_positions_and_decode_values() -> None:
    tokens = tokenize('a/b >= -1.5 and c in ("x\\"y", [2026-01-02T03:04:05Z])')
    assert [(t.kind, t.position) for t in tokens[:4]] == [("word", 0), ("operator", 4), ("number", 7), ("word", 12)]
    assert tokens[2].value == Decimal("-1.5")
    assert tokens[7].value == 'x"y'
    assert tokens[9].value == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_like_pattern_is_sql_server_like() -> None:
    assert like_pattern("a*c").fullmatch("ABBC")
    assert like_pattern("a_c").fullmatch("abc") and not like_pattern("a_c").fullmatch("abbc")
    assert like_pattern("[[]x]").fullmatch("[x]")
    assert like_pattern("[a-c]z").fullmatch("bz") and not like_pattern("[a-c]z").fullmatch("dz")
    assert like_pattern("a.b").fullmatch("a.b") and not like_pattern("a.b").fullmatch("axb")


def test_field_lists() -> None:
    assert parse_field_list("id, name,company/id,company", SCHEMA) == ["id", "name", "company/id", "company"]
    with pytest.raises(ConditionsError, match="Unknown field 'nope' in fields"):
        parse_field_list("id,nope", SCHEMA)


# --- property: the parser agrees with a plain Python filter ------------------------------------
TEXT = st.text(alphabet='aAbB "\\\'', max_size=6)
NUMBER = st.integers(min_value=-5, max_value=5)
MOMENT = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))

RECORD = st.fixed_dictionaries({
    "id": NUMBER, "name": TEXT, "note": st.none() | TEXT, "active": st.booleans(), "when": st.none() | MOMENT,
})


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stamp(moment: datetime) -> str:
    return f"[{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}]"


def _fold(value):
    return value.casefold() if isinstance(value, str) else value


COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


@st.composite
def leaves(draw):
    """(conditions text, python predicate over a record) for one comparison."""
    field = draw(st.sampled_from(["id", "name", "note", "active", "when"]))
    if field == "active":
        op, value = draw(st.sampled_from(["=", "!="])), draw(st.booleans())
        return f"{field} {op} {value}", lambda r: COMPARE[op](r[field], value)
    if field in ("note", "when") and draw(st.booleans()):
        op = draw(st.sampled_from(["=", "!="]))
        return f"{field} {op} null", lambda r: (r[field] is None) == (op == "=")
    if field == "id":
        kind = draw(st.sampled_from(["compare", "in"]))
        if kind == "in":
            values, negated = draw(st.lists(NUMBER, min_size=1, max_size=3)), draw(st.booleans())
            text = f"{field} {'not in' if negated else 'in'} ({', '.join(map(str, values))})"
            return text, lambda r: (r[field] in values) != negated
        op, value = draw(st.sampled_from(list(COMPARE))), draw(NUMBER)
        return f"{field} {op} {value}", lambda r: COMPARE[op](r[field], value)
    if field == "when":
        op, value = draw(st.sampled_from(list(COMPARE))), draw(MOMENT)
        return f"{field} {op} {stamp(value)}", lambda r: r[field] is not None and COMPARE[op](r[field], value)
    kind = draw(st.sampled_from(["compare", "contains", "prefix", "infix", "in"]))
    value, negated = draw(TEXT), draw(st.booleans())
    word = "not " if negated else ""
    if kind == "compare":
        op = draw(st.sampled_from(list(COMPARE)))
        return (f"{field} {op} {quote(value)}",
                lambda r: r[field] is not None and COMPARE[op](_fold(r[field]), _fold(value)))
    if kind == "in":
        values = [value, *draw(st.lists(TEXT, max_size=2))]
        return (f"{field} {word}in ({', '.join(map(quote, values))})",
                lambda r: r[field] is not None and (_fold(r[field]) in [_fold(v) for v in values]) != negated)
    if kind == "contains":
        return (f"{field} {word}contains {quote(value)}",
                lambda r: r[field] is not None and (_fold(value) in _fold(r[field])) != negated)
    pattern = value + "*" if kind == "prefix" else "*" + value + "*"
    test = (lambda s: s.startswith(_fold(value))) if kind == "prefix" else (lambda s: _fold(value) in s)
    return (f"{field} {word}like {quote(pattern)}",
            lambda r: r[field] is not None and test(_fold(r[field])) != negated)


def trees(depth: int = 2):
    if depth == 0:
        return leaves()

    @st.composite
    def combined(draw):
        parts = draw(st.lists(trees(depth - 1), min_size=1, max_size=3))
        joiner = draw(st.sampled_from(["and", "or", "AND", "Or"]))
        text = f" {joiner} ".join(f"({t})" for t, _ in parts)
        predicates = [p for _, p in parts]
        if joiner.lower() == "and":
            return text, lambda r: all(p(r) for p in predicates)
        return text, lambda r: any(p(r) for p in predicates)

    return st.one_of(leaves(), combined())


@settings(max_examples=300, deadline=None)
@given(tree=trees(), records=st.lists(RECORD, min_size=1, max_size=6))
def test_conditions_match_a_python_filter(tree, records) -> None:
    text, predicate = tree
    serialised = [{**r, "when": r["when"] and r["when"].strftime("%Y-%m-%dT%H:%M:%SZ")} for r in records]
    condition = parse_conditions(text, SCHEMA, ALIASES)
    assert [condition.matches(s) for s in serialised] == [predicate(r) for r in records], text
