"""Cells of a statement table: what a cell holds (a date, a number, text), read leniently, and the column
record the other parts of the table reader share."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ... import money
from ...ledger import parse_date_text
from ...schema import normalize_header
from .._common import clean_piece
from ..base import StatementError

Cell = object

_DATE_SHAPE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}"
                         r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_MONTH_DAY_FIRST = re.compile(r"^(\d{1,2})[\s\-/.]+([^\W\d_]{3,10})\.?[\s\-/.,]+(\d{2}|\d{4})$")
_MONTH_FIRST = re.compile(r"^([^\W\d_]{3,10})\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MONTHS = {
    "ene": 1, "enero": 1, "jan": 1, "january": 1, "janv": 1, "janvier": 1, "januar": 1,
    "feb": 2, "febrero": 2, "february": 2, "fev": 2, "fevr": 2, "fevrier": 2, "februar": 2,
    "mar": 3, "marzo": 3, "march": 3, "mars": 3, "marz": 3, "maerz": 3,
    "abr": 4, "abril": 4, "apr": 4, "april": 4, "avr": 4, "avril": 4,
    "may": 5, "mayo": 5, "mai": 5,
    "jun": 6, "junio": 6, "june": 6, "juin": 6, "juni": 6,
    "jul": 7, "julio": 7, "july": 7, "juil": 7, "juillet": 7, "juli": 7,
    "ago": 8, "agosto": 8, "aug": 8, "august": 8, "aout": 8,
    "sep": 9, "sept": 9, "set": 9, "septiembre": 9, "setiembre": 9, "september": 9, "septembre": 9,
    "oct": 10, "octubre": 10, "october": 10, "octobre": 10, "okt": 10, "oktober": 10,
    "nov": 11, "noviembre": 11, "november": 11, "novembre": 11,
    "dic": 12, "diciembre": 12, "dec": 12, "december": 12, "decembre": 12, "dez": 12, "dezember": 12,
}
_PLAIN_NUMBER = re.compile(r"^[-+(]?[\d.,' ]*\d[\d.,' ]*\)?-?$")
_HAS_DIGIT = re.compile(r"\d")
_TOO_MANY_LETTERS = re.compile(r"[^\W\d_][^\W\d_][^\W\d_][^\W\d_]|[^\W\d_].*[^\W\d_].*[^\W\d_].*[^\W\d_]")
_TWO_LETTERS = re.compile(r"[^\W\d_].*[^\W\d_]", re.S)
_SYMBOLS = {"€": "EUR", "£": "GBP", "US$": "USD", "U$S": "USD", "R$": "BRL", "S/": "PEN"}
_DOLLAR_CURRENCIES = {"USD", "MXN", "ARS", "CLP", "COP", "UYU", "CAD", "AUD", "NZD", "SGD", "HKD", "DOP"}
_CODE_AROUND = re.compile(r"^\s*([A-Z]{3})\s*([-+(]?\s*[\d.,'\s\u00a0]+\)?-?)\s*$|^\s*([-+(]?[\d.,'\s\u00a0]*\d[\d.,'\s"
                          r"\u00a0]*\)?-?)\s*([A-Z]{3})\s*$")


# ------------------------------------------------------------------------------------ cells


def _blank(v: Cell) -> bool:
    if v is None:
        return True
    kind = type(v)
    if kind is str:
        return not v.strip()  # type: ignore[union-attr]
    if kind is float:
        return v != v
    return isinstance(v, str) and not v.strip()


def _text(v: Cell) -> str:
    if _blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return clean_piece(v)


def _month_date(s: str) -> dt.date | None:
    m = _MONTH_DAY_FIRST.match(s)
    if m:
        day, month_word, year = m[1], m[2], m[3]
    else:
        m = _MONTH_FIRST.match(s)
        if not m:
            return None
        month_word, day, year = m[1], m[2], m[3]
    month = _MONTHS.get(normalize_header(month_word))
    if month is None:
        return None
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 70 else 1900
    try:
        return dt.date(y, month, int(day))
    except ValueError:
        return None


def _datey(v: Cell) -> bool:
    if type(v) is str:
        return len(v) <= 40 and _datey_text(v)  # type: ignore[arg-type]
    return isinstance(v, dt.date) or (isinstance(v, str) and _datey_text(v))


@lru_cache(maxsize=16384)
def _datey_text(v: str) -> bool:
    s = v.strip()
    if not s or len(s) > 32:
        return False
    if s[0].isdigit() and _DATE_SHAPE.match(s):
        return True
    return s[0].isalnum() and _HAS_DIGIT.search(s) is not None and _month_date(s) is not None


def _split_currency(s: str) -> tuple[str, str | None]:
    """An amount's text without a currency code or symbol, and that currency (None if none)."""
    t = s.strip()
    if _PLAIN_NUMBER.match(t):
        return t, None
    for sym, code in _SYMBOLS.items():
        if sym in t:
            return t.replace(sym, "").strip(), code
    if "$" in t:
        return t.replace("$", "").strip(), "$"
    m = _CODE_AROUND.match(t)
    if m:
        code = m[1] or m[4]
        if money.is_known_currency(code):
            return (m[2] or m[3]).strip(), code
    return t, None


