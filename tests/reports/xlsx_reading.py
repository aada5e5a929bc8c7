"""Reading an XLSX back with the standard library only (zipfile + ElementTree), as a spreadsheet would."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_sheet(path: Path) -> tuple[list[list[str]], list[str]]:
    """The first sheet's cell texts row by row, and the formulas it holds (there should be none)."""
    with zipfile.ZipFile(path) as archive:
        shared = []
        if "xl/sharedStrings.xml" in archive.namelist():
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows, formulas = [], []
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        cells = {}
        for cell in row.findall("m:c", NS):
            column = re.match(r"[A-Z]+", cell.get("r")).group()
            if cell.find("m:f", NS) is not None:
                formulas.append(cell.find("m:f", NS).text)
            if cell.get("t") == "s":
                cells[column] = shared[int(cell.find("m:v", NS).text)]
            elif cell.get("t") == "inlineStr":
                cells[column] = "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))
            else:
                value = cell.find("m:v", NS)
                cells[column] = "" if value is None else value.text
        rows.append([cells[c] for c in sorted(cells, key=lambda c: (len(c), c))])
    return rows, formulas
