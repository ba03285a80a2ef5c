"""``Changes`` applied to a workbook package in place: only the edited sheets and their tables are rewritten.

``write_changes(pkg, changes, locale, out)`` plans each edited sheet exactly as the openpyxl path
(``sync.xlsx_store.commit_with_openpyxl``) edits it — header found among the first rows, cells set by canonical
column, appended rows after the table's last data row taking the template row's formats and calculated-column
formulas, the table growing — and streams the new package to ``out`` (``sync.xlsx_package.rewrite_package``). Sheets
cobro does not edit are never decompressed, let alone parsed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import pandas as pd

from cobro.ledger import match_headers
from cobro.schema import SHEETS_BY_KEY, Sheet, find_sheet, normalize_header

from .cells import is_missing, to_cell
from .store import Changes
from .xlsx_package import Package, PartSource, WorkbookError, rewrite_package
from .xlsx_sheet import (
    NS_REL,
    REL_WORKSHEET,
    CellWriter,
    EditPlan,
    SharedStrings,
    SheetPart,
    SheetScan,
    TablePart,
    WorkbookParts,
    col_letter,
    plan_template,
    range_bounds,
    range_ref,
    rels_part,
    stream_sheet,
    table_xml,
    xml_text,
)

HEADER_SCAN_ROWS = 15

# The current value of a cell as last read, for skipping writes that would change nothing: (sheet key, row, key).
KnownValue = Callable[[str, int, str], object]
UNKNOWN = object()  # what ``KnownValue`` returns for a cell it cannot vouch for


def same_value(old: object, new: object) -> bool:
    """Whether a cell that reads ``old`` (as calamine read it) already holds what writing ``new`` would store."""
    if old is UNKNOWN:
        return False
    if new is None:
        return old is None or old == "" or is_missing(old)
    if isinstance(new, str):
        return isinstance(old, str) and old == new
    if isinstance(new, bool) or isinstance(old, bool):
        return False
    if isinstance(new, (int, float, Decimal)):
        return isinstance(old, (int, float)) and float(old) == float(new)
    if isinstance(new, dt.datetime):
        return isinstance(old, dt.datetime) and old.replace(microsecond=0) == new
    if isinstance(new, dt.date):
        if isinstance(old, dt.datetime):
            return old.time() == dt.time(0) and old.date() == new
        return isinstance(old, dt.date) and old == new
    return False


# The currency of money in a row without a currency column: the customer's (by customer id), else the ledger's base.
CurrencyOf = Callable[[object], str]


def _currencies(frame: pd.DataFrame, currency_of: CurrencyOf | None = None) -> list[str]:
    """Each row's currency: its currency cell, else its customer's (``currency_of``), else EUR (computed once per
    frame: a million appended rows are not a million pandas lookups)."""
    n = len(frame)
    cells = frame["currency"].to_numpy(dtype=object) if "currency" in frame.columns else [None] * n
    customers = frame["customer_id"].to_numpy(dtype=object) if "customer_id" in frame.columns else [None] * n
    out: list[str] = []
    for cur, customer in zip(cells, customers, strict=True):
        if not is_missing(cur):
            out.append(str(cur))
        elif currency_of is not None:
            out.append(currency_of(None if is_missing(customer) else customer))
        else:
            out.append("EUR")
    return out


def _column_cells(column: Any, series: pd.Series, currencies: list[str], locale: str) -> list[object]:
    """One column's cells as ``to_cell`` makes them; dates and timestamps converted for the whole column at once
    (a million imported invoices: no Timestamp built per cell)."""
    if column.type in ("date", "datetime") and series.dtype == "datetime64[ns]":
        if column.type == "date":
            values = series.dt.normalize().dt.date.to_numpy(dtype=object)
        else:
            values = series.dt.floor("s").dt.to_pydatetime()
        return [None if v is pd.NaT else v for v in values]
    return [to_cell(column, v, cur, locale)
            for v, cur in zip(series.to_numpy(dtype=object), currencies, strict=True)]


def _cells(spec: Sheet, frame: pd.DataFrame, keys: list[str], locale: str,
           currency_of: CurrencyOf | None = None) -> Iterator[tuple[int, dict[str, object]]]:
    """Each row of ``frame`` (its position, then its cells by key) as the sheet stores them (``to_cell``)."""
    currencies = _currencies(frame, currency_of)
    columns = {k: _column_cells(spec.column(k), frame[k], currencies, locale) for k in keys}
    for i in range(len(frame)):
        yield i, {k: columns[k][i] for k in keys}


class _SheetEdit:
    """One sheet's edits, planned as ``_SheetWriter`` in the openpyxl path performs them."""

    def __init__(self, parts: WorkbookParts, sheet: SheetPart, spec: Sheet, locale: str,
                 head: list[list[object]] | None = None, currency_of: CurrencyOf | None = None):
        self.parts, self.sheet, self.spec, self.locale = parts, sheet, spec, locale
        self.currency_of = currency_of
        pkg = parts.pkg
        self.scan = SheetScan(pkg.read(sheet.part), pkg.name, sheet.part)
        self.sst: SharedStrings = parts.shared_strings
        self.plan = EditPlan()
        if head is None:
            head = self._head_rows()
        best, mapping = -1, {}
        for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
            found = match_headers(spec, row)
            if len(found) > len(mapping):
                best, mapping = i, found
        if best < 0:
            best, mapping = 0, {}
        self.header_row = best + 1
        self.col_of = {key: idx + 1 for idx, key in mapping.items()}
        self.head = head
        parts.load_tables(sheet)
        self.table: TablePart | None = None
        for t in sheet.tables:
            self.table = t
            if normalize_header(t.name) == normalize_header(spec.key) or \
                    normalize_header(t.display_name) == normalize_header(spec.key):
                break
        self.table_ref = self.table.ref if self.table else None
        self.new_columns: list[str] = []
        missing = [c for c in spec.columns if c.key not in self.col_of]
        if missing:
            last = max(self._max_col(), max(self.col_of.values(), default=0))
            for c in missing:
                last += 1
                self._set(self.header_row, last, c.header(locale))
                self.col_of[c.key] = last
            self._grow_table(last_col=last)
        self.plan.data_cols = set(self.col_of.values())
        self._last: int | None = None

    def _head_rows(self) -> list[list[object]]:
        """The first rows' values read from the sheet XML (when the load's are not current)."""
        head: list[list[object]] = []
        for r, m in self.scan.rows():
            if r > HEADER_SCAN_ROWS:
                break
            while len(head) < r - 1:
                head.append([])
            values: list[object] = []
            for col, a, cm in self.scan.cells(r, m.group(2)):
                while len(values) < col - 1:
                    values.append(None)
                values.append(self.scan.value(a, cm, self.sst))
            head.append(values)
        return head

    # ------------------------------------------------------------------ facts about the sheet
    def _max_col(self) -> int:
        top = 0
        for r, m in self.scan.rows():
            for col, _a, _cm in self.scan.cells(r, m.group(2)):
                top = max(top, col)
        return top

    def _max_row(self) -> int:
        last = next(self._rows_backwards(), None)
        return last[0] if last is not None else 1

    def _rows_backwards(self) -> Iterator[tuple[int, re.Match[bytes]]]:
        return self.scan.rows_backwards()

    def last_data_row(self) -> int:
        """As ``_SheetWriter._last_data_row``: the table's last row (or the sheet's), walked back over rows whose
        cobro columns are all blank; the edits planned so far count."""
        bound = range_bounds(self.table_ref)[3] if self.table_ref else self._max_row()
        cols = set(self.col_of.values())
        for r in sorted((r for r in self.plan.sets if self.header_row < r <= bound), reverse=True):
            if any(v is not None for c, v in self.plan.sets[r].items() if c in cols):
                top_set = r
                break
        else:
            top_set = self.header_row
        for r, m in self._rows_backwards():
            if r > bound:
                continue
            if r <= max(top_set, self.header_row):
                break
            sets = self.plan.sets.get(r, {})
            for col, a, cm in self.scan.cells(r, m.group(2)):
                if col in cols and col not in sets and not self.scan.is_blank(a, cm, self.sst):
                    return r
        return max(top_set, self.header_row)

    # ------------------------------------------------------------------ edits
    def _set(self, row: int, col: int, value: object) -> None:
        self.plan.sets.setdefault(row, {})[col] = value

    def _grow_table(self, last_row: int | None = None, last_col: int | None = None) -> None:
        if self.table_ref is None:
            return
        c1, r1, c2, r2 = range_bounds(self.table_ref)
        r2 = max(r2, last_row or 0, r1 + 1)
        c2b = max(c2, last_col or 0)
        if last_col:
            have = len(re.findall(rb"<(?:\w+:)?tableColumn\b", self.table.xml)) if self.table else 0
            for ci in range(c1 + have + len(self.new_columns), c2b + 1):
                header = self.plan.sets.get(r1, {}).get(ci)
                if header is None and r1 - 1 < len(self.head):
                    row = self.head[r1 - 1]
                    header = row[ci - 1] if ci - 1 < len(row) else None
                self.new_columns.append(str(header))
        self.table_ref = range_ref(c1, r1, c2b, r2)

    def update(self, frame: pd.DataFrame, known: KnownValue | None) -> None:
        keys = [k for k in frame.columns if k in self.col_of and k != "_row"]
        rows = frame["_row"].to_numpy()
        for i, cells in _cells(self.spec, frame, keys, self.locale, self.currency_of):
            row = int(rows[i])
            for key, value in cells.items():
                if known is not None and same_value(known(self.spec.key, row, key), value):
                    continue
                self._set(row, self.col_of[key], value)

    def append(self, frame: pd.DataFrame) -> None:
        start = self.last_data_row() + 1
        template = start - 1 if start - 1 > self.header_row else None
        if template is None and self.table_ref is not None:
            template = self.header_row + 1
        keys = [k for k in frame.columns if k in self.col_of]
        end = start + len(frame) - 1
        sets = self.plan.sets
        for i, cells in _cells(self.spec, frame, keys, self.locale, self.currency_of):
            row = sets.setdefault(start + i, {})
            for key, value in cells.items():
                row[self.col_of[key]] = value
        self.plan.new_rows = (start, end)
        self.plan.template_row = template
        self.plan.grow_from_row = template if template is not None else start - 1
        if self.table_ref:
            c1, _r1, c2, _r2 = range_bounds(self.table_ref)
            self.plan.grow_cols = (c1, c2)
        plan_template(self.scan, self.plan, self.sst)
        self.plan.copy_cols = max(self.plan.template_cells, default=0)
        self._grow_table(last_row=end)

    def replace(self, frame: pd.DataFrame) -> None:
        last = self.last_data_row()
        for row in range(self.header_row + 1, last + 1):
            for col in self.col_of.values():
                self._set(row, col, None)
        if len(frame):
            keys = [k for k in frame.columns if k in self.col_of]
            for i, cells in _cells(self.spec, frame, keys, self.locale, self.currency_of):
                for key, value in cells.items():
                    self._set(self.header_row + 1 + i, self.col_of[key], value)
            self._grow_table(last_row=self.header_row + len(frame))

    # ------------------------------------------------------------------ output
    def sources(self) -> dict[str, PartSource]:
        plan = self.plan
        if not plan.sets and plan.new_rows is None and (self.table is None or (
                self.table_ref == self.table.ref and not self.new_columns)):
            return {}
        rows = list(plan.sets)
        plan.max_row = max([*rows, plan.new_rows[1] if plan.new_rows else 0, 0])
        plan.max_col = max((c for cells in plan.sets.values() for c in cells), default=0)
        writer = CellWriter(self.parts)
        out: dict[str, PartSource] = {
            self.sheet.part: lambda: stream_sheet(self.scan, plan, writer, self.sst)}
        if self.table is not None and (self.table_ref != self.table.ref or self.new_columns):
            xml = table_xml(self.table, self.table_ref or self.table.ref, self.new_columns)
            out[self.table.part] = lambda: iter([xml])
        return out


