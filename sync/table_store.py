"""The table store: a ledger as a spreadsheet host sends it (JSON tables in), whose writes go back as data.

The Office add-in (Office.js), Apps Script and any other host that already has the workbook open post its tables;
cobro reads them through the same parse path as the .xlsx file (``sync.xlsx_store.raw_from_sheets`` ->
``cobro.ledger.parse_ledger``) and answers with *writes*: edits the host applies itself, through Excel or Sheets.
This store never writes a file — the workbook the accountant has open is the one that changes, so nothing cobro
wrote is lost when they save.

The protocol (``openapi.yaml``, components ``LedgerTables`` and ``TableWrites``)
================================================================================

**In: ``{"tables": [Table, ...], "locale": "es"}``** (``locale`` optional: else the ledger's Settings, else the
sheet titles decide). One ``Table`` per sheet the host has::

    {"key": "Invoices",                 # canonical key (Customers, Invoices, Payments, Contacts, Plans, Levels,
                                        #   Templates, Settings, Statement, Matches); each at most once
     "title": "Facturas",               # the sheet's title as the user sees it (optional; used for the locale)
     "header_row": 1,                   # the sheet row (1-based) of the headers; default 1
     "headers": ["Factura", "ID cliente", "Fecha emisión", ...],   # as the user sees them; extra columns welcome
     "rows": [["F-1", "C1", 46331, ...], ...],  # the body, row after row, each cell as Excel/Sheets gives it
     "fingerprint": "..."}              # optional: the host's version of what it read (see "Stale reads")

Cells are JSON scalars exactly as the host reads them (``Range.values`` in Office.js, ``getValues()`` in Apps
Script): text; numbers (amounts in major units, ``1250.1``; dates as serial numbers, days since 1899-12-30 with
the time as a fraction); ``true``/``false``; an empty cell as ``""`` or ``null``. Dates may also be ISO text
(``"2026-11-20"``, ``"2026-11-20T09:30:00"``); ISO text with a zone (``"2026-11-19T23:00:00.000Z"``, what
``JSON.stringify`` makes of an Apps Script ``Date``) is read in the company's time zone (Settings.timezone), so a
date cell never moves a day. Numbers are read exactly (the service parses them as decimals), so ``0.1`` is ten
cents, never 0.1000000000000000055. A row's sheet row is ``header_row + 1 + its index in rows``; that is the row
every problem names. Fully blank rows are skipped, as in the file.

**Out: ``TableWrites``** — what the host must apply, in order, or not at all::

    {"tables": {"Invoices": {"title": "Facturas", "header_row": 1, "fingerprint": "<as read>", "new": false,
                             "columns": {"reminder_level": {"index": 13, "header": "Nivel", "format": "@",
                                                            "new": false}, ...}}},
     "edits": [{"table": "Invoices", "op": "set", "row": 2, "index": 0, "match": {"invoice_id": "F-1"},
                "cells": {"reminder_level": "L1", "last_contact": 46346}},
               {"table": "Contacts", "op": "append", "row": 5, "rows": [{"timestamp": 46346.4, ...}]},
               {"table": "Matches", "op": "replace", "row": 2, "clear": 3, "rows": [{...}]}]}

- Cells are addressed by table and canonical column key; ``tables[t].columns[k].index`` is the column's 0-based
  position in the ``headers`` the host sent. A column with ``"new": true`` is not in the host's table yet: the host
  adds it at that index with that header. A table with ``"new": true`` does not exist yet: the host creates the
  sheet ``title`` with the headers of its columns at row 1.
- ``set``: set ``cells`` in sheet row ``row`` (``index`` = its position in the ``rows`` sent). ``match`` (when the
  table has a row key: invoice_id, customer_id, payment_id, plan_id, level, statement_line) is the key cell as it
  was read: the host refuses the whole batch if that row no longer holds it (someone sorted the table).
- ``append``: new rows, the first at sheet row ``row`` (right after the last non-blank row sent; blank rows sent
  after the data, like the one an empty Excel table keeps, are reused), one object per row keyed by column key.
  Columns not named stay empty (the host keeps its own formulas there).
- ``replace``: clear cobro's columns in the ``clear`` body rows, then write ``rows`` from sheet row ``row``.
- Values are ready for the cell: money as a number in major units (the JSON text is the exact amount, e.g.
  ``1250.1``), dates as serial numbers (whole for dates, fractional for timestamps), enums as the localized label,
  lists as ``a; b``, text as text (text that a spreadsheet would take for a formula is prefixed with ``'``),
  ``null`` for an empty cell. ``format`` is the number format to give the cells written (``#,##0.00``,
  ``dd/mm/yyyy``, ``@`` for text), never to a whole column.

**Patches** (the read-only routes that keep what they were sent): a table the service already holds is sent as
``{"key", "title", "header_row", "fingerprint"}`` only; one that changed in a few rows since a version the service
holds, as ``{"key", "title", "header_row", "fingerprint", "base": "<that version>", "length": N,
"patch": [[index, row], ...]}`` (its headers are the base's; rows past the base's are all in the patch). A table or
base not held any more is a 409 whose ``resend`` names the keys to send whole.

**Stale reads.** Each table's ``fingerprint`` is the host's (any string: a hash of what it read, a change counter);
when the host sends none, cobro computes ``"sha256:" + hex(sha256(json([header_row, headers, rows])))``. The writes
carry, per table, the fingerprint of what they were computed from: the host re-reads those tables before applying
and refuses everything if one changed (then reads again and asks again). Inside cobro, ``TableStore`` refuses
``commit`` (``StaleLedgerError``, nothing recorded) once it is told a table changed: ``observe(fingerprints)`` (a
host's change event, a later request) or the ``recheck`` callable it asks at every commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from cobro import money
from cobro.errors import InputError, UserError
from cobro.ledger import Ledger, match_headers, parse_ledger
from cobro.schema import SHEETS_BY_KEY, STATEMENT, Sheet, find_sheet

from .cells import is_missing, to_cell
from .store import Changes, StaleLedgerError
from .table_cache import TablesCache

MAX_TABLES = 32
MAX_COLUMNS = 16_384  # Excel's widest sheet
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
SCALARS = (str, int, float, Decimal, bool, type(None))

# The column that names a row, for the ``match`` guard of ``set`` edits.
ROW_KEYS = {"Customers": "customer_id", "Invoices": "invoice_id", "Payments": "payment_id", "Plans": "plan_id",
            "Levels": "level", "Matches": "statement_line"}

_ZONED_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})", re.I)


class TablePayloadError(UserError, ValueError):
    """The tables a host sent are not in the protocol's shape; names the JSON field (``tables[2].rows[7][3]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", column=field)
        self.field = field

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"error": str(self), "field": self.field}


