"""The Slack console: the simulated Slack in a browser, where a person uses an app as they would in Slack.

`seatsync demo` and `seatsync sandbox` serve it at `/console/` on the sandbox's port. A person (chosen
among the workspace's people) sees the channels they are in with the bot's messages as they arrive
(their ephemeral ones too), types slash commands, clicks through modals (the stack views.open, push and
update make), opens the App Home, and uses the Block Kit elements there. Each action is the signed request
Slack would send, with a fresh trigger_id, to the app's request URL (`interactions.py`); the page only
ever talks to this console, never holds the signing secret, and is plain HTML, CSS and JavaScript in
`static/` (no build step, nothing from a CDN).
"""

from bot.sandbox.slack_console.app import CONSOLE_KEY, SlackConsole, create_console_app

CONSOLE_PATH = "/console/"


def team_console_path(team_id: str, primary_team_id: str) -> str:
    """The default workspace's console is at /console/; another's at /console/<team id>/."""
    return CONSOLE_PATH if team_id == primary_team_id else f"{CONSOLE_PATH}{team_id}/"

__all__ = ["CONSOLE_KEY", "CONSOLE_PATH", "SlackConsole", "create_console_app", "team_console_path"]
