"""Untrusted text stays text: neutralizing spreadsheet formulas and e-mail header injection."""

from __future__ import annotations

import re

from cobro.errors import InputError

_PLAIN_SIGNED = re.compile(r"^[+-][\d\s().,/-]*$")  # a phone number or a signed amount: not a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize_formula(text: str) -> str:
    """Text from outside (bank lines, imports) that a spreadsheet would take for a formula is
    prefixed with a single quote (the OWASP CSV-injection advice), so it is shown, never evaluated.
    Stores also write such values as string cells; the prefix keeps them inert when copied.

    ``neutralize_formula("=HYPERLINK(...)") == "'=HYPERLINK(...)"``; plain text, phone numbers
    (``+34 600 000 000``) and signed numbers (``-12,50``) are unchanged.
    """
    if text and text.startswith(_FORMULA_START) and not _PLAIN_SIGNED.match(text):
        return "'" + text
    return text


class HeaderInjectionError(InputError, ValueError):
    """A value meant for an e-mail header contains a line break."""


def header_value(value: str, field: str = "header") -> str:
    """Return ``value`` for use in an e-mail header, refusing CR/LF and other line breaks."""
    if any(ch in value for ch in ("\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")):
        raise HeaderInjectionError(f"{field} contains a line break, which could inject e-mail headers: {value!r}")
    return value
