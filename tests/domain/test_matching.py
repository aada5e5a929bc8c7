from datetime import date

import pytest

from bot.domain.matching import name_score, normalise_name, pair_names, rank_candidates
from bot.sandbox.generator import generate_world


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme Mfg. Inc.", "acme manufacturing"),
        ("ACME Manufacturing, LLC", "acme manufacturing"),
        ("Smith & Sons Co.", "smith and sons"),
        ("The Co.", "the co"),  # nothing but suffixes: keep the words rather than return nothing
    ],
)
def test_normalise(name, expected):
    assert normalise_name(name) == expected


def test_scores_rank_true_variants_above_strangers():
    assert name_score("Acme Mfg. Inc.", "ACME Manufacturing") >= 95
    assert name_score("Acme Mfg. Inc.", "Apex Marketing Group") < 70


def test_pairing_is_one_to_one_best_first():
    left = [(1, "Acme Mfg. Inc."), (2, "Acme Holdings"), (3, "Zebra Dental")]
    right = [("a", "ACME Manufacturing"), ("b", "Acme Holdings LLC"), ("c", "Quartz Legal")]
    matches = pair_names(left, right, threshold=70)
    assert {(m.left, m.right) for m in matches} == {(1, "a"), (2, "b")}
    assert all(m.high_confidence for m in matches)


def test_rank_candidates_puts_the_likely_match_first():
    ranked = rank_candidates("Black Canyon Industries", [(1, "Blue Canyon Dental"), (2, "Black Canyon Inds.")])
    assert ranked[0][0] == 2 and ranked[0][1] > ranked[1][1]


def test_generated_companies_pair_mostly_right():
    world = generate_world(seed=2, scale="large", today=date(2026, 11, 16))
    left = [(c.account_id, c.name) for c in world.customers.values()]
    right = [(c.id, c.name) for c in world.autotask_companies.values()]
    matches = pair_names(left, right, threshold=90)  # its time is bench/README's ("Link suggestions")
    truth = {a: ids.get("autotask") for a, ids in world.truth.company_for_account.items()}
    right_pairs = sum(1 for m in matches if truth.get(m.left) == m.right)
    assert right_pairs / len(matches) > 0.97  # high-confidence pairs are almost always right
    assert right_pairs > 0.7 * len(truth)
