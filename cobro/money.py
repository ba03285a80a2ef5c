"""Exact money: integer minor units per ISO 4217 currency inside, ``Decimal`` at the edges.

Nothing in cobro holds an amount as a float. Amounts in different currencies are never
added together; every total is keyed by currency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np

from cobro import i18n
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
    """A value that cannot be read as an amount of the given currency.

    ``code`` names the kind for a located problem (``cobro.ledger.Problem``): ``money`` (not a number),
    ``money_precision`` (more decimals than the currency has), ``money_currency`` (written in another
    currency: ``detail["currency"]`` is the one expected) or ``money_range`` (beyond what cobro holds).
    """

    def __init__(self, message: str = "", *, code: str = "money", detail: dict[str, object] | None = None,
                 **where: object) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.code = code
        self.detail = detail or {}


MAX_MINOR = 2**53 - 1
"""The largest amount cobro holds, in minor units: every amount is exact in a spreadsheet cell (a binary
double), in JSON read by JavaScript and in a pandas Int64 column, and a thousand of them add up without
overflowing int64 (9,007,199,254,740,991 cents is about 90 trillion euros)."""

MAX_AMOUNT_TEXT = 64
"""The longest written amount read (an amount beyond ``MAX_MINOR`` is far shorter); longer text is refused
before any arithmetic, so 10,000 nines cost nothing."""

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
    """Exact conversion to integer minor units. Raises if precision would be lost or the amount is out of range.

    ``to_minor(Decimal("12.34"), "EUR") == 1234``; ``to_minor("1.005", "EUR")`` raises.
    """
    exp = exponent(currency)
    if isinstance(value, str):
        value = parse_decimal(value)
    elif isinstance(value, float):  # pragma: no cover - defended by type, checked anyway
        raise MoneyError("floats are never money; pass a Decimal or a string")
    d = Decimal(value)
    if not d.is_finite():
        raise MoneyError(f"{value} is not an amount")
    if d and d.adjusted() + exp > 16:  # |d| >= 10**17 minor units: beyond MAX_MINOR, decided without arithmetic
        raise _out_of_range(value, currency)
    sign, digits, e = d.as_tuple()
    if isinstance(e, int) and e + exp < 0 and any(digits[len(digits) + e + exp:]):
        raise MoneyError(f"{value} has more decimals than {currency} allows ({exp})", code="money_precision")
    with localcontext() as ctx:  # exact: wide enough for every digit (the default 28 would round silently)
        ctx.prec = max(28, len(digits) + abs(e if isinstance(e, int) else 0) + exp + 2)
        minor = int(d.scaleb(exp))
    if abs(minor) > MAX_MINOR:
        raise _out_of_range(value, currency)
    return minor


def _out_of_range(value: object, currency: str) -> MoneyError:
    limit = format_money(MAX_MINOR, currency)
    return MoneyError(f"{str(value)[:30]}{'…' if len(str(value)) > 30 else ''} is larger than the largest amount "
                      f"cobro holds ({limit})", code="money_range", detail={"limit": limit})


def round_to_minor(value: Decimal, currency: str) -> int:
    """Half-up rounding to minor units, for computed amounts (interest, discounts)."""
    exp = exponent(currency)
    d = Decimal(value)
    if not d.is_finite() or (d and d.adjusted() + exp > 16):
        raise _out_of_range(value, currency)
    with localcontext() as ctx:
        ctx.prec = 60
        minor = int(d.scaleb(exp).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if abs(minor) > MAX_MINOR:
        raise _out_of_range(value, currency)
    return minor


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
    return f"{localize_number(f'{d:,.{exp}f}', locale)} {currency}"


def localize_number(text: str, locale: str = "en") -> str:
    """``1,234.50`` written with the language's group and decimal marks (``1.234,50`` in Spanish).

    The marks are texts of the translation catalogue (``number.group``, ``number.decimal``), so a new language
    brings its own with its file."""
    group, decimal = i18n.text("number.group", locale), i18n.text("number.decimal", locale)
    if group == "," and decimal == ".":
        return text
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", group)


# ------------------------------------------------------------------ written amounts, as our markets write them

SYMBOLS: dict[str, str | None] = {
    "US$": "USD", "U$S": "USD", "USD$": "USD", "R$": "BRL", "S/.": "PEN", "S/": "PEN", "€": "EUR", "£": "GBP",
    "MX$": "MXN", "MEX$": "MXN", "COL$": "COP", "CO$": "COP", "CLP$": "CLP", "CL$": "CLP", "AR$": "ARS",
    "$": None,  # the dollar *and* the peso sign: the row's currency decides
}
"""Currency signs read before or after an amount, and the currency each names (None: ambiguous)."""

DOLLAR_SIGN: frozenset[str] = frozenset({
    "USD", "MXN", "COP", "CLP", "ARS", "UYU", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "DOP", "CUP", "BSD", "BZD",
    "BBD", "BMD", "FJD", "JMD", "KYD", "LRD", "NAD", "SBD", "SRD", "TTD", "XCD", "BND", "GYD", "CVE", "TOP", "WST",
})
"""Currencies written with a bare ``$``."""

_SIGNS = sorted(SYMBOLS, key=len, reverse=True)  # longest first: "US$" before "$"
_PREFIX = re.compile("^(" + "|".join(re.escape(x) for x in _SIGNS) + r"|[A-Za-z]{3}(?![A-Za-z]))")
_SUFFIX = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(x) for x in _SIGNS) + r"|[A-Za-z]{3})$")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " "})
_MINUS = ("-", "\u2212", "\u2013")  # hyphen-minus, the minus sign, an en dash (what word processors make)
_BODY = re.compile(r"^\d[\d.,' ]*$|^[.,]\d+$")


def read_amount(text: str, currency: str | None = None,
                decimal_comma: bool | None = None) -> tuple[Decimal, str | None]:
    """Read a written amount and the currency it names, exactly.

    Accepts ``1.234,56``, ``1,234.56``, ``1 234,56`` (space or no-break space grouping), ``1'234.56``, a sign or
    code before or after (``$``, ``US$``, ``€``, ``S/``, ``R$``, ``£``, ``EUR``, ``CLP``…) and negatives written
    ``-12``, ``(12)`` or ``12-``. The second value is the currency the text names (``None`` for none, or a bare
    ``$`` read without a ``currency``).

    ``currency`` (the row's or the customer's) settles what the text leaves open: a bare ``$`` takes it, and in
    a currency without decimals a separator followed by three digits groups (``1.234 CLP`` is 1234 pesos; a
    repeated separator always groups: ``$ 1.234.567`` in COP). A lone ``1.234`` in a currency with cents is
    ambiguous and refused unless the column's mark settles it. A sign or code that names
    another currency is a ``MoneyError`` (code ``money_currency``). ``decimal_comma`` is the column's decimal
    mark, when known (see ``detect_decimal_comma``); zero-decimal currencies never gain cents from it.
    """
    raw = str(text)
    if len(raw) > MAX_AMOUNT_TEXT:
        limit = format_money(MAX_MINOR, currency) if currency in _EXPONENTS else f"{MAX_MINOR:,} minor units"
        raise MoneyError(f"{raw[:20]}… ({len(raw)} characters) is too long to be an amount (the largest amount "
                         f"cobro holds is {limit})", code="money_range", detail={"limit": limit})
    s = raw.translate(_SPACES).strip()
    named: str | None = None
    named_sign = ""
    negative = 0
    for _ in range(8):  # peel signs, parentheses and currency marks from both ends, in any order
        before = s
        if s.startswith("(") and s.endswith(")"):
            negative, s = negative + 1, s[1:-1].strip()
        if s.startswith(_MINUS):
            negative, s = negative + 1, s[1:].strip()
        elif s.startswith("+"):
            s = s[1:].strip()
        if s.endswith(_MINUS):
            negative, s = negative + 1, s[:-1].strip()
        for m, cut in ((_PREFIX.match(s), "prefix"), (_SUFFIX.search(s), "suffix")):
            if not m:
                continue
            mark = m.group(1)
            code = SYMBOLS[mark] if mark in SYMBOLS else mark.upper()
            if mark not in SYMBOLS and not is_known_currency(code):
                continue
            if named_sign and (code or "$") != (named or "$"):
                if not (named is None and code in DOLLAR_SIGN) and not (code is None and named in DOLLAR_SIGN):
                    raise MoneyError(f"{raw!r} names two currencies ({named_sign} and {mark})")
            if code is not None:
                named = code
            named_sign = named_sign or mark
            s = (s[m.end():] if cut == "prefix" else s[:m.start()]).strip()
        if s == before:
            break
    if negative > 1:
        raise MoneyError(f"{raw!r} is not a number (more than one minus sign)")
    if named is None and named_sign:  # a bare "$"
        if currency is not None and currency not in DOLLAR_SIGN:
            raise MoneyError(f"{raw!r} is written with $ but the currency is {currency}", code="money_currency",
                             detail={"currency": currency})
        named = currency
    elif named is not None and currency is not None and named != currency:
        raise MoneyError(f"{raw!r} is written in {named} but the currency is {currency}", code="money_currency",
                         detail={"currency": currency})
    s = s.replace("'", "")
    if not s or not _BODY.match(s):
        raise MoneyError(f"{raw!r} is not a number")
    d = Decimal(_canonical(s, raw, currency, decimal_comma))
    return (-d if negative else d), named


def _canonical(s: str, raw: str, currency: str | None, decimal_comma: bool | None) -> str:
    """Digits with at most one ``.`` as the decimal mark, from digits, separators and space grouping."""
    if " " in s:
        groups = s.split(" ")
        if any(len(g) < 3 for g in groups[1:]) or not all(groups):  # space groups are 3 digits (1 234 567,89)
            raise MoneyError(f"{raw!r} is not a number (spaces only between groups of three digits)")
        s = "".join(groups)
    exp = _EXPONENTS.get(currency or "", None)
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        mark = "," if s.rfind(",") > s.rfind(".") else "."
        group = "." if mark == "," else ","
        whole, _, frac = s.rpartition(mark)
        if mark in whole or group in frac:
            raise MoneyError(f"{raw!r} is not a number (mixed separators)")
        _check_groups(whole.split(group), raw)
        return whole.replace(group, "") + "." + frac
    if not dots and not commas:
        return s
    sep = "." if dots else ","
    parts = s.split(sep)
    if len(parts) > 2:  # 1.234.567 — the separator repeats, so it groups
        _check_groups(parts, raw)
        return "".join(parts)
    whole, frac = parts
    if not whole:
        return "0." + frac  # ",5" / ".5"
    if len(frac) != 3:
        return whole + "." + frac  # only a decimal mark can be followed by other than three digits
    # "1.234" / "1,234": grouping or three decimals?
    if exp == 0:
        return whole + frac  # a currency without cents never gains them: 1.234 CLP is 1234
    if decimal_comma is not None:
        return whole + "." + frac if (sep == ",") == decimal_comma else whole + frac
    if exp is not None and exp < 3:
        # Nothing settles it, and both readings are plausible: one thousand for a Spaniard or a Colombian, one
        # euro (or peso) and a fraction for an American. Refused rather than guessed.
        raise MoneyError(f"{raw!r} is ambiguous in {currency} ({whole}{frac}, or {whole} and a fraction?); write "
                         f"it with its decimals, such as {whole}.{frac},00 or {whole},{frac}.00")
    return whole + "." + frac  # no currency (or three decimals, KWD): a lone separator is the decimal mark


def _check_groups(groups: list[str], raw: str) -> None:
    if not groups[0] or len(groups[0]) > 3 and groups[0] != "0" or any(len(g) != 3 for g in groups[1:]):
        raise MoneyError(f"{raw!r} is not a number (thousands are grouped by three digits)")


def parse_decimal(text: str, decimal_comma: bool | None = None) -> Decimal:
    """Read a human-written number: ``1234.5``, ``1.234,56``, ``1,234.56``, ``-12,5``, ``(12.50)``, ``€ 12``.

    ``decimal_comma`` settles ambiguous cases such as ``1,234`` or ``1.234`` (True: the comma
    is the decimal mark; False: the dot is). With ``None`` a lone separator is read as the
    decimal mark; callers that read a whole column decide ``decimal_comma`` for the column
    (see ``detect_decimal_comma``) instead of guessing row by row. A currency sign or code is
    read and dropped; ``read_amount`` returns it and checks it against a currency.
    """
    return read_amount(text, None, decimal_comma)[0]


def parse_money(value: object, currency: str, decimal_comma: bool | None = None) -> int:
    """Any cell value (number, Decimal, text) to minor units of ``currency``.

    Numbers that come from a spreadsheet as binary floats are read through their shortest
    decimal representation (``repr``), which is what the user typed, then checked exactly.
    Written amounts are read by ``read_amount`` with ``currency`` as the row's currency.
    """
    if isinstance(value, bool):
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return to_minor(Decimal(value), currency)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise MoneyError(f"{value!r} is not an amount")
        if abs(value) >= 1e17:
            raise _out_of_range(value, currency)
        d = Decimal(repr(value))
        exp = exponent(currency)
        # Spreadsheet arithmetic can leave binary noise (0.1+0.2); round to 9 places first,
        # then require the result to fit the currency exactly.
        d = d.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP).normalize()
        return to_minor(d, currency) if d.as_tuple().exponent >= -exp else _raise_precision(value, currency)
    if isinstance(value, Decimal):
        return to_minor(value, currency)
    exponent(currency)
    return to_minor(read_amount(str(value), currency, decimal_comma)[0], currency)


_PLAIN = re.compile(r"(-?)(\d{1,15})(?:([.,])(\d{1,4}))?")


def plain_minor(text: str, exp: int, decimal_comma: bool | None) -> int | None:
    """The fast path of ``parse_money`` for the plain amounts that fill an ERP export (``1234,56``, ``-12.5``,
    ``700``): minor units, or None when the text needs the full reading (signs, grouping, ambiguity, errors).
    Gives exactly what ``parse_money`` gives whenever it gives anything."""
    m = _PLAIN.fullmatch(text)
    if m is None:
        return None
    sign, whole, sep, frac = m.groups()
    if sep:
        if decimal_comma is None:
            if len(frac) == 3:
                return None  # grouping or three decimals: read_amount decides (or refuses)
        elif (sep == ",") != decimal_comma:
            return None
        if len(frac) > exp:
            return None
        minor = int(whole) * 10**exp + int(frac) * 10 ** (exp - len(frac))
    else:
        minor = int(whole) * 10**exp
    if minor > MAX_MINOR:
        return None
    return -minor if sign else minor


@dataclass(frozen=True)
class PlainAmounts:
    """A column of written amounts laid out as a fixed-width array of code points, for the plain ones — digits,
    at most one ``.`` or ``,`` and a leading minus — to be read at numpy speed (see ``plain_amounts``)."""

    plain: np.ndarray  # bool: the text is plain (structurally; it may still need the full reading)
    value: np.ndarray  # int64: its digits as one integer
    frac: np.ndarray  # int64: digits after the separator (0 without one)
    has_sep: np.ndarray
    is_comma: np.ndarray
    negative: np.ndarray
    votes: tuple[int, int]  # (comma, dot) decimal-mark votes of the plain texts, as detect_decimal_comma counts

    def minor(self, exps: np.ndarray, decimal_comma: bool | None) -> tuple[np.ndarray, np.ndarray]:
        """(read, minor units) with ``plain_minor``'s rules: what is not read needs ``parse_money``."""
        ok = self.plain & (self.frac <= exps)
        if decimal_comma is None:
            ok &= ~self.has_sep | (self.frac != 3)
        else:
            ok &= ~self.has_sep | (self.is_comma == decimal_comma)
        minor = self.value * np.power(10, np.clip(exps - self.frac, 0, 18)).astype(np.int64)
        ok &= minor <= MAX_MINOR
        return ok, np.where(ok, np.where(self.negative, -minor, minor), 0)


