"""Charts drawn on the server as SVG text: a pie (share of a total) and horizontal bars (a ranking).

Pure functions of (label, value) pairs, no JavaScript and nothing fetched: the report page embeds the
SVG inline. Every label is XML-escaped here, so the result is returned as `Markup` and a template
inserts it as is. Only positive values can be drawn; zero and negative ones are left out and said
so in the chart's description. The largest values are shown and the rest summed as "Other".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

Number = int | float | Decimal

# Okabe & Ito's palette: told apart with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER_COLOUR = "#999999"
PIE_TOP = 7  # with "Other", at most eight slices: one colour each
BAR_TOP = 12
LABEL_CHARS = 40
MIN_LABEL_WIDTH = 80
FONT = Markup('font-family="system-ui, sans-serif" font-size="12"')


@dataclass(frozen=True)
class Slice:
    label: str
    value: Decimal
    start: float  # degrees clockwise from twelve o'clock
    sweep: float
    colour: str


@dataclass(frozen=True)
class Ranked:
    shown: list[tuple[str, Decimal]]  # largest first, "Other" last when there is one
    other: bool
    skipped: int  # values left out for not being positive


def top_with_other(values: Iterable[tuple[str, Number]], *, top: int) -> Ranked:
    """The `top` largest positive values (ties by label), then one "Other (n more)" summing the rest."""
    positive: list[tuple[str, Decimal]] = []
    skipped = 0
    for label, value in values:
        amount = Decimal(str(value))
        if amount > 0:
            positive.append((label, amount))
        else:
            skipped += 1
    positive.sort(key=lambda pair: (-pair[1], pair[0]))
    if len(positive) <= top + 1:  # an "Other" of one entry would hide a name for nothing
        return Ranked(positive, False, skipped)
    rest = positive[top:]
    other = (f"Other ({len(rest)} more)", sum((v for _, v in rest), Decimal(0)))
    return Ranked([*positive[:top], other], True, skipped)


def pie_slices(ranked: Ranked) -> list[Slice]:
    total = sum((v for _, v in ranked.shown), Decimal(0))
    slices, start = [], 0.0
    for index, (label, value) in enumerate(ranked.shown):
        last = index == len(ranked.shown) - 1
        sweep = 360.0 - start if last else float(value / total) * 360.0  # the last slice closes the circle
        colour = OTHER_COLOUR if last and ranked.other else PALETTE[index % len(PALETTE)]
        slices.append(Slice(label, value, start, sweep, colour))
        start += sweep
    return slices


def pie_chart(values: Iterable[tuple[str, Number]], *, title: str, top: int = PIE_TOP) -> Markup:
    ranked = top_with_other(values, top=top)
    slices = pie_slices(ranked)
    if not slices:
        return _empty(title)
    total = sum((s.value for s in slices), Decimal(0))
    radius, cx, cy = 80, 95, 110
    legend_x, row = 200, 20
    height = max(cy + radius + 15, 40 + row * len(slices) + 15)
    legends = [f"{_short(s.label)} — {_number(s.value)} ({s.value / total * 100:.0f}%)" for s in slices]
    width = max(560, legend_x + 18 + max(text_width(text) for text in legends) + 12, text_width(title) + 4)
    parts = [_open(title, math.ceil(width), height, f"total {_number(total)}{_skipped(ranked)}", "pie")]
    for index, piece in enumerate(slices):
        share = piece.value / total * 100
        attributes = Markup(
            'class="slice" fill="{}" stroke="#fff" data-label="{}" data-value="{}" data-start="{}" data-sweep="{}"'
        ).format(piece.colour, piece.label, piece.value, f"{piece.start:.6f}", f"{piece.sweep:.6f}")
        tooltip = f"{piece.label}: {_number(piece.value)} ({share:.1f}%)"
        if len(slices) == 1:
            shape = Markup('<circle {} cx="{}" cy="{}" r="{}"><title>{}</title></circle>')
            parts.append(shape.format(attributes, cx, cy, radius, tooltip))
        else:
            shape = Markup('<path {} d="{}"><title>{}</title></path>')
            parts.append(shape.format(attributes, _arc(cx, cy, radius, piece.start, piece.sweep), tooltip))
        y = 40 + index * row
        parts.append(Markup('<rect x="{}" y="{}" width="12" height="12" fill="{}"/>').format(
            legend_x, y - 10, piece.colour))
        parts.append(Markup('<text class="legend" x="{}" y="{}" {}>{} — {} ({}%)</text>').format(
            legend_x + 18, y, FONT, _short(piece.label), _number(piece.value), f"{share:.0f}"))
    return _close(parts)


def bar_chart(values: Iterable[tuple[str, Number]], *, title: str, top: int = BAR_TOP) -> Markup:
    ranked = top_with_other(values, top=top)
    shown = ranked.shown
    if not shown:
        return _empty(title)
    # the label column is as wide as its longest label, so none is cut at the chart's left edge
    label_width = max(MIN_LABEL_WIDTH, max(text_width(_short(label)) for label, _ in shown) + 12)
    bar_space, row = 230, 22
    height = 40 + row * len(shown)
    largest = max(v for _, v in shown)
    description = f"{len(shown)} bar{'' if len(shown) == 1 else 's'}{_skipped(ranked)}"
    width = max(label_width + bar_space + max(text_width(_number(v)) for _, v in shown) + 12, text_width(title) + 4)
    parts = [_open(title, math.ceil(width), height, description, "bar")]
    for index, (label, value) in enumerate(shown):
        y = 30 + index * row
        width = max(1.0, float(value / largest) * bar_space)
        colour = OTHER_COLOUR if ranked.other and index == len(shown) - 1 else PALETTE[0]
        parts.append(Markup('<text x="{}" y="{}" text-anchor="end" {}>{}</text>').format(
            f"{label_width - 6:.0f}", y + 13, FONT, _short(label)))
        parts.append(Markup(
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}" data-label="{}" data-value="{}">'
            "<title>{}: {}</title></rect>"
        ).format(label_width, y, f"{width:.2f}", row - 6, colour, label, value, label, _number(value)))
        parts.append(Markup('<text x="{}" y="{}" {}>{}</text>').format(
            f"{label_width + width + 4:.2f}", y + 13, FONT, _number(value)))
    return _close(parts)


def _open(title: str, width: int, height: int, description: str, kind: str) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart {}" role="img" aria-label="{}" width="{}" '
        'height="{}" viewBox="0 0 {} {}"><title>{}</title><desc>{}</desc>'
        '<text x="0" y="16" font-weight="bold" {}>{}</text>'
    ).format(kind, title, width, height, width, height, title, description, FONT, title)


def _close(parts: list[Markup]) -> Markup:
    return Markup("").join([*parts, Markup("</svg>")])


def _empty(title: str) -> Markup:
    return _close([_open(title, 320, 50, "no data", "empty"),
                   Markup('<text x="0" y="40" {}>Nothing to chart.</text>').format(FONT)])


def _skipped(ranked: Ranked) -> str:
    return f"; {ranked.skipped} not positive, not shown" if ranked.skipped else ""


def _arc(cx: float, cy: float, radius: float, start: float, sweep: float) -> str:
    x0, y0 = _point(cx, cy, radius, start)
    x1, y1 = _point(cx, cy, radius, start + sweep)
    large = 1 if sweep > 180 else 0
    return f"M {cx} {cy} L {x0:.3f} {y0:.3f} A {radius} {radius} 0 {large} 1 {x1:.3f} {y1:.3f} Z"


def _point(cx: float, cy: float, radius: float, degrees: float) -> tuple[float, float]:
    radians = math.radians(degrees - 90)  # 0 degrees is twelve o'clock, clockwise as SVG's y grows down
    return cx + radius * math.cos(radians), cy + radius * math.sin(radians)


# Advance widths of the 12 px sans-serif the charts use, generous so a label is never wider than measured:
# narrow letters and punctuation, wide capitals, and the rest (a measured test: tests/web/test_report_browser.py).
_NARROW = set("iljtfrI.,;:'|!()[] ")
_WIDE = set("MWmw@%")


def text_width(text: str) -> float:
    """About how many pixels `text` takes in the charts' font, never less than a browser draws it."""
    return sum(4.5 if c in _NARROW else 11.5 if c in _WIDE else 8.5 if c.isupper() else 7.2 for c in text)


def _number(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
