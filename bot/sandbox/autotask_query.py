"""The Autotask REST query grammar: parse a QueryModel (filter, MaxRecords, IncludeFields) and evaluate it.

What the real API does, and where we learned it:
- QueryModel keys and filter-item keys (`op`, `field`, `value`, `udf`, `items`) are matched
  case-insensitively; field names too. Top-level filter entries are ANDed. [doc: REST_Basic_Query_Calls]
- Operators eq, noteq, gt, gte, lt, lte, beginsWith, endsWith, contains, exist, notExist, in, notIn;
  grouping with and/or + items. Booleans must be literal true/false; anything else, null included, is an
  error. [doc: REST_Basic_Query_Calls]
- A query without filters is rejected with HTTP 500 "Value cannot be null.\\r\\nParameter name: filters"
  [issue: Servosity/msp-skills#257, the live API's reply quoted verbatim].
- A filter on a field the entity does not have is HTTP 500 "Unable to find projectID in the TimeEntry
  Entity" [PR: WYRE-AI/autotask-mcp#282, verified live]; we use the same sentence.
- An unknown operator (e.g. `ne`) is silently DROPPED by the live API, which then returns everything
  [PR: WYRE-AI/autotask-mcp#211 / issue #193]. `drop_unknown_operators=True` does the same (a group left
  with no condition matches every row, and a filter whose every condition was dropped returns everything,
  the live report); by default the simulator refuses the operator with an errors[] body instead: the
  simulators' public contract (acceptance check 03) asks for that loud failure, and it turns a typo in a
  query into a failing test rather than a whole-table read.
  SeatSync's own guard is in the connector (bot/connectors/psa/autotask/records.check_operators).
- At most 500 'OR' conditions: "Invalid query syntax. Queries are limited to 500 or fewer 'OR'
  conditions." [doc: SOAP_Thresholds_Limits; assumed for REST]. We count the children of every `or` group.
- MaxRecords accepts 1..500 [doc][client: n8n]; the error wording for values outside it is ours.

Simulator choices (not documented by the vendor):
- Autotask is SQL Server backed with case-insensitive collation, so string comparisons (eq, in, gt...,
  contains...) ignore case. NULL semantics follow SQL: every comparison with a NULL field, noteq and notIn
  included, is false; empty strings count as NULL for exist/notExist.
- beginsWith/endsWith/contains apply to string fields only; eq with a null value is an error (use exist).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FieldKind = Literal["integer", "decimal", "string", "boolean", "datetime"]

MAX_PAGE = 500
MAX_OR_CONDITIONS = 500
MISSING_FILTER = "Value cannot be null.\r\nParameter name: filters"
TOO_MANY_ORS = "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."

COMPARISONS = {"eq", "noteq", "gt", "gte", "lt", "lte", "beginswith", "endswith", "contains"}
PRESENCE = {"exist", "notexist"}
LISTS = {"in", "notin"}
GROUPS = {"and", "or"}
STRING_ONLY = {"beginswith", "endswith", "contains"}


class QueryError(ValueError):
    """A query the API refuses; the message is what goes into `errors[]`."""


@dataclass(frozen=True)
class QueryField:
    name: str  # canonical camelCase name
    kind: FieldKind


@dataclass(frozen=True)
class Comparison:
    op: str  # lower-case operator name
    field: str  # canonical field name
    value: Any = None  # coerced to the field's kind; a tuple for in/notIn


@dataclass(frozen=True)
class Group:
    op: Literal["and", "or"]
    items: tuple[Comparison | Group, ...]


Condition = Comparison | Group


@dataclass(frozen=True)
class QuerySpec:
    where: Group
    max_records: int = MAX_PAGE
    include_fields: tuple[str, ...] | None = None


def parse_query(
    body: Any,
    fields: Mapping[str, QueryField],
    entity_label: str,
    *,
    drop_unknown_operators: bool = False,
) -> QuerySpec:
    """Parse a QueryModel. `fields` maps lower-case field names to their definitions."""
    if not isinstance(body, dict):
        raise QueryError("The query must be a JSON object with a 'filter' array.")
    keys = {str(k).lower(): v for k, v in body.items()}
    raw_filter = keys.get("filter")
    if raw_filter is None or raw_filter == []:
        raise QueryError(MISSING_FILTER)
    if not isinstance(raw_filter, list):
        raise QueryError("'filter' must be an array of filter expressions.")
    parser = _FilterParser(fields, entity_label, drop_unknown_operators)
    items = tuple(c for c in (parser.condition(item) for item in raw_filter) if c is not None)
    if parser.or_conditions > MAX_OR_CONDITIONS:
        raise QueryError(TOO_MANY_ORS)
    return QuerySpec(
        where=Group("and", items),
        max_records=_max_records(keys.get("maxrecords")),
        include_fields=_include_fields(keys.get("includefields"), fields, entity_label),
    )


def unknown_field(field: str, entity_label: str) -> QueryError:
    return QueryError(f"Unable to find {field} in the {entity_label} Entity.")


def _max_records(raw: Any) -> int:
    if raw is None:
        return MAX_PAGE
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise QueryError(f"MaxRecords must be a whole number between 1 and {MAX_PAGE}.")
    if not 1 <= raw <= MAX_PAGE:
        raise QueryError(f"MaxRecords must be between 1 and {MAX_PAGE}; {raw} was requested.")
    return raw


def _include_fields(raw: Any, fields: Mapping[str, QueryField], entity_label: str) -> tuple[str, ...] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise QueryError("IncludeFields must be an array of field names.")
    names: list[str] = []
    for name in raw:
        definition = fields.get(name.lower())
        if definition is None:
            raise unknown_field(name, entity_label)
        if definition.name not in names:
            names.append(definition.name)
    return tuple(names)


class _FilterParser:
    def __init__(self, fields: Mapping[str, QueryField], entity_label: str, drop_unknown: bool) -> None:
        self.fields = fields
        self.entity_label = entity_label
        self.drop_unknown = drop_unknown
        self.or_conditions = 0

    def condition(self, raw: Any) -> Condition | None:
        if not isinstance(raw, dict):
            raise QueryError("Each filter expression must be a JSON object with 'op'.")
        item = {str(k).lower(): v for k, v in raw.items()}
        op = item.get("op")
        if not isinstance(op, str) or not op:
            raise QueryError("Each filter expression needs an 'op'.")
        op_text, op = op, op.lower()
        if op in GROUPS:
            return self._group(op, item.get("items"))
        if op not in COMPARISONS | PRESENCE | LISTS:
            if self.drop_unknown:
                return None
            raise QueryError(f"'{op_text}' is not a valid filter operator. Valid operators: eq, noteq, gt, "
                             "gte, lt, lte, beginsWith, endsWith, contains, exist, notExist, in, notIn, and, or.")
        name = item.get("field")
        if not isinstance(name, str) or not name:
            raise QueryError(f"The '{op}' filter expression needs a 'field'.")
        if item.get("udf") is True:
            label = self.entity_label
            raise QueryError(f"Unable to find {name} in the {label} Entity's user-defined fields.")
        definition = self.fields.get(name.lower())
        if definition is None:
            raise unknown_field(name, self.entity_label)
        if op in PRESENCE:
            return Comparison(op, definition.name)
        if op in LISTS:
            values = item.get("value")
            if not isinstance(values, list):
                raise QueryError(f"The '{op_text}' operator needs an array value (field {definition.name}).")
            return Comparison(op, definition.name, tuple(coerce(definition, v) for v in values))
        if op in STRING_ONLY and definition.kind != "string":
            raise QueryError(f"The '{op_text}' operator applies to text fields only; "
                             f"{definition.name} is {definition.kind}.")
        if op in {"gt", "gte", "lt", "lte"} and definition.kind == "boolean":
            raise QueryError(f"The '{op_text}' operator cannot be used on the boolean field {definition.name}.")
        if "value" not in item:
            raise QueryError(f"The '{op_text}' filter expression on {definition.name} needs a 'value'.")
        return Comparison(op, definition.name, coerce(definition, item["value"]))

    def _group(self, op: str, raw_items: Any) -> Group | None:
        if not isinstance(raw_items, list) or not raw_items:
            raise QueryError(f"An '{op}' group needs a non-empty 'items' array.")
        items = tuple(c for c in (self.condition(child) for child in raw_items) if c is not None)
        if not items:
            return None  # every condition was dropped: the group narrows nothing
        if op == "or":
            self.or_conditions += len(items)
        return Group("and" if op == "and" else "or", items)


def coerce(definition: QueryField, value: Any) -> Any:
    """Turn a JSON filter value into the field's type, or explain why it cannot be one."""
    name, kind = definition.name, definition.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise QueryError(f"Invalid value for the boolean field {name}: use true or false (got {value!r}).")
    if value is None:
        raise QueryError(f"A null value cannot be compared with {name}; use the exist or notExist operator.")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise QueryError(f"Invalid value for {name}: {value!r} is not a whole number.")
    if kind == "decimal":
        if isinstance(value, bool):
            raise QueryError(f"Invalid value for {name}: {value!r} is not a number.")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise QueryError(f"Invalid value for {name}: {value!r} is not a number.") from None
    if kind == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise QueryError(f"Invalid value for {name}: {value!r} is not an ISO-8601 date/time.")
        return parsed
    if isinstance(value, (dict, list)):
        raise QueryError(f"Invalid value for {name}: expected text.")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def parse_datetime(text: str) -> datetime | None:
    """ISO-8601 date or date-time; naive values are UTC (as Autotask stores them)."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- evaluation ---------------------------------------------------------------------------------
def matches(condition: Condition, row: Mapping[str, Any]) -> bool:
    if isinstance(condition, Group):
        results = (matches(item, row) for item in condition.items)
        return all(results) if condition.op == "and" else any(results)
    actual = _comparable(row.get(condition.field))
    op = condition.op
    if op == "exist":
        return actual is not None
    if op == "notexist":
        return actual is None
    if actual is None:
        return False  # SQL: a comparison with NULL is never true, noteq and notIn included
    if op in LISTS:
        found = any(actual == _wanted(v) for v in condition.value)
        return found if op == "in" else not found
    expected = _wanted(condition.value)
    if op == "eq":
        return actual == expected
    if op == "noteq":
        return actual != expected
    if op == "beginswith":
        return actual.startswith(expected)
    if op == "endswith":
        return actual.endswith(expected)
    if op == "contains":
        return expected in actual
    try:
        return {"gt": actual > expected, "gte": actual >= expected,
                "lt": actual < expected, "lte": actual <= expected}[op]
    except TypeError:
        return False


def _comparable(value: Any) -> Any:
    """A row's value in comparable form; empty text is NULL."""
    if isinstance(value, str):
        return value.casefold() or None
    return _wanted(value)


