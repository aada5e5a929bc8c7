"""Codes as a billing lead reads them in a report: "PSA price", not `keep_psa`; "seats", not `unit`.

Each mapping turns a stored code into words inside the report's SQL (`in_words`), so CSV, XLSX, the page and
Slack's summary show the same words, and sorting sorts what is shown. Filters keep taking the codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import case, func

from bot.db.models import AdjustmentTrigger, PriceSourceKind
from bot.domain.records import SEAT_UNITS

SEATS = "seats"  # what a resource counted in seats shows in a report's Unit column

PRICE_SOURCES: Mapping[str, str] = {
    PriceSourceKind.keep_psa: "PSA price",
    PriceSourceKind.marketplace_price: "Marketplace price",
    PriceSourceKind.marketplace_cost_markup: "Marketplace cost + markup",
    PriceSourceKind.custom: "Custom price",
}
TRIGGERS: Mapping[str, str] = {
    AdjustmentTrigger.link: "link-time reconciliation",
    AdjustmentTrigger.sync: "sync",
    AdjustmentTrigger.manual: "sync now",
    AdjustmentTrigger.import_: "links import",
}


def in_words(expression: Any, words: Mapping[str, str]) -> Any:
    """`expression`'s code replaced by its words (an unknown code shows as it is)."""
    return case(*((expression == code, text) for code, text in words.items()), else_=expression)


def unit_words(unit: Any) -> Any:
    """A resource's unit as the report shows it: "seats" for anything counted per piece, else the unit ("GB")."""
    return case((func.lower(func.coalesce(unit, "unit")).in_(sorted(SEAT_UNITS)), SEATS), else_=unit)
