"""Benchmark: how long a fresh interpreter takes to import the pure domain core, against the ORM's models.

Each run starts a new interpreter with `-X importtime` and sums the cumulative time of the top-level imports it
asks for: every module of `bot.domain`, or `bot.db.models` (SQLAlchemy and the tables). Prints one JSON line with
the median of `--runs` runs of each, in ms. The unit test (`tests/domain/test_pure_core.py`) checks what the domain
loads; this script gives the figure.

    python bench/domain_import.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import statistics
import subprocess
import sys

import bot.domain

DOMAIN = sorted(m.name for m in pkgutil.iter_modules(bot.domain.__path__, "bot.domain."))
MODELS = ["bot.db.models"]


def import_ms(modules: list[str]) -> float:
    """Cumulative import time of `modules` (and everything they bring in) in a fresh interpreter, in ms."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + ", ".join(modules)],
                          capture_output=True, text=True, check=True)
    wanted = set(modules) | {"bot", "bot.domain", "bot.db"}
    total_us = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit() and name in wanted and not line.split("|")[2].startswith("  "):
            total_us += int(cumulative)
    return total_us / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    domain = [import_ms(DOMAIN) for _ in range(args.runs)]
    models = [import_ms(MODELS) for _ in range(args.runs)]
    print(json.dumps({"runs": args.runs, "domain_modules": len(DOMAIN),
                      "domain_ms_median": round(statistics.median(domain), 1),
                      "db_models_ms_median": round(statistics.median(models), 1)}))


if __name__ == "__main__":
    main()