def _changes_nothing(spec: Sheet, frame: pd.DataFrame, known: KnownValue | None, head: list[list[object]] | None,
                     locale: str, currency_of: CurrencyOf | None) -> bool:
    """Whether updating ``spec``'s sheet with ``frame`` would leave it as it is: the header (found among the first
    rows read, as ``_SheetEdit`` finds it) has every column, so none is added, and every cell already holds what
    ``_SheetEdit.update`` would write. False whenever that cannot be told without the sheet."""
    if known is None or head is None:
        return False
    mapping: dict[int, str] = {}
    for row in head[:HEADER_SCAN_ROWS]:
        found = match_headers(spec, row)
        if len(found) > len(mapping):
            mapping = found
    present = set(mapping.values())
    if any(c.key not in present for c in spec.columns):
        return False
    keys = [k for k in frame.columns if k in present and k != "_row"]
    rows = frame["_row"].to_numpy()
    for i, cells in _cells(spec, frame, keys, locale, currency_of):
        row = int(rows[i])
        for key, value in cells.items():
            if not same_value(known(spec.key, row, key), value):
                return False
    return True


def _new_sheet_parts(parts: WorkbookParts, spec: Sheet, locale: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """A cobro sheet the workbook lacks: its header row in a new worksheet part, and the bookkeeping that names it
    (workbook.xml, its relationships, [Content_Types].xml). Returns (changed parts, added parts)."""
    pkg = parts.pkg
    title = spec.title(locale)
    clash = [t for t in parts.all_titles if find_sheet(t) is spec or t.casefold() == title.casefold()]
    if clash:
        raise WorkbookError(f"{pkg.name}: the sheet {clash[0]!r} is not a worksheet cobro can write to (a chart "
                            f"sheet or a macro sheet?); rename it so cobro can add its {title!r} sheet",
                            source=pkg.name)
    n = 1
    while f"xl/worksheets/sheet{n}.xml" in pkg:
        n += 1
    part = f"xl/worksheets/sheet{n}.xml"
    cells = "".join(f'<c r="{col_letter(i + 1)}1" t="inlineStr"><is><t>{xml_text(c.header(locale))}</t></is></c>'
                    for i, c in enumerate(spec.columns))
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                 f'xmlns:r="{NS_REL}"><dimension ref="A1:{col_letter(len(spec.columns))}1"/>'
                 f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>').encode()
    wb_part = parts.workbook_part
    rels_name = rels_part(wb_part)
    rels = pkg.read(rels_name) if rels_name in pkg else (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>')
    ids = {int(x) for x in re.findall(rb'Id="rId(\d+)"', rels)}
    rid = f"rId{max(ids, default=0) + 1}"
    folder = wb_part.rsplit("/", 1)[0] + "/" if "/" in wb_part else ""
    target = part[len(folder):] if part.startswith(folder) else "/" + part
    rel = f'<Relationship Id="{rid}" Type="{REL_WORKSHEET}" Target="{target}"/>'.encode()
    rels = rels.replace(b"</Relationships>", rel + b"</Relationships>")
    wb = parts.workbook_xml
    sheet_ids = [int(x) for x in re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\bsheetId="(\d+)"', wb)]
    m = re.search(rb"</(\w+:)?sheets>", wb)
    if m is None:
        raise WorkbookError(f"{pkg.name}: the workbook part lists no sheets", source=pkg.name)
    p = m.group(1) or b""
    # the relationships namespace is declared on the new element itself: valid whatever the others declare
    entry = (f'<{p.decode()}sheet name="{xml_text(title)}" sheetId="{max(sheet_ids, default=0) + 1}"'
             f' xmlns:r="{NS_REL}" r:id="{rid}"/>').encode()
    wb = wb[:m.start()] + entry + wb[m.start():]
    ct = pkg.read("[Content_Types].xml")
    over = (f'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/>').encode()
    ct = ct.replace(b"</Types>", over + b"</Types>")
    changed = {wb_part: wb, "[Content_Types].xml": ct}
    added = {part: sheet_xml}
    if rels_name in pkg:
        changed[rels_name] = rels
    else:
        added[rels_name] = rels
    return changed, added


def write_changes(pkg: Package, changes: Changes, locale: str, out: BinaryIO,
                  known: KnownValue | None = None, heads: dict[str, list[list[object]]] | None = None,
                  currency_of: CurrencyOf | None = None) -> None:
    """Stream ``pkg`` with ``changes`` applied to ``out``. ``known(sheet key, row, column key)``: the value a cell
    held when the ledger was read (or ``UNKNOWN``), so updates that change nothing are not written; ``heads``: per
    sheet title, its first rows as read (so headers need no shared-string lookups). Both only for the very bytes
    in ``pkg``. ``currency_of(customer id or None)``: the currency of money in rows without a currency column
    (without it, EUR as the openpyxl path assumed). A sheet whose edits change nothing is not rewritten."""
    parts = WorkbookParts(pkg)
    keys = list(dict.fromkeys([*changes.replace, *changes.update, *changes.append]))
    missing = [SHEETS_BY_KEY[k] for k in keys if not any(find_sheet(s.title) is SHEETS_BY_KEY[k]
                                                         for s in parts.sheets)]
    if missing:
        # A cobro sheet the workbook lacks is added first (bookkeeping parts change), then edited like the others.
        import io

        buf = io.BytesIO()
        changed: dict[str, bytes] = {}
        added: dict[str, bytes] = {}
        for spec in missing:
            ch, ad = _new_sheet_parts(parts, spec, locale)
            changed.update(ch)
            added.update(ad)
            rewrite_package(pkg, buf, {k: (lambda v=v: iter([v])) for k, v in changed.items()},
                            [(k, (lambda v=v: iter([v]))) for k, v in added.items()])
            pkg = Package(buf.getvalue(), pkg.name)
            parts = WorkbookParts(pkg)
            buf = io.BytesIO()
            changed, added = {}, {}
    sources: dict[str, PartSource] = {}
    edits: list[_SheetEdit] = []
    for key in keys:
        spec = SHEETS_BY_KEY[key]
        sheet = next(s for s in parts.sheets if find_sheet(s.title) is spec)
        if key not in changes.replace and key not in changes.append and not missing and _changes_nothing(
                spec, changes.update[key], known, (heads or {}).get(sheet.title), locale, currency_of):
            continue  # not even inflated: a contact logged re-derives invoices whose cells already hold it
        edit = _SheetEdit(parts, sheet, spec, locale, (heads or {}).get(sheet.title) if not missing else None,
                          currency_of)
        if key in changes.replace:
            edit.replace(changes.replace[key])
        if key in changes.update and len(changes.update[key]):
            edit.update(changes.update[key], known if key not in changes.replace else None)
        if key in changes.append and len(changes.append[key]):
            edit.append(changes.append[key])
        sources.update(edit.sources())
        edits.append(edit)
    if any(isinstance(v, dt.date) for src in edits for cells in src.plan.sets.values() for v in cells.values()):
        styles = parts.date_styles
        styles.add_date_formats()
        if styles.new_xml is not None and styles.part in pkg:
            new_styles = styles.new_xml
            sources[styles.part] = lambda: iter([new_styles])
    full_calc = parts.workbook_with_full_calc()
    if full_calc is not None and sources:
        sources[parts.workbook_part] = lambda: iter([full_calc])
    rewrite_package(pkg, out, sources)