@dataclass(frozen=True)
class Table:
    """One sheet as the host read it (see the module docstring)."""

    key: str
    headers: list[Any]
    rows: list[list[Any]]
    header_row: int = 1
    title: str = ""
    fingerprint: str = ""
    # (the base's fingerprint, the row indexes set) when the host sent a patch of a table this service held: every
    # other row is the base's own row object, so what was read from the base serves for them (``TableStore._raw``)
    changed: tuple[str, tuple[int, ...]] | None = field(default=None, compare=False, repr=False)

    def version(self) -> str:
        """The host's fingerprint, else cobro's hash of what was sent."""
        return self.fingerprint or table_fingerprint(self.headers, self.rows, self.header_row)

    def row_of(self, index: int) -> int:
        return self.header_row + 1 + index


def table_fingerprint(headers: list[Any], rows: list[list[Any]], header_row: int = 1) -> str:
    """``sha256:`` + the hex SHA-256 of the compact JSON ``[header_row, headers, rows]`` (numbers as
    ``JSON.stringify`` writes them: ``1250.1`` whether it arrived as a decimal or a float)."""
    text = json.dumps([header_row, headers, rows], ensure_ascii=False, separators=(",", ":"), default=_number)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------- reading the payload


def _number(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)  # only to be printed for a hash, never to compute with
    return str(o)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(v), type(v).__name__)


class UnknownTableError(TablePayloadError):
    """A table named by its fingerprint only that this service does not hold (any more): the host sends it whole
    (409, ``resend`` lists the keys)."""

    http_status = 409

    def __init__(self, field: str, keys: list[str]) -> None:
        super().__init__(field, f"{', '.join(keys)}: not held here under that fingerprint; send the headers and rows")
        self.keys = keys

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {**super().to_json(locale), "resend": list(self.keys)}


_SCALAR_TYPES = frozenset(SCALARS)
TABLE_KEYS = frozenset({"key", "title", "header_row", "headers", "rows", "fingerprint", "base", "length", "patch"})
MAX_PATCH_ROWS = 1_048_576  # Excel's tallest sheet


def _plain_rows(rows: list[Any]) -> bool:
    """Whether every row is a list of at most MAX_COLUMNS cells, each a JSON scalar (a Decimal for a number with a
    fraction): the common case, checked in a few passes in C (ten thousand rows in a few milliseconds)."""
    if not rows:
        return True
    if frozenset(map(type, rows)) != {list} or max(map(len, rows)) > MAX_COLUMNS:
        return False
    return _SCALAR_TYPES.issuperset(map(type, itertools.chain.from_iterable(rows)))


def _check_rows(rows: list[Any], name: Callable[[int], str]) -> None:
    """Every row a list of JSON scalars: checked in bulk; row by row only when something is off, to name the first
    bad cell (``name(r)`` names row ``r``, its cells follow as ``[c]``)."""
    if _plain_rows(rows):
        return
    for r, row in enumerate(rows):
        if not isinstance(row, list):
            raise TablePayloadError(name(r), f"expected a list of cell values, got {_kind(row)}")
        if len(row) > MAX_COLUMNS:
            raise TablePayloadError(name(r), f"{len(row)} cells; a sheet has at most {MAX_COLUMNS}")
        for c, v in enumerate(row):
            if not isinstance(v, SCALARS):
                raise TablePayloadError(f"{name(r)}[{c}]",
                                        f"expected a cell value (text, number, true/false, null), got {_kind(v)}")


def _patch_base(t: Mapping[str, Any], where: str, fp: str,
                known: Callable[[str, str], Table | None] | None) -> Table | None:
    """The table a patch applies to (None: not held, the host sends it whole), its fields checked."""
    if "headers" in t or "rows" in t:
        raise TablePayloadError(f"{where}.patch", "a patch comes instead of headers and rows, not with them")
    for name in ("base", "length", "patch"):
        if name not in t:
            raise TablePayloadError(f"{where}.{name}", "is required with a patch (base, length, patch)")
    base = t["base"]
    if not isinstance(base, str) or not base or len(base) > 200:
        raise TablePayloadError(f"{where}.base", "expected the fingerprint of the table the patch applies to")
    if not fp:
        raise TablePayloadError(f"{where}.fingerprint", "is required with a patch: the table's version after it")
    if known is None:
        raise TablePayloadError(f"{where}.patch", "this request takes whole tables only")
    return known(str(t["key"]), base)


def _as_sent(held: Table, t: Mapping[str, Any], title: str, header_row: int) -> Table:
    """A held table named in a request: with the title and header row the request gives, else its own."""
    return replace(held, title=title or held.title, header_row=header_row if "header_row" in t else held.header_row)