def plain_amounts(texts: list[str]) -> PlainAmounts:
    """Lay out ``texts`` (all ``str``) for ``PlainAmounts.minor``: a million amounts in a fraction of a second."""
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    width = int(lens.max()) if n else 0
    usable = (lens > 0) & (lens <= 20)
    if n and not usable.all():  # long texts would widen the array for all: they take the full reading
        texts = [t if u else "" for t, u in zip(texts, usable.tolist(), strict=True)]
        lens = np.where(usable, lens, 0)
        width = int(lens.max())
    if width == 0:
        z = np.zeros(n, dtype=bool)
        zi = np.zeros(n, dtype=np.int64)
        return PlainAmounts(z, zi, zi, z, z, z, (0, 0))
    chars = np.array(texts, dtype=f"U{width}").view(np.uint32).reshape(n, width)
    col = np.arange(width)
    inside = col[None, :] < lens[:, None]
    digit = (chars >= 48) & (chars <= 57)
    comma = chars == 44
    sep = comma | (chars == 46)
    minus = (chars[:, 0] == 45) & (lens > 0)
    ok = ((digit | sep) | ~inside | ((col[None, :] == 0) & minus[:, None])).all(1) & (sep.sum(1) <= 1) & usable
    sep_at = np.where(sep.any(1), sep.argmax(1), lens)
    first = minus.astype(np.int64)
    has_sep = sep_at < lens
    frac = np.where(has_sep, lens - sep_at - 1, 0)
    ok &= (sep_at > first) & (~has_sep | (frac >= 1)) & (sep_at - first <= 15) & (frac <= 4)
    is_comma = comma[np.arange(n), np.minimum(sep_at, width - 1)] & has_sep
    value = np.zeros(n, dtype=np.int64)
    d = chars.astype(np.int64) - 48
    for j in range(width):
        take = digit[:, j] & inside[:, j]
        value = np.where(take, value * 10 + d[:, j], value)
    votes = (int((ok & has_sep & is_comma & (frac != 3)).sum()), int((ok & has_sep & ~is_comma & (frac != 3)).sum()))
    return PlainAmounts(ok, value, frac, has_sep, is_comma, minus, votes)


