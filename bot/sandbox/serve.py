"""`seatsync sandbox`: serve every simulator on one port, or print their config and exit."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from bot.sandbox.app import Sandbox, is_loopback_http
from bot.sandbox.generator import Scale


def print_config(*, port: int, seed: int, scale: Scale, host: str = "127.0.0.1") -> None:
    sandbox = Sandbox.generate(seed=seed, scale=scale)
    sandbox.host, sandbox.port = host, port
    print(json.dumps(sandbox.config()))


MAX_WORKSPACES = 200


async def serve_sandbox(*, port: int, seed: int, scale: Scale, faults: str, host: str = "127.0.0.1",
                        slack_request_url: str | None = None, slack_workspaces: int = 1,
                        autotask_unknown_operators: str = "refuse") -> None:
    """`slack_request_url`: the app's Slack endpoint, where the Slack console sends people's requests (localhost);
    `slack_workspaces`: how many workspaces the simulated Slack has (the default one, and others to install in);
    `autotask_unknown_operators`: `drop` answers a query with an unknown filter operator as the live API does
    (the operator ignored, every row returned), `refuse` with an error."""
    if slack_request_url is not None and not is_loopback_http(slack_request_url):
        raise ValueError(f"--slack-request-url {slack_request_url!r} must be an http URL on localhost "
                         "(the sandbox sends Slack's requests nowhere else)")
    if not 1 <= slack_workspaces <= MAX_WORKSPACES:
        raise ValueError(f"--slack-workspaces {slack_workspaces} is out of range (1-{MAX_WORKSPACES})")
    sandbox = Sandbox.generate(seed=seed, scale=scale)
    for number in range(2, slack_workspaces + 1):
        sandbox.slack_teams.add_team(f"T0MSP{number:05d}", f"MSP {number}")
    sandbox.slack_request_url = slack_request_url
    sandbox.autotask_drops_unknown_operators = autotask_unknown_operators == "drop"
    sandbox.apply_profile(faults)
    await sandbox.start(port=port, host=host)
    world = sandbox.world
    print(f"SeatSync sandbox ({scale}, seed {seed}, faults {faults}) on {sandbox.base_url}", file=sys.stderr)
    print(f"  {len(world.customers)} customers, {len(world.subscriptions)} subscriptions; "
          f"admin token in --print-config; Ctrl-C to stop", file=sys.stderr)
    for name, entry in sandbox.config().items():
        print(f"  {name:12} {entry.get('url') or entry.get('api_url')}", file=sys.stderr)
    print(f"  Slack console (a person's Slack, in a browser): {sandbox.console_url}", file=sys.stderr)
    for team_id in list(sandbox.slack_teams.teams)[1:]:
        print(f"    workspace {team_id}: {sandbox.base_url}/console/{team_id}/", file=sys.stderr)
    print(f"    it sends Slack's signed requests to {slack_request_url or '(no app: --slack-request-url)'}",
          file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sandbox.stop()
