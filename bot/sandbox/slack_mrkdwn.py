"""How Slack's clients read mrkdwn, closely enough to say what in a text renders as markup.

From Slack's formatting reference (docs.slack.dev/messaging/formatting-message-text) and what jsx-slack
documents of the clients' behaviour (docs/about-escape-and-exact-mode.md):
- `<…>` is a control sequence: `<!channel>`, `<!here>`, `<!subteam^S…>`, `<!date^…>` are special mentions,
  `<@U…>` a user, `<#C…>` a channel, anything else a link (`<url|label>`);
- ```` ```…``` ```` is a code block and `` `…` `` inline code; nothing inside either is formatted;
- `*bold*`, `_italic_` and `~strike~` only at word boundaries: the opening marker not right after a letter or
  digit, the closing one not right before one, no space just inside, on one line ("Super_cali_fragilistic"
  stays as typed);
- a line whose first characters (after spaces) are `>` or `&gt;` is a quote;
- only `&amp;`, `&lt;` and `&gt;` are decoded.

`markup(text)` lists each construct that would render; `mrkdwn_texts(surface)` yields every mrkdwn string of a
message (its `text` and blocks) or of a view, with its JSON pointer. The simulator does not refuse anything
with them (Slack takes unescaped text as it is); tests use them to check that no name turns into markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CONTROL = re.compile(r"<([^<>\n]*)>")
CODE_BLOCK = re.compile(r"```(.+?)```", re.DOTALL)
CODE = re.compile(r"`([^`\n]+)`")
QUOTE = re.compile(r"^[ \t]*(?:>|&gt;)(.*)$", re.MULTILINE)
SPANS = {"bold": "*", "italic": "_", "strike": "~"}
VIEW_TYPES = ("modal", "home")


@dataclass(frozen=True)
class Markup:
    kind: str  # special | user | channel | link | code_block | code | bold | italic | strike | quote
    content: str  # what it holds, entities decoded (a link: "url|label")


def _span(marker: str) -> re.Pattern[str]:
    m = re.escape(marker)
    return re.compile(rf"(?<![A-Za-z0-9{m}]){m}([^\s{m}](?:[^\n{m}]*[^\s{m}])?){m}(?![A-Za-z0-9{m}])")


SPAN_PATTERNS = {kind: _span(marker) for kind, marker in SPANS.items()}


def decode(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def markup(text: str) -> list[Markup]:
    """Everything in `text` that Slack would render as markup rather than show as typed."""
    found: list[Markup] = []
    for match in CONTROL.finditer(text):
        inner = match.group(1)
        kind = {"!": "special", "@": "user", "#": "channel"}.get(inner[:1], "link")
        found.append(Markup(kind, decode(inner)))
    found += [Markup("code_block", decode(m.group(1))) for m in CODE_BLOCK.finditer(text)]
    rest = CODE_BLOCK.sub(" ", text)
    found += [Markup("code", decode(m.group(1))) for m in CODE.finditer(rest)]
    rest = CODE.sub(" ", rest)
    for kind, pattern in SPAN_PATTERNS.items():
        found += [Markup(kind, decode(m.group(1))) for m in pattern.finditer(rest)]
    found += [Markup("quote", decode(m.group(1)).strip()) for m in QUOTE.finditer(text)]
    return found


def mrkdwn_texts(surface: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(pointer, text) for every mrkdwn string of a message ({"text", "blocks"}) or a view."""
    if surface.get("type") not in VIEW_TYPES and isinstance(surface.get("text"), str) \
            and surface.get("mrkdwn", True) is not False:
        yield "/text", surface["text"]
    yield from _walk(surface.get("blocks") or [], "/blocks")


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield pointer + "/text", node["text"]
            return
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")
