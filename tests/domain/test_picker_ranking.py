"""Picker ranking (likely match first, with confidence) and the rare-word blocking of name pairing."""

from __future__ import annotations

import random

from bot.domain import matching
from bot.domain.picker_ranking import TYPED_CUTOFF, rank_names
from bot.sandbox.names import autotask_spelling, new_company_name

NAMES = ["Acme Co.", "Acme Plumbing", "Apex Corporation", "Zenith Laboratories", "ACME Manufacturing"]


def ranked(**kwargs) -> list[tuple[str, float | None]]:
    return [(NAMES[r.index], r.score) for r in rank_names(NAMES, **kwargs)]


def test_a_reference_name_puts_its_likely_match_first():
    result = ranked(reference="Acme Mfg. Inc.")
    assert result[0] == ("ACME Manufacturing", 100.0)
    assert [score for _, score in result] == sorted((score for _, score in result), reverse=True)


def test_what_was_typed_wins_over_the_reference_and_fragments_count():
    assert ranked(typed="zen", reference="Acme Mfg. Inc.")[0][0] == "Zenith Laboratories"
    assert {name for name, _ in ranked(typed="acm")[:3]} == {"Acme Co.", "Acme Plumbing", "ACME Manufacturing"}
    assert "Zenith Laboratories" not in {name for name, _ in ranked(typed="acm")}  # too far from it to offer
    assert all(score >= TYPED_CUTOFF for _, score in ranked(typed="plumb"))


def test_nothing_to_rank_by_keeps_the_given_order_without_scores():
    assert ranked() == [(name, None) for name in NAMES]
    assert ranked(typed="   ", reference="") == [(name, None) for name in NAMES]
    assert len(rank_names(NAMES, limit=2)) == 2


def test_at_most_limit_even_over_thousands():
    rng, taken = random.Random(5), set()
    names = [new_company_name(rng, taken).legal for _ in range(3000)]
    assert len(rank_names(names, typed="a", limit=100)) == 100
    assert len(rank_names(names, reference=names[10], limit=100)) == 100
    assert names[rank_names(names, reference=names[10], limit=1)[0].index] == names[10]


def test_pairing_by_rare_words_finds_what_comparing_every_pair_finds(monkeypatch):
    rng, taken = random.Random(3), set()
    names = [new_company_name(rng, taken) for _ in range(1200)]
    left = [(i, name.legal) for i, name in enumerate(names)]
    right = [(i, autotask_spelling(name, rng)) for i, name in enumerate(names)]

    blocked = {(m.left, m.right) for m in matching.pair_names(left, right, threshold=70)}
    monkeypatch.setattr(matching, "BLOCKING_FROM", 10**9)
    every_pair = {(m.left, m.right) for m in matching.pair_names(left, right, threshold=70)}

    assert len(right) >= 500  # the blocked path ran above
    assert len(blocked & every_pair) >= 0.99 * len(every_pair)
    assert sum(a == b for a, b in blocked) >= 0.95 * len(names)


def test_a_short_fragment_puts_the_names_holding_it_as_a_word_first_even_among_thousands_holding_it():
    # 500 names hold "st" inside a word and come first in the list; three hold it as a word, at the end
    names = [f"Coastal Services {i}" for i in range(500)] + ["St Mary's Clinic", "Main St Dental", "ST Partners"]
    top = [names[r.index] for r in rank_names(names, typed="st", limit=10)]
    assert set(top[:3]) == {"St Mary's Clinic", "Main St Dental", "ST Partners"}
    assert len(top) == 10  # and the names holding it inside a word follow
