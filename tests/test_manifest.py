"""slack/manifest.yml: every URL reaches /slack/events, and the bot scopes are exactly what the code calls.

The Web API methods are read from the code (`.chat_postMessage(` ...) the way a reviewer would grep for
them; each must be in METHOD_SCOPES, so a new method cannot be called without deciding its scope here.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "slack" / "manifest.yml"
EVENTS_PATH = "/slack/events"
SLACK_CALL = re.compile(r"\.((?:chat|views|users|usergroups|conversations|files|reactions|auth|team|im|pins|"
                        r"bookmarks|apps|dnd|reminders|search|emoji|bots)_[A-Za-z_]+)\(")

# slack_sdk method -> the bot scopes that allow it (any one of them); an empty set needs none
METHOD_SCOPES: dict[str, set[str]] = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_delete": {"chat:write"},
    "views_open": set(),
    "views_update": set(),
    "views_push": set(),
    "views_publish": set(),
    "users_info": {"users:read"},
    "usergroups_users_list": {"usergroups:read"},
    "usergroups_list": {"usergroups:read"},
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_members": {"channels:read", "groups:read"},
    "files_upload_v2": {"files:write"},
    "files_info": {"files:read"},
    "auth_test": set(),
}
SCOPES_WITHOUT_A_METHOD = {"commands"}  # the /seats command is a scope, not a Web API method


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def called_methods() -> dict[str, list[str]]:
    """slack_sdk method -> the files calling it, over the shipped code (the simulators excluded)."""
    calls: dict[str, list[str]] = {}
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "web").rglob("*.py")]):
        if "sandbox" in path.parts:
            continue
        for method in set(SLACK_CALL.findall(path.read_text())):
            calls.setdefault(method, []).append(str(path.relative_to(ROOT)))
    return calls


def test_every_url_is_the_one_slack_endpoint():
    app = manifest()
    urls = [command["url"] for command in app["features"]["slash_commands"]]
    urls += [app["settings"]["event_subscriptions"]["request_url"], app["settings"]["interactivity"]["request_url"],
             app["settings"]["interactivity"]["message_menu_options_url"]]
    assert len(urls) == 4 and all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)


def test_the_command_home_tab_and_events_are_declared():
    app = manifest()
    assert [c["command"] for c in app["features"]["slash_commands"]] == ["/seats"]
    assert app["features"]["app_home"]["home_tab_enabled"] is True
    assert app["features"]["app_home"]["messages_tab_enabled"] is True
    assert app["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened", "file_shared"]
    assert app["settings"]["interactivity"]["is_enabled"] is True
    assert app["settings"]["socket_mode_enabled"] is False


def test_the_scopes_cover_every_method_the_code_calls_and_no_more():
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    calls = called_methods()
    assert {"chat_postMessage", "views_open", "views_publish", "users_info"} <= set(calls)  # the grep works
    unknown = {method: files for method, files in calls.items() if method not in METHOD_SCOPES}
    assert unknown == {}, "add these Web API methods to METHOD_SCOPES (and their scope to the manifest)"
    uncovered = {m: sorted(METHOD_SCOPES[m]) for m in calls if METHOD_SCOPES[m] and not METHOD_SCOPES[m] & scopes}
    assert uncovered == {}
    used = set().union(*(METHOD_SCOPES[m] for m in calls)) | SCOPES_WITHOUT_A_METHOD
    assert scopes - used == set(), "scopes no code needs"
