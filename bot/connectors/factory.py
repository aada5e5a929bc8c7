"""Build the connector for a stored connection; the only place that knows every vendor class."""

from __future__ import annotations

from typing import Any

from bot.connectors.interfaces import Marketplace, Psa
from bot.db.connections import Connection


def build_marketplace(connection: Connection, **options: Any) -> Marketplace:
    if connection.system == "odin":
        from bot.connectors.marketplace.odin import OdinClient

        return OdinClient.from_connection(connection, **options)
    if connection.system == "ingram":
        from bot.connectors.marketplace.ingram import IngramClient

        return IngramClient.from_connection(connection, **options)
    raise ValueError(f"{connection.system!r} is not a marketplace SeatSync can read (odin, ingram)")


def build_psa(connection: Connection, **options: Any) -> Psa:
    if connection.system == "autotask":
        from bot.connectors.psa.autotask import AutotaskClient

        return AutotaskClient.from_connection(connection, **options)
    if connection.system == "connectwise":
        from bot.connectors.psa.connectwise import ConnectWiseClient

        return ConnectWiseClient.from_connection(connection, **options)
    raise ValueError(f"{connection.system!r} is not a PSA SeatSync can post to (autotask, connectwise)")
