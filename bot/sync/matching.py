"""Fuzzy name matching (rapidfuzz) for link suggestions: "Acme Mfg. Inc." is "ACME Manufacturing".

Names are normalised first (case, punctuation, "&", legal suffixes, common abbreviations), then
scored with rapidfuzz; a pairing is one-to-one, best scores first. Plain functions, no I/O.
"""

from __future__ import annotations

import re
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
    candidates: list[tuple[float, int, int]] = []
    for i, (_, name) in enumerate(left):
        query = normalise_name(name)
        # shortlist with rapidfuzz's native scorer (fast over thousands), then score the shortlist properly
        for choice, _rough, j in process.extract(query, right_names, scorer=fuzz.token_set_ratio,
                                                 limit=per_item * 2, score_cutoff=threshold * 0.8):
            score = _scorer(query, choice)
            if score >= threshold:
                candidates.append((score, i, j))
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


def rank_candidates(query: str, candidates: Sequence[tuple[Key, str]], *, limit: int = 100) -> list[tuple[Key, float]]:
    """Candidates ordered by likeness to `query`, best first (the picker's "likely match first")."""
    names = [normalise_name(name) for _, name in candidates]
    normalised = normalise_name(query)
    shortlist = process.extract(normalised, names, scorer=fuzz.token_set_ratio, limit=max(limit * 2, limit + 20))
    ranked = sorted(((index, _scorer(normalised, choice)) for choice, _rough, index in shortlist),
                    key=lambda item: -item[1])[:limit]
    return [(candidates[index][0], round(score, 1)) for index, score in ranked]
