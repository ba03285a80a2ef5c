"""Draw the add-in's icons (16, 32, 64, 80 px PNG) with Pillow: a blue rounded square with a white euro-ish "C"
and a check tick. Run: .venv/bin/python addin/officejs/make_icons.py (the PNGs are committed; no downloads)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 32, 64, 80)
HERE = Path(__file__).resolve().parent / "static" / "icons"


def draw(size: int) -> Image.Image:
    """One icon, drawn at 4x and scaled down (smooth edges at 16 px)."""
    big = size * 4
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=(15, 108, 189, 255))
    w = max(4, big // 9)
    m = big // 5
    d.arc((m, m, big - m, big - m), start=45, end=315, fill=(255, 255, 255, 255), width=w)
    t = big // 2
    d.line((t - big // 10, t, t, t + big // 8, t + big // 5, t - big // 8), fill=(255, 214, 0, 255), width=w,
           joint="curve")
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(HERE / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
