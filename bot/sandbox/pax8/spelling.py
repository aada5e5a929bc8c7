"""How the MSP spelled its customers when it set them up in Pax8: a third spelling of the same company.

Ingram shows the legal name ("Acme Manufacturing Inc."), Autotask an abbreviation ("Acme Mfg."),
ConnectWise a case and punctuation change ("ACME Manufacturing"). In Pax8 the name was typed again,
by someone sorting customers by their account number: the spec's own company examples read
"0633 - Citizens State Bank" and "047 Acupuncture Search, Inc.". So Pax8 names often start with an
account code, put a comma before the legal suffix and drop its dots ("Acme Manufacturing, Inc"),
write "&" as "+" or "and", and now and then drop the industry word ("0412 - Acme").
"""

from __future__ import annotations

import random

from bot.sandbox.names import CompanyName

_COMMA_SUFFIX = {"Inc.": "Inc", "LLC": "LLC", "Co.": "Co", "Corp.": "Corp", "Ltd.": "Ltd", "LLP": "LLP",
                 "P.C.": "PC", "PLLC": "PLLC", "Corporation": "Corporation", "Incorporated": "Inc", "": ""}


def pax8_spelling(name: CompanyName, rng: random.Random) -> str:
    root, industry = name.root, name.industry
    roll = rng.random()
    if "&" in root and roll < 0.4:
        root = root.replace(" & ", " + ")
    elif "&" in root and roll < 0.7:
        root = root.replace(" & ", " and ")
    if rng.random() < 0.1 and " " in root:
        industry = ""
    suffix = _COMMA_SUFFIX[name.suffix]
    if rng.random() < 0.35:
        suffix = ""
    spelled = f"{root} {industry}".strip()
    if suffix:
        spelled = f"{spelled}, {suffix}"
    if rng.random() < 0.45:
        code = f"{rng.randint(1, 9999):0{rng.choice((3, 4))}d}"
        spelled = f"{code}{rng.choice((' - ', ' ', ' - '))}{spelled}"
    if spelled == name.legal:  # never the marketplace's spelling
        spelled = f"{root} {name.industry}, {suffix or 'LLC'}" if suffix != "LLC" else f"{root} {name.industry}"
    return spelled
