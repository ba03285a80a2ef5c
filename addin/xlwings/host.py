"""Desktop Excel through open-source xlwings: the ledger's Excel tables read into the table protocol
(``sync.table_store``), and the writes it answers applied back through xlwings — the workbook is open, so Excel
(the host) writes it; cobro never touches the file.

Only a small part of xlwings' API is used, so the tests run it against an in-memory stand-in
(``tests/test_xlwings_addin.py``):

- ``book.sheets`` (iterable), ``book.fullname``, ``book.name``, ``book.app.alert(prompt, title=, buttons=)``;
- ``sheet.name``, ``sheet.tables`` (iterable of tables with ``.name`` and ``.range``), ``sheet.range((r, c))`` and
  ``sheet.range((r1, c1), (r2, c2))`` with ``.value`` (read and set) and ``.number_format`` (set);
- ``range.row``, ``range.column``, ``range.shape``, ``range.options(ndim=2).value``; ``table.resize(range)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from cobro.errors import ConflictError
from sync.table_store import Table, serial, table_fingerprint

# The tables each action needs (cell functions read only these, never every sheet's used range).
REPORT_TABLES = ("Settings", "Customers", "Invoices", "Payments")
WORKLIST_TABLES = (*REPORT_TABLES, "Contacts", "Plans", "Levels")
FORECAST_TABLES = (*REPORT_TABLES, "Contacts")  # Contacts: the promises to pay
SEND_TABLES = (*WORKLIST_TABLES, "Templates")


class HostWriteError(ConflictError):
    """The workbook changed between cobro's read and its write (a table sorted, edited or removed): nothing was
    written; run the action again."""


def _cell_in(v: Any) -> Any:
    """A cell as xlwings gives it -> as Office.js would (dates as serial numbers, blanks as "")."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return serial(v)
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def _cell_out(v: Any) -> Any:
    """A value of the writes -> what xlwings puts in a cell (None clears it)."""
    if v is None or v == "":
        return None
    if isinstance(v, Decimal):
        return float(v)
    return v


