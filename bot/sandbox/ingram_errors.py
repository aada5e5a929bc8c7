"""The error body of the CMP backend (behind the gateway).

Spec 1.6 declares only `default` (success) responses, so it has no error schema. The public PHP
client `inserveit/ingram-marketplace-api-php` (`src/Models/ErrorResponse.php`, `Client/APIClient.php`)
deserialises CMP errors as `{timestamp, status, error, path, correlationId}` and reports `error` as
the message: a Spring-Boot-style body. The sandbox answers that shape, with the human-readable
message in `error`, the request path when known, and the same correlation id in the
`X-Correlation-ID` header the spec declares on every response.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web


def correlation_id() -> str:
    return str(uuid.uuid4())


def cmp_error(status: int, message: str, path: str = "") -> web.Response:
    cid = correlation_id()
    body: dict[str, object] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": message,
    }
    if path:
        body["path"] = path
    body["correlationId"] = cid
    return web.json_response(body, status=status, headers={"X-Correlation-ID": cid})
