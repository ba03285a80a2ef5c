"""Readable plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[bool] | None = None,
                 max_width: int = 60) -> str:
    """Columns padded to their widest cell; numbers right-aligned when ``right`` says so."""
    cells = [[_clip(str(h), max_width) for h in headers]] + [
        [_clip("" if v is None else str(v), max_width) for v in r] for r in rows]
    n = len(headers)
    widths = [max(len(r[i]) for r in cells) for i in range(n)]
    align = list(right) if right is not None else [False] * n
    lines = []
    for k, r in enumerate(cells):
        parts = [r[i].rjust(widths[i]) if align[i] else r[i].ljust(widths[i]) for i in range(n)]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
