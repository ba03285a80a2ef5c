"""Bank statement files, the host side: file bytes in, ``cobro.bank.Statement`` out.

The core (``cobro.bank``) reads every text format from bytes but never opens a spreadsheet: this module
opens .xlsx/.xls/.ods exports with python-calamine, in memory, and gives the core their rows. Before it
lets calamine near the bytes it bounds the work: the file size (``MAX_STATEMENT_BYTES``), the uncompressed
size and compression ratio of every ZIP member, and the cell range each .xlsx sheet claims (calamine makes
a dense grid of it: a 5 KB file naming cell ZZ200000 asks for gigabytes).

Hosts call ``read_statement(data, filename)`` (same signature as ``cobro.bank.read_statement``) or
``read_statement_file(path)``, which also refuses a folder, a FIFO or a device before reading it.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path

from cobro import bank
from cobro.bank import MAX_STATEMENT_BYTES, SheetRows, Statement, StatementError
from cobro.bank._common import MAX_PASTED_ROWS
from sync.cells import column_letters

MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
"""The most a spreadsheet may hold once unzipped (all members together)."""
MAX_RATIO = 200
"""The highest compression ratio accepted for a member larger than 1 MB (real sheets stay well below 100)."""
MAX_CELLS = 5_000_000
"""The largest cell range (rows x columns) a sheet may claim."""

_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="(?:[A-Z]+[0-9]+:)?([A-Z]{1,3})([0-9]{1,7})"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _check_zip(data: bytes) -> None:
    """Refuse a ZIP bomb and an .xlsx sheet whose cell range would not fit in memory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:  # NotImplemented: a
        # damaged central directory asking for a ZIP version or method Python does not have
        raise StatementError(f"the spreadsheet cannot be opened ({type(e).__name__}: {e}); if it is not a "
                             "spreadsheet, export the statement as Norma 43 or CSV") from None
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > 1048576 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise StatementError(f"the spreadsheet's part {m.filename!r} unpacks to {m.file_size // 1048576} MB "
                                 f"from {m.compress_size} bytes; cobro refuses such files: export the statement "
                                 "again, or as CSV")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise StatementError(f"the spreadsheet unpacks to {total // 1048576} MB; cobro reads spreadsheets of up to "
                             f"{MAX_UNCOMPRESSED_BYTES // 1048576} MB unpacked: export a shorter period")
    for m in members:
        if not (m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")):
            continue
        try:
            xml = archive.read(m)
        except Exception as e:  # damaged member: let the reader name it
            raise StatementError(f"the spreadsheet cannot be opened ({type(e).__name__}: {e}); if it is not a "
                                 "spreadsheet, export the statement as Norma 43 or CSV") from None
        rows = cols = 0
        for cm in _CELL_REF.finditer(xml):  # linear: one pass, no backtracking across tags
            cols = max(cols, _column_number(cm[1]))
            rows = max(rows, int(cm[2]))
        if rows * cols > MAX_CELLS:
            raise StatementError(f"a sheet of the spreadsheet reaches cell {column_letters(cols)}{rows} "
                                 f"({rows} rows x {cols} columns); cobro reads sheets of up to {MAX_CELLS} cells: "
                                 "delete the far-away cells, or export the statement as CSV")


def open_spreadsheet(data: bytes) -> SheetRows:
    """The rows of every sheet of an .xlsx/.xls/.ods file, read in memory with bounded work."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise bank.size_error(len(data))
    if data.startswith(b"PK"):
        _check_zip(data)
    try:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets: SheetRows = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            if sheet.height * sheet.width > MAX_CELLS or sheet.height > MAX_PASTED_ROWS:
                raise StatementError(f"sheet {name!r} has {sheet.height} rows x {sheet.width} columns; cobro reads "
                                     f"sheets of up to {MAX_CELLS} cells and {MAX_PASTED_ROWS} rows: export a "
                                     "shorter period")
            sheets.append((name, [list(r) for r in sheet.to_python(skip_empty_area=False)]))
    except StatementError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:  # calamine's own errors, and a Rust panic (a BaseException) on damaged files
        raise StatementError(f"the spreadsheet cannot be opened ({type(e).__name__}: {e}); if it is not a "
                             "spreadsheet, export the statement as Norma 43 or CSV") from None
    return sheets


def read_statement(data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
    """Read a statement file of any format cobro knows, spreadsheets included (see ``cobro.bank``)."""
    return bank.read_statement(data, filename, default_currency, open_spreadsheet=open_spreadsheet)


def read_statement_bytes(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """``(file name, bytes)`` of a statement file: refuses a folder, FIFO or device, and an oversized file,
    before reading (a FIFO would block, a device never end)."""
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as e:
        raise StatementError(f"the statement file cannot be read: {e.strerror or e}", None, p.name) from None
    if not stat.S_ISREG(info.st_mode):
        raise StatementError("this is not a regular file (a folder, pipe or device): give the statement file "
                             "the bank exported", None, p.name)
    if info.st_size > MAX_STATEMENT_BYTES:
        raise bank.size_error(info.st_size, p.name)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_STATEMENT_BYTES + 1)
    except OSError as e:
        raise StatementError(f"the statement file cannot be read: {e.strerror or e}", None, p.name) from None
    if len(data) > MAX_STATEMENT_BYTES:
        raise bank.size_error(len(data), p.name)
    return p.name, data


def read_statement_file(path: str | os.PathLike[str], default_currency: str = "EUR") -> Statement:
    """Read the statement file at ``path`` (any format), with the checks of ``read_statement_bytes``."""
    name, data = read_statement_bytes(path)
    return read_statement(data, name, default_currency)
