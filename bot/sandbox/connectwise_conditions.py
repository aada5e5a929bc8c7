"""The ConnectWise Manage `conditions` query grammar: tokenizer, parser, type check and evaluator.

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "(" expression ")" | comparison
    comparison := path ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | path ["not"] ("like" | "contains") string
                | path ["not"] "in" "(" value ("," value)* ")"
    value      := "quoted string" | 12 | 12.5 | True | False | null | [2026-01-02T00:00:00Z]

Keywords (and, or, not, like, contains, in, True, False, null) are case-insensitive; field paths are
case-sensitive and name nested references with "/" (`company/id`, `product/identifier`).

What the vendor documents (ConnectWise Developer Guide, "Conditions", via the notes in
shared/apis/connectwise.md B3): strings in double quotes, integers bare, booleans True/False,
datetimes in square brackets, the operators above, and/or with parentheses. Where it is silent
the simulator chooses, and says so:
- Inside a quoted string `\\"` is a literal double quote and `\\\\` a literal backslash; any other
  backslash is kept as it is.
- `like` follows SQL Server LIKE, which the API passes conditions through to (the guide's escaping
  rule "a literal `[` is written `[[]`" is SQL Server LIKE syntax): `*` and `%` match any run of
  characters, `_` one character, `[abc]` / `[a-c]` / `[^abc]` a character class, so `[[]` is a `[`.
  `contains` is a plain substring test.
- String comparisons ignore case (SQL Server's default collation, which Manage databases use).
- A null field value fails every comparison except `= null` (true) and `!= null` (false), as NULL
  does in SQL; `not like` / `not contains` / `not in` are false for a null value too.
- Types are checked before anything is evaluated: a string field takes strings, a number field
  numbers, a boolean field True/False, a datetime field [datetimes]; any field may be compared
  with `= null` / `!= null`. A mismatch, an unknown field or a syntax error raises
  `ConditionsError` naming the problem and where it is (0-based character position).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FieldKind = Literal["string", "number", "boolean", "datetime"]
Scalar = str | Decimal | bool | datetime | None

COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
WORD_OPERATORS = ("like", "contains", "in")


class ConditionsError(ValueError):
    """A conditions string the API would refuse; `str(error)` says what is wrong and where."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.detail = message
        self.position = position
        super().__init__(message if position is None else f"{message} (at position {position})")


# --- tokens ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: Literal["word", "string", "number", "datetime", "operator", "lparen", "rparen", "comma", "end"]
    text: str
    position: int
    value: Any = None


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_./]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            value, end = _read_string(text, i)
            tokens.append(Token("string", text[i:end], i, value))
            i = end
        elif ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise ConditionsError("Unterminated datetime: a '[' without its ']'", i)
            tokens.append(Token("datetime", text[i:end + 1], i, _parse_datetime(text[i + 1:end], i)))
            i = end + 1
        elif ch in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[ch]
            tokens.append(Token(kind, ch, i))  # type: ignore[arg-type]
            i += 1
        elif ch in "=!<>":
            two = text[i:i + 2]
            if two in ("!=", "<=", ">="):
                tokens.append(Token("operator", two, i))
                i += 2
            elif ch == "!":
                raise ConditionsError("'!' must be followed by '=' ('!=' means not equal)", i)
            else:
                tokens.append(Token("operator", ch, i))
                i += 1
        elif number := _NUMBER.match(text, i):
            tokens.append(Token("number", number.group(), i, Decimal(number.group())))
            i = number.end()
        elif word := _WORD.match(text, i):
            tokens.append(Token("word", word.group(), i))
            i = word.end()
        else:
            raise ConditionsError(f"Unexpected character {ch!r}", i)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
        elif ch == '"':
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    raise ConditionsError("Unterminated string: a '\"' without its closing quote", start)


