"""Typed values <-> spreadsheet cell values, shared by every store (xlsx, Google Sheets, xlwings, JSON)."""

from __future__ import annotations

import pandas as pd

from cobro import money
from cobro.safety import neutralize_formula
from cobro.schema import Column, enum_label

from .xlsx_sheet import col_index, col_letter


def is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def to_cell(column: Column, value: object, currency: str, locale: str) -> object:
    """The value to put in a cell for a typed frame value (None for blank).

    Money becomes an exact ``Decimal`` of the row currency; dates real dates; enums their
    localized label; lists ``a; b``; outside text is neutralized against formula injection.
    """
    if is_missing(value):
        return None
    t = column.type
    if t == "money":
        return money.to_decimal(int(value), currency)  # type: ignore[call-overload]
    if t == "date":
        return pd.Timestamp(value).date()  # type: ignore[arg-type]
    if t == "datetime":
        return pd.Timestamp(value).to_pydatetime().replace(microsecond=0)  # type: ignore[arg-type]
    if t == "int":
        return int(value)  # type: ignore[call-overload]
    if t == "number":
        return float(value)  # type: ignore[arg-type]
    if t == "bool":
        return enum_label("yes" if value else "no", locale)
    if t == "enum":
        return enum_label(str(value), locale) if value != "" else None
    if t == "list":
        items = value if isinstance(value, (list, tuple)) else [value]
        text = "; ".join(str(x) for x in items if str(x))
        return neutralize_formula(text) if text else None
    text = str(value)
    return neutralize_formula(text) if text != "" else None


def column_letters(n: int) -> str:
    """The spreadsheet column of 1-based index ``n``: 1 -> ``A``, 27 -> ``AA`` (Excel and Sheets alike)."""
    return col_letter(n)


def column_index(letters: str) -> int:
    """The 1-based index of a spreadsheet column: ``A`` -> 1, ``AA`` -> 27 (either case)."""
    return col_index(letters.upper())
