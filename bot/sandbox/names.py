"""Company names for the sandbox MSP, and how each system spells the same company differently.

The marketplace holds the legal name ("Acme Manufacturing Inc."); the Autotask company was typed by
someone in a hurry ("Acme Mfg."), the ConnectWise one by someone else ("ACME Manufacturing"). The
variants are what real MSP data looks like: abbreviations, legal suffixes changed or dropped,
punctuation, case, "&" against "and", a leading "The" dropped, the odd typo. The word lists combine
into tens of thousands of distinct names, so 2,000 customers plus PSA-only companies stay unique.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_SINGLE_ROOTS = (
    "Acme", "Apex", "Summit", "Pinnacle", "Keystone", "Redwood", "Granite", "Harbor", "Beacon", "Cascade",
    "Meridian", "Horizon", "Liberty", "Frontier", "Heritage", "Sterling", "Evergreen", "Ironwood", "Lakeside",
    "Riverside", "Northwind", "Bayview", "Crestview", "Fairview", "Highland", "Brookside", "Oakmont", "Pioneer",
    "Vanguard", "Sentinel", "Atlas", "Orion", "Phoenix", "Titan", "Vertex", "Zenith", "Catalyst", "Cornerstone",
    "Landmark", "Paramount", "Premier", "Regal", "Sapphire", "Cobalt", "Crimson", "Emerald", "Onyx", "Quartz",
    "Falcon", "Osprey", "Kestrel", "Cardinal", "Bluebird", "Maple", "Willow", "Cypress", "Aspen", "Juniper",
    "Magnolia", "Sequoia", "Sierra", "Tahoe", "Shasta", "Mesa", "Prairie", "Timberline", "Stonebridge",
    "Westbrook", "Eastgate", "Northgate", "Southport", "Kingsley", "Ashford", "Brighton", "Camden", "Dover",
    "Easton", "Fulton", "Lexington", "Newport", "Oxford", "Quincy", "Salem", "Windsor", "Yorktown", "Belmont",
    "Clifton", "Elmhurst", "Glendale", "Hillcrest", "Kenwood", "Linwood", "Norwood", "Parkside", "Rosewood",
    "Sherwood", "Wildwood", "Bridgeport", "Coastal", "Midwest", "Tri-County", "Tri-State", "Metro", "Capital",
    "Pacific", "Atlantic", "Gulf Coast", "Alpine", "Polaris", "Lumen", "Helix", "Quantum", "Vector", "Synergy",
    "Integrity", "Precision", "Reliance", "Allied", "Continental", "Superior", "Keystone State", "Bluegrass",
    "Lone Star", "Empire", "Heartland", "Piedmont", "Ozark", "Chesapeake", "Cumberland", "Allegheny",
)
_ROOT_FIRST = ("Blue", "Red", "Silver", "Golden", "Green", "Black", "White", "North", "South", "East", "West",
               "Iron", "Clear", "Bright", "High", "Twin", "Old", "Grand", "Lone", "Deer")
_ROOT_SECOND = ("Ridge", "River", "Creek", "Oak", "Pine", "Rock", "Valley", "Harbor", "Bay", "Peak", "Lake",
                "Mountain", "Star", "Bridge", "Field", "Point", "Springs", "Hill", "Meadow", "Forest", "Brook",
                "Canyon", "Shore", "Haven", "Stone", "Gate", "Water", "Wood", "Crest", "Bluff")
SURNAMES = (
    "Miller", "Anderson", "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Rodriguez", "Lewis", "Walker",
    "Hall", "Allen", "Young", "Hernandez", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker",
    "Gonzalez", "Nelson", "Carter", "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker",
    "Evans", "Edwards", "Collins", "Stewart", "Sanchez", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell",
    "Murphy", "Bailey", "Rivera", "Cooper", "Richardson", "Howard", "Ward", "Torres", "Peterson", "Gray",
    "Ramirez", "Watson", "Brooks", "Kelly", "Sanders", "Price", "Bennett", "Barnes", "Ross", "Henderson",
    "Coleman", "Jenkins", "Perry", "Powell", "Patterson", "Hughes", "Flores", "Butler", "Simmons", "Foster",
    "Bryant", "Alexander", "Russell", "Griffin", "Diaz", "Hayes", "Myers", "Ford", "Graham", "Sullivan",
    "Wallace", "Woods", "Cole", "Jordan", "Owens", "Reynolds", "Fisher", "Ellis", "Harrison", "Gibson",
    "McDonald", "Marshall", "Ortiz", "Gomez", "Murray", "Freeman", "Wells", "Webb", "Simpson", "Stevens",
    "Tucker", "Porter", "Hunter", "Hicks", "Crawford", "Boyd", "Mason", "Morales", "Kennedy", "Warren", "Dixon",
    "Ramos", "Reyes", "Burns", "Gordon", "Shaw", "Holmes", "Rice", "Robertson", "Hunt", "Daniels", "Palmer",
    "Mills", "Nichols", "Grant", "Knight", "Ferguson", "Hawkins", "Dunn", "Perkins", "Hudson", "Spencer",
    "Gardner", "Stephens", "Payne", "Pierce", "Berry", "Matthews", "Arnold", "Wagner", "Willis", "Watkins",
    "Olson", "Carroll", "Duncan", "Snyder", "Hart", "Cunningham", "Bradley", "Lane", "Andrews", "Harper",
    "Riley", "Armstrong", "Carpenter", "Weaver", "Lawrence", "Elliott", "Chavez", "Austin", "Franklin",
    "Lawson", "O'Brien", "O'Neil", "McCarthy", "Van Dyke", "St. Clair", "DeLuca", "Kowalski", "Nguyen",
    "Patel", "Schmidt", "Larsen", "Novak", "Brennan", "Fitzgerald", "Whitaker", "Holloway", "Langley",
)
# (industry as the legal name spells it, an abbreviation someone would type in a PSA or None)
INDUSTRIES = (
    ("Manufacturing", "Mfg."), ("Associates", "Assoc."), ("Services", "Svcs."), ("International", "Intl."),
    ("Technologies", "Tech."), ("Solutions", "Sol."), ("Management", "Mgmt."), ("Construction", "Constr."),
    ("Engineering", "Eng."), ("Medical Group", "Med. Grp."), ("Distribution", "Dist."),
    ("Insurance Agency", "Ins. Agency"), ("Accounting", "Acctg."), ("Properties", "Props."),
    ("Consulting", "Consult."), ("Dental Care", None), ("Family Dentistry", None),
    ("Veterinary Clinic", "Vet Clinic"), ("Law Group", None), ("Realty", None), ("Builders", None),
    ("Plumbing & Heating", "Plumbing/Htg."), ("Logistics", None), ("Trucking", None), ("Landscaping", None),
    ("Architects", "Arch."), ("Financial Advisors", "Fin. Advisors"), ("Wealth Management", "Wealth Mgmt."),
    ("Credit Union", "CU"), ("Capital Partners", "Capital Ptnrs."), ("Partners", "Ptnrs."),
    ("Holdings", "Hldgs."), ("Industries", "Inds."), ("Supply", None), ("Electric", "Elec."),
    ("Mechanical", "Mech."), ("Fabrication", "Fab."), ("Foods", None), ("Brewing Company", "Brewing Co."),
    ("Hospitality", None), ("Senior Living", None), ("Pediatrics", "Peds"), ("Orthopedics", "Ortho"),
    ("Physical Therapy", "PT"), ("Chiropractic", "Chiro"), ("Animal Hospital", None), ("Academy", None),
    ("Marketing", "Mktg."), ("Media", None), ("Design Studio", None), ("Printing", None), ("Auto Group", None),
    ("Marine", None), ("Aviation", None), ("Environmental", "Env."), ("Laboratories", "Labs"),
    ("Pharmacy", "Pharm."), ("Staffing", None), ("Title & Escrow", "Title/Escrow"), ("Farms", None),
    ("Equipment", "Equip."), ("Machine Works", "Mach. Works"), ("Roofing", None), ("Heating & Cooling", "HVAC"),
)
_LEGAL_SUFFIXES = (("Inc.", 30), ("LLC", 25), ("", 20), ("Co.", 6), ("Corp.", 6), ("Ltd.", 5), ("LLP", 3),
                   ("P.C.", 2), ("PLLC", 2), ("Corporation", 2), ("Incorporated", 1))
_SUFFIX_ALTERNATIVES = {
    "Inc.": ("Inc", ", Inc.", "Incorporated", ""), "LLC": ("L.L.C.", ", LLC", ""), "Co.": ("Company", "Co", ""),
    "Corp.": ("Corporation", "Corp", ""), "Ltd.": ("Limited", "Ltd", ""), "LLP": ("L.L.P.", ""),
    "P.C.": ("PC", ""), "PLLC": ("P.L.L.C.", ""), "Corporation": ("Corp.", "Corp", ""),
    "Incorporated": ("Inc.", "Inc", ""), "": ("Inc.", "LLC", ""),
}
LEGAL_WORDS = frozenset({"inc", "incorporated", "llc", "co", "company", "corp", "corporation", "ltd", "limited",
                         "llp", "pc", "pllc", "the"})


@dataclass(frozen=True)
class CompanyName:
    """A company's name in parts, so each system can spell it its own way."""

    root: str  # "Acme", "Blue Ridge", "Miller & Grant"
    industry: str
    abbreviation: str | None
    suffix: str
    leading_the: bool = False

    @property
    def legal(self) -> str:
        """The name as the marketplace holds it."""
        return _join(("The " if self.leading_the else "") + self.root, self.industry, self.suffix)

    @property
    def key(self) -> tuple[str, str]:
        return (self.root.lower(), self.industry.lower())