def _wanted(value: Any) -> Any:
    """A (coerced) filter value in comparable form."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def restricted_values(spec: QuerySpec, field: str) -> set[Any] | None:
    """Values `field` must take for a row to match (from top-level eq/in), or None when unrestricted.

    Lets a facade skip building rows that cannot match (e.g. ContractServiceUnits of other contracts).
    """
    allowed: set[Any] | None = None
    for item in _top_level(spec.where.items):
        if isinstance(item, Comparison) and item.field == field and item.op in {"eq", "in"}:
            values = set(item.value) if item.op == "in" else {item.value}
            allowed = values if allowed is None else allowed & values
    return allowed


def bounds(spec: QuerySpec, field: str) -> tuple[Any, Any]:
    """(lowest, highest) value `field` may take for a row to match, from top-level comparisons; None = open.

    Inclusive and loose on purpose (gt is read as gte): it only prunes, `matches` still decides.
    """
    low = high = None
    for item in _top_level(spec.where.items):
        if not isinstance(item, Comparison) or item.field != field:
            continue
        if item.op in {"gt", "gte", "eq"}:
            low = item.value if low is None else max(low, item.value)
        if item.op in {"lt", "lte", "eq"}:
            high = item.value if high is None else min(high, item.value)
    return low, high


def _top_level(items: Iterable[Condition]) -> Iterable[Condition]:
    for item in items:
        if isinstance(item, Group) and item.op == "and":
            yield from _top_level(item.items)
        else:
            yield item
