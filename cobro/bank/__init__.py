"""Bank statements: one importer interface, one small importer per format (pure: bytes in).

``read_statement(data, filename)`` detects the format (content first, the file extension as a hint)
and returns a ``Statement`` of normalized ``StatementLine``s; ``read_pasted(rows)`` does the same for
the rows pasted into the Statement sheet. Every problem with the input is a ``StatementError`` that
names the line (or sheet row); problems that do not stop the reading (balances that do not add up,
ambiguous dates, a file that may be incomplete) are ``Statement.warnings``.

Formats: pasted rows and CSV (``table``/``csv``), OFX 1.x/2.x (``ofx``), MT940 (``mt940``), CAMT.053 and
CAMT.052 (``camt``), Norma 43 (``n43``), and spreadsheet exports .xlsx/.xls/.ods (``xlsx``: the host opens
the file and passes its rows, see ``sync.bank_files``; the core never opens a spreadsheet).

Size: a file above ``MAX_STATEMENT_BYTES`` is refused with a message before any parsing, and every reader
is linear in the size of what it reads (no nesting or repetition makes it slower than that).

Untrusted text: line texts are kept exactly as the bank wrote them. Whoever writes them into a
sheet neutralizes them with ``cobro.safety.neutralize_formula`` (re-exported here), as the stores do.
"""

from __future__ import annotations

import os

from ..safety import neutralize_formula
from ._common import MAX_PASTED_ROWS, MAX_STATEMENT_BYTES, looks_binary
from .base import AccountBalances, Importer, Statement, StatementError, StatementLine, make_line_id
from .camt import CamtImporter
from .csv import CsvImporter, rows_from_text
from .mt940 import MT940Importer
from .n43 import N43Importer
from .ofx import OfxImporter
from .table import header_role, read_rows
from .xlsx import SheetRows, SpreadsheetImporter, SpreadsheetOpener, read_sheets

__all__ = [
    "AccountBalances", "Importer", "Statement", "StatementError", "StatementLine", "IMPORTERS", "detect_format",
    "header_role", "make_line_id", "neutralize_formula", "read_pasted", "read_sheets", "read_statement",
    "statement_as_dict", "MAX_STATEMENT_BYTES", "MAX_PASTED_ROWS", "SheetRows", "SpreadsheetOpener",
]

def size_error(size: int, filename: str = "") -> StatementError:
    """The message for a file above ``MAX_STATEMENT_BYTES``."""
    return StatementError(f"the file is {size / 1048576:.1f} MB; cobro reads statement files of up to "
                          f"{MAX_STATEMENT_BYTES // 1048576} MB: export a shorter period from the bank",
                          None, filename)

IMPORTERS: tuple[Importer, ...] = (SpreadsheetImporter(), OfxImporter(), CamtImporter(), MT940Importer(),
                                   N43Importer(), CsvImporter())
_BY_NAME: dict[str, Importer] = {imp.name: imp for imp in IMPORTERS}
_EXTENSIONS = {
    ".ofx": "ofx", ".qfx": "ofx", ".xml": "camt053", ".camt": "camt053", ".053": "camt053", ".sta": "mt940",
    ".940": "mt940", ".mt940": "mt940", ".swi": "mt940", ".n43": "n43", ".csb": "n43", ".aeb": "n43",
    ".q43": "n43", ".43": "n43", ".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xls": "xlsx", ".ods": "xlsx",
}
FORMAT_NAMES = {"ofx": "OFX", "camt053": "CAMT.053", "camt052": "CAMT.052", "mt940": "MT940", "n43": "Norma 43",
                "csv": "CSV", "xlsx": "spreadsheet", "paste": "pasted rows"}


def detect_format(data: bytes, filename: str = "") -> str:
    """The importer name for ``data``: ``xlsx``, ``ofx``, ``camt053``, ``mt940``, ``n43`` or ``csv``.

    Content decides; the extension only breaks ties and, when the content matches nothing, picks the
    importer whose error message will say best what is wrong. Raises ``StatementError`` for empty
    files and for well-known files that are not statements (spreadsheets, PDFs, images).
    """
    if not data.strip(b" \t\r\n\x00\x1a\xef\xbb\xbf"):
        raise StatementError("the file is empty", None, filename)
    hint = _EXTENSIONS.get(os.path.splitext(filename)[1].lower(), "")
    if _BY_NAME["xlsx"].identify(data, filename) or (hint == "xlsx" and data.startswith((b"PK", b"\xd0\xcf"))):
        return "xlsx"
    binary = looks_binary(data)
    if binary:
        raise StatementError(f"this is {binary}, not a bank statement: export the statement from the bank as "
                             "Norma 43, CSV, OFX, MT940 or CAMT.053, or paste its rows into the Statement sheet",
                             None, filename)
    found = [imp.name for imp in IMPORTERS[:-1] if imp.identify(data, filename)]
    if hint in found:
        return hint
    if found:
        return found[0]
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "ofx" if hint == "ofx" else "camt053"
    if hint and hint != "csv":
        return hint
    if not _BY_NAME["csv"].identify(data, filename):
        raise StatementError("this file is not a bank statement cobro can read: it is neither text (Norma 43, "
                             "CSV, MT940, OFX) nor CAMT.053 XML", None, filename)
    return "csv"


