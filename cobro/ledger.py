"""Typed ledger frames and the validation that turns raw sheet values into them.

A *raw table* is a DataFrame whose columns are canonical keys (headers already matched) plus
``_row``, the row number as the user sees it in the sheet; its values are whatever the host
gave (str, int, float, date, datetime, bool, None). ``parse_ledger`` turns raw tables into a
``Ledger`` of typed frames or raises ``LedgerError`` listing *every* problem found.

Typed frame conventions (shared by every module of cobro):

- text: ``str`` ("" when blank); list: ``tuple[str, ...]``; enum: canonical ``str`` (defaults
  applied, "" when blank and no default); bool: ``bool``.
- date / datetime: ``datetime64[ns]`` (NaT when blank), naive, company time zone.
- money: integer minor units of the row's currency; ``int64`` for required columns, nullable
  ``Int64`` otherwise. Every money-bearing frame has a resolved ``currency`` column.
- int: nullable ``Int64``; number: ``float64`` (never money).
- ``_row``: the sheet row of the record (0 for records cobro made and has not written yet).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from cobro.errors import InputError
from cobro.i18n import text

from . import money
from .joins import group_sum, key_codes
from .schema import (
    CONTACTS,
    CUSTOMERS,
    INVOICES,
    LEVELS,
    MATCHES,
    PAYMENTS,
    PLANS,
    SETTINGS,
    SETTINGS_DEFAULTS,
    SETTINGS_PASS_THROUGH,
    SHEETS_BY_KEY,
    STATEMENT,
    TEMPLATES,
    Column,
    Sheet,
    canonical_enum,
    normalize_header,
)

# ----------------------------------------------------------------------------------- problems

# The texts of problems live in the translation catalogue (cobro.i18n): "expected.<code>", "problem.*".


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the input, located as the user sees it."""

    sheet: str  # canonical sheet key
    row: int  # row number as the user sees it (header row for a missing column)
    column: str  # canonical column key
    value: object
    code: str  # "expected.<code>" in the translation catalogue (cobro.i18n)
    detail: Mapping[str, object] = field(default_factory=dict)  # its values; "expected": a finer catalogue key

    def message(self, locale: str = "en") -> str:
        spec = SHEETS_BY_KEY.get(self.sheet)
        sheet_title = spec.title(locale) if spec else self.sheet
        try:
            header = spec.column(self.column).header(locale) if spec else self.column
        except KeyError:
            header = self.column
        detail = dict(self.detail)
        if "sheet" in detail and detail["sheet"] in SHEETS_BY_KEY:
            detail["sheet"] = SHEETS_BY_KEY[str(detail["sheet"])].title(locale)
        key = f"expected.{detail.pop('expected', self.code)}"
        expected = text(key, locale, **detail) if text(key, "en") != key else self.code.format(**detail)
        value = "" if self.value is None else str(self.value)
        got = f' "{value}"' if value != "" else text("problem.blank", locale)
        return (f"{sheet_title}, {text('problem.row', locale)} {self.row}, {text('problem.column', locale)} "
                f"\"{header}\":{got} — {text('problem.expected', locale)} {expected}")

    def as_dict(self, locale: str = "en") -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": None if self.value is None else str(self.value), "code": self.code,
                "message": self.message(locale)}


class LedgerError(InputError, ValueError):
    """Bad input. Carries every problem found; nothing was written."""

    def __init__(self, problems: list[Problem], locale: str = "en"):
        self.problems = problems
        self.locale = locale
        super().__init__(self.render(locale))

    def render(self, locale: str = "en", limit: int = 50) -> str:
        n = len(self.problems)
        lines = [text("problem.head", locale, n=n)] + ["  - " + p.message(locale) for p in self.problems[:limit]]
        if n > limit:
            lines.append(text("problem.more", locale, n=n - limit))
        return "\n".join(lines)

    def to_json(self, locale: str | None = None) -> dict[str, object]:
        locale = locale or self.locale
        return {"error": self.render(locale, limit=0).splitlines()[0],
                "problems": [p.as_dict(locale) for p in self.problems]}


# ----------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    company_name: str = ""
    sender_name: str = ""
    sender_email: str = ""
    reply_to: str = ""
    locale: str = "es"
    timezone: str = "Europe/Madrid"
    base_currency: str = "EUR"
    aging_buckets: tuple[int, ...] = (30, 60, 90, 120)
    aging_basis: str = "due_date"
    country: str = "ES"
    business_days_only: bool = True
    send_window: tuple[dt.time, dt.time] = (dt.time(8, 0), dt.time(18, 0))
    min_reminder_amount: int = 0  # minor units of base_currency
    payment_instructions: str = ""
    early_payment_discount: tuple[Decimal, int] | None = None  # (pct, days)
    late_interest_annual_pct: Decimal = Decimal(0)
    promise_grace_days: int = 3
    bank_fee_tolerance: int = 0  # minor units of base_currency
    # Judgement (issue 13), per currency in minor units; empty: none. See cobro.reminders.minimum_amount.
    min_reminder_amounts: Mapping[str, int] = field(default_factory=dict)  # no reminder, call or letter below
    min_formal_amounts: Mapping[str, int] = field(default_factory=dict)  # no letter or final notice below
    write_off_tolerance: Mapping[str, int] = field(default_factory=dict)  # residuals at or below: not chased
    extra: Mapping[str, str] = field(default_factory=dict)


