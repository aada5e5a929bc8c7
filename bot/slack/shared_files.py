"""A file someone shared with the bot, read from Slack: `files.info`, then its private URL with the bot token.

The token goes only to Slack's own hosts (`*.slack.com`, or the Web API host SeatSync is configured with, the
simulator's in the sandbox). Slack answers a download it does not authorise with its sign-in page (HTML, status
200), never with an error: that answer is refused here, so a page is never read as an invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

MAX_FILE_BYTES = 20 * 1024 * 1024
TIMEOUT_S = 60


class SharedFileError(Exception):
    """Why a shared file could not be read, in words for the person who shared it."""


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    content: bytes
    user: str | None


async def read_shared_file(client: AsyncWebClient, file_id: str, *, max_bytes: int = MAX_FILE_BYTES) -> SharedFile:
    try:
        info = await client.files_info(file=file_id)
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise SharedFileError("Slack does not show me that file (was it deleted?)" if error in (
            "file_not_found", "file_deleted") else f"Slack refused to describe it ({error})") from None
    meta = info.get("file") or {}
    name = str(meta.get("name") or meta.get("title") or file_id)
    if int(meta.get("size") or 0) > max_bytes:
        raise SharedFileError(f"{name} is larger than {max_bytes // (1024 * 1024)} MB")
    url = meta.get("url_private_download") or meta.get("url_private")
    if not isinstance(url, str) or not _slack_host(url, client.base_url):
        raise SharedFileError(f"{name} has no download link on Slack")
    content = await _download(url, client.token or "", max_bytes, name)
    return SharedFile(id=file_id, name=name, content=content, user=meta.get("user"))


def _slack_host(url: str, api_url: str) -> bool:
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
        return True
    api = urlparse(api_url)
    return bool(host) and host == (api.hostname or "").lower() and parsed.scheme == api.scheme


async def _download(url: str, token: str, max_bytes: int, name: str) -> bytes:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
                url, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status != 200:
                raise SharedFileError(f"Slack answered {response.status} to the download of {name}")
            if response.content_type == "text/html":
                raise SharedFileError(f"Slack did not hand {name} over (SeatSync needs the files:read scope)")
            content = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise SharedFileError(f"{name} is larger than {max_bytes // (1024 * 1024)} MB")
    except (aiohttp.ClientError, TimeoutError):
        raise SharedFileError(f"the download of {name} from Slack failed; share it again") from None
    return bytes(content)
