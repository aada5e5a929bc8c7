"""The prepared name list (`bot.domain.name_index`) gives the pickers exactly what the plain passes over every
name give: each shortlist, and the ranking built on them, compared over hundreds of needles (prefixes as people
type them, whole names, words shared by many names, needles that normalise to nothing)."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz, process

from bot.domain.matching import name_score, normalise_name
from bot.domain.name_index import NameIndex
from bot.domain.picker_ranking import PARTIAL_WEIGHT, TYPED_CUTOFF, rank_names
from bot.sandbox.names import autotask_spelling, new_company_name

WIDTH = 200


def plain_rank(names: list[str], *, typed: str = "", reference: str | None = None,
               limit: int = 100) -> list[tuple[int, float | None]]:
    """The ranking as one pass per ratio over every name computes it: each shortlist by rapidfuzz over the
    whole list, every shortlisted name scored on its own."""
    needle = typed.strip()
    if not needle and not (reference or "").strip():
        return [(i, None) for i in range(min(limit, len(names)))]
    query = normalise_name(needle or reference or "")
    choices = [normalise_name(name) for name in names]
    width = max(limit * 2, limit + 20)
    if not needle or len(query) > 3:
        shortlist = top(query, choices, fuzz.token_set_ratio, width)
    else:
        shortlist = {i for i, choice in enumerate(choices) if query in choice.split()}
        shortlist = set(sorted(shortlist)[:width])
    if needle:
        holding = [i for i, choice in enumerate(choices) if choice and (query in choice or choice in query)]
        shortlist |= set(holding[:width]) if len(holding) >= width else top(query, choices, fuzz.partial_ratio,
                                                                             width)
    scored = []
    for i in shortlist:
        score = name_score(query, choices[i])
        if needle:
            score = max(score, round(PARTIAL_WEIGHT * fuzz.partial_ratio(query, choices[i]), 1))
        if not needle or score >= TYPED_CUTOFF:
            scored.append((i, score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))[:limit]


def top(query: str, choices: list[str], scorer, width: int) -> set[int]:
    return {index for _c, _s, index in process.extract(query, choices, scorer=scorer, limit=width)}


@pytest.fixture(scope="module")
def lists() -> tuple[list[str], list[str]]:
    rng, taken = random.Random(23), set()
    companies = [new_company_name(rng, taken) for _ in range(800)]
    legal = sorted(company.legal for company in companies) + ["", "&", "Inc."]
    spelled = sorted(autotask_spelling(company, rng) for company in companies)
    return legal, spelled


def needles(names: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    typed = [name[:n] for name in rng.sample(names[:-3], count) for n in (1, 2, 3, 4, 6, 9, 14, 80)]
    return typed + ["", " ", "!!", "&", "the", "and", "co", "group", "services", "a b", "zzzz", "st", "inc"]


def test_each_shortlist_is_the_plain_pass_over_every_name(lists):
    for names in lists:
        index = NameIndex(names)
        choices = [normalise_name(name) for name in names]
        for needle in needles(names, 15, seed=1):
            query = normalise_name(needle)
            assert index.token_set_top(query, WIDTH) == top(query, choices, fuzz.token_set_ratio, WIDTH), needle
            plain_partial = top(query, choices, fuzz.partial_ratio, WIDTH)
            assert index.partial_top(query, WIDTH, index.token_set_top(query, WIDTH)) == plain_partial, needle
            holding = [i for i, choice in enumerate(choices) if choice and (query in choice or choice in query)]
            assert index.holding(query, WIDTH) == holding[:WIDTH], needle
            assert index.holding_word(query, WIDTH) == [i for i, c in enumerate(choices) if query in c.split()][:WIDTH]


def test_the_ranking_is_the_plain_ranking(lists):
    for names in lists:
        index = NameIndex(names)
        for needle in needles(names, 6, seed=2):
            for limit in (100, 3):
                for asked in ({"typed": needle}, {"reference": needle}, {"typed": needle, "reference": names[7]}):
                    got = [(r.index, r.score) for r in rank_names(index, limit=limit, **asked)]
                    assert got == plain_rank(names, limit=limit, **asked), (asked, limit)
                    assert [(r.index, r.score) for r in rank_names(names, limit=limit, **asked)] == got


def test_a_ranking_kept_with_the_list_stays_with_it():
    first, second = NameIndex(["Acme Co", "Zenith Labs"]), NameIndex(["Zenith Labs", "Acme Co"])
    assert [r.index for r in rank_names(first, reference="Acme")] == [0, 1]
    assert [r.index for r in rank_names(second, reference="Acme")] == [1, 0]
    assert [r.index for r in rank_names(first, reference="Acme")] == [0, 1]