def parse_settings(raw: Mapping[str, object], problems: list[Problem] | None = None,
                   rows: Mapping[str, int] | None = None) -> Settings:
    """Settings from a key -> value mapping (missing keys take their defaults)."""
    problems = problems if problems is not None else []
    rows = rows or {}
    values = {k: ("" if v is None else str(v).strip()) for k, v in raw.items()}

    def get(key: str) -> str:
        v = values.get(key, "")
        if v.endswith(".0") and re.fullmatch(r"-?\d+\.0", v):
            v = v[:-2]
        return v if v != "" else SETTINGS_DEFAULTS.get(key, "")

    def bad(key: str, expected: str, **fields: object) -> None:
        # the text a person reads is "expected.setting.<expected>" in the catalogue; "what" keeps it in English
        what = text(f"expected.setting.{expected}", "en", **fields)
        problems.append(Problem("Settings", rows.get(key, 0), "value", values.get(key), "setting",
                                {"what": what, "expected": f"setting.{expected}", **fields}))

    kw: dict[str, object] = {}
    for key in ("company_name", "sender_name", "sender_email", "reply_to", "timezone", "country",
                "payment_instructions"):
        kw[key] = get(key)
    locale = get("locale").lower()[:2]
    if locale not in ("es", "en"):
        bad("locale", "locale")
        locale = "es"
    kw["locale"] = locale
    base = get("base_currency").upper()
    if not money.is_known_currency(base):
        bad("base_currency", "base_currency")
        base = "EUR"
    kw["base_currency"] = base
    try:
        buckets = tuple(int(x) for x in get("aging_buckets").replace(";", ",").split(",") if x.strip())
        if not buckets or list(buckets) != sorted(set(buckets)) or buckets[0] <= 0:
            raise ValueError
        kw["aging_buckets"] = buckets
    except ValueError:
        bad("aging_buckets", "aging_buckets")
    basis = get("aging_basis")
    if basis not in ("due_date", "issue_date"):
        bad("aging_basis", "aging_basis")
    else:
        kw["aging_basis"] = basis
    bdo = canonical_enum(Column("x", "bool", "", ""), get("business_days_only"))
    kw["business_days_only"] = bdo == "yes"
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", get("send_window"))
    if m and int(m[1]) < 24 and int(m[3]) <= 24:
        end = dt.time(23, 59) if int(m[3]) == 24 else dt.time(int(m[3]), int(m[4]))
        kw["send_window"] = (dt.time(int(m[1]), int(m[2])), end)
    else:
        bad("send_window", "send_window")
    for key in ("min_reminder_amount", "bank_fee_tolerance"):
        try:
            kw[key] = money.parse_money(get(key) or "0", base)
        except money.MoneyError:
            bad(key, "amount", currency=base)
    for key in ("min_reminder_amounts", "min_formal_amounts", "write_off_tolerance"):
        try:
            kw[key] = parse_amounts_by_currency(get(key))
        except (ValueError, money.MoneyError):
            bad(key, "amounts")
    epd = get("early_payment_discount")
    if epd:
        m2 = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*%?\s*/\s*(\d+)\s*", epd)
        if m2:
            kw["early_payment_discount"] = (Decimal(m2[1].replace(",", ".")), int(m2[2]))
        else:
            bad("early_payment_discount", "early_payment_discount")
    try:
        kw["late_interest_annual_pct"] = Decimal(get("late_interest_annual_pct").replace(",", ".") or "0")
    except InvalidOperation:
        bad("late_interest_annual_pct", "late_interest_annual_pct")
    try:
        kw["promise_grace_days"] = int(get("promise_grace_days") or "0")
    except ValueError:
        bad("promise_grace_days", "promise_grace_days")
    from .interest import check_interest_settings  # issue 13: payment details and interest rows (kept in extra)
    from .payment import check_payment_settings

    for key, code, fields in (*check_payment_settings(values), *check_interest_settings(values)):
        bad(key, code, **fields)
    known = set(SETTINGS_DEFAULTS) - SETTINGS_PASS_THROUGH
    kw["extra"] = {k: v for k, v in values.items() if k not in known}
    return Settings(**kw)  # type: ignore[arg-type]


def parse_amounts_by_currency(text: str) -> dict[str, int]:
    """``"EUR 20; USD 25,50; 20000 CLP"`` -> ``{"EUR": 2000, "USD": 2550, "CLP": 20000}`` (minor units);
    blank, ``none`` or ``ninguno`` -> ``{}``. ``ValueError`` / ``MoneyError`` when a part is not "CODE amount"."""
    out: dict[str, int] = {}
    if text.strip().casefold() in ("", "none", "ninguno", "no", "0"):
        return out
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        m = re.fullmatch(r"\s*([A-Za-z]{3})\s+(\S.*?)\s*|\s*(\S.*?)\s+([A-Za-z]{3})\s*", part)
        if not m:
            raise ValueError(part)
        cur, amount = ((m[1], m[2]) if m[1] else (m[4], m[3]))
        cur = cur.upper()
        if not money.is_known_currency(cur):
            raise ValueError(cur)
        out[cur] = money.parse_money(amount, cur)
    return out


def format_amounts_by_currency(amounts: Mapping[str, int]) -> str:
    """``{"EUR": 2000, "CLP": 20000}`` -> ``"EUR 20.00; CLP 20000"``; ``{}`` -> ``"none"`` (read back by
    ``parse_amounts_by_currency``)."""
    return "; ".join(f"{c} {money.format_decimal(v, c)}" for c, v in amounts.items()) or "none"


# ----------------------------------------------------------------------------------- ledger

FRAME_SHEETS = (CUSTOMERS, INVOICES, PAYMENTS, CONTACTS, PLANS, LEVELS, TEMPLATES, MATCHES)


@dataclass
class Ledger:
    """The whole ledger as typed frames. Pure data: no file, no workbook."""

    customers: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    contacts: pd.DataFrame
    plans: pd.DataFrame
    levels: pd.DataFrame
    templates: pd.DataFrame
    settings: Settings
    statement: pd.DataFrame = field(default_factory=pd.DataFrame)  # raw pasted lines (text)
    matches: pd.DataFrame = field(default_factory=lambda: empty_frame(MATCHES))
    settings_rows: Mapping[str, int] = field(default_factory=dict)  # Settings key -> its sheet row (for messages)

    def frame(self, sheet_key: str) -> pd.DataFrame:
        return getattr(self, sheet_key.lower())

    def replace(self, **changes: object) -> Ledger:
        return replace(self, **changes)  # type: ignore[arg-type]


_DTYPES = {"text": "str", "list": object, "enum": "str", "bool": bool, "date": "datetime64[ns]",
           "datetime": "datetime64[ns]", "int": "Int64", "number": "float64"}


def _dtype(col: Column) -> object:
    if col.type == "money":
        return "int64" if col.required else "Int64"
    return _DTYPES[col.type]


def empty_frame(sheet: Sheet) -> pd.DataFrame:
    """A typed, empty frame with every canonical column of ``sheet`` plus ``_row``."""
    data = {c.key: pd.Series([], dtype=_dtype(c)) for c in sheet.columns}  # type: ignore[call-overload]
    data["_row"] = pd.Series([], dtype="int64")
    return pd.DataFrame(data)