def _patched(held: Table, t: Mapping[str, Any], where: str, fp: str) -> Table:
    """``held`` with the patch's rows: ``length`` rows, row ``i`` the patch's where it names one, else the held
    one (rows past the held ones must all be named)."""
    length, patch = t["length"], t["patch"]
    if type(length) is not int or not 0 <= length <= MAX_PATCH_ROWS:
        raise TablePayloadError(f"{where}.length", f"expected the number of rows after the patch, got {length!r}")
    if not isinstance(patch, list):
        raise TablePayloadError(f"{where}.patch", f"expected a list of [row index, row], got {_kind(patch)}")
    at: dict[int, list[Any]] = {}
    for k, item in enumerate(patch):
        if (not isinstance(item, list) or len(item) != 2 or type(item[0]) is not int
                or not 0 <= item[0] < length):
            raise TablePayloadError(f"{where}.patch[{k}]", f"expected [row index below {length}, row]")
        if item[0] in at:
            raise TablePayloadError(f"{where}.patch[{k}]", f"row {item[0]} is patched twice")
        at[item[0]] = item[1]
    _check_rows(list(at.values()), lambda k: f"{where}.patch[{k}][1]")
    gap = next((i for i in range(len(held.rows), length) if i not in at), None)
    if gap is not None:
        raise TablePayloadError(f"{where}.patch", f"row {gap} is new and missing: rows past the {len(held.rows)} "
                                                  "held must all be sent")
    rows = held.rows[:length]
    if length > len(rows):
        rows.extend([] for _ in range(length - len(rows)))
    for i, row in at.items():
        rows[i] = row
    return replace(held, rows=rows, fingerprint=fp, changed=(str(t["base"]), tuple(sorted(at))))


def parse_tables(value: Any, field: str = "tables",
                 known: Callable[[str, str], Table | None] | None = None) -> list[Table]:
    """The ``tables`` of a request, checked for shape (a ``TablePayloadError`` names the field otherwise).

    ``known(key, fingerprint)``: the tables this service holds; with it, a table sent as ``{"key", "fingerprint"}``
    only (no ``headers``, no ``rows``) is that one, and one sent as a patch (``{"key", "fingerprint", "base",
    "length", "patch": [[index, row], ...]}``) is the held ``base`` with those rows (``UnknownTableError`` when it
    holds none)."""
    if not isinstance(value, list):
        raise TablePayloadError(field, f"expected a list of tables, got {_kind(value)}")
    if len(value) > MAX_TABLES:
        raise TablePayloadError(field, f"{len(value)} tables; at most {MAX_TABLES}")
    out: list[Table] = []
    missing: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(t, dict):
            raise TablePayloadError(where, f"expected an object, got {_kind(t)}")
        unknown = sorted(set(t) - TABLE_KEYS)
        if unknown:
            raise TablePayloadError(f"{where}.{unknown[0]}",
                                    f"unknown field; expected {', '.join(sorted(TABLE_KEYS))}")
        key = t.get("key")
        spec = SHEETS_BY_KEY.get(key) if isinstance(key, str) else None
        if spec is None:
            raise TablePayloadError(f"{where}.key", f"{key!r} is not a ledger table; expected one of "
                                                    f"{', '.join(SHEETS_BY_KEY)}")
        if key in seen:
            raise TablePayloadError(f"{where}.key", f"{key} is sent twice")
        seen.add(key)
        title = t.get("title") or ""
        if not isinstance(title, str):
            raise TablePayloadError(f"{where}.title", f"expected text, got {_kind(title)}")
        header_row = t.get("header_row", 1)
        if type(header_row) is not int or not 1 <= header_row <= 1_048_576:
            raise TablePayloadError(f"{where}.header_row", f"expected a sheet row number (1 or more), got "
                                                           f"{header_row!r}")
        fp = t.get("fingerprint") or ""
        if not isinstance(fp, str) or len(fp) > 200:
            raise TablePayloadError(f"{where}.fingerprint", "expected text of at most 200 characters")
        if "base" in t or "patch" in t or "length" in t:  # "the one you have, with these rows"
            held = _patch_base(t, where, fp, known)
            if held is None:
                missing.append(key)
            else:
                out.append(_patched(_as_sent(held, t, title, header_row), t, where, fp))
            continue
        if known is not None and fp and "headers" not in t and "rows" not in t:  # "the one you have"
            held = known(key, fp)
            if held is None:
                missing.append(key)
            else:
                out.append(_as_sent(held, t, title, header_row))
            continue
        headers = t.get("headers")
        if not isinstance(headers, list) or not all(isinstance(h, SCALARS) for h in headers):
            raise TablePayloadError(f"{where}.headers", "expected the list of header cells as the user sees them")
        if len(headers) > MAX_COLUMNS:
            raise TablePayloadError(f"{where}.headers", f"{len(headers)} columns; a sheet has at most {MAX_COLUMNS}")
        rows = t.get("rows", [])
        if not isinstance(rows, list):
            raise TablePayloadError(f"{where}.rows", f"expected a list of rows, got {_kind(rows)}")
        _check_rows(rows, lambda r, where=where: f"{where}.rows[{r}]")
        if title and find_sheet(title) not in (None, spec):
            raise TablePayloadError(f"{where}.title", f"{title!r} is the title of another ledger sheet, not {key}")
        out.append(Table(key=key, headers=list(headers), rows=rows, header_row=header_row, title=title,
                         fingerprint=fp))
    if missing:
        raise UnknownTableError(field, missing)
    return out


def _zone(tables: Mapping[str, Table]) -> ZoneInfo | None:
    """The company's time zone from the Settings table, as read (None if absent or unknown)."""
    s = tables.get("Settings")
    if s is None:
        return None
    for row in s.rows:
        if len(row) >= 2 and isinstance(row[0], str) and row[0].strip().lower() in ("timezone", "zona horaria"):
            try:
                return ZoneInfo(str(row[1]).strip())
            except (ZoneInfoNotFoundError, ValueError):
                return None
    return None


