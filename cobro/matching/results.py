"""What the matcher hands back: ``Proposal`` per line, ``MatchResult`` for a statement, and Payments rows.

``MatchResult.to_matches_frame`` is the Matches sheet; ``payments_for`` / ``_payment_records`` turn accepted
proposals into Payments rows (the deterministic ``payment_id_for`` makes re-applying recognisable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..bank.base import StatementLine
from ..ledger import make_frame
from ..safety import neutralize_formula
from ..schema import PAYMENTS
from .text import _NONALNUM, _norm, _t

# ----------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Alternative:
    """Another reading of a line that also fits (shown to the person, not applied)."""

    invoice_ids: tuple[str, ...]
    customer_id: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class Allocation:
    """How one amount is spread: ``sum(amount for _, amount in allocations) + advance == paid + fee``."""

    customer_id: str
    allocations: tuple[tuple[str, int], ...] = ()
    advance: int = 0
    fee: int = 0
    problems: tuple[str, ...] = ()

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.allocations)


@dataclass(frozen=True)
class Proposal:
    """The outcome for one statement line.

    ``status`` is ``proposed`` (allocations and/or advance set), ``unmatched`` (debit or nothing fits) or
    ``applied`` (already in Payments, or a repeat of an earlier line of the same input).
    """

    line: StatementLine
    status: str
    customer_id: str = ""
    allocations: tuple[tuple[str, int], ...] = ()
    advance: int = 0
    fee: int = 0
    confidence: float = 0.0
    reason: str = ""
    auto: bool = False
    alternatives: tuple[Alternative, ...] = ()
    evidence: tuple[str, ...] = ()  # machine codes: reference, reference_weak, near_reference, tax_id, iban, ...
    applied_as: str = ""  # for status "applied": the payment id / line id it was recognised by

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.allocations)

    @property
    def line_id(self) -> str:
        return self.line.line_id


# ----------------------------------------------------------------------------------- helpers


def payment_id_for(line_id: str) -> str:
    """The deterministic Payments.payment_id of the rows made from one statement line."""
    return "P-" + hashlib.sha256(line_id.encode("utf-8")).hexdigest()[:12].upper()


def _short(text: str, limit: int = 140) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _ref_norm(text: str) -> str:
    return _NONALNUM.sub("", _norm(text))


def _line_reference(line: StatementLine) -> str:
    """What Payments.reference holds for a line: its text, shortened (the bank reference if no text)."""
    return _short(line.text) if line.text.strip() else _short(line.bank_reference)


# ----------------------------------------------------------------------------------- result


def _payment_records(line: StatementLine, alloc: Allocation, locale: str, cust_ids: list[str] | None = None,
                     inv_cust: list[int] | None = None, inv_pos: Mapping[str, int] | None = None, *,
                     write_off: bool = False) -> list[dict[str, object]]:
    pid = payment_id_for(line.line_id)
    ref = neutralize_formula(_line_reference(line))  # bank text stays text in the sheet
    rows: list[dict[str, object]] = []
    fee_left = alloc.fee
    parts = list(alloc.allocations)
    # The fee is taken from the last invoices: they are closed by a received part plus a fee part.
    fee_rows: list[tuple[str, int]] = []
    for k in range(len(parts) - 1, -1, -1):
        if fee_left <= 0:
            break
        inv, amt = parts[k]
        take = min(fee_left, amt)
        parts[k] = (inv, amt - take)
        fee_rows.insert(0, (inv, take))
        fee_left -= take

    def cust_of(inv: str) -> str:
        if cust_ids is not None and inv_cust is not None and inv_pos is not None and inv in inv_pos:
            c = inv_cust[inv_pos[inv]]
            return cust_ids[c] if c >= 0 else alloc.customer_id
        return alloc.customer_id

    base = {"payment_id": pid, "date": pd.Timestamp(line.date), "currency": line.currency, "source": "statement",
            "statement_line": line.line_id}
    for inv, amt in parts:
        if amt > 0:
            rows.append({**base, "customer_id": cust_of(inv), "invoice_id": inv, "amount": int(amt),
                         "method": "transfer", "reference": ref})
    if alloc.advance > 0 and alloc.customer_id:
        rows.append({**base, "customer_id": alloc.customer_id, "invoice_id": "", "amount": int(alloc.advance),
                     "method": "transfer", "reference": ref})
    for inv, amt in fee_rows:
        if amt > 0:
            rows.append({**base, "customer_id": cust_of(inv), "invoice_id": inv, "amount": int(amt),
                         "method": "other",
                         "reference": _t(locale, "write_off_row" if write_off else "bank_fee") + ": "
                         + _short(ref, 100)})
    return rows


def _payments_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    if not records:
        return make_frame(PAYMENTS, pd.DataFrame({c.key: pd.Series([], dtype=object) for c in PAYMENTS.columns}))
    return make_frame(PAYMENTS, records)
