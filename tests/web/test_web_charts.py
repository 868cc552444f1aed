"""The SVG charts escape their labels and scale to the largest value."""

from __future__ import annotations

from xml.etree import ElementTree

from tbtwatch.web.charts import hbars, stacked_months


def test_hbars_escapes_and_shortens_labels() -> None:
    svg = str(hbars([("<i>x</i>&", 10), ("玩具" * 30, 5)], title='a "title" & more'))
    root = ElementTree.fromstring(svg)  # well-formed XML
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<i>x</i>&" in texts  # as text, not markup
    assert "<i>" not in svg
    assert any(t.endswith("…") for t in texts)
    widths = [float(r.get("width", 0)) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[0] == 2 * widths[1]


def test_stacked_months_stack_series_per_month() -> None:
    svg = str(stacked_months(["2025-05", "2025-06"], [("TBT", [3, 1]), ("SPS", [1, 0])], title="per month"))
    root = ElementTree.fromstring(svg)
    bars = [
        r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert [b.find("{http://www.w3.org/2000/svg}title").text for b in bars] == [  # type: ignore[union-attr]
        "2025-05 TBT: 3",
        "2025-05 SPS: 1",
        "2025-06 TBT: 1",
    ]
    assert str(stacked_months([], [], title="empty")).startswith("<svg")
