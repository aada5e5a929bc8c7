import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from bot.reports.charts import LABEL_CHARS, OTHER_COLOUR, bar_chart, pie_chart, top_with_other

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://x","y")'


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything that is not well-formed XML


def slices(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == "slice"]


def arc_points(path: str) -> tuple[tuple[float, float], tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    # M cx cy L x0 y0 A r r 0 large 1 x1 y1 Z
    return (numbers[2], numbers[3]), (numbers[-2], numbers[-1])


def test_a_pie_has_one_slice_per_value_and_its_angles_make_a_circle():
    root = parse(pie_chart([("Acme", 8), ("Globex", 4), ("Initech", 3), ("Umbrella", 1)], title="Licences"))
    found = slices(root)
    assert [s.get("data-label") for s in found] == ["Acme", "Globex", "Initech", "Umbrella"]
    sweeps = [float(s.get("data-sweep")) for s in found]
    assert sum(sweeps) == pytest.approx(360.0)
    assert sweeps == pytest.approx([180.0, 90.0, 67.5, 22.5])
    starts = [float(s.get("data-start")) for s in found]
    assert starts == pytest.approx([0.0, 180.0, 270.0, 337.5])


def test_the_slices_drawn_meet_end_to_end_around_the_circle():
    root = parse(pie_chart([("a", 5), ("b", 3), ("c", 2)], title="t"))
    paths = [s.get("d") for s in slices(root)]
    ends = [arc_points(p) for p in paths]
    for (_, end), (next_start, _) in zip(ends, ends[1:] + ends[:1], strict=True):
        assert end == pytest.approx(next_start, abs=0.01)
    # the first slice starts at twelve o'clock; the one over half the circle uses the large-arc flag
    assert ends[0][0] == pytest.approx((95.0, 30.0))
    assert re.search(r"A 80 80 0 0 1", paths[0])  # exactly half: the small arc
    big = parse(pie_chart([("a", 3), ("b", 1)], title="t"))
    assert re.search(r"A 80 80 0 1 1", slices(big)[0].get("d"))


def test_many_values_become_the_top_ones_and_other():
    values = [(f"Customer {i:02}", 100 - i) for i in range(20)]
    root = parse(pie_chart(values, title="t", top=7))
    found = slices(root)
    assert len(found) == 8
    assert found[-1].get("data-label") == "Other (13 more)"
    assert Decimal(found[-1].get("data-value")) == sum(100 - i for i in range(7, 20))
    assert found[-1].get("fill") == OTHER_COLOUR
    assert sum(float(s.get("data-sweep")) for s in found) == pytest.approx(360.0)


def test_other_is_not_made_for_a_single_leftover():
    ranked = top_with_other([("a", 3), ("b", 2), ("c", 1)], top=2)
    assert ranked.shown == [("a", Decimal(3)), ("b", Decimal(2)), ("c", Decimal(1))] and not ranked.other


def test_one_value_is_a_whole_circle():
    root = parse(pie_chart([("Acme", 5), ("Zero Ltd", 0)], title="t"))
    (whole,) = slices(root)
    assert whole.tag == SVG + "circle" and float(whole.get("data-sweep")) == 360.0
    assert "1 not positive" in root.find(SVG + "desc").text


@pytest.mark.parametrize("draw", [pie_chart, bar_chart])
def test_labels_and_titles_are_escaped(draw):
    markup = str(draw([(SCRIPT_NAME, 3), (FORMULA_NAME, 2), ("Smith & Sons", 1)], title="<b>Title</b> & co"))
    assert "<script" not in markup and "<b>" not in markup
    root = parse(markup)
    labels = [e.get("data-label") for e in root.iter() if e.get("data-label")]
    assert labels == [SCRIPT_NAME, FORMULA_NAME, "Smith & Sons"]
    texts = " ".join("".join(e.itertext()) for e in root.iter(SVG + "text"))
    assert SCRIPT_NAME in texts and FORMULA_NAME in texts and "Smith & Sons" in texts
    assert root.find(SVG + "title").text == "<b>Title</b> & co"
    assert root.get("aria-label") == "<b>Title</b> & co"


@pytest.mark.parametrize("draw", [pie_chart, bar_chart])
@pytest.mark.parametrize("values", [[], [("a", 0), ("b", -2)]], ids=["no-values", "none-positive"])
def test_empty_data_draws_a_chart_that_says_so(draw, values):
    root = parse(draw(values, title="Nothing here"))
    assert root.get("class") == "chart empty"
    assert "Nothing to chart." in "".join(root.itertext())
    assert slices(root) == [] and not [e for e in root.iter() if e.get("class") == "bar"]


def test_bars_are_ranked_and_scaled_to_the_largest():
    root = parse(bar_chart([("small", 1), ("big", 4), ("mid", Decimal("2.50"))], title="Counts"))
    bars = [e for e in root.iter(SVG + "rect") if e.get("class") == "bar"]
    assert [b.get("data-label") for b in bars] == ["big", "mid", "small"]
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == pytest.approx(230.0) and widths[1] / widths[0] == pytest.approx(2.5 / 4)
    assert "2.50" in "".join(root.itertext())


def test_long_labels_are_shortened_on_the_chart_but_whole_in_the_tooltip():
    label = "The Very Long Company Name Limited of Somewhere Far Away"
    root = parse(bar_chart([(label, 1)], title="t"))
    shown = [e.text for e in root.iter(SVG + "text") if e.text and e.text.startswith("The Very")]
    assert shown and shown[0].endswith("…") and len(shown[0]) <= LABEL_CHARS
    assert any(e.text == f"{label}: 1" for e in root.iter(SVG + "title"))


def test_every_slice_colour_differs_up_to_eight():
    root = parse(pie_chart([(str(i), 10 - i) for i in range(8)], title="t"))
    colours = [s.get("fill") for s in slices(root)]
    assert len(set(colours)) == 8 and OTHER_COLOUR not in colours
