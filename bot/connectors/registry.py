"""The vendors SeatSync can talk to: one entry each (`bot.connectors.vendor.Vendor`), from the vendor packages
listed here.

Everything that once branched on a vendor's name asks `VENDORS` instead: the factory builds clients with
`get(key).build`, the config modal offers `by_kind(...)` with each entry's fields, the CLI's and the demo's
choices come from it, and labels, failure explanations and webhook formats are read from the entries. The
schema does not enumerate vendors: a stored system is checked against this registry in code.

Adding a vendor: one package (its client modules plus `vendor.py` with `VENDOR`) and one line in `BUNDLED`.
A test may register a vendor of its own for a while: `with VENDORS.registered(vendor): ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from bot.connectors.marketplace.ingram.vendor import VENDOR as INGRAM
from bot.connectors.marketplace.odin.vendor import VENDOR as ODIN
from bot.connectors.marketplace.pax8.vendor import VENDOR as PAX8
from bot.connectors.psa.autotask.vendor import VENDOR as AUTOTASK
from bot.connectors.psa.connectwise.vendor import VENDOR as CONNECTWISE
from bot.connectors.psa.halopsa.vendor import VENDOR as HALOPSA
from bot.connectors.vendor import Kind, Vendor

# the order they are offered in; the first of a kind that the demo supports is the demo's default
BUNDLED = (ODIN, INGRAM, PAX8, AUTOTASK, CONNECTWISE, HALOPSA)
KIND_WORDS = {"marketplace": "a marketplace SeatSync can read", "psa": "a PSA SeatSync can post to"}


class UnknownVendor(ValueError):
    pass


class Registry:
    def __init__(self, vendors: Iterable[Vendor] = ()) -> None:
        self._vendors: dict[str, Vendor] = {}
        for vendor in vendors:
            self.register(vendor)

    def register(self, vendor: Vendor) -> Vendor:
        if vendor.key in self._vendors:
            raise ValueError(f"a vendor {vendor.key!r} is registered already")
        self._vendors[vendor.key] = vendor
        return vendor

    def unregister(self, key: str) -> None:
        self._vendors.pop(key, None)

    @contextmanager
    def registered(self, vendor: Vendor) -> Iterator[Vendor]:
        """The vendor is registered inside the block, and gone after it."""
        self.register(vendor)
        try:
            yield vendor
        finally:
            self.unregister(vendor.key)

    def find(self, key: str | None) -> Vendor | None:
        return self._vendors.get(key) if key else None

    def get(self, key: str, kind: Kind | None = None) -> Vendor:
        """The vendor, of `kind` when given; UnknownVendor (a ValueError) names the choices."""
        vendor = self._vendors.get(key)
        if vendor is not None and kind in (None, vendor.kind):
            return vendor
        if kind is None:
            raise UnknownVendor(f"unknown system {key!r}; expected one of {', '.join(self.keys())}")
        raise UnknownVendor(f"{key!r} is not {KIND_WORDS[kind]} ({', '.join(self.keys(kind))})")

    def by_kind(self, kind: Kind) -> tuple[Vendor, ...]:
        return tuple(v for v in self._vendors.values() if v.kind == kind)

    def keys(self, kind: Kind | None = None) -> tuple[str, ...]:
        return tuple(v.key for v in self._vendors.values() if kind in (None, v.kind))

    def label(self, key: str) -> str:
        """The vendor's label; the key itself for a system no longer registered (rows stored before)."""
        vendor = self._vendors.get(key)
        return vendor.label if vendor is not None else key

    def demo_choices(self, kind: Kind) -> tuple[str, ...]:
        """The vendors of `kind` the demo can run against (those that say how to meet their simulator); the
        first is the demo's default."""
        return tuple(v.key for v in self.by_kind(kind) if v.demo is not None)

    def __iter__(self) -> Iterator[Vendor]:
        return iter(tuple(self._vendors.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._vendors


VENDORS = Registry(BUNDLED)
