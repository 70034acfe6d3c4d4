"""Finding TrueType fonts with Cyrillic glyphs for the rendered-text (TRitW) images."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_ENV = "FBC2_FONT"

# Preferred files, in order; only those present are used, so the set is fixed per machine.
PREFERRED = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
]

INSTALL_HINT = (
    "no TrueType font with Cyrillic glyphs was found; install one, e.g. `apt-get install "
    "fonts-dejavu-core` (Debian/Ubuntu), or set FBC2_FONT=/path/to/font.ttf"
)


class FontNotFoundError(RuntimeError):
    pass


def has_cyrillic(path: str) -> bool:
    """True when the font draws Cyrillic letters as real glyphs (not empty or the 'missing' box)."""
    try:
        font = ImageFont.truetype(path, 32)
    except OSError:
        return False
    glyphs = [bytes(font.getmask(ch)) for ch in "ЖЯж"]
    missing = bytes(font.getmask("\U000f0000"))  # a private-use code point no text font covers
    return all(g and any(g) and g != missing for g in glyphs) and len(set(glyphs)) == 3


def _fc_list() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=ru", "file"], capture_output=True, text=True,
                             timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return [f for f in files if f.lower().endswith((".ttf", ".otf"))]


@lru_cache(maxsize=1)
def find_cyrillic_fonts() -> tuple[str, ...]:
    """Paths of usable fonts: $FBC2_FONT alone if set, else the preferred DejaVu files present,
    else the first Cyrillic font `fc-list :lang=ru` reports. Raises FontNotFoundError otherwise."""
    env = os.environ.get(FONT_ENV)
    if env:
        if not Path(env).is_file() or not has_cyrillic(env):
            raise FontNotFoundError(f"{FONT_ENV}={env} is not a readable font with Cyrillic glyphs")
        return (env,)
    found = tuple(p for p in PREFERRED if Path(p).is_file() and has_cyrillic(p))
    if found:
        return found
    for path in _fc_list():
        if has_cyrillic(path):
            return (path,)
    raise FontNotFoundError(INSTALL_HINT)
