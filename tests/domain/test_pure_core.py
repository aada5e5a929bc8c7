"""The domain core loads alone: importing every module of `bot.domain` in a fresh interpreter brings in no ORM, no
HTTP, no Slack and nothing else of SeatSync's; of third-party code, only rapidfuzz (name matching). The import
contract in pyproject.toml says the same of the code; this checks what actually lands in `sys.modules`. How fast it
loads is a figure for `bench/domain_import.py`, not for an assertion."""

from __future__ import annotations

import json
import subprocess
import sys

IMPORT_EVERY_DOMAIN_MODULE = """
import sys
at_start = set(sys.modules)  # the interpreter's own start-up (site, .pth hooks) is not the domain's doing
import importlib, json, pkgutil
from importlib.metadata import packages_distributions
import bot.domain
names = sorted(m.name for m in pkgutil.iter_modules(bot.domain.__path__, "bot.domain."))
for name in names:
    importlib.import_module(name)
installed = packages_distributions()  # top-level import name -> the distributions that install it
third_party = {m.split(".")[0] for m in set(sys.modules) - at_start} & set(installed) - {"bot"}
ours = sorted(m for m in sys.modules if m == "bot" or m.startswith("bot."))
print(json.dumps({"domain": names, "third_party": sorted(third_party), "ours": ours}))
"""


def loaded_by_the_domain() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_DOMAIN_MODULE], capture_output=True, text=True,
                          check=True, timeout=60)
    return json.loads(done.stdout)


def test_the_domain_core_loads_without_orm_http_or_slack():
    loaded = loaded_by_the_domain()
    assert {"bot.domain.records", "bot.domain.enums", "bot.domain.proration", "bot.domain.pricing",
            "bot.domain.levelling", "bot.domain.approval_policy", "bot.domain.matching"} <= set(loaded["domain"])
    assert set(loaded["third_party"]) == {"rapidfuzz"}, loaded["third_party"]
    assert [m for m in loaded["ours"] if m != "bot" and not m.startswith("bot.domain")] == []
