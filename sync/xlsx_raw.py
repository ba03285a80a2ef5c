"""Raw tables from a sheet's rows of cell values (before typing): where the header is, which column is which,
the Settings key/value rows, the workbook's language. Shared by the whole read (``sync.xlsx_store``) and the partial
one (``sync.xlsx_subset``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cobro.ledger import match_headers
from cobro.schema import SETTINGS, SHEETS_BY_KEY, STATEMENT, Sheet, normalize_header

HEADER_SCAN_ROWS = 15


@dataclass
class RawWorkbook:
    """What calamine read: raw tables by canonical sheet key, before typing."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    settings_rows: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # canonical key -> sheet title in the file
    locale: str = "es"
    # sheet title -> its first rows as the sheet has them (row 1, column A first), where the header is found:
    # the in-place writer reuses them instead of decoding shared strings again
    heads: dict[str, list[list[object]]] = field(default_factory=dict)


def _find_header(rows: list[list[object]], spec: Sheet) -> tuple[int, dict[int, str]]:
    """Index of the header row among the first rows, and its column mapping."""
    best, best_map = -1, {}
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = match_headers(spec, row)
        if len(mapping) > len(best_map):
            best, best_map = i, mapping
    return best, best_map


def _blank_cell(v: object) -> bool:
    return v is None or v == "" or (isinstance(v, str) and not v.strip())


def raw_from_rows(spec: Sheet, rows: list[list[object]], first_row: int, first_col: int = 0) -> pd.DataFrame:
    """Raw table (canonical columns + ``_row``) from a sheet's rows; ``first_row`` is 1-based.

    Fully blank rows are skipped (an empty Excel table keeps one blank row).
    """
    hdr, mapping = _find_header(rows, spec)
    if hdr < 0:
        return pd.DataFrame({"_row": pd.Series([], dtype="int64")})
    body = rows[hdr + 1:]
    width = max((len(r) for r in body), default=0)
    # Fully blank rows are dropped (list.count runs in C; calamine gives "" for empty cells).
    keep = [i for i, r in enumerate(body) if r.count("") + r.count(None) < len(r)]
    kept = [body[i] for i in keep] if len(keep) < len(body) else body
    if any(len(r) < width for r in kept):
        kept = [list(r) + [None] * (width - len(r)) for r in kept]
    columns = list(zip(*kept, strict=True)) if kept else [()] * width
    data: dict[str, list[object]] = {}
    for col_idx, key in mapping.items():
        data[key] = list(columns[col_idx]) if col_idx < len(columns) else [None] * len(kept)
    data["_row"] = [first_row + hdr + 1 + i for i in keep]
    df = pd.DataFrame(data, dtype=object)
    df["_row"] = df["_row"].astype("int64")
    df.attrs["header_row"] = first_row + hdr
    return df


def _settings_from_rows(rows: list[list[object]], first_row: int) -> tuple[dict[str, object], dict[str, int]]:
    from cobro.schema import SETTINGS_DEFAULTS

    known = {normalize_header(k): k for k in SETTINGS_DEFAULTS}
    values: dict[str, object] = {}
    where: dict[str, int] = {}
    hdr, mapping = _find_header(rows, SETTINGS)
    key_col = next((i for i, k in mapping.items() if k == "key"), 0)
    val_col = next((i for i, k in mapping.items() if k == "value"), 1)
    for i, row in enumerate(rows[hdr + 1:] if hdr >= 0 else rows):
        if len(row) <= key_col or _blank_cell(row[key_col]):
            continue
        raw_key = str(row[key_col]).strip()
        key = known.get(normalize_header(raw_key), raw_key)
        values[key] = row[val_col] if val_col < len(row) else None
        where[key] = first_row + (hdr + 1 if hdr >= 0 else 0) + i
    return values, where


def _table_from_rows(spec: Sheet, rows: list[list[object]], first_row: int) -> pd.DataFrame:
    if spec.key == STATEMENT.key:
        keep = [(first_row + i, r) for i, r in enumerate(rows) if not all(_blank_cell(v) for v in r)]
        width = max((len(r) for _, r in keep), default=0)
        frame = pd.DataFrame([list(r) + [None] * (width - len(r)) for _, r in keep], dtype=object)
        frame["_row"] = [n for n, _ in keep]
        return frame
    return raw_from_rows(spec, rows, first_row)


def _locale(raw: RawWorkbook) -> str:
    loc = str(raw.settings.get("locale") or "").strip().lower()[:2]
    if loc in ("es", "en"):
        return loc
    es = sum(normalize_header(t) == normalize_header(SHEETS_BY_KEY[k].es) != normalize_header(SHEETS_BY_KEY[k].en)
             for k, t in raw.titles.items())
    en = sum(normalize_header(t) == normalize_header(SHEETS_BY_KEY[k].en) != normalize_header(SHEETS_BY_KEY[k].es)
             for k, t in raw.titles.items())
    return "en" if en > es else "es"
