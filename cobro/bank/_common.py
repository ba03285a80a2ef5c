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
    evidence, whatever a header claims); then the declared charset; then the content decides
    (``detect_legacy``): a CP852 MT940 is not read as Windows-1252.
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
            except (UnicodeDecodeError, LookupError, ValueError):  # ValueError: a NUL in the declared name
                pass
    enc = detect_legacy(data)
    if enc != "cp1252":
        return data.decode(enc), enc
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return "".join(_cp1252_or_latin1(b) for b in data), "cp1252"


# the single-byte encodings banks of cobro's countries export in, in order of preference when the content
# reads equally well in several (the Spanish DOS page before the Central European one: ñ is 0xA4 in CP850, Ą
# in CP852)
_LEGACY = ("cp1252", "cp850", "cp852", "cp1250", "iso8859_2", "iso8859_15")
_CENTRAL = ("cp852", "cp1250", "iso8859_2", "cp1252", "cp850", "iso8859_15")
# a Central European currency or IBAN country in the file: its own code pages win the ties
_CENTRAL_HINT = re.compile(rb"(?<![A-Z])(?:HUF|PLN|CZK|RON|HRK|BGN)(?![A-Z])|(?<![A-Z])(?:HU|PL|CZ|SK|SI|HR|RO)\d{2}")
# other scripts' single-byte pages, for charset-normalizer to choose among when no European page reads
_OTHER_SINGLE_BYTE = ("cp1251", "koi8_r", "cp866", "iso8859_5", "cp1253", "iso8859_7", "cp1254", "iso8859_9",
                      "cp1257", "iso8859_13", "cp1255", "cp1256")
_NON_ASCII = re.compile(r"(.?)([^\x00-\x7f])(.?)", re.S)


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _plausibility(text: str, limit: int = 4000) -> int:
    """How much a decoding reads like words: letters beside letters score, symbols and control
    characters inside words cost. Looks at the first ``limit`` non-ASCII characters only."""
    score = 0
    for k, m in enumerate(_NON_ASCII.finditer(text)):
        if k >= limit:
            break
        ch, before, after = m[2], m[1], m[3]
        if "\x80" <= ch <= "\x9f":
            score -= 3  # C1 control characters never occur in a statement's text
        elif ch.isalpha():
            score += 1 if (before.isalpha() or after.isalpha()) else 0
        elif before.isalpha() and after.isalpha():
            score -= 2  # "Csoportos  tutal s": a symbol in the middle of a word
    return score


def detect_legacy(data: bytes) -> str:
    """The single-byte encoding of text that is not UTF-8, from its content.

    Each encoding banks of Spain, Latin America and Europe use is scored by how well the text reads
    (``_plausibility``); ties go to the most common one (Windows-1252, then the DOS pages). When no
    European encoding reads as words at all (Cyrillic, Greek, ...), charset-normalizer decides.
    """
    if data.isascii():
        return "cp1252"
    best, best_score = "cp1252", None
    if not _is_cp1252(data):
        best_score = -3 * sum(1 for b in data[:65536] if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
    for enc in _CENTRAL if _CENTRAL_HINT.search(data[:65536]) else _LEGACY:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if best_score is None or score > best_score or (enc == "cp1252" and score >= best_score):
            best, best_score = enc, score
    if best_score is not None and best_score >= 3:  # a few letters of evidence before leaving the default
        return best
    if sum(1 for b in data[:65536] if b > 0x7F) < 16:
        return "cp1252"  # too little text to tell
    try:
        from charset_normalizer import from_bytes

        guess = from_bytes(data[:262144], cp_isolation=list(_OTHER_SINGLE_BYTE)).best()
        if guess is not None and guess.encoding:
            data.decode(guess.encoding)
            return guess.encoding
    except (ImportError, LookupError, UnicodeDecodeError):
        pass
    return "cp1252"


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
