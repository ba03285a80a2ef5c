"""Bank statements exported as spreadsheets (.xlsx, .xls, .ods), as many Spanish banks offer them.

The core never opens a spreadsheet: the host turns the file's bytes into rows (``sync.bank_files``, with
python-calamine) and hands them here as ``(sheet name, rows)`` pairs. The sheet with the most movements
is read as a table, exactly like pasted rows (``table.read_rows``), so headers, preambles, footers,
debit/credit columns and running balances are handled the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._common import MAX_PASTED_ROWS, located
from .base import Statement, StatementError
from .table import is_data_row, read_rows

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"

SheetRows = list[tuple[str, list[list[object]]]]
"""A spreadsheet as the host reads it: ``(sheet name, rows of cell values)`` per sheet, in order."""

SpreadsheetOpener = Callable[[bytes], SheetRows]
"""What a host passes to ``read_statement`` to open spreadsheet bytes (raises ``StatementError``)."""


def is_spreadsheet(data: bytes) -> bool:
    """True for the bytes of an .xlsx/.ods (ZIP) or an old .xls (OLE) file."""
    head = data[:2048]
    if head.startswith(_ZIP):
        return b"xl/" in data[:65536] or b"opendocument.spreadsheet" in head or b"[Content_Types]" in head
    return head.startswith(_OLE)


def read_sheets(sheets: Sequence[tuple[str, Sequence[Sequence[object]]]], filename: str = "",
                default_currency: str = "EUR") -> Statement:
    """Read the movements of a spreadsheet export from its sheets' rows (the host opened the file).

    The sheet with the most rows that look like movements wins; messages name the file, the sheet
    and the sheet row.
    """
    with located(filename):
        if not sheets:
            raise StatementError("the spreadsheet has no sheets")
        best_name, best_rows, best_score = sheets[0][0], sheets[0][1], -1
        for name, rows in sheets:
            score = sum(1 for r in rows if is_data_row(list(r)))
            if score > best_score:
                best_name, best_rows, best_score = name, rows, score
        if len(best_rows) > MAX_PASTED_ROWS:
            raise StatementError(f"sheet {best_name!r} has {len(best_rows)} rows; cobro reads up to "
                                 f"{MAX_PASTED_ROWS} statement rows at a time: export a shorter period")
        try:
            st = read_rows([list(r) for r in best_rows], list(range(1, len(best_rows) + 1)), fmt_name="xlsx",
                           default_currency=default_currency, unit="row")
        except StatementError as e:
            where = f"{filename}, sheet {best_name!r}" if filename else f"sheet {best_name!r}"
            raise StatementError(e.reason, e.line, where, e.unit) from None
        if len(sheets) > 1:
            st.warnings.insert(0, f"the movements were read from sheet {best_name!r}")
        return st


class SpreadsheetImporter:
    """Excel and OpenDocument spreadsheets (``.xlsx``, ``.xls``, ``.ods``), opened by the host."""

    name = "xlsx"

    def __init__(self, opener: SpreadsheetOpener | None = None):
        self.opener = opener

    def identify(self, data: bytes, filename: str = "") -> bool:
        return is_spreadsheet(data)

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        if self.opener is None:
            raise StatementError("this is a spreadsheet (.xlsx, .xls, .ods); this program reads statements as "
                                 "text only: export the statement as Norma 43, CSV, OFX, MT940 or CAMT.053, or "
                                 "paste its rows into the Statement sheet", None, filename)
        with located(filename):
            sheets = self.opener(data)
        return read_sheets(sheets, filename, default_currency)
