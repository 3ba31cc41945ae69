"""SVG charts drawn on the server: pure functions from numbers to markup.

The markup is built with ElementTree, so every label and title is escaped as
text. Colours are not in the markup: each series carries a class (``vsw-s1``...)
that ``static/dashboard.css`` colours for light and dark schemes. Any input,
all zeros or a single day included, draws without dividing by zero.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"

# Room around the plot, in viewBox units: legend above, dates below, counts left.
TOP = 40
BOTTOM = 28
LEFT = 48
RIGHT = 16
FONT_WIDTH = 7.0  # average width of a 12-unit glyph, to lay out the legend
LEGEND_GAP = 18
LEGEND_CHARS = 28  # longer labels are cut, the whole label stays in a <title>
POINTS_UP_TO = 14  # draw a dot on each day up to this many days


def nice_step(largest: float, ticks: int = 5) -> int:
    """Return a round step (1, 2, 2.5 or 5 times a power of ten) that spans ``largest``
    in at most ``ticks`` steps.

    Counts are whole numbers, so the step is a whole number of at least 1.
    """
    if largest <= ticks:
        return 1
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= rough and step == int(step):
            return int(step)
    return int(10 * power)  # pragma: no cover - the loop always returns


def count_ticks(largest: int, ticks: int = 5) -> list[int]:
    """Return the counts to mark on a vertical axis: 0 up to at least ``largest``."""
    step = nice_step(largest, ticks)
    top = max(step, math.ceil(max(largest, 0) / step) * step)
    return list(range(0, top + 1, step))


def day_ticks(count: int, most: int = 7) -> list[int]:
    """Return the indexes of the days to label: at most ``most``, the last day always."""
    if count <= 0:
        return []
    step = max(1, math.ceil(count / most))
    return sorted(range(count - 1, -1, -step))


def short_count(value: int) -> str:
    """Return a count for an axis label: 950, 1.2k, 12k, 1.5M."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(value)


def _svg(width: int, height: int, label: str, css_class: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "class": css_class,
            "role": "img",
            "aria-label": label,
            "focusable": "false",
        },
    )
    ET.SubElement(svg, "title").text = label
    return svg


def _markup(svg: ET.Element) -> Markup:
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend_width(label: str) -> float:
    """The width of a legend item: its line, the label as shown, the gap to the next."""
    return 22 + FONT_WIDTH * len(_cut(label)) + LEGEND_GAP


def _cut(label: str) -> str:
    return label if len(label) <= LEGEND_CHARS else label[: LEGEND_CHARS - 1] + "…"


def _count_scale(
    series: Mapping[str, Sequence[int]], height: int
) -> tuple[list[int], Callable[[int], float]]:
    """Return the counts to mark on a chart ``height`` high, and the y of a count."""
    largest = max((max(values, default=0) for values in series.values()), default=0)
    ticks = count_ticks(largest)
    plot_height = height - TOP - BOTTOM

    def y_of(value: int) -> float:
        return TOP + plot_height - plot_height * value / ticks[-1]

    return ticks, y_of


def _count_labels(axis: ET.Element, ticks: Sequence[int], y_of: Callable[[int], float]) -> None:
    """Write each count's label into ``axis``, right-aligned in the left margin."""
    for tick in ticks:
        label = ET.SubElement(
            axis,
            "text",
            {
                "class": "vsw-tick",
                "x": str(LEFT - 8),
                "y": _number(y_of(tick)),
                "dy": "4",
                "text-anchor": "end",
            },
        )
        label.text = short_count(tick)