def _cell_for_parser(v: Any, col_type: str, zone: ZoneInfo | None) -> Any:
    """A host's cell as the parser takes it: a serial sent as a JSON decimal becomes a number (serials are no
    money); ISO text with a zone becomes the company's local time."""
    if col_type not in ("date", "datetime"):
        return v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, str) and _ZONED_ISO.fullmatch(v.strip()):
        try:
            moment = dt.datetime.fromisoformat(v.strip().replace("z", "Z"))
        except ValueError:
            return v
        return moment.astimezone(zone).replace(tzinfo=None) if zone is not None else moment.replace(tzinfo=None)
    return v


def _money_digits(tables: Mapping[str, Table], *,
                  codes_of: Callable[[Table], frozenset[str]] | None = None) -> int:
    """The most fraction digits an amount may have and still be exact in every currency the tables can price it
    in (their currency columns, Settings' values, the default base currency): at most 2. ``codes_of``: each
    table's codes (``_currency_codes``, or a cache of it by fingerprint)."""
    codes: set[str] = set()
    for t in tables.values():
        codes.update((codes_of or _currency_codes)(t))
    known = [money._EXPONENTS[c] for c in codes if c in money._EXPONENTS]
    return min([2, *known])


def _currency_codes(t: Table) -> frozenset[str]:
    """The texts of a table that may be currency codes: its currency column; any value of Settings."""
    spec = SHEETS_BY_KEY[t.key]
    if spec.key_value:  # Settings: any value that is a currency code (the base currency among them)
        return frozenset(str(r[1]).strip().upper() for r in t.rows if len(r) > 1 and isinstance(r[1], str))
    codes: set[str] = set()
    for i, k in match_headers(spec, t.headers).items():
        if k == "currency":  # the distinct cells first: a column repeats a few codes
            cells = {r[i] for r in t.rows if i < len(r) and isinstance(r[i], str)}
            codes.update(c.strip().upper() for c in cells)
    return frozenset(codes)


_FLOAT_EXACT = 1e12  # amounts below this (in major units) scale to minor units exactly as floats


def _money_cell(v: Decimal, step: Decimal) -> Any:
    """A JSON decimal amount as the parser's bulk path takes it: a float when it is a whole number of ``step``
    (so it is exact in minor units of any currency of the ledger) and not huge; else as it came (the exact, slower
    path reads it and names any problem)."""
    f = float(v)
    return f if -_FLOAT_EXACT < f < _FLOAT_EXACT and v.quantize(step) == v else v


def _prepared_rows(table: Table, zone: ZoneInfo | None, money_digits: int = -1) -> list[list[Any]]:
    spec = SHEETS_BY_KEY[table.key]
    typed = {i: spec.column(k).type for i, k in match_headers(spec, table.headers).items()}
    dated = {i for i, t in typed.items() if t in ("date", "datetime")}
    amounts = {i for i, t in typed.items() if t == "money"} if money_digits >= 0 else set()
    step = Decimal(1).scaleb(-max(money_digits, 0))
    if not dated and not amounts:
        return table.rows
    out = []
    for row in table.rows:
        copied = False
        for i in dated:
            if i < len(row) and type(row[i]) in (Decimal, str):
                if not copied:
                    row, copied = list(row), True
                row[i] = _cell_for_parser(row[i], typed[i], zone)
        for i in amounts:
            if i < len(row) and type(row[i]) is Decimal:
                if not copied:
                    row, copied = list(row), True
                row[i] = _money_cell(row[i], step)
        out.append(row)
    return out


@dataclass(frozen=True)
class _SheetRead:
    """One table's raw read (``raw_from_sheets``) as the cache keeps it, with what a patch of it needs."""

    raw: Any  # RawWorkbook
    rows: int  # the rows the host sent
    width: int  # the widest of them
    edit: tuple[Any, tuple[int, ...]] | None = None  # (the base's raw version, the positions) when read as a patch


def _raw_version(t: Table, fingerprint: str, title: str, zone: ZoneInfo | None, digits: int) -> tuple[Any, ...]:
    """What one table's raw read is kept under: its version and everything else the read depends on."""
    return (t.key, fingerprint, title, t.header_row, str(zone), digits)


def _read_sheet(t: Table, title: str, zone: ZoneInfo | None, digits: int, cache: TablesCache) -> _SheetRead:
    """The raw read of ``t``: from the raw read of the version it patches when the cache holds it, else whole."""
    from .xlsx_store import raw_from_sheets

    if t.changed is not None:
        base_version = _raw_version(t, t.changed[0], title, zone, digits)
        base = cache.peek_raw(base_version)
        read = _patched_read(base, t, zone, digits) if base is not None else None
        if read is not None:
            return replace(read, edit=(base_version, t.changed[1]))
    raw = raw_from_sheets([(title, [t.headers, *_prepared_rows(t, zone, digits)], t.header_row)])
    return _SheetRead(raw, len(t.rows), max(map(len, t.rows), default=0))


