"""A ledger in a Google Sheet (``LedgerStore``), read and written through gspread's real HTTP client.

Calls, whatever the number of rows:

- **read**: one ``values:batchGet`` of every cobro sheet, unformatted (numbers as numbers, dates as serial
  numbers — never ``get_all_records``, which turns ``123,45`` into ``12345``). The sheets are found through named
  ranges ``cobro_<Key>`` (``cobro_Invoices`` …) that the template creates, so no metadata call is needed; a sheet
  made by hand without them costs one metadata call more, and the ranges are added at its first write.
- **write**: one check read — ``values:batchGet`` of the rows about to be overwritten and of the rows just below
  each table (a stale read: someone edited, sorted or added rows since cobro read them; then nothing is written and
  ``StaleLedgerError`` says so) — then one ``values:batchUpdate`` holding every changed cell and appended row (raw
  values: text stays text). A first write to a sheet without named ranges adds one ``batchUpdate`` for them.
- ``batch()``: inside it, ``load()`` reads once and commits that only update cells wait to ride along with the
  next write: one that appends rows (a contact log, written at once so the journal can rely on it) or the end of
  the batch — the daily cycle (refresh, then plan, send and log) costs 2 reads and 1 write.

Values written: money as numbers in major units (exact decimal text in the JSON), dates as serial numbers (the
template formats whole columns, so appended rows take the column's format and validation), enums by their
localized label, outside text neutralized against formulas like every store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from cobro.bulk import gc_paused
from cobro.ledger import Ledger, match_headers, parse_ledger
from cobro.schema import SHEETS, SHEETS_BY_KEY, Sheet, find_sheet

from .cells import to_cell
from .gsheets import SheetsAccessError, client, spreadsheet_key
from .store import Changes, StaleLedgerError
from .xlsx_store import RawWorkbook, raw_from_sheets

NAMED_PREFIX = "cobro_"
_EPOCH = dt.date(1899, 12, 30)
UNFORMATTED = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
               "majorDimension": "ROWS"}


def host_value(value: object) -> Any:
    """A typed cell value (``sync.cells.to_cell``) as the Sheets API takes it raw."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() or abs(value) < Decimal(10) ** 15 else str(value)
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    if isinstance(value, dt.date):
        return (value - _EPOCH).days
    if isinstance(value, bool):
        return value
    return value


