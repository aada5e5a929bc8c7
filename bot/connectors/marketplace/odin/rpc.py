"""BA's one XML-RPC method, `Execute`, over the shared HTTP layer: envelope, faults, typed errors.

The envelope is one struct `{Server, Method, Params}` with positional `Params` (shared/apis/
marketplaces.md 1.1), plus `Username` and `Password` when the reseller reaches BA through a gateway that
takes them there (as the public Python BA client sends them); marshalling is the standard library's
`xmlrpc.client` (`dumps`/`loads`). BA answers every call with HTTP 200: a result `{"Result": [...]}` or an
XML-RPC fault. The envelope holds the password: it is never logged.

Faults: BA's own faults carry faultCode -1 with the message base64-encoded in faultString;
Invoke-OdinApi (github.com/ili101/Invoke-OdinApi) decodes exactly that case, and a public PBA PHP
client (`Parallels::busca`) base64-decodes every faultString. Older versions sent plain text, so a
faultString that does not decode to readable UTF-8 is shown as it came. The decoded text decides the
error type: refused credentials ("access denied", "password", "not authori[sz]ed") are
`AuthenticationError`; a method the gateway does not let this user call ("is not allowed", "permission")
is `PermissionDeniedError`; an unknown account/subscription/plan ("... does not exist") is `NotFoundError`;
an unknown method or container, a wrong parameter count or type, and the XML-RPC layer's own faults
(-32700/-32601/-32602) are `RejectedError` (the same call will fail again). BA's wording for the first
two is not published: the patterns are broad on purpose, and the simulator's texts match them.

Errors in front of BA (a proxy, an injected fault) come as HTML pages with a 4xx/5xx status; the
page's text is the message. Every call is a read, so `VendorHttp` retries 5xx, 429 and timeouts.
An HTTP 404 means the URL is not BA's XML-RPC endpoint, never that a record is missing, so it is
reported as a rejected call about the URL rather than as `NotFoundError`.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import xmlrpc.client  # noqa: S411 - replies come from the MSP's own configured BA host
from typing import Any
from xml.parsers.expat import ExpatError

import httpx

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RejectedError,
)
from bot.connectors.http import VendorHttp

SYSTEM = "odin"
BA_FAULT_CODE = -1
CONTAINER = "BM"

_UNKNOWN_CALL = re.compile(r"(method|container)\b.*\bnot found|expects \d+ parameter|parameter #\d+|"
                           r"wrong sort number|is required", re.IGNORECASE)
_MISSING_RECORD = re.compile(r"does not exist|not found|no such", re.IGNORECASE)
_REFUSED_LOGIN = re.compile(r"access denied|password|not authori[sz]ed|authenticat", re.IGNORECASE)
_NOT_ALLOWED = re.compile(r"is not allowed|not permitted|permission", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class OdinRpc:
    def __init__(self, http: VendorHttp, url: str, *, username: str = "", password: str = "") -> None:
        self.http = http
        self.url = url
        self._credentials = {"Username": username, "Password": password} if username else {}

    async def execute(self, method: str, *params: Any, server: str = CONTAINER) -> Any:
        """Call one BA method; return its `Result` array or raise a typed error."""
        envelope = {"Server": server, "Method": method, "Params": list(params), **self._credentials}
        body = xmlrpc.client.dumps((envelope,), "Execute", encoding="utf-8")
        try:
            response = await self.http.request(
                "POST", self.url, operation=method, idempotent=True, content=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
        except NotFoundError as exc:
            raise RejectedError(SYSTEM, f"no BA XML-RPC endpoint at {self.url} ({exc.vendor_message}); "
                                        "the URL should be BA's RPC2 address, e.g. http://<BA-host>:5224/RPC2",
                                status=exc.status) from None
        return read_result(method, response)


def read_result(method: str, response: httpx.Response) -> Any:
    try:
        (reply,), _ = xmlrpc.client.loads(response.content)
    except xmlrpc.client.Fault as fault:
        raise fault_error(method, fault) from None
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
        raise MalformedReplyError(SYSTEM, f"{method}: expected an XML-RPC reply, got "
                                          f"{response.headers.get('content-type', '?')}: {_snippet(response.text)}",
                                  status=response.status_code) from None
    if not isinstance(reply, dict) or "Result" not in reply:
        raise MalformedReplyError(SYSTEM, f"{method}: the reply has no Result member: {_snippet(repr(reply))}")
    return reply["Result"]


def fault_text(fault: xmlrpc.client.Fault) -> str:
    """The fault's message, base64-decoded when BA encoded it (faultCode -1)."""
    raw = str(fault.faultString)
    if fault.faultCode != BA_FAULT_CODE:
        return raw
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return raw
    return decoded if all(ch.isprintable() or ch.isspace() for ch in decoded) else raw


def fault_error(method: str, fault: xmlrpc.client.Fault) -> ConnectorError:
    message = fault_text(fault)
    detail = f"{method}: {message} (fault {fault.faultCode})"
    if fault.faultCode == BA_FAULT_CODE and _NOT_ALLOWED.search(message):
        return PermissionDeniedError(SYSTEM, detail)
    if fault.faultCode == BA_FAULT_CODE and _REFUSED_LOGIN.search(message):
        return AuthenticationError(SYSTEM, detail)
    if fault.faultCode != BA_FAULT_CODE or _UNKNOWN_CALL.search(message):
        return RejectedError(SYSTEM, detail)
    if _MISSING_RECORD.search(message):
        return NotFoundError(SYSTEM, detail)
    return RejectedError(SYSTEM, detail)


def error_message(response: httpx.Response) -> str:
    """The text of an error reply: a fault's decoded message, or an HTML page's visible text."""
    body = response.text
    if "<methodResponse" in body:
        try:
            xmlrpc.client.loads(response.content)
        except xmlrpc.client.Fault as fault:
            return fault_text(fault)
        except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
            pass
    return _page_text(body)


def _page_text(body: str) -> str:
    """An HTML error page as one line: its distinct text pieces (title, heading, paragraph) joined."""
    pieces: list[str] = []
    for piece in _TAGS.split(body):
        piece = _SPACES.sub(" ", html.unescape(piece)).strip()
        if piece and piece not in pieces:
            pieces.append(piece)
    return _shorten(": ".join(pieces))


def _shorten(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _snippet(text: str) -> str:
    return repr(_shorten(text))
