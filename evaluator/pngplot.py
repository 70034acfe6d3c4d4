"""Minimal line plots drawn with Pillow (no matplotlib): axes, ticks, labels, a polyline."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 500
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 50, 70


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high == low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def _label(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"


def line_plot(path: str, xs: list[float], ys: list[float], title: str, xlabel: str, ylabel: str) -> str:
    """Draw ys against xs as a line with point markers and save a PNG at `path`."""
    if not xs or len(xs) != len(ys):
        raise ValueError("line_plot needs equally long, non-empty xs and ys")
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    if x_low == x_high:
        x_low, x_high = x_low - 1, x_high + 1
    if y_low == y_high:
        pad = abs(y_low) * 0.1 or 1.0
        y_low, y_high = y_low - pad, y_high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (LEFT + (x - x_low) / (x_high - x_low) * plot_w, TOP + (1 - (y - y_low) / (y_high - y_low)) * plot_h)

    for tx in _ticks(x_low, x_high):
        px, _ = to_px(tx, y_low)
        draw.line([px, TOP + plot_h, px, TOP + plot_h + 5], fill="black")
        draw.line([px, TOP, px, TOP + plot_h], fill=(230, 230, 230))
        draw.text((px - 20, TOP + plot_h + 8), _label(tx), fill="black", font=font)
    for ty in _ticks(y_low, y_high):
        _, py = to_px(x_low, ty)
        draw.line([LEFT - 5, py, LEFT, py], fill="black")
        draw.line([LEFT, py, LEFT + plot_w, py], fill=(230, 230, 230))
        draw.text((5, py - 6), _label(ty), fill="black", font=font)
    draw.rectangle([LEFT, TOP, LEFT + plot_w, TOP + plot_h], outline="black")  # frame over the grid
    points = [to_px(x, y) for x, y in zip(xs, ys, strict=True)]
    if len(points) > 1:
        draw.line(points, fill=(31, 119, 180), width=2)
    for px, py in points:
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=(31, 119, 180))
    draw.text((LEFT, 15), title, fill="black", font=font)
    draw.text((LEFT + plot_w // 2 - 40, HEIGHT - 30), xlabel, fill="black", font=font)
    draw.text((5, 30), ylabel, fill="black", font=font)
    image.save(path, format="PNG")
    return path
