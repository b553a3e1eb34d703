"""Draw the app icon (a spiral shell on a rounded tile): resources/icons/shellgui.png and .ico.

python packaging/make_icon.py     # rerun only to change the icon; the files are committed
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZE = 1024  # drawn large, then scaled down smoothly


def draw() -> Image.Image:
    tile = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(tile)
    d.rounded_rectangle((40, 40, SIZE - 40, SIZE - 40), radius=200, fill=(22, 78, 99, 255))
    cx, cy = SIZE * 0.54, SIZE * 0.52
    # A logarithmic spiral of growing chambers, darker towards the apex: a planispiral shell.
    turns, steps = 3.2, 220
    for i in range(steps, 0, -1):
        t = i / steps
        angle = turns * 2 * math.pi * t
        radius = 18 * math.exp(2.1 * t * turns / 3.2 * 1.35)
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        r = 6 + 150 * t**1.6
        shade = int(150 + 100 * t)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(shade, int(shade * 0.82), int(shade * 0.62), 255))
        if i % 18 == 0:  # growth lines
            d.arc((x - r, y - r, x + r, y + r), 0, 360, fill=(120, 80, 50, 255), width=6)
    return tile.filter(ImageFilter.SMOOTH)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw()
    big.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "shellgui.png")
    big.resize((256, 256), Image.Resampling.LANCZOS).save(
        OUT / "shellgui.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
    )


if __name__ == "__main__":
    main()
