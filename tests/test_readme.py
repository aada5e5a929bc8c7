"""What the README says about setting up and running the tests matches what the repository does."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_browser_tests_system_packages_are_named_with_their_purpose_and_ci_installs_them():
    section = " ".join(readme_section("Tests and CI").split())
    assert "`chromium`" in section and "`chromium-driver`" in section
    assert "tests/web/test_report_browser.py" in section  # what they are for
    assert "skips" in section  # and what happens without them
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"apt-get install [^\n]*\bchromium chromium-driver\b", ci)
    assert "/usr/bin/chromedriver" in ci  # installed only where missing
