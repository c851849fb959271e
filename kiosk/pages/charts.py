"""Bar charts as server-rendered SVG: no script, no CDN, readable without colour.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that states every
value, so a screen reader gets the figures; the page shows the same numbers in a table.
Colours come from the stylesheet (classes), never from inline styles (the CSP forbids them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 40, 36, 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, label_every: int = 1) -> str:
    """An SVG bar chart; every ``label_every``-th bar is labelled below the axis."""
    top = max([b.value for b in bars] + [1])
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(bars), 1)
    parts = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">'
        + escape(", ".join(f"{b.label}: {b.value}" for b in bars))
        + "</desc>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}"'
        f' y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for index, bar in enumerate(bars):
        height = plot_h * bar.value / top
        x = LEFT + index * step + step * 0.15
        y = TOP + plot_h - height
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}"'
            f' height="{height:.1f}"/>'
        )
        if bar.value:
            parts.append(
                f'<text class="value" x="{x + step * 0.35:.1f}" y="{y - 3:.1f}"'
                f' text-anchor="middle">{bar.value}</text>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text class="tick" x="{x + step * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}"'
                f' text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