def _a1_col(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


@dataclass
class _SheetState:
    """What was read of one cobro sheet: enough to address its cells and to see whether it changed."""

    key: str
    title: str
    rows: list[list[Any]]  # as read, row 1 first
    header_row: int = 0  # 1-based; 0 when no header was found
    columns: dict[str, int] = field(default_factory=dict)  # canonical key -> 0-based column
    last_row: int = 0  # 1-based last non-blank row of the sheet

    def cell(self, row: int, col: int) -> Any:
        r = self.rows[row - 1] if 0 < row <= len(self.rows) else []
        return r[col] if col < len(r) else ""


class GoogleSheetStore:
    """A ledger in a Google Sheet named by its key or URL (``LedgerStore``)."""

    def __init__(self, ledger: str, *, gclient: Any = None) -> None:
        key = spreadsheet_key(ledger)
        if key is None:
            raise SheetsAccessError(f"{ledger!r} is not a Google Sheet key or URL")
        self.key = key
        self._client = gclient
        self._states: dict[str, _SheetState] = {}
        self._named_ok = False
        self._raw: RawWorkbook | None = None
        self._ledger: Ledger | None = None
        self._batch_depth = 0
        self._pending: list[Changes] = []
        self.calls = 0

    # ------------------------------------------------------------------ protocol
    def describe(self) -> str:
        return f"Google Sheet {self.key}"

    @property
    def locale(self) -> str:
        return self._raw.locale if self._raw is not None else "es"

    def check_writable(self) -> None:
        """A Google Sheet has no owner lock: concurrent edits are caught by the check before each write."""

    def load(self) -> Ledger:
        if self._batch_depth and self._ledger is not None:
            return self._ledger
        with gc_paused():
            self._read()
            assert self._raw is not None
            raw = self._raw
            self._ledger = parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=raw.locale)
        return self._ledger

    def commit(self, changes: Changes) -> None:
        if changes.is_empty():
            return
        if not self._states:
            raise StaleLedgerError(f"{self.describe()}: load() the ledger before writing to it")
        if self._batch_depth and not any(len(f) for f in changes.append.values()):
            self._pending.append(changes)  # derived columns: they ride along with the next write
            return
        batches, self._pending = [*self._pending, changes], []
        self._write(batches)  # rows appended (a contact log) are written now, before the caller moves on

    @contextlib.contextmanager
    def batch(self) -> Iterator[GoogleSheetStore]:
        """Read once and write once for everything done inside (see the module docstring)."""
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                pending, self._pending = self._pending, []
                self._ledger = None
                if pending:
                    self._write(pending)

    # ------------------------------------------------------------------ reading
    def _gc(self) -> Any:
        if self._client is None:
            self._client = client()
        return self._client

    def _batch_get(self, ranges: list[str]) -> list[dict[str, Any]]:
        from gspread.exceptions import APIError

        self.calls += 1
        try:
            res = self._gc().http_client.values_batch_get(self.key, ranges, params=dict(UNFORMATTED))
        except APIError as e:
            raise _api_error(e, self.describe()) from None
        return list(res.get("valueRanges", []))

    def _read(self) -> None:
        from gspread.exceptions import APIError

        names = [NAMED_PREFIX + s.key for s in SHEETS]
        try:
            ranges = self._batch_get(names)
            titles = [_title_of(r.get("range", "")) for r in ranges]
            self._named_ok = True
        except _MissingRanges:
            self.calls += 1
            try:
                meta = self._gc().http_client.fetch_sheet_metadata(self.key)
            except APIError as e:
                raise _api_error(e, self.describe()) from None
            titles = [s["properties"]["title"] for s in meta.get("sheets", [])
                      if find_sheet(s["properties"]["title"]) is not None]
            ranges = self._batch_get([_quote(t) for t in titles])
            self._named_ok = False
        sheets = [(t, [list(row) for row in r.get("values", [])], 1) for t, r in zip(titles, ranges, strict=True)]
        self._raw = raw_from_sheets(sheets)
        self._states = {}
        for title, rows, _ in sheets:
            spec = find_sheet(title)
            if spec is None or spec.key in self._states:
                continue
            self._states[spec.key] = _state(spec, title, rows)

    # ------------------------------------------------------------------ writing
    def _write(self, batches: list[Changes]) -> None:
        """Every cell the changes set (in order: a later change of a cell wins), checked, then one write."""
        from gspread.exceptions import APIError

        locale = self.locale
        cells: dict[tuple[str, int, int], Any] = {}  # (sheet key, 1-based row, 0-based col) -> value
        next_free: dict[str, int] = {}  # per table: the first row an append may use
        for changes in batches:
            for key, frame in changes.replace.items():
                st = self._state_for(key)
                next_free[key] = self._replace(st, frame, locale, cells)
            for key, frame in changes.update.items():
                if len(frame):
                    self._updates(self._state_for(key), frame, locale, cells)
            for key, frame in changes.append.items():
                if len(frame):
                    st = self._state_for(key)
                    start = next_free.get(key, max(st.last_row, st.header_row) + 1)
                    next_free[key] = self._appends(st, frame, locale, cells, start)
        if not cells:
            return
        # The check read: the cells about to be overwritten, and the rows just below each table that grows.
        check: list[tuple[str, int, int, int]] = []  # (key, first row, last row, last col)
        touched: dict[str, list[int]] = {}
        for (key, row, _col) in cells:
            touched.setdefault(key, []).append(row)
        for key, rows in touched.items():
            st = self._states[key]
            lo = min(min(rows), st.header_row or 1)
            hi = max(max(rows), st.last_row + 1)
            width = max([len(r) for r in st.rows] + [max((c for (k, _, c) in cells if k == key), default=0) + 1])
            check.append((key, lo, hi, width))
        ranges = [f"{_quote(self._states[k].title)}!A{lo}:{_a1_col(w - 1)}{hi}" for k, lo, hi, w in check]
        current = self._batch_get(ranges)
        for (key, lo, hi, width), got in zip(check, current, strict=True):
            st = self._states[key]
            now = [list(r) for r in got.get("values", [])]
            for i in range(hi - lo + 1):
                row = lo + i
                was = [st.cell(row, c) for c in range(width)]
                is_ = [(now[i][c] if i < len(now) and c < len(now[i]) else "") for c in range(width)]
                if _norm(was) != _norm(is_):
                    raise StaleLedgerError(
                        f"{self.describe()}: sheet {st.title!r}, row {row} changed since cobro read it (someone "
                        "edited the sheet meanwhile); nothing was written. Run the command again.")
        data = [{"range": f"{_quote(self._states[k].title)}!{_a1_col(c)}{r}", "values": [[v]]}
                for (k, r, c), v in sorted(cells.items())]
        data = _merge_runs(data, cells, self._states)
        body = {"valueInputOption": "RAW", "data": data}
        self.calls += 1
        try:
            self._gc().http_client.values_batch_update(self.key, body)
        except APIError as e:
            raise _api_error(e, self.describe()) from None
        if not self._named_ok:
            self._add_named_ranges()
        # What we now know the sheet holds: the next write in this process checks against it.
        for (key, row, col), value in cells.items():
            st = self._states[key]
            while len(st.rows) < row:
                st.rows.append([])
            r = st.rows[row - 1]
            if len(r) <= col:
                r.extend([""] * (col + 1 - len(r)))
            r[col] = value
            st.last_row = max(st.last_row, row) if value != "" else st.last_row
        self._ledger = None

    def _state_for(self, key: str) -> _SheetState:
        st = self._states.get(key)
        if st is None or not st.header_row:
            spec = SHEETS_BY_KEY[key]
            raise SheetsAccessError(f"{self.describe()} has no {spec.title(self.locale)!r} sheet with its header row; "
                                    "cobro cannot write there")
        return st

    def _updates(self, st: _SheetState, frame: pd.DataFrame, locale: str, cells: dict[tuple[str, int, int], Any]
                 ) -> None:
        spec = SHEETS_BY_KEY[st.key]
        cols = [c for c in frame.columns if c in st.columns and c != "_row"]
        currencies = _currencies(frame)
        for i, row in enumerate(frame["_row"].tolist()):
            for c in cols:
                value = to_cell(spec.column(c), frame[c].iloc[i], currencies[i], locale)
                cells[(st.key, int(row), st.columns[c])] = host_value(value)

    def _appends(self, st: _SheetState, frame: pd.DataFrame, locale: str, cells: dict[tuple[str, int, int], Any],
                 start: int) -> int:
        """Rows of ``frame`` from sheet row ``start`` on; returns the next free row."""
        spec = SHEETS_BY_KEY[st.key]
        currencies = _currencies(frame)
        for i in range(len(frame)):
            for c, col in st.columns.items():
                if c in frame.columns:
                    value = to_cell(spec.column(c), frame[c].iloc[i], currencies[i], locale)
                    cells[(st.key, start + i, col)] = host_value(value)
        return start + len(frame)

    def _replace(self, st: _SheetState, frame: pd.DataFrame, locale: str, cells: dict[tuple[str, int, int], Any]
                 ) -> int:
        """The table's content becomes ``frame``; returns the next free row."""
        spec = SHEETS_BY_KEY[st.key]
        first = st.header_row + 1
        for row in range(first, st.last_row + 1):  # blank the old content (the user's extra columns stay)
            for col in st.columns.values():
                if st.cell(row, col) != "":
                    cells[(st.key, row, col)] = ""
        currencies = _currencies(frame)
        for i in range(len(frame)):
            for c, col in st.columns.items():
                if c in frame.columns:
                    value = to_cell(spec.column(c), frame[c].iloc[i], currencies[i], locale)
                    cells[(st.key, first + i, col)] = host_value(value)
        return first + len(frame)

    def _add_named_ranges(self) -> None:
        from gspread.exceptions import APIError

        self.calls += 1
        try:
            meta = self._gc().http_client.fetch_sheet_metadata(self.key)
            ids = {s["properties"]["title"]: s["properties"]["sheetId"] for s in meta.get("sheets", [])}
            have = {n.get("name") for n in meta.get("namedRanges", [])}
            requests = [{"addNamedRange": {"namedRange": {"name": NAMED_PREFIX + k,
                                                          "range": {"sheetId": ids[st.title]}}}}
                        for k, st in self._states.items() if NAMED_PREFIX + k not in have and st.title in ids]
            if requests:
                self.calls += 1
                self._gc().http_client.batch_update(self.key, {"requests": requests})
            self._named_ok = True
        except APIError:  # the data is written; the ranges only save a call next time
            pass