def _dispatch(data: bytes, filename: str, default_currency: str,
              open_spreadsheet: SpreadsheetOpener | None = None) -> Statement:
    if len(data) > MAX_STATEMENT_BYTES:
        raise size_error(len(data), filename)
    name = detect_format(data, filename)
    if name == "xlsx":
        return SpreadsheetImporter(open_spreadsheet).parse(data, filename, default_currency)
    return _BY_NAME[name].parse(data, filename, default_currency)


def read_statement(data: bytes, filename: str = "", default_currency: str = "EUR", *,
                   open_spreadsheet: SpreadsheetOpener | None = None) -> Statement:
    """Read a bank statement file of any supported format. Raises ``StatementError`` with a clear message.

    Spreadsheet exports need ``open_spreadsheet`` (bytes -> sheets' rows), which only a host can give:
    hosts call ``sync.bank_files.read_statement``, which passes it.
    """
    try:
        return _dispatch(data, filename, default_currency, open_spreadsheet)
    except StatementError:
        raise
    except Exception as e:  # a reader bug must still reach the user as a message, not a traceback
        raise StatementError(f"the file could not be read ({type(e).__name__}: {e}); please report this with "
                             "the file", None, filename) from e


def _plain(v: object) -> object:
    """numpy scalars and pandas' NaT as plain Python values."""
    kind = type(v)
    if kind.__name__ == "NaTType":
        return None
    if kind.__module__ == "numpy" and hasattr(v, "item"):
        return v.item()  # type: ignore[attr-defined]
    return v


def _read_pasted(rows: list[list[object]], default_currency: str, first_row: int) -> Statement:
    table = [[_plain(v) for v in row] for row in rows]
    filled = [[v for v in row if not (v is None or (isinstance(v, str) and not v.strip()))] for row in table]
    nonblank = [f for f in filled if f]
    if not nonblank:
        raise StatementError("nothing was pasted: the Statement sheet has no rows", None, "", "row")
    if len(table) > MAX_PASTED_ROWS:
        raise StatementError(f"there are {len(table)} rows; cobro reads up to {MAX_PASTED_ROWS} statement rows "
                             "at a time: split the statement into shorter periods", None, "", "row")
    if all(len(f) == 1 and isinstance(f[0], str) and any(d in f[0] for d in ("\t", ";", ",", "|")) for f in nonblank):
        # whole lines pasted into one column: split them like a CSV file
        text = "\n".join(f[0] if f else "" for f in filled)
        cells, lines, delim = rows_from_text(text)
        hint = True if delim == ";" else False if delim == "," else None
        return read_rows(cells, [first_row + ln - 1 for ln in lines], fmt_name="paste",
                         default_currency=default_currency, unit="row", decimal_hint=hint)
    return read_rows(table, [first_row + k for k in range(len(table))], fmt_name="paste",
                     default_currency=default_currency, unit="row", decimal_hint=None)


def read_pasted(rows: list[list[object]], default_currency: str = "EUR", *, first_row: int = 1) -> Statement:
    """Read the rows pasted into the Statement sheet (cells: text, numbers, dates; any column order;
    with or without a header row). ``first_row`` is the sheet row of ``rows[0]``, so messages and
    ``source_line`` name sheet rows."""
    try:
        return _read_pasted(rows, default_currency, first_row)
    except StatementError:
        raise
    except Exception as e:
        raise StatementError(f"the pasted rows could not be read ({type(e).__name__}: {e}); please report this",
                             None, "", "row") from e


def statement_as_dict(statement: Statement) -> dict[str, object]:
    """A JSON-ready form: decimal amounts as strings, dates in ISO form."""
    from .. import money

    def amount(minor: int | None, currency: str) -> str | None:
        if minor is None:
            return None
        return money.format_decimal(minor, currency) if money.is_known_currency(currency) else str(minor)

    return {
        "format": statement.format,
        "lines": [{
            "line_id": ln.line_id, "account": ln.account, "date": ln.date.isoformat(),
            "value_date": ln.value_date.isoformat() if ln.value_date else None,
            "amount": amount(ln.amount, ln.currency), "currency": ln.currency, "text": ln.text,
            "counterparty_name": ln.counterparty_name, "counterparty_iban": ln.counterparty_iban,
            "bank_reference": ln.bank_reference, "source_line": ln.source_line, "kind": ln.kind,
            "return_of": ln.return_of,
        } for ln in statement.lines],
        "balances": [{
            "account": b.account, "currency": b.currency, "opening": amount(b.opening, b.currency),
            "closing": amount(b.closing, b.currency),
            "opening_date": b.opening_date.isoformat() if b.opening_date else None,
            "closing_date": b.closing_date.isoformat() if b.closing_date else None,
        } for b in statement.balances],
        "warnings": list(statement.warnings),
    }
