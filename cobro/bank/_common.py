"""Helpers every importer shares: decoding, amounts, dates, text joining, line ids, balance checks.

Pure: bytes and strings in, values out.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from .. import money
from .base import AccountBalances, StatementError, StatementLine, make_line_id

MAX_STATEMENT_BYTES = 32 * 1024 * 1024
"""The largest statement file read (32 MB: years of movements of a busy account in any format)."""
MAX_PASTED_ROWS = 200_000
"""The most rows read from one sheet or pasted table."""

# ----------------------------------------------------------------------------------- decoding

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_DECLARED = {
    "1252": "cp1252", "cp1252": "cp1252", "windows1252": "cp1252", "iso88591": "cp1252", "latin1": "cp1252",
    "iso885915": "iso8859-15", "utf8": "utf-8", "usascii": "cp1252", "ascii": "cp1252", "none": "",
    "ibm850": "cp850", "cp850": "cp850", "850": "cp850",
}


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Text of ``data`` and the encoding used. Never fails.

    A byte-order mark wins; then strict UTF-8 (valid UTF-8 with non-ASCII bytes is strong
    evidence, whatever a header claims); then the declared charset; then Windows-1252, with
    the five bytes it leaves undefined read as Latin-1.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break
    if len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00" and data[0:1] != b"\x00":
        try:
            return data.decode("utf-16-le"), "utf-16-le"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if declared:
        key = re.sub(r"[^a-z0-9]", "", declared.lower())
        enc = _DECLARED.get(key, declared)
        if enc and enc not in ("utf-8",):
            try:
                return data.decode(enc), enc
            except (UnicodeDecodeError, LookupError):
                pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return "".join(_cp1252_or_latin1(b) for b in data), "cp1252"


def _cp1252_or_latin1(b: int) -> str:
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(b)


def looks_binary(data: bytes) -> str | None:
    """A short name for well-known binary files that are not statements, else None."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP or Excel (.xlsx) file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel (.xls) or Word file"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "an image"
    if head.startswith(b"\x1f\x8b"):
        return "a compressed (.gz) file"
    return None


@contextmanager
def located(source: str) -> Iterator[None]:
    """Name ``source`` (the file name) in any ``StatementError`` raised inside that does not name it yet."""
    try:
        yield
    except StatementError as e:
        if e.source or not source:
            raise
        raise StatementError(e.reason, e.line, source, e.unit) from None


class LineIndex:
    """Offset in a text -> 1-based line number, in O(log n)."""

    def __init__(self, text: str):
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


# ----------------------------------------------------------------------------------- text


_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\x00]+")
_SWIFT_AMOUNT = re.compile(r"\d+(,\d*)?|\d*,\d+")
_ISO_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_SIX_DIGITS = re.compile(r"\d{6}")


def clean_piece(text: object) -> str:
    """One piece of free text on one line: inner line breaks and control characters become spaces."""
    if text is None:
        return ""
    s = text if type(text) is str else str(text)
    if _BREAKS.search(s):
        s = " ".join(part.strip() for part in _BREAKS.split(s))
    return s.strip()


