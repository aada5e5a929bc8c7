"""Build the client of a stored connection, through its vendor's registry entry; every client is handed out on the
vendor loop (`bot.connectors.vendor_loop`): its calls run there, off the loop that serves Slack and the web."""

from __future__ import annotations

from typing import Any, cast

from bot.connectors.connection import Connection
from bot.connectors.interfaces import Marketplace, Psa
from bot.connectors.registry import VENDORS
from bot.connectors.vendor_loop import OnVendorLoop


def build_marketplace(connection: Connection, **options: Any) -> Marketplace:
    """`options` may carry `now`, the application's clock, for a marketplace whose cadences follow it."""
    return cast(Marketplace, OnVendorLoop(VENDORS.get(connection.system, "marketplace").build(connection, **options)))


def build_psa(connection: Connection, **options: Any) -> Psa:
    return cast(Psa, OnVendorLoop(VENDORS.get(connection.system, "psa").build(connection, **options)))
