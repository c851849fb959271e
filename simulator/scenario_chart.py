"""The occupancy chart of a scenario run, drawn with Pillow (a PNG, no plotting library)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from simulator.scenario_report import ScenarioResult

WIDTH, HEIGHT = 1200, 480
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 50, 60
INK, GRID, LINE, LIMIT = (30, 30, 30), (220, 220, 220), (0, 90, 181), (200, 40, 40)


def draw_occupancy(result: ScenarioResult, path: Path) -> Path:
    """Occupied compartments over the simulated time, with the bank's size as a red line."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    title = ImageFont.load_default(size=18)
    start, end = result.start, result.end
    span = (end - start).total_seconds() or 1.0
    capacity = result.spec.compartments
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return LEFT + plot_w * (moment - start).total_seconds() / span

    def y(count: float) -> float:
        return TOP + plot_h * (1 - count / capacity)

    step = max(1, capacity // 8)
    for count in range(0, capacity + 1, step):
        draw.line([(LEFT, y(count)), (WIDTH - RIGHT, y(count))], fill=GRID)
        draw.text((LEFT - 8, y(count)), str(count), fill=INK, font=font, anchor="rm")
    day = start
    while day <= end:
        draw.line([(x(day), TOP), (x(day), HEIGHT - BOTTOM)], fill=GRID)
        if day < end:
            noon = min(day + timedelta(hours=12), end)
            label = f"{day:%a %d.%m.}"
            draw.text((x(noon), HEIGHT - BOTTOM + 8), label, fill=INK, font=font, anchor="ma")
        day += timedelta(days=1)
    draw.line([(LEFT, y(capacity)), (WIDTH - RIGHT, y(capacity))], fill=LIMIT, width=2)
    points: list[tuple[float, float]] = []
    for moment, count in result.occupancy:
        if points:
            points.append((x(moment), points[-1][1]))
        points.append((x(moment), y(count)))
    if points:
        points.append((x(end), points[-1][1]))
        draw.line(points, fill=LINE, width=2)
    draw.rectangle([LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM], outline=INK)
    heading = (
        f"Occupied compartments - scenario {result.spec.name}, peak {result.peak_occupancy}"
        f" of {capacity} (red: all compartments)"
    )
    draw.text((LEFT, 16), heading, fill=INK, font=title)
    draw.text((WIDTH // 2, HEIGHT - 22), "simulated time", fill=INK, font=font, anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path
