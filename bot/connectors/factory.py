"""Build the client of a stored connection, through its vendor's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.connection import Connection
from bot.connectors.interfaces import Marketplace, Psa
from bot.connectors.registry import VENDORS


def build_marketplace(connection: Connection, **options: Any) -> Marketplace:
    """`options` may carry `now`, the application's clock, for a marketplace whose cadences follow it."""
    return VENDORS.get(connection.system, "marketplace").build(connection, **options)


def build_psa(connection: Connection, **options: Any) -> Psa:
    return VENDORS.get(connection.system, "psa").build(connection, **options)
