"""Small plots drawn with Pillow (no matplotlib): a bar chart per epoch and a line plot.

Both start their value axis at 0, use 'nice' tick steps (1, 2 or 5 times a power of ten), keep a
margin so no point or bar touches the frame, and write the title and an optional note (the eco2AI
power model, say) in a scalable font.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 520
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 60, 100
BLUE = (31, 119, 180)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled scalable font (FreeType)
    except (TypeError, OSError):  # an old Pillow or no FreeType: the bitmap font
        return ImageFont.load_default()


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Ticks 0, step, 2*step ... up to at least `high`, step = 1, 2 or 5 x 10^k."""
    if not math.isfinite(high) or high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    top = math.ceil(high / step - 1e-9) * step
    return [i * step for i in range(int(round(top / step)) + 1)]


def tick_label(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.1e}"
    return f"{value:.6g}"


class _Canvas:
    def __init__(self, title: str, xlabel: str, ylabel: str, note: str | None):
        self.image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.small, self.big = _font(13), _font(18)
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.draw.text((LEFT, 18), title, fill="black", font=self.big)
        self.draw.text((LEFT + self.plot_w // 2, HEIGHT - BOTTOM + 30), xlabel, fill="black", font=self.small,
                       anchor="ma")
        self.draw.text((10, TOP - 22), ylabel, fill="black", font=self.small)
        if note:
            self.draw.text((10, HEIGHT - 40), note, fill=(90, 90, 90), font=_font(11))

    def y_axis(self, y_ticks: list[float]):
        top = y_ticks[-1]
        for ty in y_ticks:
            py = self.y_px(ty, top)
            self.draw.line([LEFT - 5, py, LEFT, py], fill="black")
            self.draw.line([LEFT, py, LEFT + self.plot_w, py], fill=(230, 230, 230))
            self.draw.text((LEFT - 8, py), tick_label(ty), fill="black", font=self.small, anchor="rm")

    def y_px(self, value: float, top: float) -> float:
        return TOP + (1 - value / top) * self.plot_h

    def x_tick(self, px: float, label: str):
        self.draw.line([px, TOP + self.plot_h, px, TOP + self.plot_h + 5], fill="black")
        self.draw.text((px, TOP + self.plot_h + 8), label, fill="black", font=self.small, anchor="ma")

    def save(self, path: str) -> str:
        self.draw.rectangle([LEFT, TOP, LEFT + self.plot_w, TOP + self.plot_h], outline="black")
        self.image.save(path, format="PNG", optimize=True)
        return path


def _start(xs: list, ys: list[float], title: str, xlabel: str, ylabel: str, note: str | None):
    """A canvas with its value axis drawn from 0, and that axis's ticks."""
    if not xs or len(xs) != len(ys):
        raise ValueError("a plot needs equally long, non-empty x and y values")
    canvas = _Canvas(title, xlabel, ylabel, note)
    y_ticks = nice_ticks(max(max(ys), 0.0))
    canvas.y_axis(y_ticks)
    return canvas, y_ticks


def bar_plot(path: str, labels: list[int], values: list[float], title: str, xlabel: str, ylabel: str,
             note: str | None = None) -> str:
    """One bar per label (an integer such as an epoch), from a zero baseline."""
    canvas, y_ticks = _start(labels, values, title, xlabel, ylabel, note)
    slot = canvas.plot_w / len(labels)
    every = max(1, math.ceil(len(labels) / 20))  # at most about 20 tick labels
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x0 = LEFT + i * slot + slot * 0.15
        x1 = LEFT + (i + 1) * slot - slot * 0.15
        canvas.draw.rectangle([x0, canvas.y_px(max(value, 0.0), y_ticks[-1]), x1, TOP + canvas.plot_h], fill=BLUE)
        if i % every == 0:
            canvas.x_tick((x0 + x1) / 2, str(label))
    return canvas.save(path)


def line_plot(path: str, xs: list[float], ys: list[float], title: str, xlabel: str, ylabel: str,
              note: str | None = None) -> str:
    """ys against xs (both axes from 0) as a line with point markers."""
    canvas, y_ticks = _start(xs, ys, title, xlabel, ylabel, note)
    x_ticks = nice_ticks(max(max(xs), 0.0))

    def x_px(x: float) -> float:
        return LEFT + 8 + x / x_ticks[-1] * (canvas.plot_w - 16)  # 8 px margins: no marker is clipped

    for tx in x_ticks:
        canvas.x_tick(x_px(tx), tick_label(tx))
    points = [(x_px(x), canvas.y_px(max(y, 0.0), y_ticks[-1])) for x, y in zip(xs, ys, strict=True)]
    if len(points) > 1:
        canvas.draw.line(points, fill=BLUE, width=2)
    for px, py in points:
        canvas.draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=BLUE)
    return canvas.save(path)
