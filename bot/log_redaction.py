"""Logging set-up with redaction: no secret reaches a log line.

Two nets: the exact values registered with `register_secret` (API keys, passwords, tokens loaded at
run time, secrets typed into the config modal), and patterns of credentials that may come back inside
a vendor's error text.

A registered value is masked in every form a log line may carry it: as is, JSON-escaped and
Python-escaped (`"p\u00e4ss"`, `'it\'s'`). A value of `MIN_ANYWHERE` characters or more is masked
wherever it appears. A shorter one (a 2-character test secret typed before *Test connection*) cannot
be: masking every "ab" in every line would wreck the log and, by where the masks fall, tell the
secret anyway. It is masked where such a value is actually carried: as a whole quoted value, which is
how it travels (Slack's echo of the modal's state in slack_sdk's DEBUG log, `'value': 'ab'`; a JSON or
form field; a vendor quoting what it was sent), and after the credential keywords below.
"""

from __future__ import annotations

import json
import logging
import re
import threading

_PATTERNS = [
    re.compile(r"\bxox[abeposr](?:\.xox[abposr])?-[0-9A-Za-z-]+"),  # xoxe.xoxb-…: rotating; xoxe-…: refresh
    re.compile(r"\bxapp-[0-9A-Za-z-]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\bbasic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)((?:secret|password|privatekey|private_key|token|apikey|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"),
]
_MASK = "***"
MIN_ANYWHERE = 4

_known: set[str] = set()  # every form of each secret of MIN_ANYWHERE characters or more
_short: dict[str, re.Pattern[str]] = {}  # a shorter secret -> its forms as a whole quoted value
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so every later log line (and `redact`) masks it."""
    if not value:
        return
    forms = _forms(value)
    with _lock:
        if len(value) >= MIN_ANYWHERE:
            _known.update(forms)
        elif value not in _short:
            alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
            _short[value] = re.compile(rf"(?P<quote>[\"'])(?:{alternatives})(?P=quote)")


def _forms(value: str) -> set[str]:
    """The value as text carries it: raw, in a JSON string (ASCII-escaped or not), in a Python repr."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1]}


def redact(text: str) -> str:
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _MASK)
    for quoted in list(_short.values()):
        text = quoted.sub(lambda m: m["quote"] + _MASK + m["quote"], text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + _MASK, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiohttp.access", "httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
