"""Ranking for the Slack pickers: the likely match first, with a 0-100 confidence.

Two kinds of needle:
- a *reference* name (the marketplace company's name when picking its PSA company): scored as link
  suggestions are (`bot.domain.matching`), so "Acme Mfg. Inc." finds "ACME Manufacturing" at ~95;
- what the user *typed*: the same score, but a prefix or fragment ("acm", "exch") also counts, at
  90% of its partial match, because people type the start of a name.
Two shortlists (the best names by token-set ratio and by partial ratio) keep this fast over ten thousand
names; only the shortlist is scored in full. The names are prepared once per list (`bot.domain.name_index`):
a caller that ranks the same list on every key passes its `NameIndex`, which also keeps the ranking by a
reference name, the same while a person types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.domain.name_index import NameIndex, normalised

PARTIAL_WEIGHT = 0.9  # a fragment that matches is good, but not as good as the whole name
TYPED_CUTOFF = 45.0  # below this, a name has little to do with what was typed: not offered
_SHORTLIST_FACTOR = 2
# For a typed fragment this short, the token-set pass over every name finds only the names holding it as a
# whole word (any other scores low): a scan for that word finds the same at a fraction of the cost.
_FRAGMENT_LENGTH = 3


@dataclass(frozen=True)
class Ranked:
    index: int  # position in the candidate list
    score: float | None  # None when there was nothing to rank by (listed by name)


def rank_names(names: Sequence[str] | NameIndex, *, typed: str = "", reference: str | None = None,
               limit: int = 100) -> list[Ranked]:
    """Candidates best first: by what was typed (poor matches left out), else by the reference name, else in
    the given order."""
    needle = typed.strip()
    if not needle and not (reference or "").strip():
        return [Ranked(i, None) for i in range(min(limit, len(names)))]
    index = names if isinstance(names, NameIndex) else NameIndex(names)
    query = normalised(needle or reference or "")
    if not needle:  # the same on every key while a person types: kept with the list
        return index.remembered(("reference", query, limit), lambda: _rank(index, query, typed=False, limit=limit))
    return _rank(index, query, typed=True, limit=limit)


def _rank(index: NameIndex, query: str, *, typed: bool, limit: int) -> list[Ranked]:
    width = max(limit * _SHORTLIST_FACTOR, limit + 20)
    if not typed or len(query) > _FRAGMENT_LENGTH:
        shortlist = index.token_set_top(query, width)
    else:  # the names holding it as a whole word are the ones the token-set pass would put first
        shortlist = set(index.holding_word(query, width))
    if typed:
        shortlist |= _fragment_shortlist(index, query, width, shortlist)
    scored = [Ranked(i, score) for i, score in zip(sorted(shortlist), _scores(index, query, sorted(shortlist),
                                                                              typed=typed), strict=True)]
    if typed:
        scored = [r for r in scored if (r.score or 0.0) >= TYPED_CUTOFF]
    scored.sort(key=lambda r: (-(r.score or 0.0), r.index))
    return scored[:limit]


def _fragment_shortlist(index: NameIndex, query: str, width: int, known: set[int]) -> set[int]:
    """The `width` choices that best hold what was typed as a fragment (rapidfuzz's partial ratio). A choice
    holding it whole scores 100, the most there is: when `width` of them exist, a plain substring scan finds
    the very ones the partial-ratio pass would return (ties keep the list's order) at a tenth of its cost."""
    holding = index.holding(query, width)
    if len(holding) >= width:
        return set(holding)
    return index.partial_top(query, width, known | set(holding))


def _scores(index: NameIndex, query: str, shortlist: list[int], *, typed: bool) -> list[float]:
    """Each shortlisted name's score: `name_score` (the better of the token-sort ratio and 95% of the
    token-set ratio), and for a typed needle at least 90% of the partial ratio; one rapidfuzz pass per ratio."""
    again = normalised(query)
    rescored = [index.rescored[i] for i in shortlist]
    token_sort = _each(again, rescored, fuzz.token_sort_ratio)
    token_set = _each(again, rescored, fuzz.token_set_ratio)
    scores = [round(max(a, 0.95 * b), 1) for a, b in zip(token_sort, token_set, strict=True)]
    if typed:
        partial = _each(query, [index.choices[i] for i in shortlist], fuzz.partial_ratio)
        scores = [max(score, round(PARTIAL_WEIGHT * p, 1)) for score, p in zip(scores, partial, strict=True)]
    return scores


def _each(query: str, choices: list[str], scorer) -> list[float]:
    scores = [0.0] * len(choices)
    for _c, score, j in process.extract(query, choices, scorer=scorer, limit=None):
        scores[j] = score
    return scores
