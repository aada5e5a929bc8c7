"""Ranking for the Slack pickers: the likely match first, with a 0-100 confidence.

Two kinds of needle:
- a *reference* name (the marketplace company's name when picking its PSA company): scored as link
  suggestions are (`bot.domain.matching`), so "Acme Mfg. Inc." finds "ACME Manufacturing" at ~95;
- what the user *typed*: the same score, but a prefix or fragment ("acm", "exch") also counts, at
  90% of its partial match, because people type the start of a name.
A C-speed shortlist (rapidfuzz `process.extract`) keeps this fast over ten thousand names; only the
shortlist is scored in Python. Normalised names are memoised: the same names come back on every key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from rapidfuzz import fuzz, process

from bot.domain.matching import name_score, normalise_name

PARTIAL_WEIGHT = 0.9  # a fragment that matches is good, but not as good as the whole name
TYPED_CUTOFF = 45.0  # below this, a name has little to do with what was typed: not offered
_SHORTLIST_FACTOR = 2
# For a typed fragment this short, the token-set pass over every name finds only the names holding it as a
# whole word (any other scores low): a scan for that word finds the same at a fraction of the cost.
_FRAGMENT_LENGTH = 3

normalised = lru_cache(maxsize=131_072)(normalise_name)


@lru_cache(maxsize=131_072)
def _words(choice: str) -> frozenset[str]:
    return frozenset(choice.split())


@dataclass(frozen=True)
class Ranked:
    index: int  # position in the candidate list
    score: float | None  # None when there was nothing to rank by (listed by name)


def rank_names(names: Sequence[str], *, typed: str = "", reference: str | None = None,
               limit: int = 100) -> list[Ranked]:
    """Candidates best first: by what was typed (poor matches left out), else by the reference name, else in
    the given order."""
    needle = typed.strip()
    if not needle and not (reference or "").strip():
        return [Ranked(i, None) for i in range(min(limit, len(names)))]
    query = normalised(needle or reference or "")
    choices = [normalised(name) for name in names]
    width = max(limit * _SHORTLIST_FACTOR, limit + 20)
    if not needle or len(query) > _FRAGMENT_LENGTH:
        shortlist = {index for _c, _s, index in process.extract(query, choices, scorer=fuzz.token_set_ratio,
                                                                 limit=width)}
    else:  # the names holding it as a whole word are the ones the token-set pass would put first
        shortlist = set(islice((index for index, choice in enumerate(choices) if query in _words(choice)), width))
    if needle:
        shortlist |= _fragment_shortlist(query, choices, width)
    scored = [Ranked(index, _score(query, choices[index], typed=bool(needle))) for index in shortlist]
    if needle:
        scored = [r for r in scored if (r.score or 0.0) >= TYPED_CUTOFF]
    scored.sort(key=lambda r: (-(r.score or 0.0), r.index))
    return scored[:limit]


def _fragment_shortlist(query: str, choices: list[str], width: int) -> set[int]:
    """The `width` choices that best hold what was typed as a fragment (rapidfuzz's partial ratio). A choice
    holding it whole scores 100, the most there is: when `width` of them exist, a plain substring scan finds
    the very ones the partial-ratio pass would return (ties keep the list's order) at a tenth of its cost."""
    holding = [index for index, choice in enumerate(choices) if choice and (query in choice or choice in query)]
    if len(holding) >= width:
        return set(holding[:width])
    return {index for _c, _s, index in process.extract(query, choices, scorer=fuzz.partial_ratio, limit=width)}


def _score(query: str, choice: str, *, typed: bool) -> float:
    score = name_score(query, choice)
    if typed:
        score = max(score, round(PARTIAL_WEIGHT * fuzz.partial_ratio(query, choice), 1))
    return score
