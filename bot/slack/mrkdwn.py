"""Text SeatSync did not write, in Slack mrkdwn: names from the marketplace and the PSA, a vendor's error text,
what a person typed. `mrkdwn_escape` is the one way such text enters a mrkdwn string (a section, a context, a
message's `text`, which Slack also reads for notifications), so it shows as typed and never as markup; the
mention helpers are the one way a Slack id becomes a mention.

Slack decodes only `&amp;`, `&lt;` and `&gt;` in mrkdwn and has no escape for its formatting characters:
- `&`, `<`, `>` become entities: no `<!channel>`, no `<@U…>`, no `<https://x.example/pay|Pay now>`;
- `*`, `_` and `~` become look-alikes (∗ ˍ ∼), as jsx-slack does where it cannot escape, wherever they
  could open or close bold, italic or strike: everywhere but inside a word (Slack formats only at word
  boundaries, so "server_error" and "Super_cali" stay as they are); a backtick always becomes ˋ: no code
  span made by a name;
- a line that would start with `>` (a quote, which `&gt;` still makes) gets an invisible soft hyphen first.
Where a whole text object is data (an option, a header, a line with no formatting of ours), the block uses
plain_text instead, which Slack shows as typed: nothing to escape. SeatSync's own mrkdwn objects are
`verbatim` (bot.slack.blocks), so Slack does not link-ify a bare URL, #channel or @here in a name either.
"""

from __future__ import annotations

import re

LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
MARKERS = re.compile(r"[*_~`]")
QUOTE_AT_LINE_START = re.compile(r"^(?=[ \t]*&gt;)", re.MULTILINE)
SOFT_HYPHEN = "\u00ad"
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")
SLACK_GROUP = re.compile(r"S[A-Z0-9]{2,30}")
SLACK_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,30}")


def mrkdwn_escape(text: object) -> str:
    """`text` for a mrkdwn string: shown as typed, never read as a mention, link or formatting."""
    plain = MARKERS.sub(_lookalike, str(text))
    escaped = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return QUOTE_AT_LINE_START.sub(SOFT_HYPHEN, escaped)


def _lookalike(match: re.Match[str]) -> str:
    text, at, marker = match.string, match.start(), match.group()
    inside_a_word = 0 < at < len(text) - 1 and _word_character(text[at - 1]) and _word_character(text[at + 1])
    return marker if inside_a_word and marker != "`" else LOOKALIKES[marker]


def _word_character(char: str) -> bool:
    return char.isascii() and char.isalnum()


def user_mention(user_id: str) -> str:
    """`<@U…>` for a Slack user id; anything else ("demo", "cli", a forged value) as plain text."""
    return f"<@{user_id}>" if SLACK_USER.fullmatch(user_id) else mrkdwn_escape(user_id)


def group_mention(group_id: str) -> str:
    return f"<!subteam^{group_id}>" if SLACK_GROUP.fullmatch(group_id) else mrkdwn_escape(group_id)


def channel_mention(channel_id: str) -> str:
    return f"<#{channel_id}>" if SLACK_CHANNEL.fullmatch(channel_id) else mrkdwn_escape(channel_id)