def join_text(pieces: Iterable[object]) -> str:
    """All free text of a movement joined with `` | ``; blanks and repeats left out."""
    out: list[str] = []
    seen: set[str] = set()
    for p in pieces:
        s = clean_piece(p)
        if not s:
            continue
        key = " ".join(s.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(s)
    return " | ".join(out)


def damaged_text_warning(text: str, where: str) -> str | None:
    if "\ufffd" in text:
        return (f"{where}: contains characters that were already damaged before cobro read the file "
                "(shown as \ufffd); the text is kept as it is")
    return None


# ----------------------------------------------------------------------------------- amounts


def minor_from_decimal_text(text: str, currency: str, *, decimal_comma: bool | None = None,
                            line: int | None = None, source: str = "", what: str = "amount") -> int:
    """Minor units of a written amount, or a ``StatementError`` naming the line."""
    try:
        return money.to_minor(money.parse_decimal(text, decimal_comma), currency)
    except money.MoneyError as e:
        raise StatementError(f"{what} {text.strip()!r} cannot be read: {e}", line, source) from None


def minor_from_swift(text: str, currency: str, line: int | None, source: str = "") -> int:
    """SWIFT amounts: digits with a comma as decimal mark, no thousands separator (``1234,5``)."""
    s = text.strip()
    if not _SWIFT_AMOUNT.fullmatch(s):
        raise StatementError(f"amount {s!r} is not a SWIFT amount such as 1234,56", line, source)
    try:
        return money.to_minor(Decimal(s.replace(",", ".") or "0"), currency)
    except (money.MoneyError, InvalidOperation) as e:
        raise StatementError(f"amount {s!r} cannot be read: {e}", line, source) from None


def check_currency(code: str, line: int | None, source: str = "") -> str:
    c = code.strip().upper()
    if not money.is_known_currency(c):
        raise StatementError(f"currency {code.strip()!r} is not an ISO 4217 code cobro knows (such as EUR, USD)",
                             line, source)
    return c


def fmt(minor: int, currency: str) -> str:
    return money.format_decimal(minor, currency)


# ----------------------------------------------------------------------------------- dates


def ymd(text: str, line: int | None, source: str = "", what: str = "date") -> dt.date:
    """``YYYYMMDD`` (OFX) or ``YYYY-MM-DD`` (ISO, CAMT) at the start of ``text``."""
    s = text.strip()
    m = _ISO_DATE.match(s)
    if not m:
        raise StatementError(f"{what} {s!r} is not a date such as 20240131 or 2024-01-31", line, source)
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise StatementError(f"{what} {s!r} is not a valid date", line, source) from None


def yymmdd(text: str, line: int | None, source: str = "", what: str = "date") -> dt.date:
    """``YYMMDD`` (MT940, Norma 43); years below 70 are 20xx."""
    s = text.strip()
    if not _SIX_DIGITS.fullmatch(s):
        raise StatementError(f"{what} {s!r} is not a date in the form YYMMDD", line, source)
    y = int(s[:2])
    try:
        return dt.date(2000 + y if y < 70 else 1900 + y, int(s[2:4]), int(s[4:6]))
    except ValueError:
        raise StatementError(f"{what} {s!r} (YYMMDD) is not a valid date", line, source) from None


# ----------------------------------------------------------------------------------- ids and balances


def assign_ids(lines: list[StatementLine]) -> list[StatementLine]:
    """Give every line its stable id; identical lines get distinct ids through the occurrence counter."""
    seen: dict[tuple[str, dt.date, int, str], int] = {}
    for ln in lines:
        key = (ln.account, ln.date, ln.amount, " ".join(ln.text.split()).casefold())
        occ = seen.get(key, 0)
        seen[key] = occ + 1
        # the readers made these lines a moment ago and nobody else holds them yet: set the id in place
        object.__setattr__(ln, "line_id", make_line_id(ln.account, ln.date, ln.amount, ln.text,
                                                        ln.bank_reference, occ))
    return lines


def balance_warning(bal: AccountBalances, lines_total: int, where: str) -> str | None:
    """The warning when opening + sum(lines) != closing, else None."""
    if bal.opening is None or bal.closing is None:
        return None
    if bal.opening + lines_total == bal.closing:
        return None
    cur = bal.currency
    expected = bal.opening + lines_total
    acct = f"account {bal.account}" if bal.account else "the account"
    return (f"{where}: the balances of {acct} do not add up: opening {fmt(bal.opening, cur)} + movements "
            f"{fmt(lines_total, cur)} = {fmt(expected, cur)}, but the file says the closing balance is "
            f"{fmt(bal.closing, cur)} {cur} (difference {fmt(bal.closing - expected, cur)}); "
            "check that no movement is missing")


# ----------------------------------------------------------------------------------- IBAN


def iban_valid(text: str) -> bool:
    s = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    moved = s[4:] + s[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


def iban_from_parts(country: str, bban: str) -> str:
    """IBAN with computed check digits for a country and its national account number (BBAN)."""
    moved = bban + country + "00"
    digits = "".join(str(int(ch, 36)) for ch in moved.upper())
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"