def _patched_read(base: _SheetRead, t: Table, zone: ZoneInfo | None, digits: int) -> _SheetRead | None:
    """``base``'s raw frame with the patched rows of ``t`` read in their places (rows added after the base's
    included): exactly what reading ``t`` whole gives, or None when it might not be (rows removed or blanked, rows
    of another width, a patched row that would be taken for the header, a table with blank rows, a header found
    elsewhere)."""
    from .xlsx_raw import HEADER_SCAN_ROWS

    assert t.changed is not None
    spec = SHEETS_BY_KEY[t.key]
    frame = base.raw.tables.get(t.key)
    pos, n = t.changed[1], len(t.rows)
    if (spec.key_value or spec.key == STATEMENT.key or frame is None or not pos or n < base.rows
            or len(frame) != base.rows or frame.attrs.get("header_row") != t.header_row):
        return None
    sheet_rows = np.arange(n, dtype=np.int64) + (t.header_row + 1)  # no blank row skipped, before or after
    if not np.array_equal(frame["_row"].to_numpy(), sheet_rows[:base.rows]):
        return None
    patched = [t.rows[i] for i in pos]
    if any(len(r) != base.width or r.count("") + r.count(None) >= len(r) for r in patched):
        return None
    prepared = _prepared_rows(replace(t, rows=patched, changed=None), zone, digits)
    mapping = match_headers(spec, t.headers)
    # the header is the first of the rows looked at with the most known headers: a patched row there must not win
    if any(len(match_headers(spec, r)) > len(mapping) for i, r in zip(pos, prepared, strict=True)
           if i < HEADER_SCAN_ROWS - 1):
        return None
    at = np.fromiter(pos, dtype=np.intp, count=len(pos))
    columns: dict[str, np.ndarray] = {}
    for k in frame.columns:
        if k != "_row":
            columns[k] = np.empty(n, dtype=object)
            columns[k][:base.rows] = frame[k].to_numpy(dtype=object)
    for i, key in mapping.items():
        if key in columns:
            cells = np.empty(len(prepared), dtype=object)
            cells[:] = [r[i] if i < len(r) else None for r in prepared]
            columns[key][at] = cells
    out = pd.DataFrame(columns, dtype=object)
    out["_row"] = sheet_rows
    out = out[list(frame.columns)]
    out.attrs.update(frame.attrs)
    return _SheetRead(replace(base.raw, tables={t.key: out}), n, base.width)


# ------------------------------------------------------------------------------------------- writing as data


def serial(value: dt.date | dt.datetime) -> int | float:
    """The spreadsheet serial number of a date (whole) or a timestamp (with the time as a fraction)."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - EXCEL_EPOCH
        return delta.days + delta.seconds / 86_400
    return (value - EXCEL_EPOCH.date()).days


def json_cell(value: Any) -> Any:
    """A cell value from ``sync.cells.to_cell`` as JSON for the host: Decimals (money) as numbers whose JSON text
    is exactly the amount, dates as serials, the rest unchanged."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        number = float(value)  # only to be printed: repr gives the shortest text that reads back as this double
        if Decimal(repr(number)) != value:
            raise InputError(f"the amount {value} has more digits than a spreadsheet cell holds exactly")
        return int(number) if number.is_integer() and value == value.to_integral_value() else number
    if isinstance(value, (dt.date, dt.datetime)):
        return serial(value)
    if isinstance(value, float):
        return value
    return str(value)


def number_format(col_type: str, locale: str, exponent: int = 2) -> str:
    """The number format for cells of a column type (Excel/Sheets codes, locale-independent)."""
    if col_type == "money":
        return "#,##0" + ("." + "0" * exponent if exponent else "")
    if col_type == "date":
        return "dd/mm/yyyy" if locale == "es" else "yyyy-mm-dd"
    if col_type == "datetime":
        return "dd/mm/yyyy hh:mm:ss" if locale == "es" else "yyyy-mm-dd hh:mm:ss"
    if col_type == "int":
        return "0"
    if col_type == "number":
        return "0.00"
    return "@"


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _last_data_index(table: Table, cols: Iterable[int]) -> int:
    """The index of the last row with anything in cobro's columns (-1 for none)."""
    cols = list(cols)
    for i in range(len(table.rows) - 1, -1, -1):
        row = table.rows[i]
        if any(c < len(row) and not _blank(row[c]) for c in cols):
            return i
    return -1


def apply_writes(tables: Mapping[str, Table], writes: Mapping[str, Any]) -> dict[str, Table]:
    """Apply ``writes`` to ``tables`` as a host does (the reference for hosts, and how the store keeps its own
    view current): checks fingerprints and ``match`` guards first; raises ``StaleLedgerError`` and changes nothing
    when one fails. Returns new tables (the given ones are not modified)."""
    for key, info in writes.get("tables", {}).items():
        have = tables.get(key)
        if info.get("new"):
            if have is not None:
                raise StaleLedgerError(f"the {key} table appeared since cobro read the ledger; nothing was written")
            continue
        if have is None or have.version() != info.get("fingerprint"):
            raise StaleLedgerError(f"the {key} table changed since cobro read it; nothing was written")
    touched = set(writes.get("tables", {}))
    # A table written to is new content: the fingerprint the host gave for what it read no longer describes it.
    out = {k: replace(t, headers=list(t.headers), rows=[list(r) for r in t.rows], fingerprint="", changed=None)
           if k in touched else t for k, t in tables.items()}  # tables not written to are shared, not copied
    for key, info in writes.get("tables", {}).items():
        if info.get("new"):
            spec = SHEETS_BY_KEY[key]
            out[key] = Table(key=key, headers=[], rows=[], title=info.get("title") or spec.key)
        t = out[key]
        for col in sorted(info.get("columns", {}).values(), key=lambda c: c["index"]):
            i = col["index"]
            if i >= len(t.headers):
                t.headers.extend([None] * (i + 1 - len(t.headers)))
            if col.get("new") or _blank(t.headers[i]):
                t.headers[i] = col["header"]
    for edit in writes.get("edits", []):
        t = out[edit["table"]]
        cols = {k: c["index"] for k, c in writes["tables"][edit["table"]]["columns"].items()}
        width = max([len(t.headers), *[i + 1 for i in cols.values()]])

        def put(row: list[Any], cells: Mapping[str, Any], cols: dict[str, int] = cols, width: int = width) -> None:
            if len(row) < width:
                row.extend([None] * (width - len(row)))
            for k, v in cells.items():
                row[cols[k]] = v

        if edit["op"] == "set":
            idx = edit["row"] - t.header_row - 1
            if not 0 <= idx < len(t.rows):
                raise StaleLedgerError(f"{edit['table']}: row {edit['row']} is not in the table; nothing was written")
            for k, v in edit.get("match", {}).items():
                if str(t.rows[idx][cols[k]] if cols[k] < len(t.rows[idx]) else "").strip() != str(v).strip():
                    raise StaleLedgerError(f"{edit['table']}: row {edit['row']} no longer holds {k} {v!r} (the table "
                                           "was sorted or edited); nothing was written")
            put(t.rows[idx], edit["cells"])
        elif edit["op"] in ("append", "replace"):  # replace clears the first ``clear`` rows first
            if edit["op"] == "replace":
                for row in t.rows[:edit["clear"]]:
                    put(row, dict.fromkeys(cols))
            start = edit["row"] - t.header_row - 1
            for n, cells in enumerate(edit["rows"]):
                while len(t.rows) <= start + n:
                    t.rows.append([])
                put(t.rows[start + n], cells)
    return out


