"""The .xlsx file store: fast reads with calamine, writes that change only what cobro changes.

Reading never goes cell by cell through openpyxl: python-calamine returns every sheet as
rows of Python values, and ``cobro.ledger.parse_ledger`` types them column by column. Before calamine sees the
bytes, the package is checked (``sync.xlsx_package``): parts whose declared size or compression ratio is out of
bounds, or that declare a DOCTYPE, are refused with a clear ``WorkbookError``.

Writing is the sacred part. ``commit``:
1. refuses when the file changed since ``load`` (size, mtime and SHA-256 compared), when it is open in Excel or
   LibreOffice, when it is not a regular file, or when it has other hard links (cobro could only replace one of
   the names, silently detaching the others); a symlinked ledger is written through to its target;
2. rewrites the package in place (``sync.xlsx_edit``): only the worksheets cobro edits and their table definitions
   are rewritten — cells set by header, rows appended after the table's last data row with the template row's
   formats and calculated-column formulas, the table and its validation/format ranges grown; every other part
   (charts, images, pivot tables, comments, add-in state, the VBA project) is copied byte for byte;
3. writes it with ``sync.fileio.atomic_write`` (temporary file in the same folder, fsync, permissions/owner/group of
   the old file kept), and in the last step before the swap checks the fingerprint again and copies the original
   to the backup folder.

``commit_with_openpyxl`` keeps the former whole-workbook path (load and save with openpyxl) as the reference the
in-place writer is tested against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from cobro.bulk import gc_paused
from cobro.ledger import Ledger, parse_ledger
from cobro.schema import SHEETS_BY_KEY, Sheet, find_sheet, normalize_header

from .cells import is_missing, to_cell
from .fileio import atomic_write, real_path, refuse_if_open, remove_stale_temps
from .store import Changes, StaleLedgerError
from .xlsx_package import Package, WorkbookError
from .xlsx_raw import (  # noqa: F401 - re-exported: the raw reading lives there, shared with sync.xlsx_subset
    HEADER_SCAN_ROWS,
    RawWorkbook,
    _blank_cell,
    _find_header,
    _locale,
    _settings_from_rows,
    _table_from_rows,
    raw_from_rows,
)

BACKUPS_KEPT = 10


__all__ = ["HardLinkedLedgerError", "RawWorkbook", "WorkbookError", "XlsxStore", "commit_with_openpyxl",
           "raw_from_rows", "raw_from_sheets", "read_raw", "store_for"]


class HardLinkedLedgerError(WorkbookError):
    """The workbook file has other names (hard links): replacing one name would detach it from the others."""


# The order parse_ledger consumes sheets in: each depends only on those before it.
READ_ORDER = ("Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels", "Templates",
              "Matches", "Statement")


class _LazyTables(Mapping[str, pd.DataFrame]):
    """Raw tables that a reader thread is still producing; asking for one waits for it.

    python-calamine does its parsing in Rust, mostly without the GIL, so while it reads the
    invoices the main thread can already validate the customers: loading costs little more
    than the bare read.
    """

    def __init__(self, futures: dict[str, Future[tuple[list[list[object]], int]]]):
        self._futures = futures
        self._done: dict[str, pd.DataFrame] = {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._done:
            if key not in self._futures:
                raise KeyError(key)
            rows, first_row = self._futures[key].result()
            self._done[key] = _table_from_rows(SHEETS_BY_KEY[key], rows, first_row)
        return self._done[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)


def read_raw(data: bytes, name: str = "workbook") -> RawWorkbook:
    """Parse workbook bytes into raw tables. Raises ``WorkbookError`` on unreadable files.

    Sheets are read by a background thread in ``READ_ORDER``; the tables fill in as they arrive.
    """
    pkg = Package(data, name)  # refuses non-zips, hostile sizes and DOCTYPEs before calamine parses anything
    pkg.check_sizes()
    pkg.check_prologs()
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:  # calamine raises several error types for non-workbooks
        raise WorkbookError(f"{name} is not a readable .xlsx workbook ({e})") from None
    raw = RawWorkbook()
    for title in wb.sheet_names:
        spec = find_sheet(title)
        if spec is not None and spec.key not in raw.titles:
            raw.titles[spec.key] = title

    def head_of(rows: list[list[object]], start: tuple[int, int]) -> list[list[object]]:
        """The sheet's first rows as the sheet has them (row 1, column A first)."""
        head: list[list[object]] = [[] for _ in range(min(start[0], HEADER_SCAN_ROWS))]
        for row in rows[:max(HEADER_SCAN_ROWS - start[0], 0)]:
            head.append([None] * start[1] + [None if v == "" else v for v in row])
        return head

    def read(title: str) -> tuple[list[list[object]], int]:
        sheet = wb.get_sheet_by_name(title)
        start = sheet.start or (0, 0)
        rows = sheet.to_python()
        raw.heads[title] = head_of(rows, start)
        return rows, start[0] + 1

    if "Dashboard" in raw.titles:  # only its first rows: whose sheet it is (sync.cycle.holds_dashboard)
        sheet = wb.get_sheet_by_name(raw.titles["Dashboard"])
        start = sheet.start or (0, 0)
        raw.heads[raw.titles["Dashboard"]] = head_of(sheet.to_python(nrows=HEADER_SCAN_ROWS), start)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobro-read")
    futures = {key: pool.submit(read, raw.titles[key]) for key in READ_ORDER if key in raw.titles}
    pool.shutdown(wait=False)
    if "Settings" in futures:
        rows, first_row = futures.pop("Settings").result()
        raw.settings, raw.settings_rows = _settings_from_rows(rows, first_row)
    raw.tables = _LazyTables(futures)  # type: ignore[assignment]
    raw.locale = _locale(raw)
    return raw


