"""Account details both marketplace facades agree on: address, admin contact, the reseller's id.

The world records only what SeatSync needs about a customer (name, city, country, email). BA's
`AccountDetailsGet_API` and CMP's `Customer` both carry a full postal address and an admin contact,
so the missing parts are derived here, deterministically from the account id, and both facades use
the same values (CMP is a gateway over the same CloudBlue/BA platform, so it must show the same
account data).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.sandbox.world import Customer, SandboxWorld

PROVIDER_ACCOUNT_ID = 1  # BA: account 1 is the provider (Ingram Micro); plans belong to it
_DEFAULT_RESELLER_ACCOUNT_ID = 1000001

_STREETS = ("Main Street", "Oak Avenue", "Commerce Drive", "Park Road", "Industrial Way", "Lake Boulevard",
            "Market Street", "Cedar Lane", "Enterprise Court", "Harbor View")
_CITIES = (("Irvine", "CA", "926"), ("Austin", "TX", "787"), ("Denver", "CO", "802"),
           ("Columbus", "OH", "432"), ("Raleigh", "NC", "276"), ("Tampa", "FL", "336"),
           ("Portland", "OR", "972"), ("Madison", "WI", "537"))
_FIRST = ("Jane", "Carlos", "Priya", "Tom", "Mei", "Olu", "Sarah", "Luca", "Hannah", "Diego", "Aisha", "Ben")
_MIDDLE = ("", "", "A.", "J.", "", "M.")
_LAST = ("Doe", "Garcia", "Patel", "Nguyen", "Okafor", "Schmidt", "Rossi", "Kowalski", "Brown", "Haddad")


@dataclass(frozen=True)
class AccountProfile:
    """The parts of a BA account the world does not model, in BA's own split of the fields."""

    street: str
    street2: str
    city: str
    state: str
    zip_code: str
    country: str  # ISO alpha-2
    first_name: str
    middle_name: str
    last_name: str
    email: str
    phone_country: str
    phone_area: str
    phone_number: str
    phone_extension: str

    @property
    def phone_e164_hashed(self) -> str:
        """CMP's phone notation: country#area#number#extension (see ContactPerson.phoneNumber)."""
        return f"{self.phone_country}#{self.phone_area}#{self.phone_number}#{self.phone_extension}"


def account_profile(customer: Customer) -> AccountProfile:
    rng = random.Random(customer.account_id)
    default_city, state, zip_prefix = rng.choice(_CITIES)
    first, middle, last = rng.choice(_FIRST), rng.choice(_MIDDLE), rng.choice(_LAST)
    email = customer.email or f"{first}.{last}@customer{customer.account_id}.example.com".lower()
    return AccountProfile(
        street=f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}",
        street2=rng.choice(("", "", f"Suite {rng.randint(100, 900)}")),
        city=customer.city or default_city,
        state=state,
        zip_code=f"{zip_prefix}{rng.randint(10, 99)}",
        country=(customer.country or "US").upper(),
        first_name=first,
        middle_name=middle,
        last_name=last,
        email=email,
        phone_country="1",
        phone_area=f"{rng.randint(201, 989)}",
        phone_number=f"555{rng.randint(1000, 9999)}",
        phone_extension="",
    )


def reseller_account_id(world: SandboxWorld) -> int:
    """The MSP's own BA account (the customers' parent); never one of the customers' ids."""
    if _DEFAULT_RESELLER_ACCOUNT_ID not in world.customers:
        return _DEFAULT_RESELLER_ACCOUNT_ID
    return min(world.customers) - 1
