"""Fuzzy name matching (rapidfuzz) for link suggestions: "Acme Mfg. Inc." is "ACME Manufacturing".

Names are normalised first (case, punctuation, "&", legal suffixes, common abbreviations), then
scored with rapidfuzz; a pairing is one-to-one, best scores first. Plain functions, no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

Key = TypeVar("Key")

HIGH_CONFIDENCE = 90.0
_LEGAL_SUFFIXES = {"inc", "incorporated", "llc", "llp", "ltd", "limited", "co", "corp", "corporation", "company",
                   "gmbh", "plc", "pty", "pc", "pllc", "lp", "sa", "ag", "bv", "the"}
_ABBREVIATIONS = {"mfg": "manufacturing", "intl": "international", "svcs": "services", "svc": "service",
                  "assoc": "associates", "assocs": "associates", "bros": "brothers", "grp": "group",
                  "sys": "systems", "mgmt": "management", "tech": "technologies", "techs": "technologies",
                  "technology": "technologies", "dist": "distribution", "inds": "industries", "ind": "industries",
                  "natl": "national", "hldgs": "holdings", "univ": "university", "ctr": "center", "centre": "center",
                  "dept": "department", "eng": "engineering", "engg": "engineering", "med": "medical",
                  "solns": "solutions", "sols": "solutions", "prop": "properties", "props": "properties",
                  "constr": "construction", "mktg": "marketing", "ins": "insurance"}
_WORD = re.compile(r"[a-z0-9]+")


def normalise_name(name: str) -> str:
    words = _WORD.findall(name.lower().replace("&", " and ").replace("+", " and "))
    words = [_ABBREVIATIONS.get(word, word) for word in words]
    kept = [word for word in words if word not in _LEGAL_SUFFIXES]
    return " ".join(kept or words)


def _scorer(a: str, b: str, **_: object) -> float:
    return max(fuzz.token_sort_ratio(a, b), 0.95 * fuzz.token_set_ratio(a, b))


def name_score(left: str, right: str) -> float:
    """0-100: how likely two names mean the same thing."""
    return round(_scorer(normalise_name(left), normalise_name(right)), 1)


@dataclass(frozen=True)
class Match(Generic[Key]):
    left: Key
    right: Key
    score: float

    @property
    def high_confidence(self) -> bool:
        return self.score >= HIGH_CONFIDENCE


def pair_names(
    left: Sequence[tuple[Key, str]], right: Sequence[tuple[Key, str]], *, threshold: float = 60.0,
    per_item: int = 5,
) -> list[Match[Key]]:
    """One-to-one pairs, best scores first, each at or above `threshold`."""
    right_names = [normalise_name(name) for _, name in right]
    words = _WordIndex(right_names) if len(right_names) >= BLOCKING_FROM else None
    candidates: list[tuple[float, int, int]] = []
    for i, (_, name) in enumerate(left):
        query = normalise_name(name)
        positions = None if words is None else words.sharing_rare_words(query)
        pool = right_names if positions is None else [right_names[j] for j in positions]
        # shortlist with rapidfuzz's native scorer (fast over thousands), then score the shortlist properly
        for choice, _rough, k in process.extract(query, pool, scorer=fuzz.token_set_ratio,
                                                 limit=per_item * 2, score_cutoff=threshold * 0.8):
            score = _scorer(query, choice)
            if score >= threshold:
                candidates.append((score, i, k if positions is None else positions[k]))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_left: set[int] = set()
    used_right: set[int] = set()
    matches: list[Match[Key]] = []
    for score, i, j in candidates:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        matches.append(Match(left[i][0], right[j][0], round(score, 1)))
    return matches


BLOCKING_FROM = 500  # from this many names on, compare only names that share one of the rarer words
RARE_WORDS = 3


class _WordIndex:
    """Which names hold each word. Pairing 10,000 names with 10,000 compares every pair (~90 s); two names
    that mean the same company share at least one of the query's rarer words (its root, "acme"), even with
    a typo in another, so comparing only those gives the same pairs in a few seconds."""

    def __init__(self, names: Sequence[str]) -> None:
        self.postings: dict[str, list[int]] = defaultdict(list)
        for position, name in enumerate(names):
            for word in set(name.split()):
                self.postings[word].append(position)

    def sharing_rare_words(self, query: str) -> list[int]:
        known = sorted((w for w in set(query.split()) if w in self.postings), key=lambda w: len(self.postings[w]))
        return sorted({position for word in known[:RARE_WORDS] for position in self.postings[word]})


def rank_candidates(query: str, candidates: Sequence[tuple[Key, str]], *, limit: int = 100) -> list[tuple[Key, float]]:
    """Candidates ordered by likeness to `query`, best first (the picker's "likely match first")."""
    names = [normalise_name(name) for _, name in candidates]
    normalised = normalise_name(query)
    shortlist = process.extract(normalised, names, scorer=fuzz.token_set_ratio, limit=max(limit * 2, limit + 20))
    ranked = sorted(((index, _scorer(normalised, choice)) for choice, _rough, index in shortlist),
                    key=lambda item: -item[1])[:limit]
    return [(candidates[index][0], round(score, 1)) for index, score in ranked]