def _parse_datetime(raw: str, position: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ConditionsError(
            f"Invalid datetime [{raw}]: expected e.g. [2026-01-02T00:00:00Z]", position) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- syntax tree -------------------------------------------------------------------------------
class Condition:
    def matches(self, record: Mapping[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Comparison(Condition):
    path: str  # the schema path (aliases resolved)
    kind: FieldKind
    operator: str  # one of COMPARISON_OPERATORS or WORD_OPERATORS
    negated: bool
    value: Scalar | tuple[Scalar, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        actual = coerce_value(resolve_path(record, self.path), self.kind)
        if self.value is None:  # only = / != reach here with null
            return (actual is None) == (self.operator == "=")
        if actual is None:
            return False
        if self.operator == "in":
            found = any(_equal(actual, item) for item in self.value)  # type: ignore[union-attr]
            return found != self.negated
        if self.operator == "like":
            found = like_pattern(self.value).fullmatch(str(actual)) is not None  # type: ignore[arg-type]
            return found != self.negated
        if self.operator == "contains":
            found = str(self.value).casefold() in str(actual).casefold()
            return found != self.negated
        return _compare(actual, self.operator, self.value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Junction(Condition):
    operator: Literal["and", "or"]
    operands: tuple[Condition, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.operator == "and":
            return all(op.matches(record) for op in self.operands)
        return any(op.matches(record) for op in self.operands)


class MatchAll(Condition):
    def matches(self, record: Mapping[str, Any]) -> bool:
        return True


@dataclass(frozen=True)
class AnyElement(Condition):
    """True when one element of the record's array `array` satisfies `condition` as a whole.

    `nested`: the condition's paths name the array (`types/name`), so each element is tested as
    `{array: element}`; otherwise they name the element's own members (`caption`, `value`)."""

    array: str
    condition: Condition
    nested: bool = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        elements = record.get(self.array)
        if not isinstance(elements, list):
            return False
        return any(isinstance(e, Mapping) and self.condition.matches({self.array: e} if self.nested else e)
                   for e in elements)


def paths_of(condition: Condition) -> set[str]:
    """Every field path a parsed condition tests."""
    if isinstance(condition, Comparison):
        return {condition.path}
    if isinstance(condition, Junction):
        return {path for operand in condition.operands for path in paths_of(operand)}
    if isinstance(condition, AnyElement):
        return paths_of(condition.condition)
    return set()


# --- parser ------------------------------------------------------------------------------------
def parse_conditions(
    text: str | None, schema: Mapping[str, FieldKind], aliases: Mapping[str, str] | None = None
) -> Condition:
    """Parse and type-check `text` against `schema` (path -> kind); blank text matches everything."""
    if text is None or not text.strip():
        return MatchAll()
    return _Parser(tokenize(text), schema, aliases or {}).parse()


class _Parser:
    def __init__(self, tokens: Sequence[Token], schema: Mapping[str, FieldKind], aliases: Mapping[str, str]):
        self.tokens = tokens
        self.index = 0
        self.schema = schema
        self.aliases = aliases

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        return self.current.kind == "word" and self.current.text.lower() in words

    def parse(self) -> Condition:
        node = self.expression()
        if self.current.kind != "end":
            raise ConditionsError(
                f"Expected 'and', 'or' or the end of the conditions, found {_show(self.current)}",
                self.current.position)
        return node

    def expression(self) -> Condition:
        operands = [self.term()]
        while self.is_keyword("or"):
            self.advance()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Junction("or", tuple(operands))

    def term(self) -> Condition:
        operands = [self.factor()]
        while self.is_keyword("and"):
            self.advance()
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else Junction("and", tuple(operands))

    def factor(self) -> Condition:
        if self.current.kind == "lparen":
            opened = self.advance()
            node = self.expression()
            if self.current.kind != "rparen":
                raise ConditionsError(f"Expected ')' to close the '(' at position {opened.position}, "
                                      f"found {_show(self.current)}", self.current.position)
            self.advance()
            return node
        return self.comparison()

    def comparison(self) -> Condition:
        token = self.current
        if token.kind != "word" or token.text.lower() in ("and", "or", "not", "like", "contains", "in"):
            raise ConditionsError(f"Expected a field name, found {_show(token)}", token.position)
        self.advance()
        path, kind = self.field(token)
        negated = False
        if self.is_keyword("not"):
            self.advance()
            negated = True
            if not self.is_keyword(*WORD_OPERATORS):
                raise ConditionsError(
                    f"'not' must be followed by like, contains or in, found {_show(self.current)}",
                    self.current.position)
        operator_token = self.current
        if operator_token.kind == "operator":
            self.advance()
            value_token = self.current
            value = self.value()
            _check_comparison(token.text, kind, operator_token.text, value, value_token)
            return Comparison(path, kind, operator_token.text, False, value)
        if self.is_keyword(*WORD_OPERATORS):
            operator = self.advance().text.lower()
            if operator == "in":
                return Comparison(path, kind, "in", negated, self.value_list(token.text, kind))
            value_token = self.current
            value = self.value()
            if kind != "string":
                raise ConditionsError(f"'{operator}' applies to text fields; {token.text} is a {kind} field",
                                      operator_token.position)
            if not isinstance(value, str):
                raise ConditionsError(f"'{operator}' needs a quoted string, found {_show(value_token)}",
                                      value_token.position)
            return Comparison(path, kind, operator, negated, value)
        raise ConditionsError(f"Expected an operator (= != < <= > >= like contains in) after {token.text}, "
                              f"found {_show(operator_token)}", operator_token.position)

    def field(self, token: Token) -> tuple[str, FieldKind]:
        path = self.aliases.get(token.text, token.text)
        kind = self.schema.get(path)
        if kind is not None:
            return path, kind
        prefix = path + "/"
        children = sorted(p for p in self.schema if p.startswith(prefix))
        if children:
            raise ConditionsError(f"{token.text} is an object; filter on one of its fields, e.g. "
                                  f"{', '.join(children[:3])}", token.position)
        near = [p for p in [*self.schema, *self.aliases] if p.lower() == token.text.lower()]
        hint = f"; did you mean {near[0]}?" if near else ""
        raise ConditionsError(f"Unknown field {token.text!r}{hint}", token.position)

    def value(self) -> Scalar:
        token = self.advance()
        if token.kind in ("string", "number", "datetime"):
            return token.value
        if token.kind == "word":
            word = token.text.lower()
            if word in ("true", "false"):
                return word == "true"
            if word == "null":
                return None
        raise ConditionsError(f"Expected a value (a \"string\", a number, True/False, null or [datetime]), "
                              f"found {_show(token)}", token.position)

    def value_list(self, field_name: str, kind: FieldKind) -> tuple[Scalar, ...]:
        if self.current.kind != "lparen":
            raise ConditionsError(
                f"'in' needs a parenthesised list, e.g. (1,2,3); found {_show(self.current)}",
                self.current.position)
        self.advance()
        values: list[Scalar] = []
        while True:
            value_token = self.current
            value = self.value()
            if value is None:
                raise ConditionsError("null cannot appear in an 'in' list; use '= null'",
                                      value_token.position)
            _check_type(field_name, kind, value, value_token)
            values.append(value)
            if self.current.kind == "comma":
                self.advance()
                continue
            if self.current.kind == "rparen":
                self.advance()
                return tuple(values)
            raise ConditionsError(f"Expected ',' or ')' in the 'in' list, found {_show(self.current)}",
                                  self.current.position)


def _check_comparison(field_name: str, kind: FieldKind, operator: str, value: Scalar, token: Token) -> None:
    if value is None:
        if operator not in ("=", "!="):
            raise ConditionsError(f"null can only be compared with = or !=, not {operator}", token.position)
        return
    _check_type(field_name, kind, value, token)
    if kind == "boolean" and operator not in ("=", "!="):
        raise ConditionsError(f"{field_name} is a boolean field: use = or !=, not {operator}", token.position)


_KIND_OF_VALUE: dict[type, FieldKind] = {
    str: "string", Decimal: "number", bool: "boolean", datetime: "datetime"}
_EXAMPLE = {"string": '"text"', "number": "a bare number", "boolean": "True or False",
            "datetime": "[2026-01-02T00:00:00Z]"}


def _check_type(field_name: str, kind: FieldKind, value: Scalar, token: Token) -> None:
    if _KIND_OF_VALUE[type(value)] != kind:
        raise ConditionsError(
            f"{field_name} is a {kind} field and needs {_EXAMPLE[kind]}, found {token.text}", token.position)


def _show(token: Token) -> str:
    return "the end of the conditions" if token.kind == "end" else repr(token.text)


# --- evaluation --------------------------------------------------------------------------------
def resolve_path(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def coerce_value(raw: Any, kind: FieldKind) -> Scalar:
    if raw is None:
        return None
    if kind == "number":
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    if kind == "boolean":
        return bool(raw)
    if kind == "datetime":
        if isinstance(raw, datetime):
            return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
        if isinstance(raw, date):
            return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
        return _parse_datetime(str(raw), 0)
    return str(raw)


def _fold(value: Scalar) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _equal(actual: Scalar, expected: Scalar) -> bool:
    return _fold(actual) == _fold(expected)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(actual: Scalar, operator: str, expected: Scalar) -> bool:
    return _COMPARE[operator](_fold(actual), _fold(expected))


def like_pattern(pattern: str) -> re.Pattern[str]:
    """A case-insensitive regex for a SQL Server LIKE pattern (with `*` as a second `%`)."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in "*%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        elif ch == "[" and (end := pattern.find("]", i + 2)) > 0:
            parts.append(_char_class(pattern[i + 1:end]))
            i = end
        else:
            parts.append(re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _char_class(body: str) -> str:
    negate = body.startswith("^") and len(body) > 1
    if negate:
        body = body[1:]
    out: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out.append(f"{re.escape(body[i])}-{re.escape(body[i + 2])}")
            i += 3
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "[" + ("^" if negate else "") + "".join(out) + "]"


def parse_field_list(text: str, schema: Mapping[str, FieldKind]) -> list[str]:
    """`fields=id,name,status/id`: the requested paths, each a schema path or an object prefix of one."""
    paths = [p.strip() for p in text.split(",") if p.strip()]
    for path in paths:
        if path not in schema and not any(known.startswith(path + "/") for known in schema):
            raise ConditionsError(f"Unknown field {path!r} in fields")
    return paths
