import pytest

from bot.domain.records import MarketResource, billable_total


@pytest.mark.parametrize(
    ("included", "additional", "expected"),
    [(0, 8, 8), (5, 3, 8), (0, 0, 0), (1.5, 0, 2), (0, 7.01, 8)],
)
def test_billable_total_is_included_plus_additional_rounded_up(included, additional, expected):
    assert billable_total(included, additional) == expected


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        billable_total(-1, 3)


def test_resource_total_uses_the_one_definition():
    assert MarketResource(external_id="100234", name="Exchange", included=2, additional=6).total == 8
