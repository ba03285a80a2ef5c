"""Bank CSV exports: any delimiter (``;`` ``,`` tab ``|``), UTF-8 or Latin-1/Windows-1252, with preambles
and footers. Finding the table and its columns is ``table.read_rows``'s job; this module turns bytes
into rows and picks the delimiter that yields the most rows with a date and an amount.
"""

from __future__ import annotations

import csv
import io
import re

from ._common import decode, located
from .base import Statement, StatementError
from .table import is_data_row, read_rows

DELIMITERS = (";", "\t", ",", "|")
_SAMPLE_LINES = 400


def split_rows(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Rows of a delimited text and the (1-based) line each row starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as e:
        raise StatementError(f"the line cannot be read as CSV ({e})", reader.line_num or start) from None
    return rows, lines


def sniff_delimiter(text: str) -> str:
    """The delimiter under which most rows hold a date and an amount (``;`` first on ties)."""
    sample = "\n".join(text.split("\n", _SAMPLE_LINES)[:_SAMPLE_LINES])
    best, best_score = DELIMITERS[0], -1
    for delim in DELIMITERS:
        if delim not in sample:
            continue
        try:
            rows, _ = split_rows(sample, delim)
        except StatementError:
            continue
        widths = [len(r) for r in rows if len(r) >= 2 and is_data_row(r)]
        if not widths:
            score = 0
        else:
            modal = max(set(widths), key=widths.count)
            score = widths.count(modal)
        if score > best_score:
            best, best_score = delim, score
    return best


def rows_from_text(text: str) -> tuple[list[list[str]], list[int], str]:
    """Rows, line numbers and delimiter of a delimited text (``sep=;`` first lines honoured)."""
    text = text.replace("\x00", "")
    offset = 0
    m = re.match(r"^\ufeff?sep=(.)\r?\n", text)
    if m:
        delim = m[1]
        text = text[m.end():]
        offset = 1
    else:
        delim = sniff_delimiter(text)
    rows, lines = split_rows(text, delim)
    return rows, [ln + offset for ln in lines], delim


class CsvImporter:
    """Delimited text exports (``.csv``, ``.txt``, ``.tsv``)."""

    name = "csv"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:4096]
        if not head.strip():
            return False
        text, _ = decode(head)
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
        return printable >= 0.95 * len(text) and any(d in text for d in DELIMITERS)

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        with located(filename):
            text, _ = decode(data)
            if not text.strip():
                raise StatementError("the file is empty")
            rows, lines, delim = rows_from_text(text)
            hint = True if delim == ";" else False if delim == "," else None
            return read_rows(rows, lines, fmt_name="csv", default_currency=default_currency, unit="line",
                             decimal_hint=hint)