def _numbery(v: Cell) -> bool:
    kind = type(v)
    if kind is str:
        return len(v) <= 40 and _numbery_text(v)  # type: ignore[arg-type]
    if kind is bool:
        return False
    if kind is float:
        return not (v != v or v in (float("inf"), float("-inf")))
    if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
        return True
    if isinstance(v, float):
        return not (v != v or v in (float("inf"), float("-inf")))
    return isinstance(v, str) and _numbery_text(v)


@lru_cache(maxsize=16384)
def _numbery_text(v: str) -> bool:
    s = v.strip()
    if not s or len(s) > 40 or not _HAS_DIGIT.search(s) or _TOO_MANY_LETTERS.search(s) or _DATE_SHAPE.match(s):
        return False
    s, _ = _split_currency(s)
    digits = s.lstrip("+-(")
    if digits.isdigit() and (len(digits) >= 13 or (len(digits) > 1 and digits.startswith("0"))):
        return False  # an id or account number, not an amount
    try:
        money.parse_decimal(s)
    except money.MoneyError:
        return False
    return True


def _width(row: list[Cell]) -> int:
    """Number of cells up to the last non-blank one."""
    for j in range(len(row) - 1, -1, -1):
        if not _blank(row[j]):
            return j + 1
    return 0


def is_data_row(row: list[Cell]) -> bool:
    """True for a row that looks like a movement: a date in one cell and a number in another."""
    dates = [j for j, c in enumerate(row) if _datey(c)]
    if not dates:
        return False
    return any(_numbery(c) for j, c in enumerate(row) if j not in dates)



# ------------------------------------------------------------------------------------ columns

def _date_or_serial(v: Cell) -> bool:
    return _datey(v) or (type(v) in (int, float) and 20000 < v < 80000)  # type: ignore[operator]


_EXPECTS = {"date": _date_or_serial, "value_date": _date_or_serial, "amount": _numbery, "debit": _numbery,
            "credit": _numbery, "balance": _numbery, "orig_amount": _numbery, "gross": _numbery, "net": _numbery}


@dataclass
class _Column:
    index: int
    header: str
    role: str | None

    def label(self) -> str:
        return f'"{self.header}"' if self.header else f"{self.index + 1}"


_DEBIT_WORDS = {"d", "db", "dr", "debe", "debito", "debit", "cargo", "dbit", "soll", "s", "retiro", "withdrawal",
                "-", "out", "salida", "egreso", "gasto", "adeudo"}
_CREDIT_WORDS = {"h", "a", "c", "cr", "haber", "credito", "credit", "abono", "crdt", "haben", "deposito", "deposit",
                 "+", "in", "entrada", "ingreso"}


def _indicator_word(v: Cell) -> bool:
    if not isinstance(v, str):
        return False
    n = normalize_header(v) or v.strip()
    return n in _DEBIT_WORDS or n in _CREDIT_WORDS


def _letters(v: Cell) -> bool:
    return isinstance(v, str) and _TWO_LETTERS.search(v) is not None



def _cell_date(v: Cell, day_first: bool, header_is_date: bool) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if header_is_date and 20000 < v < 80000 and float(v).is_integer():
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
        v = _text(v)
    if not isinstance(v, str):
        return None
    s = v.strip()
    parsed = parse_date_text(s, day_first)
    if parsed is not None:
        return parsed.date()
    m = _month_date(s)
    if m is not None:
        return m
    if header_is_date and re.fullmatch(r"(19|20)\d{6}", s):
        try:
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        except ValueError:
            return None
    return None


class _Base:
    """The state every part of the table reader shares (see ``table._Table``)."""

    def __init__(self, rows: list[list[Cell]], lines: list[int], *, fmt_name: str, default_currency: str,
                 unit: str, decimal_hint: bool | None, source: str):
        self.rows = rows
        self.lines = lines
        self.fmt_name = fmt_name
        self.default_currency = default_currency
        self.unit = unit
        self.decimal_hint = decimal_hint
        self.source = source
        self.warnings: list[str] = []
        self._unsigned = False
        self.gross_fee_net = False  # the amount column is a gross; fee and net columns come beside it
        self._header_row: list[Cell] | None = None

    def error(self, message: str, line: int | None = None) -> StatementError:
        return StatementError(message, line, self.source, self.unit)