def _raise_precision(value: object, currency: str) -> int:
    raise MoneyError(f"{value} has more decimals than {currency} allows ({exponent(currency)})",
                     code="money_precision")


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
    return decide_decimal_comma(*decimal_mark_votes(texts))


def decimal_mark_votes(texts: Iterable[str]) -> tuple[int, int]:
    """How many written numbers only a decimal comma reads, and how many only a decimal dot reads."""
    votes_comma = votes_dot = 0
    plain = _PLAIN_CHARS.fullmatch
    for t in texts:
        s = t if type(t) is str and plain(t) else _number_part(str(t))
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
    return votes_comma, votes_dot


def decide_decimal_comma(votes_comma: int, votes_dot: int) -> bool | None:
    """The column's decimal mark from its votes (``decimal_mark_votes``): True, False or None."""
    if votes_comma and not votes_dot:
        return True
    if votes_dot and not votes_comma:
        return False
    if votes_comma or votes_dot:
        return votes_comma > votes_dot
    return None


_PLAIN_CHARS = re.compile(r"-?[\d.,]+")


def _number_part(text: str) -> str:
    """The digits and separators of a written amount, without signs, currency marks or space grouping."""
    s = text.translate(_SPACES).strip()
    for _ in range(4):
        s = s.strip("()+-\u2212 ")
        m = _PREFIX.match(s)
        if m and (m.group(1) in SYMBOLS or is_known_currency(m.group(1).upper())):
            s = s[m.end():]
        m = _SUFFIX.search(s)
        if m and (m.group(1) in SYMBOLS or is_known_currency(m.group(1).upper())):
            s = s[:m.start()]
    return s.replace(" ", "").replace("'", "")
