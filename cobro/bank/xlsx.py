"""Bank statements exported as spreadsheets (.xlsx, .xls, .ods), as many Spanish banks offer them.

The bytes are opened in memory with python-calamine (no file, no workbook of the user's); the sheet
with the most movements is read as a table, exactly like pasted rows (``table.read_rows``), so
headers, preambles, footers, debit/credit columns and running balances are handled the same way.
"""

from __future__ import annotations

import io

from ._common import located
from .base import Statement, StatementError
from .table import is_data_row, read_rows

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"


class SpreadsheetImporter:
    """Excel and OpenDocument spreadsheets (``.xlsx``, ``.xls``, ``.ods``)."""

    name = "xlsx"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:2048]
        if head.startswith(_ZIP):
            return b"xl/" in data[:65536] or b"opendocument.spreadsheet" in head or b"[Content_Types]" in head
        return head.startswith(_OLE)

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        with located(filename):
            return self._parse(data, filename, default_currency)

    def _parse(self, data: bytes, filename: str, default_currency: str) -> Statement:
        try:
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheets = []
            for name in book.sheet_names:
                sheet = book.get_sheet_by_name(name)
                rows = sheet.to_python(skip_empty_area=False)
                sheets.append((name, rows))
        except StatementError:
            raise
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as e:  # calamine's own errors, and a Rust panic (a BaseException) on damaged files
            raise StatementError(f"the spreadsheet cannot be opened ({type(e).__name__}: {e}); if it is not a "
                                 "spreadsheet, export the statement as Norma 43 or CSV") from None
        if not sheets:
            raise StatementError("the spreadsheet has no sheets")
        best_name, best_rows, best_score = sheets[0][0], sheets[0][1], -1
        for name, rows in sheets:
            score = sum(1 for r in rows if is_data_row(r))
            if score > best_score:
                best_name, best_rows, best_score = name, rows, score
        try:
            st = read_rows([list(r) for r in best_rows], list(range(1, len(best_rows) + 1)), fmt_name="xlsx",
                           default_currency=default_currency, unit="row")
        except StatementError as e:
            where = f"{filename}, sheet {best_name!r}" if filename else f"sheet {best_name!r}"
            raise StatementError(e.reason, e.line, where, e.unit) from None
        if len(sheets) > 1:
            st.warnings.insert(0, f"the movements were read from sheet {best_name!r}")
        return st