def find_tables(book: Any, keys: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    """``{key: (sheet, table)}`` for the ledger tables of ``book`` named by ``keys`` (Excel table names are the
    canonical keys). Only the tables' names are looked at here, no cell values."""
    wanted = set(keys)
    out: dict[str, tuple[Any, Any]] = {}
    for sheet in book.sheets:
        for table in sheet.tables:
            if table.name in wanted and table.name not in out:
                out[table.name] = (sheet, table)
    return out


def read_tables(book: Any, keys: Iterable[str]) -> dict[str, Table]:
    """The tables named by ``keys`` as the protocol's ``Table`` (header row, headers, body, cobro's fingerprint)."""
    out: dict[str, Table] = {}
    for key, (sheet, table) in find_tables(book, keys).items():
        rng = table.range
        values = rng.options(ndim=2).value or [[]]
        headers = [_cell_in(v) for v in values[0]]
        rows = [[_cell_in(v) for v in r] for r in values[1:]]
        out[key] = Table(key=key, title=sheet.name, header_row=int(rng.row), headers=headers, rows=rows,
                         fingerprint=table_fingerprint(headers, rows, int(rng.row)))
    return out


def _runs(cells: Mapping[int, Any]) -> list[tuple[int, list[Any]]]:
    """Consecutive sheet rows -> one block each: (first row, values)."""
    out: list[tuple[int, list[Any]]] = []
    for row in sorted(cells):
        if out and out[-1][0] + len(out[-1][1]) == row:
            out[-1][1].append(cells[row])
        else:
            out.append((row, [cells[row]]))
    return out


def apply_writes(book: Any, read: Mapping[str, Table], writes: Mapping[str, Any]) -> dict[str, int]:
    """Apply ``writes`` (TableWrites JSON) to ``book``: re-read the tables they touch and refuse everything
    (``HostWriteError``, nothing written) if one changed since ``read`` or a ``set`` row no longer holds its key;
    then write column by column in blocks of consecutive rows (few calls into Excel). Returns counts."""
    specs: dict[str, Any] = writes.get("tables", {})
    edits: list[dict[str, Any]] = writes.get("edits", [])
    if not edits:
        return {"cells": 0, "rows": 0}
    found = find_tables(book, [k for k, s in specs.items() if not s.get("new")])
    now = read_tables(book, found)
    for key, spec in specs.items():
        if spec.get("new"):
            continue
        if key not in now:
            raise HostWriteError(f"the table {key} is no longer in the workbook; nothing was written")
        if key in read and now[key].fingerprint != read[key].fingerprint:
            raise HostWriteError(f"{now[key].title} changed in the workbook since cobro read it; nothing was "
                                 "written. Run it again.")
    for e in edits:
        if e["op"] == "set" and e.get("match"):
            t = now[e["table"]]
            col, want = next(iter(e["match"].items()))
            idx = specs[e["table"]]["columns"][col]["index"]
            have = t.rows[e["index"]][idx] if e["index"] < len(t.rows) else None
            if str(have) != str(want):
                raise HostWriteError(f"{t.title} row {e['row']}: expected {want} there, found {have or 'nothing'} "
                                     "(the table was sorted or edited); nothing was written. Run it again.")
    sheets: dict[str, Any] = {}
    first_col: dict[str, int] = {}
    width: dict[str, int] = {}
    for key, spec in specs.items():
        cols = sorted(spec["columns"].values(), key=lambda c: c["index"])
        if spec.get("new"):
            sheet = book.sheets.add(spec["title"], after=list(book.sheets)[-1])
            sheet.range((1, 1), (1, len(cols))).value = [[c["header"] for c in cols]]
            sheet.tables.add(source=sheet.range((1, 1), (2, len(cols))), name=key)
            sheets[key], first_col[key], width[key] = sheet, 1, len(cols)
            continue
        sheet, table = found[key]
        sheets[key], first_col[key] = sheet, int(table.range.column)
        width[key] = len(now[key].headers)
        for c in cols:
            if c.get("new"):
                if c["index"] != width[key]:
                    raise HostWriteError(f"{now[key].title}: cobro needs a column {c['header']!r} at position "
                                         f"{c['index'] + 1}; add it and run again")
                hr = now[key].header_row
                sheet.range((hr, first_col[key] + width[key])).value = c["header"]
                width[key] += 1
                _resize(sheet, table, hr, first_col[key], len(now[key].rows), width[key])

    # column -> {sheet row: value}, and the formats to give those cells
    blocks: dict[tuple[str, int], dict[int, Any]] = {}
    formats: dict[tuple[str, int], str] = {}
    last_row: dict[str, int] = {k: t.header_row + len(t.rows) for k, t in now.items()}
    cells = rows = 0
    for e in edits:
        key = e["table"]
        spec = specs[key]
        if e["op"] == "set":
            for k, v in e["cells"].items():
                c = spec["columns"][k]
                blocks.setdefault((key, c["index"]), {})[e["row"]] = _cell_out(v)
                if c.get("format"):
                    formats[(key, c["index"])] = c["format"]
                cells += 1
        else:
            if e["op"] == "replace" and e.get("clear"):
                hr = now[key].header_row if key in now else 1
                for c in spec["columns"].values():
                    col = blocks.setdefault((key, c["index"]), {})
                    for r in range(hr + 1, hr + 1 + int(e["clear"])):
                        col.setdefault(r, None)
            for i, obj in enumerate(e["rows"]):
                for k, v in obj.items():
                    c = spec["columns"][k]
                    blocks.setdefault((key, c["index"]), {})[e["row"] + i] = _cell_out(v)
                    if c.get("format"):
                        formats[(key, c["index"])] = c["format"]
            if e["rows"]:
                last_row[key] = max(last_row.get(key, 1), e["row"] + len(e["rows"]) - 1)
            rows += len(e["rows"])
    for (key, index), col in blocks.items():
        sheet, c = sheets[key], first_col[key] + index
        for start, values in _runs(col):
            rng = sheet.range((start, c), (start + len(values) - 1, c))
            rng.value = [[v] for v in values]
            if (key, index) in formats:
                rng.number_format = formats[(key, index)]
    for key, (sheet, table) in found.items():
        t = now[key]
        if last_row[key] > t.header_row + len(t.rows):
            _resize(sheet, table, t.header_row, first_col[key], last_row[key] - t.header_row, width[key])
    return {"cells": cells, "rows": rows}


def _resize(sheet: Any, table: Any, header_row: int, col: int, body_rows: int, width: int) -> None:
    table.resize(sheet.range((header_row, col), (header_row + max(body_rows, 1), col + width - 1)))


def workbook_path(book: Any) -> Path | None:
    """The workbook's file, when it has one on this machine (not a new unsaved book, not a SharePoint URL)."""
    name = str(getattr(book, "fullname", "") or "")
    if not name or "://" in name:
        return None
    path = Path(name)
    return path if path.is_absolute() else None