def raw_from_sheets(sheets: Iterable[tuple[str, list[list[object]], int]]) -> RawWorkbook:
    """Raw tables from ``(sheet title, rows of cell values, 1-based row of the first row)``.

    Every host (xlsx file, Google Sheet, live Excel book, JSON payload) reads through this.
    Sheets whose title is not a cobro sheet are ignored; the first sheet of each kind wins.
    """
    raw = RawWorkbook()
    for title, rows, first_row in sheets:
        spec = find_sheet(title)
        if spec is None or spec.key in raw.titles:
            continue
        raw.titles[spec.key] = title
        if spec.key_value:
            raw.settings, raw.settings_rows = _settings_from_rows(rows, first_row)
        else:
            raw.tables[spec.key] = _table_from_rows(spec, rows, first_row)
    raw.locale = _locale(raw)
    return raw


def _fingerprint(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def _shallow_copy(ledger: Ledger) -> Ledger:
    """The ledger with its frames copied lazily (pandas copy-on-write): a caller's edits never reach the cache."""
    import dataclasses

    frames = {f.name: getattr(ledger, f.name).copy(deep=False) for f in dataclasses.fields(ledger)
              if isinstance(getattr(ledger, f.name), pd.DataFrame)}
    return dataclasses.replace(ledger, **frames)


def _regular_file(path: Path, shown: Path) -> os.stat_result:
    """The file's status, refusing what is not a regular file (a FIFO would hang the read, a device never end)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise WorkbookError(f"{shown}: no such file (create one with `cobro new {shown}`)",
                            source=str(shown)) from None
    except OSError as e:
        raise WorkbookError(f"{shown}: cannot be read ({e.strerror or e})", source=str(shown)) from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise WorkbookError(f"{shown} is {kind}, not a workbook file; give the path of an .xlsx file",
                            source=str(shown))
    return st


class XlsxStore:
    """A ledger in an .xlsx/.xlsm file on disk (``LedgerStore``)."""

    def __init__(self, path: str | os.PathLike[str], backup_dir: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        self._backup_dir = Path(backup_dir) if backup_dir else None
        self._fingerprint: tuple[int, int, str] | None = None
        self._raw_fingerprint: tuple[int, int, str] | None = None
        self.raw: RawWorkbook | None = None
        self._parsed: tuple[tuple[int, int, str], RawWorkbook, Ledger] | None = None
        # worksheet parts a partial load inflated whole, for the next commit (same fingerprint only)
        self._inflated: tuple[tuple[int, int, str] | None, dict[str, bytes]] | None = None
        self._prefetched: dict[str, Future[bytes | None]] | None = None

    @property
    def target(self) -> Path:
        """The file written: symlinks resolved, so a linked ledger is written through to its target."""
        return real_path(self.path)

    @property
    def backup_dir(self) -> Path:
        return self._backup_dir or self.target.parent / ".cobro-backups"

    def describe(self) -> str:
        return str(self.path)

    @property
    def locale(self) -> str:
        """The language of the workbook's sheets (``LedgerStore.locale``)."""
        return (self.raw if self.raw is not None else self.load_raw()).locale

    def check_writable(self) -> None:
        """Refuse now what a write would refuse: the workbook open in Excel/LibreOffice (beside the name given
        or its target), not a regular file, or a file with other hard links."""
        target = self.target
        refuse_if_open(self.path)
        if target != self.path.absolute():
            refuse_if_open(target)
        st = _regular_file(target, self.path)
        if st.st_nlink > 1:
            raise HardLinkedLedgerError(
                f"{self.path} has {st.st_nlink} names (hard links); cobro writes a ledger by replacing its file, "
                "which would leave the other names holding the old copy. Keep one name (delete the other hard "
                "links) or make the others symbolic links (ln -s), then run the command again.",
                source=str(self.path))

    # ------------------------------------------------------------------ reading
    def read_bytes(self) -> bytes:
        target = self.target
        _regular_file(target, self.path)
        data = target.read_bytes()
        st = target.stat()
        self._fingerprint = (st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
        return data

    def load_raw(self) -> RawWorkbook:
        self.raw = read_raw(self.read_bytes(), self.path.name)
        self._raw_fingerprint = self._fingerprint
        return self.raw

    def load(self) -> Ledger:
        """Read and validate the ledger. When the file is byte for byte the one this store parsed last (size,
        mtime and SHA-256 compared, as before a write), the typed ledger is not parsed again: a run that reads
        the ledger again after sending (to log into the latest version) pays for the check, not for the parse."""
        with gc_paused():  # millions of fresh cell objects, none cyclic: collections would only rescan them
            data = self.read_bytes()
            cached = self._parsed
            if cached is not None and cached[0] == self._fingerprint:
                self.raw, self._raw_fingerprint = cached[1], self._fingerprint
                return _shallow_copy(cached[2])
            raw = read_raw(data, self.path.name)
            self.raw, self._raw_fingerprint = raw, self._fingerprint
            ledger = parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=raw.locale)
            if self._fingerprint is not None:
                self._parsed = (self._fingerprint, raw, ledger)
            return _shallow_copy(ledger)

    def prefetch(self) -> None:
        """Start reading the file and inflating the large parts ``load_concerning`` reads whole (the shared
        strings, the Contacts sheet) on a thread: zlib and hashing let go of the interpreter, so a command can
        import its modules meanwhile. The read counts as the load's (its fingerprint is the one a commit checks)."""
        from .xlsx_subset import large_part

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobro-prefetch")
        data = pool.submit(self.read_bytes)
        self._prefetched = {"data": data, **{kind: pool.submit(lambda k=kind: large_part(  # type: ignore[misc]
            data.result(), self.path.name, k)) for kind in ("strings", "contacts")}}
        pool.shutdown(wait=False)  # the thread ends with its work

    def load_concerning(self, customer_id: str, invoice_ids: Iterable[str] = ()) -> Ledger:
        """The ledger as far as one contact with ``customer_id`` about ``invoice_ids`` concerns it (``cobro log``):
        Settings, Customers and Levels whole, the customer's invoices and the listed ones, and the contacts that
        bear on their derived columns (``sync.xlsx_subset``), validated as ``load`` validates them. A commit after
        it writes like one after ``load``. Falls back to ``load`` for a workbook the partial reader does not
        handle."""
        from .xlsx_subset import read_concerning

        with gc_paused():
            prefetched, self._prefetched = self._prefetched, None
            data = prefetched.pop("data").result() if prefetched is not None else self.read_bytes()
            got = read_concerning(data, self.path.name, customer_id, tuple(invoice_ids), prefetched)
            if got is None:
                return self.load()
            self.raw, self._raw_fingerprint = got.raw, self._fingerprint  # type: ignore[assignment]
            self._inflated = (self._fingerprint, got.inflated)
            return got.ledger

    # ------------------------------------------------------------------ writing
    def commit(self, changes: Changes) -> None:
        """Apply ``changes`` in place (only the edited sheets and tables change), atomically, with a backup."""
        if changes.is_empty():
            return
        if self._fingerprint is None:
            raise StaleLedgerError(f"{self.path}: load() the ledger before writing to it")
        self.check_writable()
        target = self.target
        remove_stale_temps(target)
        data = target.read_bytes()
        st = target.stat()
        if (st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()) != self._fingerprint:
            raise StaleLedgerError(
                f"{self.path} changed since cobro read it (someone saved it meanwhile); nothing was written. "
                "Run the command again.")
        from .xlsx_edit import write_changes

        inflated = self._inflated[1] if self._inflated and self._inflated[0] == self._fingerprint else None
        self._inflated = None
        pkg = Package(data, self.path.name, inflated)
        pkg.check_sizes()
        locale = self.raw.locale if self.raw else "es"
        known = self._known_values() if self._raw_fingerprint == self._fingerprint else None

        def before_replace() -> None:
            if _fingerprint(target) != self._fingerprint:  # last check, just before the swap
                raise StaleLedgerError(f"{self.path} changed while cobro was writing; nothing was written.")
            self._backup(target, data)

        heads = self._heads() if known is not None else None
        currency_of = self._currency_of()
        atomic_write(target, lambda fh: write_changes(pkg, changes, locale, fh, known, heads,  # type: ignore
                                                      currency_of), before_replace=before_replace)
        self.read_bytes()  # new fingerprint: the next commit in this run compares against our own write

    def _heads(self) -> dict[str, list[list[object]]] | None:
        """The first rows of the sheets read at load (waiting for a reader thread still at work)."""
        raw = self.raw
        if raw is None:
            return None
        for future in getattr(raw.tables, "_futures", {}).values():
            future.result()  # the reader thread records each sheet's first rows as it reads it
        return dict(raw.heads)

    def _currency_of(self) -> object:
        """Customer id -> currency as the ledger reads it (the customer's, else the base currency): money in a row
        without a currency column (a Contacts promise) is in its customer's currency, never silently in EUR."""
        raw = self.raw
        base = "EUR"
        if raw is not None:
            base = str(raw.settings.get("base_currency") or "").strip().upper() or "EUR"
        by_customer: dict[str, str] = {}
        if raw is not None and "Customers" in raw.titles:
            try:
                cust = raw.tables["Customers"]
            except KeyError:
                cust = None
            if cust is not None and "customer_id" in cust.columns:
                currencies = cust["currency"].tolist() if "currency" in cust.columns else [None] * len(cust)
                for cid, cur in zip(cust["customer_id"].tolist(), currencies, strict=True):
                    key = str(cid).strip() if not is_missing(cid) else ""
                    if key and key not in by_customer:
                        by_customer[key] = (str(cur).strip().upper() if not is_missing(cur) else "") or base

        def currency_of(customer: object) -> str:
            return by_customer.get(str(customer).strip(), base) if customer is not None else base

        return currency_of

    def _known_values(self) -> object:
        """``known(sheet, row, key)``: the value calamine read for a cell, so updates that change nothing are
        skipped (a contact logged updates the level of one customer's invoices, not 100,000 rows)."""
        from .xlsx_edit import UNKNOWN

        raw = self.raw
        index: dict[str, tuple[dict[int, int], pd.DataFrame] | None] = {}

        def known(key: str, row: int, column: str) -> object:
            if key not in index:
                frame = raw.tables.get(key) if raw is not None else None
                index[key] = None if frame is None or "_row" not in frame.columns else (
                    {int(r): i for i, r in enumerate(frame["_row"].to_numpy())}, frame)
            got = index[key]
            if got is None or column not in got[1].columns:
                return UNKNOWN
            pos = got[0].get(row)
            return UNKNOWN if pos is None else got[1][column].iat[pos]

        return known

    def _backup(self, target: Path, data: bytes) -> None:
        """Keep ``data`` (the workbook as it is before this write) in the backup folder, atomically: a process
        killed while it copies leaves the older backups, never a truncated newest one."""
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        atomic_write(self.backup_dir / f"{target.stem}.{stamp}{target.suffix}", data,
                     mode=stat.S_IMODE(target.stat().st_mode))
        olds = sorted(self.backup_dir.glob(f"{target.stem}.*{target.suffix}"))
        for old in olds[:-BACKUPS_KEPT]:
            old.unlink(missing_ok=True)


def commit_with_openpyxl(path: str | os.PathLike[str], changes: Changes, locale: str = "es",
                         out: str | os.PathLike[str] | None = None) -> None:
    """The former whole-workbook write (openpyxl loads and saves everything; drops what it does not model), kept
    as the reference the in-place writer is checked against. Saves to ``out`` (default: over ``path``)."""
    import openpyxl

    p = Path(path)
    wb = openpyxl.load_workbook(p, keep_vba=p.suffix.lower() == ".xlsm")
    for key in dict.fromkeys([*changes.update, *changes.append, *changes.replace]):
        spec = SHEETS_BY_KEY[key]
        ws = _worksheet_for(wb, spec, locale)
        writer = _SheetWriter(ws, spec, locale)
        if key in changes.replace:
            writer.replace(changes.replace[key])
        if key in changes.update and len(changes.update[key]):
            writer.update(changes.update[key])
        if key in changes.append and len(changes.append[key]):
            writer.append(changes.append[key])
    wb.save(out or p)


def _worksheet_for(wb: object, spec: Sheet, locale: str) -> object:
    for ws in wb.worksheets:  # type: ignore[attr-defined]
        if find_sheet(ws.title) is spec:
            return ws
    ws = wb.create_sheet(spec.title(locale))  # type: ignore[attr-defined]
    ws.append([c.header(locale) for c in spec.columns])
    return ws


class _SheetWriter:
    """Cell-level edits of one data sheet, addressed by canonical key and sheet row."""

    def __init__(self, ws: object, spec: Sheet, locale: str):
        self.ws = ws
        self.spec = spec
        self.locale = locale
        rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS)]  # type: ignore
        hdr, mapping = _find_header(rows, spec)
        if hdr < 0:
            hdr, mapping = 0, {}
        self.header_row = hdr + 1
        self.col_of = {key: idx + 1 for idx, key in mapping.items()}
        self.table = None
        for t in ws.tables.values():  # type: ignore[attr-defined]
            self.table = t
            if normalize_header(t.name) == normalize_header(spec.key):
                break
        missing = [c for c in spec.columns if c.key not in self.col_of]
        if missing:
            last = max(self._last_col(), max(self.col_of.values(), default=0))
            for c in missing:
                last += 1
                ws.cell(row=self.header_row, column=last, value=c.header(locale))  # type: ignore[attr-defined]
                self.col_of[c.key] = last
            self._grow_table(last_col=last)

    def _last_col(self) -> int:
        return self.ws.max_column  # type: ignore[attr-defined]

    def _last_data_row(self) -> int:
        ws = self.ws
        if self.table is not None:
            from openpyxl.utils.cell import range_boundaries

            _, _, _, max_row = range_boundaries(self.table.ref)
            last = max_row
        else:
            last = ws.max_row  # type: ignore[attr-defined]
        cols = list(self.col_of.values())
        while last > self.header_row and all(
                ws.cell(row=last, column=c).value in (None, "") for c in cols):  # type: ignore[attr-defined]
            last -= 1
        return last

    def _grow_table(self, last_row: int | None = None, last_col: int | None = None) -> None:
        if self.table is None:
            return
        from openpyxl.utils import get_column_letter
        from openpyxl.utils.cell import range_boundaries

        min_col, min_row, max_col, max_row = range_boundaries(self.table.ref)
        max_row = max(max_row, last_row or 0, min_row + 1)
        max_col = max(max_col, last_col or 0)
        self.table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
        if self.table.autoFilter is not None:
            self.table.autoFilter.ref = self.table.ref
        if last_col:
            from openpyxl.worksheet.table import TableColumn

            names = [tc.name for tc in self.table.tableColumns]
            for ci in range(min_col + len(names), max_col + 1):
                header = self.ws.cell(row=min_row, column=ci).value  # type: ignore[attr-defined]
                self.table.tableColumns.append(TableColumn(id=ci - min_col + 1, name=str(header)))

    def _currency(self, frame: pd.DataFrame, i: int) -> str:
        if "currency" in frame.columns and not is_missing(frame["currency"].iat[i]):
            return str(frame["currency"].iat[i])
        return "EUR"

    def _set(self, row: int, key: str, value: object) -> None:
        col = self.col_of[key]
        cell = self.ws.cell(row=row, column=col)  # type: ignore[attr-defined]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # outside text is text, never a formula

    def update(self, frame: pd.DataFrame) -> None:
        keys = [k for k in frame.columns if k in self.col_of and k != "_row"]
        for i in range(len(frame)):
            row = int(frame["_row"].iat[i])
            cur = self._currency(frame, i)
            for key in keys:
                value = to_cell(self.spec.column(key), frame[key].iat[i], cur, self.locale)
                self._set(row, key, value)

    def append(self, frame: pd.DataFrame) -> None:
        from copy import copy

        from openpyxl.formula.translate import Translator

        ws = self.ws
        start = self._last_data_row() + 1
        # The row whose formats and calculated-column formulas new rows copy: the last data row, or the blank
        # row an empty Excel table keeps (the first new row lands on it, the others copy it).
        template_row = start - 1 if start - 1 > self.header_row else None
        if template_row is None and self.table is not None:
            template_row = self.header_row + 1
        keys = [k for k in frame.columns if k in self.col_of]
        max_col = max(self._last_col(), max(self.col_of.values()))
        for i in range(len(frame)):
            row = start + i
            cur = self._currency(frame, i)
            if template_row is not None and row != template_row:
                for c in range(1, max_col + 1):
                    src = ws.cell(row=template_row, column=c)  # type: ignore[attr-defined]
                    dst = ws.cell(row=row, column=c)  # type: ignore[attr-defined]
                    if src.has_style:
                        dst._style = copy(src._style)
                    if isinstance(src.value, str) and src.value.startswith("=") and c not in self.col_of.values():
                        dst.value = Translator(src.value, origin=src.coordinate).translate_formula(dst.coordinate)
            for key in keys:
                value = to_cell(self.spec.column(key), frame[key].iat[i], cur, self.locale)
                self._set(row, key, value)
        self._grow_table(last_row=start + len(frame) - 1)

    def replace(self, frame: pd.DataFrame) -> None:
        last = self._last_data_row()
        for row in range(self.header_row + 1, last + 1):
            for col in self.col_of.values():
                self.ws.cell(row=row, column=col).value = None  # type: ignore[attr-defined]
        if len(frame):
            # Reuse the cleared rows, then grow.
            keys = [k for k in frame.columns if k in self.col_of]
            for i in range(len(frame)):
                cur = self._currency(frame, i)
                for key in keys:
                    self._set(self.header_row + 1 + i, key,
                              to_cell(self.spec.column(key), frame[key].iat[i], cur, self.locale))
            self._grow_table(last_row=self.header_row + len(frame))


def store_for(path: str | os.PathLike[str]) -> XlsxStore:
    """The store for a ledger path (only .xlsx/.xlsm files for now)."""
    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        raise WorkbookError(f"{p}: cobro ledgers are .xlsx workbooks (got {p.suffix or 'no extension'})")
    return XlsxStore(p)