class _MissingRanges(Exception):
    pass


def _api_error(e: Any, where: str) -> Exception:
    status = getattr(getattr(e, "response", None), "status_code", 0)
    try:
        message = e.response.json()["error"]["message"]
    except (AttributeError, KeyError, TypeError, ValueError, json.JSONDecodeError):
        message = str(e)
    if status == 400 and "Unable to parse range" in message and NAMED_PREFIX in message:
        return _MissingRanges(message)
    if status == 400 and "Unable to parse range" in message:
        return _MissingRanges(message)
    if status in (401, 403):
        return SheetsAccessError(f"{where}: Google refused access ({status}): share the sheet with the service "
                                 "account's e-mail, or check the credentials")
    if status == 404:
        return SheetsAccessError(f"{where}: no such spreadsheet (check the key or URL)")
    return SheetsAccessError(f"{where}: the Sheets API answered {status}: {message}")


def _title_of(a1: str) -> str:
    title = a1.rpartition("!")[0] if "!" in a1 else a1
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    return title


def _state(spec: Sheet, title: str, rows: list[list[Any]]) -> _SheetState:
    st = _SheetState(spec.key, title, rows)
    last = 0
    for i, r in enumerate(rows, start=1):
        if any(v not in ("", None) for v in r):
            last = i
    st.last_row = last
    best, best_map = -1, {}
    for i, row in enumerate(rows[:10]):
        mapping = match_headers(spec, row)
        if len(mapping) > len(best_map):
            best, best_map = i, mapping
    if best >= 0:
        st.header_row = best + 1
        st.columns = {key: col for col, key in best_map.items()}
    return st


