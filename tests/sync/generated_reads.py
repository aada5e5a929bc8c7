"""Reads as the connectors return them, made up in bulk: `n` customers, each with one subscription of one resource,
and `n` PSA companies, each with one contract of one service."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.enums import ContractStatus, SubscriptionStatus, Term
from bot.domain.records import (
    MarketCompany,
    MarketplaceSnapshot,
    MarketResource,
    MarketSubscription,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)


def marketplace_read(n: int, *, read_at: datetime | None = None) -> MarketplaceSnapshot:
    return MarketplaceSnapshot(
        companies=[MarketCompany(f"c{i}", f"Company {i}") for i in range(n)],
        subscriptions=[MarketSubscription(f"s{i}", f"c{i}", "Plan", Term.monthly, SubscriptionStatus.active,
                                          date(2026, 1, 1), None, None, (MarketResource(f"r{i}", "Seats", 0, 5),))
                       for i in range(n)],
        read_at=read_at)


def psa_read(n: int) -> dict[str, list]:
    """The keyword arguments of `apply_psa_records` for what was read."""
    return {"companies": [PsaCompanyRecord(f"pc{i}", f"Company {i}") for i in range(n)],
            "contracts": [PsaContractRecord(f"k{i}", f"pc{i}", "Contract", ContractStatus.active) for i in range(n)],
            "services": [PsaServiceRecord(f"sv{i}", f"k{i}", "Seats", 5) for i in range(n)]}
