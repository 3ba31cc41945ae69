"""SVG charts: axes, ticks, legend and lines that put each value where it belongs."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from vswidget.server import charts

NS = {"svg": charts.SVG_NS}
DAYS = [date(2025, 3, 1) + timedelta(days=n) for n in range(10)]


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([\d.]+) ([\d.]+)", d)]


def line_of(svg: ET.Element, label: str) -> list[tuple[float, float]]:
    for group in svg.iterfind(".//svg:g[@class='vsw-series']/svg:g", NS):
        if group.get("data-label") == label:
            path = group.find("svg:path", NS)
            assert path is not None
            return path_points(path.get("d", ""))
    raise AssertionError(f"no line for {label!r}")


def texts(svg: ET.Element, where: str) -> list[str]:
    return [node.text or "" for node in svg.iterfind(where, NS)]


def y_ticks(svg: ET.Element) -> dict[str, float]:
    nodes = svg.iterfind(".//svg:g[@class='vsw-axis vsw-axis-y']/svg:text", NS)
    return {node.text or "": float(node.get("y", "nan")) for node in nodes}


def test_a_line_chart_is_an_svg_image_with_a_title() -> None:
    svg = parse(charts.line_chart({"Views": [1] * 10}, DAYS, title="Views per day"))
    assert svg.tag == f"{{{charts.SVG_NS}}}svg"
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Views per day"
    assert texts(svg, "svg:title") == ["Views per day"]
    assert svg.get("viewBox") == "0 0 960 260"


def test_a_line_chart_has_axes_ticks_a_legend_and_one_path_per_series() -> None:
    svg = parse(
        charts.line_chart(
            {"Impressions": [n * 10 for n in range(10)], "Views": list(range(10))},
            DAYS,
            title="Reach",
        )
    )
    assert texts(svg, ".//svg:g[@class='vsw-legend']//svg:text") == ["Impressions", "Views"]
    assert list(y_ticks(svg)) == ["0", "20", "40", "60", "80", "100"]
    dates = texts(svg, ".//svg:g[@class='vsw-axis vsw-axis-x']/svg:text")
    assert dates[-1] == "2025-03-10" and len(dates) <= 7
    assert len(svg.findall(".//svg:g[@class='vsw-series']//svg:path", NS)) == 2
    assert svg.find(".//svg:line[@class='vsw-baseline']", NS) is not None


def test_values_map_to_coordinates_on_the_axes() -> None:
    values = [0, 50, 100, 25, 0, 0, 0, 0, 0, 80]
    svg = parse(charts.line_chart({"Views": values}, DAYS, title="Views"))
    ticks = y_ticks(svg)
    zero, hundred = ticks["0"], ticks["100"]
    points = line_of(svg, "Views")
    assert len(points) == len(values)
    for (_, y), value in zip(points, values, strict=True):
        assert y == pytest.approx(zero + (hundred - zero) * value / 100, abs=0.06)
    xs = [x for x, _ in points]
    assert xs == sorted(xs)
    assert xs[0] == charts.LEFT and xs[-1] == 960 - charts.RIGHT
    steps = {round(b - a, 1) for a, b in zip(xs, xs[1:], strict=False)}
    assert len(steps) <= 2  # evenly spaced, give or take rounding


def test_series_keep_their_colour_class() -> None:
    svg = parse(
        charts.line_chart(
            {"Votes": [1] * 10, "Clicks": [2] * 10},
            DAYS,
            title="Actions",
            classes={"Votes": "vsw-s3", "Clicks": "vsw-s4"},
        )
    )
    classes = [path.get("class") for path in svg.iterfind(".//svg:g[@class]/svg:path", NS)]
    assert classes == ["vsw-line vsw-s3", "vsw-line vsw-s4"]


def test_labels_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & Co'
    markup = charts.line_chart({hostile: [1] * 10}, DAYS, title=hostile, description=hostile)
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    svg = parse(markup)  # still well-formed XML
    assert svg.get("aria-label") == hostile
    assert hostile in texts(svg, ".//svg:g[@class='vsw-legend']//svg:title")
    spark = charts.sparkline([1, 2], label=hostile)
    assert "<script>" not in spark and parse(spark).get("aria-label") == hostile


def test_all_zero_data_draws_a_flat_line_on_the_baseline() -> None:
    svg = parse(charts.line_chart({"Views": [0] * 10}, DAYS, title="Views"))
    ticks = y_ticks(svg)
    assert list(ticks) == ["0", "1"]
    assert {y for _, y in line_of(svg, "Views")} == {ticks["0"]}


def test_a_single_day_is_drawn_in_the_middle_without_dividing_by_zero() -> None:
    svg = parse(charts.line_chart({"Views": [7]}, DAYS[:1], title="One day"))
    ((x, _),) = line_of(svg, "Views")
    assert x == pytest.approx(charts.LEFT + (960 - charts.LEFT - charts.RIGHT) / 2)
    assert texts(svg, ".//svg:g[@class='vsw-axis vsw-axis-x']/svg:text") == ["2025-03-01"]
    assert len(svg.findall(".//svg:circle", NS)) == 1


def test_no_days_at_all_still_draws_a_readable_chart() -> None:
    svg = parse(charts.line_chart({"Views": []}, [], title="Nothing"))
    assert texts(svg, "svg:text") == ["No days to show"]
    assert svg.findall(".//svg:g[@class='vsw-series']/*", NS) == []


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="3 values for 10 days"):
        charts.line_chart({"Views": [1, 2, 3]}, DAYS, title="Views")


def test_each_day_has_a_hover_title_with_its_counts() -> None:
    svg = parse(charts.line_chart({"Views": list(range(10))}, DAYS, title="Views"))
    hovers = texts(svg, ".//svg:rect[@class='vsw-hover']/svg:title")
    assert len(hovers) == 10
    assert hovers[3] == "2025-03-04: Views 3"


def test_long_legend_labels_are_cut_but_kept_whole_in_a_title() -> None:
    label = "An item with a really rather long name indeed"
    svg = parse(charts.line_chart({label: [1] * 10}, DAYS, title="Votes"))
    (shown,) = texts(svg, ".//svg:g[@class='vsw-legend']//svg:text")
    assert shown.endswith("…") and len(shown) == charts.LEGEND_CHARS
    assert texts(svg, ".//svg:g[@class='vsw-legend']//svg:title") == [label]


def test_a_count_scale_repeats_the_charts_count_labels_at_the_same_heights() -> None:
    series = {"Impressions": [n * 10 for n in range(10)], "Views": list(range(10))}
    chart = parse(charts.line_chart(series, DAYS, title="Reach"))
    scale = parse(charts.count_scale(series))
    labels = scale.iterfind(".//svg:g[@class='vsw-scale-labels']/svg:text", NS)
    assert {node.text: float(node.get("y", "nan")) for node in labels} == y_ticks(chart)
    assert scale.get("viewBox") == f"0 0 {charts.LEFT} 260"


def test_a_count_scale_is_as_wide_as_the_charts_margin_and_hidden_from_screen_readers() -> None:
    scale = parse(charts.count_scale({"Views": [3]}, width=480, height=200))
    assert scale.get("style") == f"width: {100 * charts.LEFT / 480:g}%"
    assert scale.get("viewBox") == f"0 0 {charts.LEFT} 200"
    assert scale.get("aria-hidden") == "true"
    assert scale.find("svg:title", NS) is None  # the chart beside it carries the text


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (90, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 250, 500, 750, 1000, 1250]),
        (98_000, [0, 20_000, 40_000, 60_000, 80_000, 100_000]),
    ],
)
def test_ticks_are_nice_round_steps_from_zero(largest: int, ticks: list[int]) -> None:
    assert charts.count_ticks(largest) == ticks


def test_counts_on_axes_are_short() -> None:
    assert [charts.short_count(n) for n in (950, 1000, 1500, 12_000, 2_500_000)] == [
        "950",
        "1k",
        "1.5k",
        "12k",
        "2.5M",
    ]


def test_day_ticks_always_label_the_last_day() -> None:
    assert charts.day_ticks(7) == list(range(7))
    assert charts.day_ticks(30)[-1] == 29 and len(charts.day_ticks(30)) <= 7
    assert charts.day_ticks(90)[-1] == 89 and len(charts.day_ticks(90)) <= 7
    assert charts.day_ticks(1) == [0] and charts.day_ticks(0) == []


@pytest.mark.parametrize("count", [2, 7, 8, 14, 30, 31, 90, 366])
def test_day_labels_are_yyyy_mm_dd_and_never_overlap(count: int) -> None:
    days = [date(2026, 12, 6) - timedelta(days=n) for n in range(count)][::-1]
    svg = parse(charts.line_chart({"Views": [1] * count}, days, title="Views"))
    labels = svg.findall(".//svg:g[@class='vsw-axis vsw-axis-x']/svg:text", NS)
    assert labels[-1].text == "2026-12-06"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", label.text or "") for label in labels)
    width = len("2026-12-06") * charts.FONT_WIDTH
    spans = []  # each label's left and right edge, from its anchor
    for label in labels:
        x = float(label.get("x", ""))
        shift = {"start": 0, "middle": width / 2, "end": width}[label.get("text-anchor", "")]
        spans.append((x - shift, x - shift + width))
    assert spans[0][0] >= 0 and spans[-1][1] <= 960
    assert all(right < left for (_, right), (left, _) in itertools.pairwise(spans))


def test_a_sparkline_scales_to_its_own_peak() -> None:
    svg = parse(charts.sparkline([0, 5, 10], label="Views per day"))
    assert svg.get("aria-label") == "Views per day"
    line = svg.find("svg:path[@class='vsw-spark-line']", NS)
    assert line is not None
    assert path_points(line.get("d", "")) == [(0, 30), (60, 16), (120, 2)]


@pytest.mark.parametrize("values", [[], [0], [0, 0, 0], [4]])
def test_a_sparkline_of_nothing_or_zeros_or_one_day_is_flat(values: list[int]) -> None:
    svg = parse(charts.sparkline(values, label="Views"))
    line = svg.find("svg:path[@class='vsw-spark-line']", NS)
    assert line is not None
    points = path_points(line.get("d", ""))
    assert len({y for _, y in points}) == 1
    assert points[0][0] == 0 and points[-1][0] == 120