def line_chart(
    series: Mapping[str, Sequence[int]],
    days: Sequence[date],
    *,
    title: str,
    description: str = "",
    classes: Mapping[str, str] | None = None,
    width: int = 960,
    height: int = 260,
    when: Callable[[date], str] = date.isoformat,
) -> Markup:
    """Return an SVG line chart of daily counts, one line per series, with axes and a legend.

    ``series`` maps a label to one count per day of ``days``. ``classes`` maps a
    label to its colour class (default ``vsw-s1``, ``vsw-s2``... in order). ``days``
    may be minutes (datetimes), with ``when`` writing one (default YYYY-MM-DD).
    Hovering a day shows its counts (an SVG ``<title>``; no script).
    """
    for label, values in series.items():
        if len(values) != len(days):
            raise ValueError(f"The series {label!r} has {len(values)} values for {len(days)} days.")
    names = {
        label: (classes or {}).get(label, f"vsw-s{index + 1}") for index, label in enumerate(series)
    }
    svg = _svg(width, height, title, "vsw-chart")
    if description:
        ET.SubElement(svg, "desc").text = description
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    bottom = TOP + plot_height

    # The legend ends at the right edge, by the newest day: where a phone, scrolling a
    # chart wider than the screen, shows it first.
    legend = ET.SubElement(svg, "g", {"class": "vsw-legend"})
    x = width - RIGHT - sum(_legend_width(label) for label in names) + LEGEND_GAP
    for label, css in names.items():
        item = ET.SubElement(legend, "g", {"class": "vsw-legend-item"})
        ET.SubElement(item, "title").text = label
        ET.SubElement(
            item,
            "line",
            {
                "class": f"vsw-line {css}",
                "x1": _number(x),
                "x2": _number(x + 16),
                "y1": "14",
                "y2": "14",
            },
        )
        ET.SubElement(item, "text", {"x": _number(x + 22), "y": "18"}).text = _cut(label)
        x += _legend_width(label)

    ticks, y_of = _count_scale(series, height)

    def x_of(index: int) -> float:
        if len(days) <= 1:
            return LEFT + plot_width / 2
        return LEFT + plot_width * index / (len(days) - 1)

    grid = ET.SubElement(svg, "g", {"class": "vsw-grid"})
    for tick in ticks:
        at = _number(y_of(tick))
        ET.SubElement(
            grid, "line", {"x1": str(LEFT), "x2": str(LEFT + plot_width), "y1": at, "y2": at}
        )
    _count_labels(ET.SubElement(svg, "g", {"class": "vsw-axis vsw-axis-y"}), ticks, y_of)

    axis_x = ET.SubElement(svg, "g", {"class": "vsw-axis vsw-axis-x"})
    ET.SubElement(
        axis_x,
        "line",
        {
            "class": "vsw-baseline",
            "x1": str(LEFT),
            "x2": str(LEFT + plot_width),
            "y1": str(bottom),
            "y2": str(bottom),
        },
    )
    for index in day_ticks(len(days)):
        x_text = _number(x_of(index))
        ET.SubElement(
            axis_x, "line", {"x1": x_text, "x2": x_text, "y1": str(bottom), "y2": str(bottom + 4)}
        )
        anchor = "middle"
        if len(days) > 1 and index == len(days) - 1:
            anchor = "end"
        elif len(days) > 1 and index == 0:
            anchor = "start"
        day_text = ET.SubElement(
            axis_x,
            "text",
            {"class": "vsw-tick", "x": x_text, "y": str(bottom + 18), "text-anchor": anchor},
        )
        day_text.text = when(days[index])  # YYYY-MM-DD, as everywhere
    if not days:
        empty = ET.SubElement(
            svg,
            "text",
            {
                "class": "vsw-empty",
                "x": _number(LEFT + plot_width / 2),
                "y": _number(TOP + plot_height / 2),
                "text-anchor": "middle",
            },
        )
        empty.text = "No days to show"

    lines = ET.SubElement(svg, "g", {"class": "vsw-series"})
    for label, values in series.items():
        if not values:
            continue
        points = [(x_of(index), y_of(value)) for index, value in enumerate(values)]
        path = " ".join(
            f"{'M' if index == 0 else 'L'}{_number(x)} {_number(y)}"
            for index, (x, y) in enumerate(points)
        )
        group = ET.SubElement(lines, "g", {"class": names[label], "data-label": label})
        ET.SubElement(group, "path", {"class": f"vsw-line {names[label]}", "d": path})
        if len(points) <= POINTS_UP_TO:
            for x, y in points:
                ET.SubElement(
                    group,
                    "circle",
                    {
                        "class": f"vsw-dot {names[label]}",
                        "cx": _number(x),
                        "cy": _number(y),
                        "r": "3",
                    },
                )

    hovers = ET.SubElement(svg, "g", {"class": "vsw-hovers"})
    slot = plot_width / max(len(days) - 1, 1)
    for index, day in enumerate(days):
        left = max(LEFT, x_of(index) - slot / 2)
        right = min(LEFT + plot_width, x_of(index) + slot / 2)
        if len(days) == 1:
            left, right = LEFT, LEFT + plot_width
        rect = ET.SubElement(
            hovers,
            "rect",
            {
                "class": "vsw-hover",
                "x": _number(left),
                "y": str(TOP),
                "width": _number(right - left),
                "height": str(plot_height),
            },
        )
        counts = ", ".join(f"{label} {values[index]:,}" for label, values in series.items())
        ET.SubElement(rect, "title").text = f"{when(day)}: {counts}"
    return _markup(svg)