def tables_of_workbook(path: str | Path) -> dict[str, Table]:
    """Every ledger sheet of an .xlsx file as a host reads and posts it: headers as seen, their sheet row, values
    as Office.js' ``Range.values`` gives them (dates as serial numbers). The reference for hosts, tests and
    benchmarks; the service itself never reads a workbook this way."""
    from python_calamine import CalamineWorkbook

    def host_cell(v: Any) -> Any:
        if isinstance(v, (dt.date, dt.datetime)):
            return serial(v)
        if isinstance(v, dt.time):
            return (v.hour * 3600 + v.minute * 60 + v.second) / 86_400
        return v

    wb = CalamineWorkbook.from_path(str(path))
    out: dict[str, Table] = {}
    for title in wb.sheet_names:
        spec = find_sheet(title)
        if spec is None or spec.key in out:
            continue
        sheet = wb.get_sheet_by_name(title)
        rows = sheet.to_python()
        start = (sheet.start or (0, 0))[0]
        hdr = max(range(min(15, len(rows))), key=lambda i: len(match_headers(spec, rows[i])), default=0)
        out[spec.key] = Table(key=spec.key, title=title, header_row=start + hdr + 1,
                              headers=list(rows[hdr]) if rows else [],
                              rows=[[host_cell(v) for v in r] for r in rows[hdr + 1:]])
    return out


def request_body(tables: Mapping[str, Table], **extra: Any) -> dict[str, Any]:
    """The JSON request body (``LedgerTables``) for ``tables``."""
    return {"tables": [{"key": t.key, "title": t.title, "header_row": t.header_row, "headers": t.headers,
                        "rows": t.rows, **({"fingerprint": t.fingerprint} if t.fingerprint else {})}
                       for t in tables.values()], **extra}


# ------------------------------------------------------------------------------------------- the store


def _copy_tables(tables: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {**v, "columns": {c: dict(d) for c, d in v["columns"].items()}} for k, v in tables.items()}


