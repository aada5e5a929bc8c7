"""Read an HTML page into an ElementTree, the way a browser's parser would see its elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ET.Element("document")
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = ET.SubElement(self.stack[-1], tag, {k: (v if v is not None else "") for k, v in attrs})
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        ET.SubElement(self.stack[-1], tag, {k: (v if v is not None else "") for k, v in attrs})

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def parse_html(text: str) -> ET.Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements: " + ", ".join(e.tag for e in builder.stack[1:])
    return builder.root


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def table_rows(page: ET.Element, section: str = "tbody") -> list[list[str]]:
    body = page.find(f".//table[@id='report']/{section}")
    return [] if body is None else [[text_of(td) for td in tr.iter("td")] for tr in body.iter("tr")]
