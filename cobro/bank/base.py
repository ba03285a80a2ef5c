"""The normalized statement line every importer yields, and the importer interface."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from cobro.errors import InputError


class StatementError(InputError, ValueError):
    """A statement that cannot be read. Names the line (1-based, as in a text editor) when known."""

    def __init__(self, message: str, line: int | None = None, source: str = "", unit: str = "line"):
        where = f"{source}: " if source else ""
        where += f"{unit} {line}: " if line else ""
        super().__init__(where + message, source=source or None, row=line)
        self.line = line
        self.source = source
        self.reason = message  # the message without its location
        self.unit = unit  # "line" in a file, "row" in a sheet

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"error": str(self), "field": "statement", "problems": [{"message": str(self), "line": self.line}]}


@dataclass(frozen=True)
class StatementLine:
    """One movement of a bank account. ``amount`` is signed minor units: credits > 0."""

    line_id: str  # stable across re-reads of the same file (see ``make_line_id``)
    account: str  # IBAN or account number as the file gives it ("" when unknown)
    date: dt.date  # booking date
    value_date: dt.date | None
    amount: int
    currency: str
    text: str  # all free text of the movement joined with " | "
    counterparty_name: str = ""
    counterparty_iban: str = ""
    bank_reference: str = ""  # the bank's own reference / end-to-end id
    source_line: int = 0  # line number in the file (1-based) or row in the sheet
    # "payment" (an ordinary movement), "fee" (a bank or processor charge, e.g. the "Fee" column of a
    # gross/fee/net export) or "return" (a SEPA R-transaction / storno / reversal of an earlier movement).
    kind: str = "payment"
    return_of: str = ""  # for kind="return": the original movement's reference when the file gives one


LINE_KINDS = ("payment", "fee", "return")


@dataclass
class AccountBalances:
    account: str
    currency: str
    opening: int | None = None  # minor units
    closing: int | None = None
    opening_date: dt.date | None = None
    closing_date: dt.date | None = None


@dataclass
class Statement:
    format: str  # "ofx", "mt940", "camt053", "n43", "csv", "paste"
    lines: list[StatementLine]
    balances: list[AccountBalances] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Importer(Protocol):
    """One per format. ``identify`` is cheap; ``parse`` raises ``StatementError`` on bad input."""

    name: str

    def identify(self, data: bytes, filename: str = "") -> bool: ...

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement: ...


def make_line_id(account: str, date: dt.date, amount: int, text: str, reference: str, occurrence: int) -> str:
    """Stable id of a line: the bank reference when there is one, otherwise a hash of its content.

    ``occurrence`` counts identical lines (same account, date, amount, text) within one file,
    so two genuinely identical movements get two ids while a re-read gets the same ones.
    """
    basis = "|".join([account, date.isoformat(), str(amount), " ".join(text.split()).casefold(),
                      reference, str(occurrence)])
    return "L" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]