@dataclass
class _Draft:
    """The writes being built by one commit (merged into the store's only when all of it is valid)."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)


class TableStore:
    """A ledger in tables a host sent (``LedgerStore``): ``load()`` parses them like the file store; ``commit()``
    writes nothing anywhere and adds the edits to ``writes()`` for the host to apply.

    ``recheck``: called at every commit for the host's current fingerprints (``{key: fingerprint}``), for a host
    that can tell (a live workbook); ``observe()`` takes the same from a host's change event.
    """

    def __init__(self, tables: Iterable[Table] | Mapping[str, Any], *, name: str = "the workbook's tables",
                 locale: str | None = None, recheck: Callable[[], Mapping[str, str]] | None = None,
                 cache: TablesCache | None = None) -> None:
        if isinstance(tables, Mapping):  # a request body: {"tables": [...], "locale": ...}
            locale = locale or tables.get("locale")
            tables = parse_tables(tables.get("tables"), known=cache.table if cache is not None else None)
        self._cache = cache
        self._committed = False
        self._tables: dict[str, Table] = {t.key: t for t in tables}
        self._read = {k: t.version() for k, t in self._tables.items()}
        self._name = name
        self._locale = locale if locale in ("es", "en") else None
        self._recheck = recheck
        self._stale: set[str] = set()
        self._writes: dict[str, Any] = {"tables": {}, "edits": []}
        self._loaded: Ledger | None = None  # the ledger as last parsed (None after a commit changed the view)
        self._was_read = False  # commit() wants a load() first, as the file store does
        self._raw_versions: dict[str, Any] = {}  # what each cached raw sheet was read from (parse_ledger's versions)
        self._raw_edits: dict[str, Any] = {}  # sheets read as a patch of another version (parse_ledger's edits)

    # ------------------------------------------------------------------ LedgerStore
    def describe(self) -> str:
        return self._name

    @property
    def locale(self) -> str:
        """The language of the ledger's sheets (es/en)."""
        if self._locale is None:
            self._locale = self._raw().locale
        return self._locale

    def load(self) -> Ledger:
        """Parse the tables (as they are after this store's own commits) into a ``Ledger``; ``LedgerError`` lists
        every problem by sheet, row and column."""
        if self._cache is not None and not self._committed:  # the same tables parse to the same ledger
            self._loaded = self._cache.ledger((self._locale, self._versions()), self._parse)
            if self._locale is None:
                self._locale = self._raw().locale
        else:
            self._loaded = self._parse()
        self._was_read = True
        return self._loaded

    def _parse(self) -> Ledger:
        raw = self._raw()
        if self._locale is None:
            self._locale = raw.locale
        if self._cache is None or self._committed:
            return parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=self._locale)
        # The sheets that did not change are typed as before (the cache's memo); the cross-sheet checks run again.
        return parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=self._locale,
                            versions=self._raw_versions, memo=self._cache.parse_memo, edits=self._raw_edits)

    def _versions(self) -> tuple[tuple[str, str, str, int], ...]:
        return tuple((k, t.version(), t.title, t.header_row) for k, t in sorted(self._tables.items()))

    def version(self) -> tuple[Any, ...]:
        """What this store's ledger is made of (locale and each table's fingerprint, title and header row): the
        key of anything computed from it. Changes with every commit."""
        return (self._locale, self._versions(), id(self) if self._committed else None)

    def check_writable(self) -> None:
        """Raise ``StaleLedgerError`` when the host's tables are known to have changed since they were read."""
        stale = self._stale_tables()
        if stale:
            raise StaleLedgerError(f"{', '.join(sorted(stale))} changed in the workbook since cobro read it; "
                                   "nothing was written. Run it again.")

    def commit(self, changes: Changes) -> None:
        """Record ``changes`` as edits for the host (all of them or, on any error, none)."""
        if changes.is_empty():
            return
        if not self._was_read:
            raise StaleLedgerError(f"{self._name}: load() the ledger before writing to it")
        self.check_writable()
        draft = _Draft(tables=_copy_tables(self._writes["tables"]))
        for key in [k for k in SHEETS_BY_KEY if k in set(changes.update) | set(changes.append)
                    | set(changes.replace)]:
            spec = SHEETS_BY_KEY[key]
            if key in changes.replace:
                self._replace(draft, spec, changes.replace[key])
            if key in changes.update and len(changes.update[key]):
                self._update(draft, spec, changes.update[key])
            if key in changes.append and len(changes.append[key]):
                self._append(draft, spec, changes.append[key])
        batch = {"tables": draft.tables, "edits": draft.edits}
        # The store's own view moves on as the host's will (tables created by an earlier commit exist by now).
        view = apply_writes(self._tables, {
            "tables": {k: ({**v, "new": False, "fingerprint": self._tables[k].version()} if k in self._tables else v)
                       for k, v in draft.tables.items()},
            "edits": draft.edits})
        # Keep the host's fingerprints (what the whole batch is based on), not those of our own view.
        self._tables = {k: replace(t, fingerprint=self._read.get(k, "")) for k, t in view.items()}
        self._writes["tables"] = batch["tables"]
        self._writes["edits"].extend(batch["edits"])
        self._loaded = None
        self._committed = True

    # ------------------------------------------------------------------ what the host learns
    def writes(self) -> dict[str, Any]:
        """Everything committed so far, as ``TableWrites`` JSON (empty ``edits`` when nothing was written)."""
        return {"tables": _copy_tables(self._writes["tables"]), "edits": list(self._writes["edits"])}

    def tables(self) -> list[Table]:
        """The tables as the host sent them (before this store's own commits)."""
        return [t for k, t in self._tables.items() if not self._committed or k not in self._writes["tables"]]

    def fingerprints(self) -> dict[str, str]:
        """The fingerprint of each table as read."""
        return dict(self._read)

    def observe(self, fingerprints: Mapping[str, str]) -> None:
        """The host's current fingerprints: a table that differs from what was read makes the store stale."""
        for key, fp in fingerprints.items():
            if self._read.get(key) != fp:
                self._stale.add(key)

    # ------------------------------------------------------------------ internals
    def _stale_tables(self) -> set[str]:
        if self._recheck is not None:
            self.observe(self._recheck())
        return set(self._stale)

    def _raw(self) -> Any:
        from .xlsx_store import RawWorkbook, _locale, raw_from_sheets

        zone = _zone(self._tables)
        cache = self._cache if not self._committed else None
        digits = _money_digits(self._tables) if cache is None else _money_digits(
            self._tables, codes_of=lambda t: cache.raw(("currency codes", t.key, t.version()),
                                                       lambda: _currency_codes(t)))
        order = [k for k in SHEETS_BY_KEY if k in self._tables]
        sheets = []
        for key in order:
            t = self._tables[key]
            title = t.title if t.title and find_sheet(t.title) is SHEETS_BY_KEY[key] else key
            sheets.append((t, title))
        if self._cache is None or self._committed:
            return raw_from_sheets([(title, [t.headers, *_prepared_rows(t, zone, digits)], t.header_row)
                                    for t, title in sheets])
        # One sheet at a time, each kept by its fingerprint: after a change only that sheet is read again, and of a
        # patched one only the rows the patch sent.
        merged = RawWorkbook()
        cache = self._cache
        for t, title in sheets:
            version = _raw_version(t, t.version(), title, zone, digits)
            self._raw_versions[t.key] = version
            read = cache.raw(version, lambda t=t, title=title: _read_sheet(t, title, zone, digits, cache))
            if read.edit is not None:
                self._raw_edits[t.key] = read.edit
            one = read.raw
            merged.tables.update(one.tables)
            merged.titles.update(one.titles)
            if SHEETS_BY_KEY[t.key].key_value:
                merged.settings, merged.settings_rows = dict(one.settings), dict(one.settings_rows)
        merged.locale = _locale(merged)
        return merged

    def _table_entry(self, draft: _Draft, spec: Sheet) -> dict[str, Any]:
        entry = draft.tables.get(spec.key)
        if entry is None:
            t = self._tables.get(spec.key)
            entry = {"title": (t.title if t and t.title else spec.title(self.locale)),
                     "header_row": t.header_row if t else 1,
                     "fingerprint": self._read.get(spec.key, ""), "new": t is None, "columns": {}}
            draft.tables[spec.key] = entry
        return entry

    def _columns(self, draft: _Draft, spec: Sheet, keys: Iterable[str], formats: Mapping[str, str]) -> dict[str, int]:
        """Column key -> index in the host's table, adding the columns it lacks (after its last one)."""
        entry = self._table_entry(draft, spec)
        t = self._tables.get(spec.key)
        have = {k: i for i, k in match_headers(spec, t.headers).items()} if t else {}
        cols = entry["columns"]
        width = max([len(t.headers) if t else 0, *[c["index"] + 1 for c in cols.values()]])
        for key in keys:
            if key not in cols:
                if key in have:
                    cols[key] = {"index": have[key], "header": t.headers[have[key]] if t else "", "new": False}
                else:
                    cols[key] = {"index": width, "header": spec.column(key).header(self.locale), "new": True}
                    width += 1
            cols[key]["format"] = formats.get(key, cols[key].get("format", "@"))
        return {k: cols[k]["index"] for k in keys}

    def _cells(self, spec: Sheet, frame: pd.DataFrame, keys: list[str], currencies: list[str]
               ) -> list[dict[str, Any]]:
        out = []
        columns = {k: frame[k].tolist() for k in keys}
        for i in range(len(frame)):
            out.append({k: json_cell(to_cell(spec.column(k), columns[k][i], currencies[i], self.locale))
                        for k in keys})
        return out

    def _currencies(self, spec: Sheet, frame: pd.DataFrame) -> list[str]:
        led = self._loaded if self._loaded is not None else self.load()
        base = led.settings.base_currency if led is not None else "EUR"
        given = frame["currency"].tolist() if "currency" in frame.columns else [None] * len(frame)
        known: dict[int, str] = {}
        if led is not None and "_row" in frame.columns and spec.key in SHEETS_BY_KEY:
            f = led.frame(spec.key)
            if "currency" in f.columns:
                known = dict(zip(f["_row"].tolist(), f["currency"].tolist(), strict=True))
        rows = frame["_row"].tolist() if "_row" in frame.columns else [None] * len(frame)
        by_customer: dict[str, str] = {}
        if led is not None and "customer_id" in frame.columns:  # e.g. a promised amount in a new Contacts row
            by_customer = dict(zip(led.customers["customer_id"].tolist(), led.customers["currency"].tolist(),
                                   strict=True))
        custs = frame["customer_id"].tolist() if "customer_id" in frame.columns else [None] * len(frame)
        return [str(c) if not is_missing(c) and str(c) else known.get(r) or by_customer.get(str(cu), base)
                for c, r, cu in zip(given, rows, custs, strict=True)]

    def _formats(self, spec: Sheet, keys: list[str], currencies: list[str]) -> dict[str, str]:
        exponent = max((money._EXPONENTS.get(c, 2) for c in currencies), default=2)
        return {k: number_format(spec.column(k).type, self.locale, exponent) for k in keys}

    def _keys(self, spec: Sheet, frame: pd.DataFrame, *, with_currency: bool) -> list[str]:
        return [k for k in spec.keys if k in frame.columns and (with_currency or k != "currency")]

    def _update(self, draft: _Draft, spec: Sheet, frame: pd.DataFrame) -> None:
        t = self._tables.get(spec.key)
        if t is None:
            raise InputError(f"{self._name}: cannot update rows of {spec.key}: the host sent no such table")
        # The currency column of an update frame is the resolved currency that prices its money, not an edit.
        keys = self._keys(spec, frame, with_currency=False)
        currencies = self._currencies(spec, frame)
        row_key = ROW_KEYS.get(spec.key)
        have = {k: i for i, k in match_headers(spec, t.headers).items()}
        guard = [row_key] if row_key in have and row_key not in keys else []  # in the directory for ``match``
        self._columns(draft, spec, keys + guard, self._formats(spec, keys + guard, currencies))
        for row, cells in zip(frame["_row"].astype("int64").tolist(), self._cells(spec, frame, keys, currencies),
                              strict=True):
            index = row - t.header_row - 1
            if not 0 <= index < len(t.rows):
                raise InputError(f"{self._name}: {spec.key} row {row} is not among the rows sent")
            edit: dict[str, Any] = {"table": spec.key, "op": "set", "row": row, "index": index}
            if row_key in have:
                body = t.rows[index]
                current = body[have[row_key]] if have[row_key] < len(body) else None
                if not _blank(current):
                    edit["match"] = {row_key: current}
            edit["cells"] = cells
            draft.edits.append(edit)

    def _append(self, draft: _Draft, spec: Sheet, frame: pd.DataFrame) -> None:
        keys = self._keys(spec, frame, with_currency=True)
        currencies = self._currencies(spec, frame.drop(columns=["_row"], errors="ignore"))
        cols = self._columns(draft, spec, keys, self._formats(spec, keys, currencies))
        t = self._tables.get(spec.key)
        if t is None:
            first = 2
        else:
            owned = set(match_headers(spec, t.headers)) | set(cols.values())
            first = t.row_of(_last_data_index(t, owned) + 1)
        draft.edits.append({"table": spec.key, "op": "append", "row": first,
                            "rows": self._cells(spec, frame, keys, currencies)})

    def _replace(self, draft: _Draft, spec: Sheet, frame: pd.DataFrame) -> None:
        keys = self._keys(spec, frame, with_currency=True)
        currencies = self._currencies(spec, frame.drop(columns=["_row"], errors="ignore"))
        self._columns(draft, spec, keys, self._formats(spec, keys, currencies))
        t = self._tables.get(spec.key)
        clear = 0 if t is None else _last_data_index(t, set(match_headers(spec, t.headers))) + 1
        draft.edits.append({"table": spec.key, "op": "replace", "row": (t.header_row if t else 1) + 1,
                            "clear": clear, "rows": self._cells(spec, frame, keys, currencies)})
