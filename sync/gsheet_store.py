"""A ledger in a Google Sheet (``LedgerStore``), read and written through gspread's real HTTP client.

A Google Sheet is a spreadsheet host like the Office add-in: its sheets are read as the table protocol's tables
(``sync.table_store``), parsed and planned by the same ``TableStore``, whose *writes* this store then applies
through the Sheets API — one piece of code decides where every change goes, for every host.

Calls, whatever the number of rows:

- **read**: one ``values:batchGet`` of every cobro sheet, unformatted (numbers as numbers, dates as serial
  numbers — never ``get_all_records``, which turns ``123,45`` into ``12345``). The sheets are found through named
  ranges ``cobro_<Key>`` (``cobro_Invoices`` …) that the template creates, so no metadata call is needed; a sheet
  made by hand without them costs one metadata call more, and the ranges are added after its first write.
- **write**: one check read — ``values:batchGet`` of cobro's sheets, compared with what was read (a stale read:
  someone edited, sorted or added rows since cobro read them; then nothing is written and ``StaleLedgerError``
  says so; the journal logs the contacts of messages already sent on the next run) — then one
  ``values:batchUpdate`` holding every changed cell and appended row (raw values: text stays text).
- ``batch()``: inside it, ``load()`` reads once and commits that only update cells wait to ride along with the
  next write: one that appends rows (a contact log, written at once so the journal can rely on it) or the end of
  the batch — the daily cycle (refresh, then plan, send and log) costs 2 reads and 1 write.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from cobro.bulk import gc_paused
from cobro.ledger import Ledger, match_headers
from cobro.schema import SHEETS, find_sheet

from .cells import column_letters
from .gsheets import SheetsAccessError, client, spreadsheet_key
from .store import Changes, StaleLedgerError
from .table_store import Table, TableStore, apply_writes, table_fingerprint

NAMED_PREFIX = "cobro_"
UNFORMATTED = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
               "majorDimension": "ROWS"}
HEADER_SCAN_ROWS = 10


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class GoogleSheetStore:
    """A ledger in a Google Sheet named by its key or URL (``LedgerStore``)."""

    def __init__(self, ledger: str, *, gclient: Any = None) -> None:
        key = spreadsheet_key(ledger)
        if key is None:
            raise SheetsAccessError(f"{ledger!r} is not a Google Sheet key or URL")
        self.key = key
        self._client = gclient
        self._tables: dict[str, Table] = {}  # what the sheet holds, as far as this store knows
        self._view: TableStore | None = None
        self._named_ok = False
        self._ledger: Ledger | None = None
        self._batch_depth = 0
        self._pending: list[Changes] = []

    # ------------------------------------------------------------------ protocol
    def describe(self) -> str:
        return f"Google Sheet {self.key}"

    @property
    def locale(self) -> str:
        return self._view.locale if self._view is not None else "es"

    def check_writable(self) -> None:
        """A Google Sheet has no owner lock: concurrent edits are caught by the check read before each write."""

    def load(self) -> Ledger:
        if self._batch_depth and self._ledger is not None:
            return self._ledger
        with gc_paused():
            self._read()
            assert self._view is not None
            self._ledger = self._view.load()
        return self._ledger

    def commit(self, changes: Changes) -> None:
        if changes.is_empty():
            return
        if self._view is None:
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

        try:
            res = self._gc().http_client.values_batch_get(self.key, ranges, params=dict(UNFORMATTED))
        except APIError as e:
            raise _api_error(e, self.describe()) from None
        return list(res.get("valueRanges", []))

    def _read(self) -> None:
        from gspread.exceptions import APIError

        try:
            ranges = self._batch_get([NAMED_PREFIX + s.key for s in SHEETS])
            titles = [_title_of(r.get("range", "")) for r in ranges]
            self._named_ok = True
        except _MissingRanges:
            try:
                meta = self._gc().http_client.fetch_sheet_metadata(self.key)
            except APIError as e:
                raise _api_error(e, self.describe()) from None
            titles = [s["properties"]["title"] for s in meta.get("sheets", [])
                      if find_sheet(s["properties"]["title"]) is not None]
            ranges = self._batch_get([_quote(t) for t in titles])
            self._named_ok = False
        tables: dict[str, Table] = {}
        for title, got in zip(titles, ranges, strict=True):
            spec = find_sheet(title)
            if spec is None or spec.key in tables:
                continue
            tables[spec.key] = _table(spec, title, [list(r) for r in got.get("values", [])])
        self._tables = tables
        self._view = TableStore(tables.values(), name=self.describe())

    # ------------------------------------------------------------------ writing
    def _write(self, batches: list[Changes]) -> None:
        """The table store plans the writes; the check read refuses them if the sheet changed; one call applies."""
        from gspread.exceptions import APIError

        assert self._view is not None
        for changes in batches:
            self._view.commit(changes)
        writes = self._view.writes()
        if not writes["edits"]:
            return
        missing = [k for k in writes["tables"] if writes["tables"][k].get("new")]
        if missing:
            raise SheetsAccessError(f"{self.describe()} has no sheet for {', '.join(missing)}; add it from the "
                                    "template (cobro new --google-sheet) and run again")
        # The ledger is one thing, as a workbook file is: any of its sheets edited since the read refuses the write
        # (a plan made from a customer's old row must not be logged over the new one).
        read = sorted(self._tables)
        current = self._batch_get([_quote(self._tables[k].title) for k in read])
        for key, got in zip(read, current, strict=True):
            was = self._tables[key]
            now = _table(find_sheet(was.title) or SHEETS[0], was.title, [list(r) for r in got.get("values", [])],
                         header_row=was.header_row)
            if now.version() != was.version():
                raise StaleLedgerError(
                    f"{self.describe()}: the sheet {was.title!r} changed since cobro read it (someone edited it "
                    "meanwhile); nothing was written. Run the command again.")
        data = _value_ranges(writes, self._tables)
        try:
            self._gc().http_client.values_batch_update(self.key, {"valueInputOption": "RAW", "data": data})
        except APIError as e:
            raise _api_error(e, self.describe()) from None
        # What the sheet now holds: the next write in this process checks against it.
        after = apply_writes(self._tables, writes)
        self._tables = {k: _table(find_sheet(t.title) or SHEETS[0], t.title, _grid(t), header_row=t.header_row)
                        for k, t in after.items()}
        self._view = TableStore(self._tables.values(), name=self.describe())
        self._view.load()
        self._ledger = None
        if not self._named_ok:
            self._add_named_ranges()

    def _add_named_ranges(self) -> None:
        from gspread.exceptions import APIError

        try:
            meta = self._gc().http_client.fetch_sheet_metadata(self.key)
            ids = {s["properties"]["title"]: s["properties"]["sheetId"] for s in meta.get("sheets", [])}
            have = {n.get("name") for n in meta.get("namedRanges", [])}
            requests = [{"addNamedRange": {"namedRange": {"name": NAMED_PREFIX + k,
                                                          "range": {"sheetId": ids[t.title]}}}}
                        for k, t in self._tables.items() if NAMED_PREFIX + k not in have and t.title in ids]
            if requests:
                self._gc().http_client.batch_update(self.key, {"requests": requests})
            self._named_ok = True
        except APIError:  # the data is written; the ranges only save a call next time
            pass


def _table(spec: Any, title: str, rows: list[list[Any]], header_row: int | None = None) -> Table:
    """A sheet's values as the table protocol's ``Table``: its header row found as the file store finds it."""
    if header_row is None:
        best, width = 0, 0
        for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            n = len(match_headers(spec, row))
            if n > width:
                best, width = i, n
        header_row = best + 1
    headers = rows[header_row - 1] if len(rows) >= header_row else []
    body = rows[header_row:]
    while body and not any(v not in ("", None) for v in body[-1]):
        body.pop()
    return Table(key=spec.key, headers=list(headers), rows=body, header_row=header_row, title=title,
                 fingerprint=table_fingerprint(_trim(headers), [_trim(r) for r in body], header_row))


def _trim(row: list[Any]) -> list[Any]:
    """A row as the API returns it: no trailing blanks; whole numbers as integers (``5.0`` reads back as ``5``)."""
    out = [("" if v is None else (int(v) if isinstance(v, float) and v.is_integer() else v)) for v in row]
    while out and out[-1] == "":
        out.pop()
    return out


def _grid(t: Table) -> list[list[Any]]:
    """A table back as sheet rows from row 1 (rows above the header are not cobro's and stay as they were)."""
    return [[] for _ in range(t.header_row - 1)] + [list(t.headers)] + [list(r) for r in t.rows]


def _value_ranges(writes: dict[str, Any], tables: dict[str, Table]) -> list[dict[str, Any]]:
    """The writes as ``values:batchUpdate`` data: runs of adjacent cells in a row become one range."""
    cells: dict[tuple[str, int, int], Any] = {}
    for key, info in writes["tables"].items():
        for col in info.get("columns", {}).values():
            if col.get("new"):
                cells[(key, info.get("header_row", 1), col["index"])] = col["header"]
    for edit in writes["edits"]:
        key = edit["table"]
        cols = {k: c["index"] for k, c in writes["tables"][key]["columns"].items()}
        header_row = writes["tables"][key].get("header_row", 1)
        if edit["op"] == "set":
            for k, v in edit["cells"].items():
                cells[(key, edit["row"], cols[k])] = v
        else:
            if edit["op"] == "replace":
                for r in range(header_row + 1, header_row + 1 + edit["clear"]):
                    for c in cols.values():
                        cells[(key, r, c)] = None
            for n, row in enumerate(edit["rows"]):
                for k, v in row.items():
                    cells[(key, edit["row"] + n, cols[k])] = v
    out: list[dict[str, Any]] = []
    by_row: dict[tuple[str, int], list[tuple[int, Any]]] = {}
    for (k, r, c), v in sorted(cells.items()):
        by_row.setdefault((k, r), []).append((c, "" if v is None else v))
    for (k, r), items in by_row.items():
        run: list[Any] = []
        start = prev = -2
        for c, v in items:
            if c != prev + 1 and run:
                out.append({"range": f"{_quote(tables[k].title)}!{column_letters(start + 1)}{r}", "values": [run]})
                run = []
            if not run:
                start = c
            run.append(v)
            prev = c
        if run:
            out.append({"range": f"{_quote(tables[k].title)}!{column_letters(start + 1)}{r}", "values": [run]})
    return out


class _MissingRanges(Exception):
    pass


def _api_error(e: Any, where: str) -> Exception:
    status = getattr(getattr(e, "response", None), "status_code", 0)
    try:
        message = e.response.json()["error"]["message"]
    except (AttributeError, KeyError, TypeError, ValueError, json.JSONDecodeError):
        message = str(e)
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