def make_frame(sheet: Sheet, records: Iterable[Mapping[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """A typed frame from already-typed values (used by generators and tests).

    Money values must already be integer minor units; dates may be ``date``/``datetime``/strings
    in ISO form. Missing columns get blanks; ``_row`` defaults to 0.
    """
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    n = len(df)
    out: dict[str, object] = {}
    for c in sheet.columns:
        if c.key in df.columns:
            s = df[c.key]
        else:
            s = pd.Series([None] * n, index=df.index)
        if c.type in ("date", "datetime"):
            out[c.key] = pd.to_datetime(s)
        elif c.type == "money" and c.required:
            out[c.key] = s.astype("int64")
        elif c.type in ("money", "int"):
            out[c.key] = s.astype("Int64")
        elif c.type == "list":
            out[c.key] = s.map(_as_tuple)
        elif c.type == "bool":
            out[c.key] = s.fillna(False).astype(bool)
        elif c.type == "number":
            out[c.key] = s.astype("float64")
        else:
            out[c.key] = s.fillna(c.default or "").astype(str) if n else s.astype(object)
    out["_row"] = df["_row"].astype("int64") if "_row" in df.columns else pd.Series(np.zeros(n, dtype="int64"),
                                                                                   index=df.index)
    return pd.DataFrame(out).reset_index(drop=True)


_LIST_SPLIT = re.compile(r"[;,\n]")


def _as_tuple(v: object) -> tuple[str, ...]:
    if type(v) is str:
        if ";" not in v and "," not in v and "\n" not in v:  # one item: most cells
            item = v.strip()
            return (item,) if item else ()
        return tuple(x.strip() for x in _LIST_SPLIT.split(v) if x.strip())
    if v is None or (isinstance(v, float) and v != v):
        return ()
    if isinstance(v, (list, tuple)):
        return tuple(str(x).strip() for x in v if str(x).strip())
    return _as_tuple(str(v))


# ----------------------------------------------------------------------------------- parsing

_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
MIN_YEAR, MAX_YEAR = 1900, 9999
"""Dates cobro accepts (an as-of date, a date typed as text): the years a spreadsheet can hold as a date."""
_DATE_RE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?.*)?$")


_NUMERIC_TYPES = frozenset({int, float, bool})
_NEVER_BLANK = frozenset({int, bool, dt.date, dt.datetime})


def _memo_map(values: list[object], fn: Callable[[object], object]) -> list[object]:
    """``[fn(v) for v in values]`` computing ``fn`` once per distinct value: sheets repeat themselves.

    Values that compare equal across types (``1 == 1.0 == True``) would share a result, so a column
    mixing numeric types is mapped cell by cell.
    """
    if len(_NUMERIC_TYPES.intersection(map(type, values))) > 1:
        return [fn(v) for v in values]
    try:
        table = {v: fn(v) for v in set(values)}
    except TypeError:  # an unhashable cell value
        return [fn(v) for v in values]
    return [table[v] for v in values]


_STR_ONLY = frozenset({str})


def _upper_text(v: object) -> str:
    return _text(v).upper()


def _texts(raw: pd.DataFrame, key: str, fn: Callable[[object], str] | None = None) -> list[str]:
    """``fn`` of every cell of column ``key`` (the text of the cell by default; a sheet without the column reads as
    blank cells), computed once per distinct value."""
    if key not in raw:
        return [(fn or _text)(None)] * len(raw)
    values = raw[key].tolist()
    if fn is None and frozenset(map(type, values)) <= _STR_ONLY:  # ids: mostly distinct, all text
        return list(map(str.strip, values))
    return _memo_map(values, fn or _text)  # type: ignore[arg-type,return-value]


def _blank_indexes(values: list[object]) -> list[int]:
    """Positions of blank cells, cheap on the common types (texts, typed dates, numbers); unordered."""
    texts = [i for i, v in enumerate(values) if v.__class__ is str if not v or v.isspace()]
    others = [i for i, v in enumerate(values)
              if v.__class__ is not str and v.__class__ not in _NEVER_BLANK and _blank(v)]
    return texts + others


def _fmt(minor: int, currency: str) -> str:
    """Decimal text of an amount even when the currency itself is the problem."""
    return money.format_decimal(int(minor), currency if money.is_known_currency(currency) else "EUR")


def _blank(v: object) -> bool:
    t = type(v)
    if t is str:
        return v.strip() == ""  # type: ignore[attr-defined]
    if t is float:
        return v != v
    return v is None or v is pd.NaT


def _text(v: object) -> str:
    t = type(v)
    if t is str:
        return v.strip()  # type: ignore[attr-defined]
    if v is None or v is pd.NaT:
        return ""
    if t is float:
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() else str(v)  # type: ignore[attr-defined]
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.isoformat()
    return str(v).strip()


def detect_day_first(texts: Iterable[str]) -> bool | None:
    """Settle dd/mm vs mm/dd for a whole column: True, False, or None when nothing decides."""
    return _decide_day_first(*_day_month_evidence(texts))


def _day_month_evidence(texts: Iterable[str]) -> tuple[bool, bool]:
    """(a date only day-first can read, a date only month-first can read) among ``texts``."""
    day_first = month_first = False
    for t in texts:
        m = _DATE_RE.match(t.strip())
        if not m or len(m[1]) == 4:
            continue
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            day_first = True
        elif b > 12 >= a:
            month_first = True
    return day_first, month_first


def _decide_day_first(day_first: bool, month_first: bool) -> bool | None:
    if day_first and not month_first:
        return True
    if month_first and not day_first:
        return False
    return None


def parse_date_text(text: str, day_first: bool = True) -> dt.datetime | None:
    """``2024-03-31``, ``31/03/2024``, ``31-03-2024``, ``31.03.24``, optional time. None if not a date."""
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    a, b, c = m[1], m[2], m[3]
    try:
        if len(a) == 4:
            y, mo, d = int(a), int(b), int(c)
        else:
            y = int(c)
            if len(c) == 2:
                y += 2000 if y < 70 else 1900
            elif len(c) != 4:
                return None
            d, mo = (int(a), int(b)) if day_first else (int(b), int(a))
        hh = int(m[4]) if m[4] else 0
        mm = int(m[5]) if m[5] else 0
        ss = int(m[6]) if m[6] else 0
        if not MIN_YEAR <= y <= MAX_YEAR:
            return None  # year 1 or 0042: not a date a ledger can hold (and pandas cannot compute with)
        return dt.datetime(y, mo, d, hh, mm, ss)
    except ValueError:
        return None


_YEAR_LO_NS, _YEAR_HI_NS = MIN_YEAR, 2261  # what a datetime64[ns] column holds (to 2262-04-11), within the range


_BULK_FORMATS = {True: ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"),
                 False: ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y")}


def _text_dates_in_bulk(texts: Mapping[int, str], day_first: bool) -> tuple[tuple[list[int], np.ndarray], list[int]]:
    """Dates written in the common whole forms (``2024-03-31``, ``31/03/2024``) parsed a column at a time; the
    rest (times, two-digit years, other years, mistakes) is left for ``parse_date_text`` one by one."""
    idx = list(texts)
    series = pd.Series([texts[i].strip() for i in idx], dtype=object)
    done = np.zeros(len(idx), dtype=bool)
    values = np.full(len(idx), np.datetime64("NaT"), dtype="datetime64[ns]")
    for fmt in _BULK_FORMATS[day_first]:
        todo = np.flatnonzero(~done)
        if not len(todo):
            break
        parsed = pd.to_datetime(series.iloc[todo], format=fmt, errors="coerce").to_numpy(dtype="datetime64[ns]")
        years = parsed.astype("datetime64[Y]").astype(np.int64) + 1970
        ok = ~np.isnat(parsed) & (years >= MIN_YEAR) & (years <= _YEAR_HI_NS)
        values[todo[ok]] = parsed[ok]
        done[todo[ok]] = True
    took = np.flatnonzero(done)
    return ([idx[j] for j in took], values[took]), [idx[j] for j in np.flatnonzero(~done)]


_SEPARATORS = np.array([ord("-"), ord("/"), ord(".")], dtype=np.uint32)


def _ten_character_dates(vals: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The dates written ``2024-03-31`` or ``31/03/2024`` (any of ``-/.`` twice), read as digits of a fixed-width
    array: (positions, is ISO, first number, second number, year). The rest is for the regex, one by one."""
    lens = np.fromiter(map(len, vals), dtype=np.int64, count=len(vals))
    pos = np.flatnonzero(lens == 10)
    empty = np.zeros(0, dtype=np.int64)
    if not len(pos):
        return pos, np.zeros(0, dtype=bool), empty, empty, empty
    chars = np.array([vals[j] for j in pos], dtype="U10").view(np.uint32).reshape(-1, 10)
    digit = (chars >= 48) & (chars <= 57)
    num = chars.astype(np.int64) - 48
    iso = digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(1) & (chars[:, 4] == chars[:, 7]) & np.isin(chars[:, 4], _SEPARATORS)
    dmy = digit[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(1) & (chars[:, 2] == chars[:, 5]) & np.isin(chars[:, 2], _SEPARATORS)
    year = np.where(iso, num[:, 0] * 1000 + num[:, 1] * 100 + num[:, 2] * 10 + num[:, 3],
                    num[:, 6] * 1000 + num[:, 7] * 100 + num[:, 8] * 10 + num[:, 9])
    first = np.where(iso, num[:, 5] * 10 + num[:, 6], num[:, 0] * 10 + num[:, 1])
    second = np.where(iso, num[:, 8] * 10 + num[:, 9], num[:, 3] * 10 + num[:, 4])
    keep = iso | dmy
    return pos[keep], iso[keep], first[keep], second[keep], year[keep]


def _calendar(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[ns] of (year, month, day) arrays, and which are real dates cobro holds (1900–2261)."""
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (year >= MIN_YEAR) & (year <= _YEAR_HI_NS)
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (np.clip(day, 1, 31) - 1).astype("timedelta64[D]")
    ok &= days.astype("datetime64[M]") == months  # 31/02 spills into March: not a date
    return days.astype("datetime64[ns]"), ok


def _text_dates_fast(texts: Mapping[int, str]) -> tuple[tuple[list[int], np.ndarray], list[int], bool | None]:
    """Text dates of a column: (indexes and values read in bulk, indexes left for ``parse_date_text``, the
    column's day-first decision). Reads exactly as ``parse_date_text`` would, a column at a time."""
    idx = list(texts)
    vals = [texts[i].strip() for i in idx]
    pos, iso, first, second, year = _ten_character_dates(vals)
    is_fixed = np.zeros(len(idx), dtype=bool)
    is_fixed[pos] = True
    others = {idx[j]: texts[idx[j]] for j in np.flatnonzero(~is_fixed)}
    day_ev, month_ev = _day_month_evidence(others.values())
    dmy = ~iso
    day_ev = day_ev or bool(((first > 12) & (second <= 12) & dmy).any())
    month_ev = month_ev or bool(((second > 12) & (first <= 12) & dmy).any())
    day_first = _decide_day_first(day_ev, month_ev)
    dflt = True if day_first is None else day_first
    month = np.where(iso, first, second if dflt else first)
    day = np.where(iso, second, first if dflt else second)
    values, ok = _calendar(year, month, day)
    took = [idx[j] for j in pos[ok]]
    rest = [idx[j] for j in pos[~ok]]
    if others:
        (more, more_vals), left = _text_dates_in_bulk(others, dflt)
        took += more
        values = np.concatenate([values[ok], more_vals])
        rest += left
    else:
        values = values[ok]
    return (took, values), rest, day_first


def _parse_dates(values: list[object], keep_time: bool) -> tuple[np.ndarray, list[int]]:
    """Vectorized where possible. Returns datetime64[ns] values and indexes of bad cells."""
    n = len(values)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    bad: list[int] = []
    # Fast path: every non-blank value already a date/datetime.
    texts: dict[int, str] = {}
    conv: list[object] = [None] * n
    serial_idx: list[int] = []
    serial_val: list[float] = []
    for i, v in enumerate(values):
        cls = v.__class__
        if cls is str:  # what a CSV gives: straight to the text reading
            if v and not v.isspace():  # type: ignore[attr-defined]
                texts[i] = v  # type: ignore[assignment]
            continue
        if cls is dt.date or cls is dt.datetime:  # what calamine gives for date cells
            if _YEAR_LO_NS <= v.year <= _YEAR_HI_NS:
                conv[i] = v
            else:
                bad.append(i)  # a date datetime64[ns] cannot hold would become NaT silently
            continue
        if v is None or v == "" or _blank(v):
            continue
        if isinstance(v, (dt.datetime, dt.date)):
            if _YEAR_LO_NS <= v.year <= _YEAR_HI_NS:
                conv[i] = v
            else:
                bad.append(i)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            if 0 < v < 2958466:  # a serial number (Excel, Google Sheets, the hosts' JSON): converted in bulk below
                serial_idx.append(i)
                serial_val.append(v)
            else:
                bad.append(i)
        else:
            texts[i] = str(v)
    bulk: tuple[list[int], np.ndarray] | None = None
    if texts:
        bulk, rest, day_first = _text_dates_fast(texts)
        for i in rest:
            parsed = parse_date_text(texts[i], True if day_first is None else day_first)
            if parsed is None or parsed.year > _YEAR_HI_NS:
                bad.append(i)
            else:
                conv[i] = parsed
    s = pd.to_datetime(pd.Series(conv, dtype=object), errors="coerce")
    arr = s.to_numpy(dtype="datetime64[ns]")
    if not keep_time:
        arr = arr.astype("datetime64[D]").astype("datetime64[ns]")
    out[:] = arr
    if bulk is not None and bulk[0]:
        out[np.asarray(bulk[0], dtype=np.intp)] = bulk[1]
    if serial_idx:
        seconds = np.rint(np.asarray(serial_val, dtype=np.float64) * 86400.0).astype(np.int64)
        stamps = _EXCEL_EPOCH.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        if not keep_time:
            stamps = stamps.astype("datetime64[D]")
        take = np.asarray(serial_idx, dtype=np.intp)
        out[take] = stamps.astype("datetime64[ns]")
        years = out[take].astype("datetime64[Y]").astype(np.int64) + 1970
        bad.extend(int(take[j]) for j in np.nonzero((years < _YEAR_LO_NS) | (years > _YEAR_HI_NS))[0])
        out[take[(years < _YEAR_LO_NS) | (years > _YEAR_HI_NS)]] = np.datetime64("NaT")
    return out, sorted(bad)


def _parse_money_column(values: list[object], currencies: list[str]
                        ) -> tuple[list[int | None], list[tuple[int, str, dict[str, object]]]]:
    """Minor units per row (None for blank) and (index, code, detail) of bad cells.

    Numbers (what spreadsheets give) are scaled and checked for exactness in bulk; written
    amounts are read with the decimal mark the whole column settles on.
    """
    n = len(values)
    out: list[int | None] = [None] * n
    bad: list[tuple[int, str, dict[str, object]]] = []
    num_idx: list[int] = []
    txt_idx: list[int] = []
    for i, v in enumerate(values):
        t = type(v)
        if t is float:
            if v == v:
                num_idx.append(i)
        elif t is int:
            num_idx.append(i)
        elif t is str:
            if v and not v.isspace():  # type: ignore[attr-defined]
                txt_idx.append(i)
        elif v is not None and v is not pd.NaT:
            txt_idx.append(i)  # Decimal, bool, …: parse_money accepts or refuses them
    if num_idx:
        arr = np.fromiter((values[i] for i in num_idx), dtype="float64", count=len(num_idx))
        curs = np.asarray(currencies, dtype=object)[num_idx]
        uniq, inverse = np.unique(curs.astype(str), return_inverse=True)
        exps = np.array([money._EXPONENTS.get(str(u), 2) for u in uniq], dtype="int64")[inverse]
        scaled = arr * np.power(10.0, exps)
        rounded = np.round(scaled)
        in_range = np.abs(scaled) <= money.MAX_MINOR
        ok = ((np.abs(scaled - rounded) <= 1e-6 * np.maximum(1.0, np.abs(scaled))) & in_range).tolist()
        ints = np.where(in_range, rounded, 0).astype("int64").tolist()
        in_range_l = in_range.tolist()
        for j, i in enumerate(num_idx):
            if ok[j]:
                out[i] = ints[j]
            elif not in_range_l[j]:
                bad.append((i, "money_range", {"limit": money.format_money(money.MAX_MINOR, str(currencies[i]))}))
            else:
                bad.append((i, "money_precision", {}))
    if txt_idx:
        # Plain amounts (1234,56) are read a column at a time (money.plain_amounts); the rest one by one with the
        # decimal mark the whole column settles on, exactly as parse_money reads it.
        str_idx = [i for i in txt_idx if type(values[i]) is str]
        texts: list[str] = [values[i] for i in str_idx]  # type: ignore[misc]
        layout = money.plain_amounts(texts)
        plain = layout.plain.tolist()
        oc, od = money.decimal_mark_votes([t for t, p in zip(texts, plain, strict=True) if not p])
        decimal_comma = money.decide_decimal_comma(layout.votes[0] + oc, layout.votes[1] + od)
        exp_of = {c: money._EXPONENTS.get(c, -1) for c in {currencies[i] for i in str_idx}}
        exps = np.fromiter((exp_of[currencies[i]] for i in str_idx), dtype=np.int64, count=len(str_idx))
        read, minor = layout.minor(exps, decimal_comma)
        slow = [i for i in txt_idx if type(values[i]) is not str]
        for i, r, m in zip(str_idx, read.tolist(), minor.tolist(), strict=True):
            if r:
                out[i] = m
            else:
                slow.append(i)
        for i in slow:
            try:
                out[i] = money.parse_money(values[i], currencies[i], decimal_comma)
            except money.MoneyError as e:
                bad.append((i, e.code, dict(e.detail)))
    bad.sort()
    return out, bad


def _parse_table(sheet: Sheet, raw: pd.DataFrame, problems: list[Problem],
                 currency_for_row: list[str] | None = None, defaults: Mapping[str, str] | None = None,
                 skip: Iterable[str] = ()) -> pd.DataFrame:
    """Type every column of ``raw``; record problems; return the typed frame.

    Money columns are typed with ``currency_for_row``; columns in ``skip`` are left for the
    caller (when they need other columns first).
    """
    n = len(raw)
    rows = raw["_row"].astype("int64").tolist() if "_row" in raw.columns else list(range(2, n + 2))
    defaults = defaults or {}
    out: dict[str, object] = {}
    skip = set(skip)
    present = set(raw.columns)
    for c in sheet.columns:
        if c.required and c.key not in present and not sheet.key_value:
            problems.append(Problem(sheet.key, rows[0] - 1 if rows else 1, c.key, None, "required_column"))
    for c in sheet.columns:
        if c.key in skip:
            continue
        values = raw[c.key].tolist() if c.key in present else [None] * n
        if c.required and c.key in present:
            for i in _blank_indexes(values):
                problems.append(Problem(sheet.key, rows[i], c.key, None, "required"))
        if c.type == "text":
            default = defaults.get(c.key, c.default or "")
            texts = [v.strip() if v.__class__ is str else _text(v) for v in values]
            out[c.key] = [t or default for t in texts] if default else texts
        elif c.type == "list":
            out[c.key] = _memo_map(values, lambda v: _as_tuple(_text(v)))
        elif c.type in ("enum", "bool"):
            default = defaults.get(c.key, c.default or "")
            col_vals = []
            canons = _memo_map(values, lambda v, c=c: canonical_enum(c, _text(v)) if not isinstance(v, bool)
                               else ("yes" if v else "no"))
            if None not in canons and not default:
                col_vals = canons
            else:
                for i, v in enumerate(values):
                    canon = canons[i]
                    if canon is None:
                        choices = ", ".join(c.choices) if c.type == "enum" else "yes, no"
                        problems.append(Problem(sheet.key, rows[i], c.key, v, "enum", {"choices": choices}))
                        canon = ""
                    col_vals.append(canon or default)
            out[c.key] = [x == "yes" for x in col_vals] if c.type == "bool" else col_vals
        elif c.type in ("date", "datetime"):
            arr, bad = _parse_dates(values, keep_time=c.type == "datetime")
            for i in bad:
                problems.append(Problem(sheet.key, rows[i], c.key, values[i], c.type))
            out[c.key] = arr
        elif c.type == "int":
            col: list[int | None] = []
            for i, v in enumerate(values):
                if _blank(v):
                    col.append(None)
                    continue
                if type(v) is int or (type(v) is float and v.is_integer()):  # what spreadsheets give
                    col.append(int(v))
                    continue
                try:
                    f = Decimal(_text(v).replace(",", "."))
                    if f != f.to_integral_value():
                        raise InvalidOperation
                    col.append(int(f))
                except InvalidOperation:
                    problems.append(Problem(sheet.key, rows[i], c.key, v, "int"))
                    col.append(None)
            out[c.key] = pd.array(col, dtype="Int64")
        elif c.type == "number":
            numcol: list[float] = []
            for i, v in enumerate(values):
                if _blank(v):
                    numcol.append(float("nan"))
                    continue
                try:
                    numcol.append(float(_text(v).replace(",", ".")))
                except ValueError:
                    problems.append(Problem(sheet.key, rows[i], c.key, v, "number"))
                    numcol.append(float("nan"))
            out[c.key] = np.array(numcol, dtype="float64")
        elif c.type == "money":
            curs = currency_for_row if currency_for_row is not None else ["EUR"] * n
            minor, bad_m = _parse_money_column(values, curs)
            for i, code, detail in bad_m:
                problems.append(Problem(sheet.key, rows[i], c.key, values[i], code, detail))
            if c.required:
                out[c.key] = np.array([0 if x is None else x for x in minor], dtype="int64")
            else:
                out[c.key] = pd.array(minor, dtype="Int64")
    out["_row"] = np.array(rows, dtype="int64")
    frame = pd.DataFrame(out)
    for c in sheet.columns:  # keep canonical order; skipped columns are added by the caller
        if c.key in skip:
            frame[c.key] = None
    return frame[[c.key for c in sheet.columns] + ["_row"]]


_CLEAR_DATE_TYPES = frozenset({float, int, type(None), dt.date, dt.datetime, str})  # str: blank ones only


def _decisive(sheet: Sheet, raw: pd.DataFrame) -> bool:
    """Whether typing ``raw`` involves a decision for a whole column (day-first dates, the decimal mark of written
    amounts): a date or money cell written as text (or, in a date column, anything but a number or a date)."""
    for c in sheet.columns:
        if c.type not in ("date", "datetime", "money") or c.key not in raw.columns:
            continue
        values = raw[c.key].tolist()
        if any(v.__class__ is str and v and not v.isspace() for v in values):
            return True
        if c.type != "money" and not _CLEAR_DATE_TYPES.issuperset(map(type, values)):
            return True
    return False


def _typed_again(sheet: Sheet, raw: pd.DataFrame, base: tuple[Any, ...] | None, positions: Iterable[int],
                 currencies: tuple[str, ...] | None, given: tuple[tuple[str, str], ...]
                 ) -> tuple[pd.DataFrame, tuple[Problem, ...], bool] | None:
    """``raw`` typed from ``base`` (``(currencies, defaults, (frame, problems, decisive))`` of the version ``raw``
    differs from at ``positions``; rows past the base's are all among them): only the rows that differ, or whose
    currency differs, are typed and put in a copy of the base's frame. None when that would not be exactly the full
    typing: no base, other defaults, fewer rows, problems in the base, or a column-wide decision in the base or the
    new rows."""
    if base is None:
        return None
    base_currencies, base_given, (frame, found, decisive) = base
    m, n = len(frame), len(raw)
    if decisive or found or base_given != given or n < m:
        return None
    at = set(positions)
    if not at.issuperset(range(m, n)):
        return None
    if currencies != base_currencies:
        if currencies is None or base_currencies is None or len(currencies) != n or len(base_currencies) != m:
            return None
        at.update(i for i, (a, b) in enumerate(zip(currencies, base_currencies, strict=False)) if a != b)
    if not at:
        return frame, found, decisive
    pos = np.fromiter(sorted(at), dtype=np.intp, count=len(at))
    if pos[-1] >= n:
        return None
    part = raw.iloc[pos].reset_index(drop=True)
    if _decisive(sheet, part):
        return None
    problems: list[Problem] = []
    mini = _parse_table(sheet, part, problems, None if currencies is None else [currencies[i] for i in pos],
                        dict(given))
    if any(p.code == "required_column" for p in problems):
        return None
    inside = pos < m  # rows the base has; the others (all of them) come after it, in order
    columns: dict[str, Any] = {}
    for c in frame.columns:
        old, new = frame[c], mini[c]
        if old.dtype != new.dtype:
            return None
        whole = pd.concat([old, new[~inside]], ignore_index=True) if n > m else old
        if isinstance(old.dtype, np.dtype):
            arr = whole.to_numpy(copy=True)
            arr[pos[inside]] = new[inside].to_numpy()
        else:
            arr = whole.array.copy()
            values = new[inside].array
            if isinstance(old.dtype, pd.StringDtype):
                values = _same_objects(values.to_numpy(dtype=object), old.to_numpy(dtype=object)[pos[inside]])
            arr[pos[inside]] = values
        columns[c] = arr
    return pd.DataFrame(columns, index=pd.RangeIndex(n)), tuple(problems), False


def _check_applied(invoices: pd.DataFrame, payments: pd.DataFrame, problems: list[Problem]) -> None:
    """The payments that name an invoice: it exists, it is in their currency, and they do not pay more than its
    amount. On the join of the payments to the invoices that the reports use as well (``joins.key_codes``,
    remembered: computed once per ledger)."""
    kcodes, qcodes, first = key_codes(invoices["invoice_id"], payments["invoice_id"], remember=True)
    pay_inv = payments["invoice_id"].to_numpy(dtype=object)
    pay_row = payments["_row"].to_numpy(dtype=np.int64)
    has_inv = pay_inv != ""
    unknown = has_inv & (qcodes < 0)
    for v, row in zip(pay_inv[unknown].tolist(), pay_row[unknown].tolist(), strict=True):
        problems.append(Problem("Payments", int(row), "invoice_id", v, "invoice", {"sheet": "Invoices"}))
    applied = np.flatnonzero(has_inv & (qcodes >= 0))
    if not len(applied):
        return
    # an id's currency is that of its last row (as a dict of the rows would say), its amount that of its first
    n_codes = len(first)
    last = np.full(n_codes, -1, dtype=np.intp)
    np.maximum.at(last, kcodes, np.arange(len(kcodes), dtype=np.intp))
    inv_cur = invoices["currency"].to_numpy(dtype=object)
    codes = qcodes[applied]
    want = inv_cur[last[codes]]
    given = payments["currency"].to_numpy(dtype=object)[applied]
    mism = given != want
    for v, row, cur in zip(given[mism].tolist(), pay_row[applied][mism].tolist(), want[mism].tolist(), strict=True):
        problems.append(Problem("Payments", int(row), "currency", v, "currency_mismatch", {"currency": cur}))
    paid = group_sum(codes, payments["amount"].to_numpy(dtype=np.int64)[applied], n_codes)
    amount = invoices["amount"].to_numpy(dtype=np.int64)[first]
    used = np.bincount(codes, minlength=n_codes) > 0
    over = np.flatnonzero(used & (amount >= 0) & (paid > amount))
    if not len(over):
        return
    last_pay = np.full(n_codes, -1, dtype=np.int64)
    np.maximum.at(last_pay, codes, pay_row[applied])
    ids = invoices["invoice_id"].to_numpy(dtype=object)
    seen_first = np.full(n_codes, len(applied), dtype=np.intp)  # in the order the payments first name them
    np.minimum.at(seen_first, codes, np.arange(len(applied), dtype=np.intp))
    for k in over[np.argsort(seen_first[over], kind="stable")].tolist():
        inv, cur = ids[first[k]], inv_cur[last[k]]
        problems.append(Problem("Payments", int(last_pay[k]), "amount", f"{inv}: {_fmt(int(paid[k]), cur)}",
                                "overpaid", {"amount": _fmt(int(amount[k]), cur)}))


def _same_objects(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``new`` with each text equal to ``old``'s at its place replaced by ``old``'s object: the ids of a row whose
    amount changed stay the objects the remembered joins were made of (``joins.key_codes`` recognises a column by
    its objects), so the join of payments to invoices is not made again after each edit."""
    for i, (a, b) in enumerate(zip(new.tolist(), old.tolist(), strict=True)):
        if a.__class__ is str and b.__class__ is str and a == b:
            new[i] = b
    return new


def _check_currency(sheet: Sheet, frame: pd.DataFrame, problems: list[Problem]) -> None:
    codes = frame["currency"]
    unknown = [c for c in codes.unique().tolist() if not money.is_known_currency(c)]
    if not unknown:  # the common case: no row to look at
        return
    bad = codes.isin(unknown).to_numpy()
    for cur, row in zip(codes[bad].tolist(), frame["_row"][bad].tolist(), strict=True):
        problems.append(Problem(sheet.key, row, "currency", cur, "currency"))


def _check_unique(sheet: Sheet, frame: pd.DataFrame, key: str, problems: list[Problem]) -> None:
    s = frame[key]
    dup = s.duplicated(keep="first") & (s != "")
    if dup.any():
        first_row = dict(zip(s[~s.duplicated(keep="first")], frame["_row"][~s.duplicated(keep="first")], strict=False))
        for v, row in zip(s[dup], frame["_row"][dup], strict=False):
            problems.append(Problem(sheet.key, int(row), key, v, "unique", {"other": int(first_row[v])}))


def _raw(raw_tables: Mapping[str, pd.DataFrame], sheet: Sheet) -> pd.DataFrame:
    df = raw_tables.get(sheet.key)
    if df is None:  # an absent sheet is an empty one, not a sheet with missing columns
        return pd.DataFrame({**{c.key: pd.Series([], dtype=object) for c in sheet.columns},
                             "_row": pd.Series([], dtype="int64")})
    return df


def parse_ledger(raw_tables: Mapping[str, pd.DataFrame], raw_settings: Mapping[str, object] | None = None,
                 settings_rows: Mapping[str, int] | None = None, locale: str | None = None, *,
                 versions: Mapping[str, Hashable] | None = None,
                 memo: MutableMapping[Hashable, Any] | None = None,
                 edits: Mapping[str, tuple[Hashable, Iterable[int]]] | None = None) -> Ledger:
    """Validate and type every sheet. Raises ``LedgerError`` with all problems found.

    ``versions`` (a version of each raw table: the same version, the same frame) and ``memo`` (kept by the caller
    between parses): a sheet typed before with the same version and the same inputs from the other sheets (row
    currencies, defaults) is taken from ``memo`` with its problems, so after a change to one sheet only that sheet
    is typed again; Settings, Customers and Invoices with their checks are taken from ``memo`` too when their
    versions are the same (``versions["Settings"]`` stands for ``raw_settings`` and ``settings_rows``), so after an
    edit of Payments (or of a sheet read after them) their checks are not made again. ``edits`` (``{sheet: (base
    version, positions)}``): the raw table is the base version's but at those row positions (the same columns; rows
    added after the base's are among the positions), so when the base was typed before without a column-wide
    decision (no written dates or amounts) only those rows are typed again. The result is the same as without them."""
    problems: list[Problem] = []

    def typed(sheet: Sheet, raw: pd.DataFrame, currency_for_row: list[str] | None = None,
              defaults: Mapping[str, str] | None = None) -> pd.DataFrame:
        version = versions.get(sheet.key) if versions is not None and sheet.key in raw_tables else None
        if memo is None or version is None:
            return _parse_table(sheet, raw, problems, currency_for_row, defaults)
        currencies = None if currency_for_row is None else tuple(currency_for_row)
        given = tuple(sorted((defaults or {}).items()))
        key = (sheet.key, version, currencies, given)
        hit = memo.get(key)
        if hit is None:
            edit = (edits or {}).get(sheet.key)
            hit = _typed_again(sheet, raw, memo.get(("typed", sheet.key, edit[0])), edit[1], currencies,
                               given) if edit is not None else None
            if hit is None:
                found: list[Problem] = []
                frame = _parse_table(sheet, raw, found, currency_for_row, defaults)
                hit = (frame, tuple(found), _decisive(sheet, raw))
            memo[key] = hit
            memo[("typed", sheet.key, version)] = (currencies, given, hit)  # the base of a later edit
        problems.extend(hit[1])
        # the caller completes it (currency, due dates): a shallow copy, which pandas copies on write, so the
        # memo's frame never changes (a deep copy of 10,000 invoices took 6 ms)
        return hit[0].copy(deep=False)

    def settings_customers_invoices() -> tuple[Any, ...]:
        settings = parse_settings(raw_settings or {}, problems, settings_rows)
        base = settings.base_currency

        # Customers: currency needs resolving before credit_limit.
        craw = _raw(raw_tables, CUSTOMERS)
        cust_cur = [t or base for t in _texts(craw, "currency", _upper_text)]
        customers = typed(CUSTOMERS, craw, cust_cur, defaults={"language": settings.locale})
        customers["currency"] = cust_cur
        _check_currency(CUSTOMERS, customers, problems)
        _check_unique(CUSTOMERS, customers, "customer_id", problems)
        first = ~customers["customer_id"].duplicated(keep="first")
        cust_currency = dict(zip(customers["customer_id"][first].tolist(), customers["currency"][first].tolist(),
                                 strict=True))
        cust_terms = dict(zip(customers["customer_id"][first].tolist(),
                              customers["payment_terms_days"][first].tolist(), strict=True))

        # Invoices
        iraw = _raw(raw_tables, INVOICES)
        icust = _texts(iraw, "customer_id")
        inv_cur = [t or cust_currency.get(c, base) for t, c in zip(_texts(iraw, "currency", _upper_text), icust,
                                                                    strict=True)]
        invoices = typed(INVOICES, iraw, inv_cur)
        invoices["currency"] = inv_cur
        _check_currency(INVOICES, invoices, problems)
        _check_unique(INVOICES, invoices, "invoice_id", problems)
        known_customers = set(customers["customer_id"].tolist())
        unknown = ~invoices["customer_id"].isin(known_customers) & (invoices["customer_id"] != "")
        for v, row in zip(invoices["customer_id"][unknown], invoices["_row"][unknown], strict=False):
            problems.append(Problem("Invoices", int(row), "customer_id", v, "customer", {"sheet": "Customers"}))
        missing_due = invoices["due_date"].isna() & invoices["issue_date"].notna()
        if missing_due.any():
            terms = invoices.loc[missing_due, "customer_id"].map(cust_terms).fillna(0).astype("int64")
            invoices.loc[missing_due, "due_date"] = (invoices.loc[missing_due, "issue_date"]
                                                     + pd.to_timedelta(terms.to_numpy(), unit="D"))
        inv_currency = dict(zip(invoices["invoice_id"].tolist(), invoices["currency"].tolist(), strict=True))
        return (settings, customers, cust_currency, invoices, known_customers, inv_currency)

    # Settings, Customers and Invoices with their checks: after an edit of Payments alone they are as they were, so
    # when the memo holds them for the same three versions they are taken from it (with the problems they had).
    block_key = None
    if memo is not None and versions is not None and (versions.get(SETTINGS.key) is not None or not raw_settings):
        parts = tuple(versions.get(k.key) if k.key in raw_tables else None for k in (CUSTOMERS, INVOICES))
        if None not in parts:
            block_key = ("settings, customers, invoices", versions.get(SETTINGS.key), *parts)
    block = memo.get(block_key) if memo is not None and block_key is not None else None
    if block is None:
        before = len(problems)
        values = settings_customers_invoices()
        block = (values, tuple(problems[before:]))
        if memo is not None and block_key is not None:
            memo[block_key] = block
    else:
        problems.extend(block[1])
        for sheet, version in ((CUSTOMERS, parts[0]), (INVOICES, parts[1])):  # they stay bases of later edits
            memo.get(("typed", sheet.key, version))  # type: ignore[union-attr]
    settings, customers, cust_currency, invoices, known_customers, inv_currency = block[0]
    customers, invoices = customers.copy(deep=False), invoices.copy(deep=False)  # the memo's frames never change
    base = settings.base_currency

    # Payments: currency from the invoice, else the customer.
    praw = _raw(raw_tables, PAYMENTS)
    pay_cur = [t or inv_currency.get(i) or cust_currency.get(c, base) for t, i, c in
               zip(_texts(praw, "currency", _upper_text), _texts(praw, "invoice_id"), _texts(praw, "customer_id"),
                   strict=True)]
    payments = typed(PAYMENTS, praw, pay_cur)
    payments["currency"] = pay_cur
    _check_currency(PAYMENTS, payments, problems)
    nonpos = payments["amount"] <= 0
    bad_pay = payments[nonpos]
    for v, cur, row in zip(bad_pay["amount"], bad_pay["currency"], bad_pay["_row"], strict=True):
        problems.append(Problem("Payments", int(row), "amount", _fmt(v, cur), "positive"))
    unknown_c = ~payments["customer_id"].isin(known_customers) & (payments["customer_id"] != "")
    for v, row in zip(payments["customer_id"][unknown_c], payments["_row"][unknown_c], strict=False):
        problems.append(Problem("Payments", int(row), "customer_id", v, "customer", {"sheet": "Customers"}))
    _check_applied(invoices, payments, problems)

    contacts_raw = _raw(raw_tables, CONTACTS)
    contacts = typed(CONTACTS, contacts_raw, [cust_currency.get(c, base) for c in _texts(contacts_raw, "customer_id")])
    plans_raw = _raw(raw_tables, PLANS)
    plans = typed(PLANS, plans_raw, [cust_currency.get(c, base) for c in _texts(plans_raw, "customer_id")])
    levels = typed(LEVELS, _raw(raw_tables, LEVELS))
    _check_unique(LEVELS, levels, "level", problems)
    templates = typed(TEMPLATES, _raw(raw_tables, TEMPLATES))
    matches_raw = _raw(raw_tables, MATCHES)
    mcur = [t or base for t in _texts(matches_raw, "currency", _upper_text)]
    matches = typed(MATCHES, matches_raw, mcur)
    matches["currency"] = mcur
    statement = raw_tables.get(STATEMENT.key, pd.DataFrame())

    if problems:
        def order(p: Problem) -> tuple[int, int, int]:
            spec = SHEETS_BY_KEY.get(p.sheet)
            col = spec.keys.index(p.column) if spec and p.column in spec.keys else 99
            return (list(SHEETS_BY_KEY).index(p.sheet) if spec else 99, p.row, col)

        problems.sort(key=order)
        raise LedgerError(problems, locale or settings.locale)
    return Ledger(customers=customers, invoices=invoices, payments=payments, contacts=contacts, plans=plans,
                  levels=levels, templates=templates, settings=settings, statement=statement, matches=matches,
                  settings_rows=dict(settings_rows or {}))


def match_headers(sheet: Sheet, headers: list[object]) -> dict[int, str]:
    """Column index -> canonical key for the headers that belong to ``sheet`` (others are extra)."""
    from .schema import header_map

    hm = header_map(sheet)
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, h in enumerate(headers):
        if h is None:
            continue
        key = hm.get(normalize_header(h))
        if key and key not in seen:
            out[i] = key
            seen.add(key)
    return out


def empty_ledger(settings: Settings | None = None) -> Ledger:
    return Ledger(customers=empty_frame(CUSTOMERS), invoices=empty_frame(INVOICES),
                  payments=empty_frame(PAYMENTS), contacts=empty_frame(CONTACTS), plans=empty_frame(PLANS),
                  levels=empty_frame(LEVELS), templates=empty_frame(TEMPLATES),
                  settings=settings or Settings(), statement=pd.DataFrame(), matches=empty_frame(MATCHES))
