"""How SeatSync writes a count for people: "1 row", "2 rows", "1,204 licences". One place, so no "1 rows"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and the noun in its number; `plural` where adding "s" is wrong ("1 company", "3 companies")."""
    word = noun if count == 1 else plural or f"{noun}s"
    return f"{count:,} {word}"