def count_scale(
    series: Mapping[str, Sequence[int]], *, width: int = 960, height: int = 260
) -> Markup:
    """Return the count labels of ``line_chart`` of ``series`` at this size, alone in an SVG
    as wide as the chart's left margin, on the card's colour.

    A page keeps it in view over a chart that scrolls sideways (the dashboard's, on a
    phone). Its width is set as the margin's share of the chart's, so that both scale
    alike. It repeats what the chart says, so assistive technology skips it.
    """
    ticks, y_of = _count_scale(series, height)
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {LEFT} {height}",
            "class": "vsw-scale",
            "style": f"width: {_number(100 * LEFT / width)}%",
            "aria-hidden": "true",
            "focusable": "false",
        },
    )
    # Behind the labels only, from above the top count to above the dates and short of
    # the plot: the legend (which may reach the left edge), the dates and the lines' ends
    # stay uncovered.
    ET.SubElement(
        svg,
        "rect",
        {
            "class": "vsw-scale-back",
            "x": "0",
            "y": str(TOP - 10),
            "width": str(LEFT - 4),
            "height": str(height - TOP - BOTTOM + 18),
        },
    )
    _count_labels(ET.SubElement(svg, "g", {"class": "vsw-scale-labels"}), ticks, y_of)
    return _markup(svg)


def sparkline(values: Sequence[int], *, label: str, width: int = 120, height: int = 32) -> Markup:
    """Return a small SVG line of ``values`` (e.g. views per day), scaled to its own peak.

    ``label`` says in words what it shows, for screen readers and as a tooltip.
    """
    svg = _svg(width, height, label, "vsw-spark")
    pad = 2.0
    usable = height - 2 * pad
    peak = max(values, default=0)
    if not values:
        y = _number(height - pad)
        ET.SubElement(svg, "path", {"class": "vsw-spark-line", "d": f"M0 {y} L{width} {y}"})
        return _markup(svg)

    def x_of(index: int) -> float:
        return width / 2 if len(values) == 1 else width * index / (len(values) - 1)

    def y_of(value: int) -> float:
        return height - pad - (usable * value / peak if peak > 0 else 0)

    points = [(x_of(index), y_of(value)) for index, value in enumerate(values)]
    if len(points) == 1:  # one day: a flat line at its height
        points = [(0.0, points[0][1]), (float(width), points[0][1])]
    line = " ".join(
        f"{'M' if index == 0 else 'L'}{_number(x)} {_number(y)}"
        for index, (x, y) in enumerate(points)
    )
    base = _number(height - pad)
    area = f"{line} L{_number(points[-1][0])} {base} L{_number(points[0][0])} {base} Z"
    ET.SubElement(svg, "path", {"class": "vsw-spark-area", "d": area})
    ET.SubElement(svg, "path", {"class": "vsw-spark-line", "d": line})
    return _markup(svg)
