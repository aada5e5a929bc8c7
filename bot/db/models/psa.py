"""The PSA cache: companies, contracts/agreements and services/additions with their units and prices.

Slack pickers and reports read this cache, never the PSA itself, so nobody waits on a vendor API.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.models.base import VENDOR_KEY_LENGTH, Base, enum_column, utcnow
from bot.db.models.tenants import TenantOwned
from bot.domain.enums import ContractStatus


class PsaCompany(TenantOwned, Base):
    __tablename__ = "psa_companies"
    __table_args__ = (UniqueConstraint("tenant_id", "psa", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    psa: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # a PSA vendor's key (bot.connectors.registry)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    contracts: Mapped[list[PsaContract]] = relationship(back_populates="company")


class PsaContract(TenantOwned, Base):
    """A PSA contract (agreement): what a company is billed under."""

    __tablename__ = "psa_contracts"
    __table_args__ = (UniqueConstraint("tenant_id", "psa", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("psa_companies.id", ondelete="RESTRICT"), index=True)
    psa: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # a PSA vendor's key (bot.connectors.registry)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus, "contract_status"))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    prorates: Mapped[bool | None]  # the contract's own proration switch; None where the PSA has none
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    company: Mapped[PsaCompany] = relationship(back_populates="contracts")
    services: Mapped[list[PsaService]] = relationship(back_populates="contract")


class PsaService(TenantOwned, Base):
    """A PSA contract service (agreement addition): a product billed under a contract, with its units."""

    __tablename__ = "psa_services"
    __table_args__ = (UniqueConstraint("tenant_id", "psa", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("psa_contracts.id", ondelete="RESTRICT"), index=True)
    psa: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # a PSA vendor's key (bot.connectors.registry)
    external_id: Mapped[str] = mapped_column(String(64))
    catalog_id: Mapped[str | None] = mapped_column(String(64))  # the PSA's catalogue id of the product
    name: Mapped[str] = mapped_column(String(255))
    units: Mapped[int] = mapped_column(default=0)
    unit_price: Mapped[Decimal | None]
    unit_cost: Mapped[Decimal | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    contract: Mapped[PsaContract] = relationship(back_populates="services")
