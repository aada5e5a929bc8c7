"""A Bolt request whose body SeatSync has already parsed and checked (`bot.slack.inbound`).

Bolt's `AsyncBoltRequest` parses the raw body itself, and gets two things wrong for a signed body: a
`payload` that is not a JSON object raises (a 500), and any form body containing the word "payload"
(a slash command typed with it, a channel named #payload-team) is read as an empty body, so the command
is dropped as "unhandled". This request carries the body as `read_slack_body` read it, and the raw
body unchanged, which Bolt's signature check still verifies.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest


class ParsedBoltRequest(AsyncBoltRequest):
    def __init__(self, *, raw_body: str, body: dict[str, Any], query: Any = None, headers: Any = None,
                 context: dict[str, Any] | None = None) -> None:
        super().__init__(body="", query=query, headers=headers, context=context)
        self.raw_body = raw_body
        self.body = body
        self.context = build_async_context(AsyncBoltContext(context or {}), body)

    def to_copyable(self) -> AsyncBoltRequest:
        """What Bolt hands a lazy listener: the same parsed body, not a parse of the raw one."""
        return ParsedBoltRequest(raw_body=self.raw_body, body=self.body, query=self.query, headers=self.headers,
                                 context=self.context.to_copyable())
