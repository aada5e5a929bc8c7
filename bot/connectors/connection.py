"""What a connector is built from: one vendor's stored connection, decrypted (`bot.db.connections` loads and saves
it). Connectors take it and never touch the database themselves; which kind of system it is, the registry says
(`VENDORS.get(connection.system).kind`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Connection:
    """A decrypted connection, for the connectors. Its repr never shows the secrets."""

    system: str
    base_url: str
    options: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    enabled: bool = True
