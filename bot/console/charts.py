"""Small SVG charts drawn on the server for the dashboard: no JavaScript, no inline styles (the
console's CSP forbids both), colours as SVG presentation attributes.

Each chart is an image to screen readers (`role="img"`) with a `<title>` and a `<desc>` that
says the data in words; every point and bar also has its own `<title>`, which browsers show as a
tooltip. All text is escaped; the result is `Markup`, safe to drop into a Jinja template.
"""
from __future__ import annotations

import math
from typing import Callable, List, Sequence, Tuple

from markupsafe import Markup, escape

COLOURS = ("#1f5f8b", "#c4581a", "#1e7b45", "#7a4fa3")
# Second and later lines are dashed so they differ by more than colour.
DASHES = ("", "6 4", "2 3", "8 3 2 3")
INK, MUTED, GRID, AXIS = "#1d2430", "#5b6575", "#e3e7ec", "#9aa4b2"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
MAX_X_LABELS = 8
CHAR_WIDTH = 6.5  # roughly, at font-size 12: bar labels wider than their column are shortened


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ticks(maximum: float, count: int = 4) -> List[float]:
    """Round axis values from 0 to at least `maximum` (steps of 1, 2 or 5 times a power of 10;
    whole numbers only, since the charts count things)."""
    if maximum <= 0:
        return [0, 1]
    rough = maximum / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(1, step)
    top = math.ceil(maximum / step) * step
    return [n * step for n in range(int(top / step) + 1)]


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> List[str]:
    chart_id = escape(chart_id)
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{escape(FONT)}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Tuple[str, Sequence[float]]],
    *,
    width: int = 960,
    height: int = 280,
) -> Markup:
    """Values per label (e.g. per day) as lines, the first one with its area shaded.

    `labels` name the x positions ("3 Mar"); `series` is [(name, values)] with one value per
    label. The default width suits a full page (the text then shows at about its real size)."""
    left, right, top, bottom = 48, 16, 30 if len(series) > 1 else 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((max(values, default=0) for _, values in series), default=0))
    y_max = ticks[-1]
    count = len(labels)

    def x(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else index * plot_w / (count - 1))

    def y(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    words = "; ".join(
        f"{name}: " + ", ".join(f"{label} {_number(v)}" for label, v in zip(labels, values))
        for name, values in series
    )
    span = f"{labels[0]} to {labels[-1]}" if count > 1 else (labels[0] if labels else "no days")
    parts = _open(chart_id, title, f"{title}, {span}. {words}.", width, height)

    for tick in ticks:  # gridlines and y-axis labels
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'fill="{MUTED}">{_number(tick)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="{AXIS}" stroke-width="1"/>')
    every = max(1, math.ceil(count / MAX_X_LABELS))
    for index, label in enumerate(labels):  # x-axis labels, thinned out, always the last
        if index % every == 0 or index == count - 1:
            if index != count - 1 and count - 1 - index < every / 2:
                continue  # too close to the last label
            # The end labels are anchored inwards so they are never cut off.
            anchor = "start" if index == 0 else "end" if index == count - 1 else "middle"
            parts.append(f'<text x="{x(index):.1f}" y="{height - 10}" text-anchor="{anchor}" '
                         f'fill="{MUTED}">{escape(label)}</text>')

    for number, (name, values) in enumerate(series):
        colour, dash = COLOURS[number % len(COLOURS)], DASHES[number % len(DASHES)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if number == 0 and count > 1:
            parts.append(f'<polygon points="{x(0):.1f},{y(0):.1f} {points} '
                         f'{x(count - 1):.1f},{y(0):.1f}" fill="{colour}" fill-opacity="0.12"/>')
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" stroke-linejoin="round"{dash_attribute}/>')
        radius = 3 if count <= 31 else 2  # smaller dots when they crowd
        for index, value in enumerate(values):
            parts.append(f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="{radius}" '
                         f'fill="{colour}"><title>{escape(labels[index])}: {_number(value)} '
                         f'{escape(name.lower())}</title></circle>')
    if len(series) > 1:  # legend
        position = left
        for number, (name, _) in enumerate(series):
            colour, dash = COLOURS[number % len(COLOURS)], DASHES[number % len(DASHES)]
            dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<line x1="{position}" x2="{position + 22}" y1="12" y2="12" '
                         f'stroke="{colour}" stroke-width="2"{dash_attribute}/>')
            parts.append(f'<text x="{position + 28}" y="16" fill="{INK}">{escape(name)}</text>')
            position += 40 + 8 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def _shorten(text: str, width: float) -> str:
    """`text` cut to fit `width` (the full text stays in the bar's tooltip)."""
    chars = int(width / CHAR_WIDTH)
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[Tuple[str, float]],
    *,
    width: int = 480,
    value_label: Callable[[float], str] = _number,
    empty: str = "Nothing to show yet.",
) -> Markup:
    """Horizontal bars, largest first as given: [(label, value)]. The default width suits half
    a page (the text then shows at about its real size)."""
    label_w, right, row_h, top = round(width * 0.4), 44, 26, 6
    height = top * 2 + max(1, len(items)) * row_h
    words = ", ".join(f"{label} {value_label(value)}" for label, value in items) or empty
    parts = _open(chart_id, title, f"{title}: {words}.", width, height)
    if not items:
        parts.append(f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" '
                     f'fill="{MUTED}">{escape(empty)}</text></svg>')
        return Markup("".join(parts))
    ticks = nice_ticks(max(value for _, value in items))
    plot_w = width - label_w - right
    for tick in ticks[1:]:  # light gridlines at round values
        gx = label_w + tick / ticks[-1] * plot_w
        parts.append(f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{top}" y2="{height - top}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
    for index, (label, value) in enumerate(items):
        row_y = top + index * row_h
        bar_w = max(1.0, value / ticks[-1] * plot_w) if value else 0
        parts.append(
            f'<g><title>{escape(label)}: {escape(value_label(value))}</title>'
            f'<text x="{label_w - 8}" y="{row_y + 17}" text-anchor="end" fill="{INK}">'
            f'{escape(_shorten(label, label_w - 12))}</text>'
            f'<rect x="{label_w}" y="{row_y + 5}" width="{bar_w:.1f}" height="{row_h - 10}" '
            f'rx="2" fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + bar_w + 6:.1f}" y="{row_y + 17}" fill="{MUTED}">'
            f'{escape(value_label(value))}</text></g>'
        )
    parts.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{height - top}" '
                 f'stroke="{AXIS}" stroke-width="1"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