def _currencies(frame: pd.DataFrame) -> list[str]:
    if "currency" in frame.columns:
        return [str(c) if c else "EUR" for c in frame["currency"].tolist()]
    return ["EUR"] * len(frame)


def _norm(values: list[Any]) -> str:
    out = []
    for v in values:
        if v is None:
            v = ""
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(v)
    while out and out[-1] == "":
        out.pop()
    return hashlib.sha256(json.dumps(out, default=str).encode()).hexdigest()


def _merge_runs(data: list[dict[str, Any]], cells: dict[tuple[str, int, int], Any],
                states: dict[str, _SheetState]) -> list[dict[str, Any]]:
    """Cells of one row that sit side by side become one range (smaller requests, same single call)."""
    out: list[dict[str, Any]] = []
    by_row: dict[tuple[str, int], list[tuple[int, Any]]] = {}
    for (k, r, c), v in sorted(cells.items()):
        by_row.setdefault((k, r), []).append((c, v))
    for (k, r), items in by_row.items():
        run: list[Any] = []
        start = prev = -2
        for c, v in items:
            if c != prev + 1 and run:
                out.append({"range": f"{_quote(states[k].title)}!{_a1_col(start)}{r}", "values": [run]})
                run = []
            if not run:
                start = c
            run.append(v)
            prev = c
        if run:
            out.append({"range": f"{_quote(states[k].title)}!{_a1_col(start)}{r}", "values": [run]})
    return out