def _join(root: str, industry: str, suffix: str) -> str:
    name = f"{root} {industry}".strip()
    if suffix.startswith(","):
        return name + suffix
    return f"{name} {suffix}".strip()


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _root(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.30:
        return rng.choice(_SINGLE_ROOTS)
    if pick < 0.62:
        first, second = rng.choice(_ROOT_FIRST), rng.choice(_ROOT_SECOND)
        return f"{first} {second}" if rng.random() < 0.75 else f"{first}{second.lower()}"
    if pick < 0.84:
        return rng.choice(SURNAMES)
    if pick < 0.95:
        first, second = rng.sample(SURNAMES, 2)
        return f"{first} & {second}"
    return f"{rng.choice(SURNAMES)} & Sons"


def new_company_name(rng: random.Random, taken: set[tuple[str, str]]) -> CompanyName:
    """A legal name whose (root, industry) no other company of the world has."""
    while True:
        industry, abbreviation = rng.choice(INDUSTRIES)
        name = CompanyName(root=_root(rng), industry=industry, abbreviation=abbreviation,
                           suffix=_weighted(rng, _LEGAL_SUFFIXES), leading_the=rng.random() < 0.04)
        if name.key not in taken:
            taken.add(name.key)
            return name


def _typo(word: str, rng: random.Random) -> str:
    inner = [i for i in range(1, len(word) - 1) if word[i].islower() and word[i - 1].isalpha()]
    if len(inner) < 3:
        return word
    i = rng.choice(inner)
    kind = rng.random()
    if kind < 0.4 and word[i + 1].islower():  # swapped neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.7:  # a letter dropped
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # a letter doubled


def _shout(root: str) -> str:
    """How people capitalise a brand: "ACME" for a one-word name, a two-word one only now and then."""
    return root.upper() if " " not in root or len(root) <= 9 else root


def autotask_spelling(name: CompanyName, rng: random.Random) -> str:
    """The Autotask company name: mostly abbreviated, suffix changed or dropped ("Acme Mfg.")."""
    root, industry, suffix = name.root, name.industry, name.suffix
    if name.abbreviation and rng.random() < 0.55:
        industry = name.abbreviation
    if rng.random() < 0.6:
        suffix = rng.choice(_SUFFIX_ALTERNATIVES[suffix])
    if "&" in root and rng.random() < 0.3:
        root = root.replace(" & ", " and ")
    if rng.random() < 0.05:
        root = _typo(root, rng)
    spelled = _join(("The " if name.leading_the and rng.random() < 0.3 else "") + root, industry, suffix)
    if spelled == name.legal:
        spelled = _join(root, industry, rng.choice([s for s in _SUFFIX_ALTERNATIVES[name.suffix] if s != suffix]))
    return spelled


def connectwise_spelling(name: CompanyName, rng: random.Random) -> str:
    """The ConnectWise company name: case, punctuation and "&"/"and" changes ("ACME Manufacturing")."""
    root, industry, suffix = name.root, name.industry, name.suffix
    if rng.random() < 0.35:
        root = _shout(root)
    if rng.random() < 0.65:
        suffix = ""
    elif rng.random() < 0.5:
        suffix = suffix.replace(".", "").replace(",", "")
    if rng.random() < 0.6:
        root, industry = root.replace(" & ", " and "), industry.replace(" & ", " and ")
    if name.abbreviation and rng.random() < 0.15:
        industry = name.abbreviation.replace(".", "")
    if rng.random() < 0.05:
        root = _typo(root, rng)
    spelled = _join(root, industry, suffix)
    if spelled == name.legal:
        spelled = _join(root.upper() if rng.random() < 0.5 else root, industry, "")
        if spelled == name.legal:
            spelled = _join(root, industry.lower(), suffix)
    return spelled[:50]


def make_unique(name: str, taken: set[str], qualifier: str) -> str:
    """PSA users tell two same-named companies apart with a location; the marketplace never needs to."""
    candidate = name
    if candidate.lower() in taken:
        candidate = f"{name} - {qualifier}"
    n = 2
    while candidate.lower() in taken:
        candidate = f"{name} ({n})"
        n += 1
    taken.add(candidate.lower())
    return candidate


def connectwise_identifier(name: str, taken: set[str]) -> str:
    """A ConnectWise company identifier: the name squeezed into at most 30 letters and digits."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    base = "".join(w[:1].upper() + w[1:].lower() for w in words if w.lower() not in LEGAL_WORDS)[:30] or "Company"
    candidate, n = base, 2
    while candidate.lower() in taken:
        tail = str(n)
        candidate = base[: 30 - len(tail)] + tail
        n += 1
    taken.add(candidate.lower())
    return candidate


def email_domain(name: CompanyName) -> str:
    words = re.findall(r"[a-z0-9]+", f"{name.root} {name.industry.split(' ')[0]}".lower())
    return "".join(w for w in words if w not in {"and", "sons"})[:24] + ".com"


CITIES = (
    ("Denver", "US"), ("Austin", "US"), ("Columbus", "US"), ("Raleigh", "US"), ("Boise", "US"),
    ("Omaha", "US"), ("Tulsa", "US"), ("Madison", "US"), ("Spokane", "US"), ("Richmond", "US"),
    ("Albany", "US"), ("Tucson", "US"), ("Fresno", "US"), ("Sacramento", "US"), ("Portland", "US"),
    ("Nashville", "US"), ("Charlotte", "US"), ("Pittsburgh", "US"), ("Cleveland", "US"), ("Dayton", "US"),
    ("Des Moines", "US"), ("Wichita", "US"), ("Reno", "US"), ("Savannah", "US"), ("Knoxville", "US"),
    ("Grand Rapids", "US"), ("Allentown", "US"), ("Hartford", "US"), ("Providence", "US"), ("Lansing", "US"),
    ("Toronto", "CA"), ("Ottawa", "CA"), ("Calgary", "CA"), ("Halifax", "CA"),
)
