"""The scripted Autotask demo with decreases at the next period's start (the demo's default dates them today)."""
import sys

import bot.demo.scripted as scripted
from bot.__main__ import main

original = scripted.open_workspace


async def next_period_workspace(*args, **kwargs):
    kwargs["decreases_today"] = False
    return await original(*args, **kwargs)


scripted.open_workspace = next_period_workspace
sys.exit(main(["demo", "--once", "--psa", "autotask", "--days", "5", "--seed", sys.argv[1]]))
