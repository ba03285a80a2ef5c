"""Exact money: integer minor units per ISO 4217 currency inside, ``Decimal`` at the edges.

Nothing in cobro holds an amount as a float. Amounts in different currencies are never
added together; every total is keyed by currency.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cobro.errors import InputError

# ISO 4217 minor-unit exponents. Anything absent defaults to 2 *only* if it is a known code;
# unknown codes are rejected by ``is_known_currency``.
_EXPONENT_0 = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
    "VND", "VUV", "XAF", "XOF", "XPF",
}
_EXPONENT_3 = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_EXPONENT_4 = {"CLF", "UYW"}
_EXPONENT_2 = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS",
    "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
    "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "YER", "ZAR", "ZMW", "ZWG",
}

_EXPONENTS: dict[str, int] = {
    **{c: 2 for c in _EXPONENT_2},
    **{c: 0 for c in _EXPONENT_0},
    **{c: 3 for c in _EXPONENT_3},
    **{c: 4 for c in _EXPONENT_4},
}


class MoneyError(InputError, ValueError):
    """A value that cannot be read as an amount of the given currency."""


def is_known_currency(code: str) -> bool:
    """True for an ISO 4217 alphabetic code cobro knows (case-sensitive, upper case)."""
    return code in _EXPONENTS


def exponent(currency: str) -> int:
    """Number of minor-unit digits of ``currency`` (EUR 2, CLP 0, KWD 3)."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}: expected an ISO 4217 code such as EUR") from None


def to_minor(value: Decimal | int | str, currency: str) -> int:
    """Exact conversion to integer minor units. Raises if precision would be lost.

    ``to_minor(Decimal("12.34"), "EUR") == 1234``; ``to_minor("1.005", "EUR")`` raises.
    """
    exp = exponent(currency)
    if isinstance(value, str):
        value = parse_decimal(value)
    elif isinstance(value, float):  # pragma: no cover - defended by type, checked anyway
        raise MoneyError("floats are never money; pass a Decimal or a string")
    d = Decimal(value)
    scaled = d.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more decimals than {currency} allows ({exp})")
    return int(scaled)


def round_to_minor(value: Decimal, currency: str) -> int:
    """Half-up rounding to minor units, for computed amounts (interest, discounts)."""
    exp = exponent(currency)
    return int(Decimal(value).scaleb(exp).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units back to a ``Decimal`` with the currency's number of places."""
    exp = exponent(currency)
    return Decimal(int(minor)).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def format_decimal(minor: int, currency: str) -> str:
    """Machine form: ``"1234.50"`` (JSON output)."""
    return str(to_decimal(minor, currency))


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """Human form: ``1,234.50 EUR`` (en) or ``1.234,50 EUR`` (es)."""
    d = to_decimal(minor, currency)
    exp = exponent(currency)
    text = f"{d:,.{exp}f}"
    if locale == "es":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {currency}"


_NUMBER_CHARS = re.compile(r"^[+-]?[\d.,' \u00a0]+$")


def parse_decimal(text: str, decimal_comma: bool | None = None) -> Decimal:
    """Read a human-written number: ``1234.5``, ``1.234,56``, ``1,234.56``, ``-12,5``, ``(12.50)``.

    ``decimal_comma`` settles ambiguous cases such as ``1,234`` or ``1.234`` (True: the comma
    is the decimal mark; False: the dot is). With ``None`` a lone separator is read as the
    decimal mark; callers that read a whole column decide ``decimal_comma`` for the column
    (see ``detect_decimal_comma``) instead of guessing row by row.
    """
    s = str(text).strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    for sym in ("€", "$", "EUR", "USD", "MXN", "£"):
        s = s.replace(sym, "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-"):
        negative, s = True, s[:-1]
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if not s or not _NUMBER_CHARS.match(s):
        raise MoneyError(f"{text!r} is not a number")
    has_dot, has_comma = "." in s, "," in s
    if has_dot and has_comma:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif has_comma:
        parts = s.split(",")
        if len(parts) > 2:
            s = s.replace(",", "")
        elif decimal_comma is False:
            s = s.replace(",", "")
        else:
            s = s.replace(",", ".")
    elif has_dot:
        parts = s.split(".")
        if len(parts) > 2:
            s = s.replace(".", "")
        elif decimal_comma is True and len(parts[1]) == 3:
            s = s.replace(".", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not a number") from None
    return -d if negative else d


def parse_money(value: object, currency: str, decimal_comma: bool | None = None) -> int:
    """Any cell value (number, Decimal, text) to minor units of ``currency``.

    Numbers that come from a spreadsheet as binary floats are read through their shortest
    decimal representation (``repr``), which is what the user typed, then checked exactly.
    """
    if isinstance(value, bool):
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return to_minor(Decimal(value), currency)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise MoneyError(f"{value!r} is not an amount")
        d = Decimal(repr(value))
        exp = exponent(currency)
        # Spreadsheet arithmetic can leave binary noise (0.1+0.2); round to 9 places first,
        # then require the result to fit the currency exactly.
        d = d.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP).normalize()
        return to_minor(d, currency) if d.as_tuple().exponent >= -exp else _raise_precision(value, currency)
    if isinstance(value, Decimal):
        return to_minor(value, currency)
    return to_minor(parse_decimal(str(value), decimal_comma), currency)


def _raise_precision(value: object, currency: str) -> int:
    raise MoneyError(f"{value} has more decimals than {currency} allows ({exponent(currency)})")


def sum_by_currency(pairs: list[tuple[str, int]]) -> dict[str, int]:
    """Add ``(currency, minor)`` pairs per currency; never across currencies."""
    out: dict[str, int] = {}
    for cur, minor in pairs:
        out[cur] = out.get(cur, 0) + int(minor)
    return out


def detect_decimal_comma(texts: list[str]) -> bool | None:
    """Settle the decimal mark for a whole column of written numbers.

    Returns True (``1.234,56``), False (``1,234.56``) or None when nothing in the column decides.
    """
    votes_comma = votes_dot = 0
    for t in texts:
        s = str(t).strip()
        if "," in s and "." in s:
            if s.rfind(",") > s.rfind("."):
                votes_comma += 1
            else:
                votes_dot += 1
        elif s.count(",") == 1 and len(s.split(",")[1].strip()) != 3:
            votes_comma += 1
        elif s.count(".") == 1 and len(s.split(".")[1].strip()) != 3:
            votes_dot += 1
        elif s.count(".") > 1:
            votes_comma += 1
        elif s.count(",") > 1:
            votes_dot += 1
    if votes_comma and not votes_dot:
        return True
    if votes_dot and not votes_comma:
        return False
    if votes_comma or votes_dot:
        return votes_comma > votes_dot
    return None
