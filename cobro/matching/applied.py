"""Lines already applied: by statement line id, or by content (date, amount, currency, text) as a multiset.

Also ``learn_customer_ibans``: the counterparty IBANs of lines already applied identify their customers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ..bank.base import StatementLine
from ..ledger import Ledger
from .results import _line_reference, _ref_norm, _short
from .text import normalize_iban


def _content_keys(line: StatementLine) -> set[tuple[str, int, str, str]]:
    day = line.date.isoformat()
    keys = {(day, int(line.amount), line.currency, _ref_norm(_line_reference(line)))}
    if line.bank_reference.strip():
        keys.add((day, int(line.amount), line.currency, _ref_norm(_short(line.bank_reference))))
    return keys


def applied_line_ids(ledger: Ledger) -> set[str]:
    """Statement line ids already applied (non-blank Payments.statement_line)."""
    s = ledger.payments["statement_line"]
    return {x for x in s.tolist() if x}


def _applied_content(payments: pd.DataFrame) -> dict[tuple[str, int, str, str], list[str]]:
    """(date, received amount, currency, normalized reference) -> ids of the statement payments carrying it.

    A statement payment is grouped by statement_line (else payment_id); its received amount is the sum of the
    rows that share the group's main reference (a fee row has its own reference and is left out).
    """
    if not len(payments):
        return {}
    p = payments[payments["source"] == "statement"]
    if not len(p):
        return {}
    out: dict[tuple[str, int, str, str], list[str]] = {}
    sums: dict[tuple[str, str, str, str], int] = {}
    order: list[tuple[str, str, str, str]] = []
    for sl, pid, d, amt, cur, ref in zip(p["statement_line"].tolist(), p["payment_id"].tolist(),
                                         p["date"].tolist(), p["amount"].tolist(), p["currency"].tolist(),
                                         p["reference"].tolist(), strict=True):
        gid = sl or pid
        if not gid or d is pd.NaT or d != d:
            continue
        key = (gid, pd.Timestamp(d).date().isoformat(), cur, _ref_norm(ref))
        if key not in sums:
            order.append(key)
            sums[key] = 0
        sums[key] += int(amt)
    # A group's main reference is the one with the largest received amount.
    best: dict[str, tuple[str, str, str, str]] = {}
    for key in order:
        if key[0] not in best or sums[key] > sums[best[key[0]]]:
            best[key[0]] = key
    for gid, key in best.items():
        out.setdefault((key[1], sums[key], key[2], key[3]), []).append(gid)
    return out


def learn_customer_ibans(lines: Iterable[StatementLine], payments: pd.DataFrame) -> dict[str, str]:
    """IBAN -> customer_id, learned from lines whose payments are already in ``payments``.

    Hosts keep earlier statements (or re-read them) and pass the result to ``propose_matches`` as
    ``customer_ibans``. An IBAN seen paying two different customers is left out (a shared payer is no evidence).
    """
    by_line: dict[str, set[str]] = {}
    for sl, cust in zip(payments["statement_line"].tolist(), payments["customer_id"].tolist(), strict=True):
        if sl:
            by_line.setdefault(sl, set()).add(cust)
    seen: dict[str, set[str]] = {}
    for ln in lines:
        iban = normalize_iban(ln.counterparty_iban)
        if iban and ln.line_id in by_line:
            seen.setdefault(iban, set()).update(by_line[ln.line_id])
    return {iban: next(iter(c)) for iban, c in sorted(seen.items()) if len(c) == 1}


@dataclass(frozen=True)
class AppliedPayment:
    """One statement line already applied: what a return of it would reverse."""

    group: str  # statement_line, else payment_id
    payment_id: str
    date: dt.date
    currency: str
    received: int  # the amount the bank line carried (fee rows, method "other", left out)
    customer_id: str
    allocations: tuple[tuple[str, int], ...]
    reference: str  # normalized (letters and digits)


def applied_statement_payments(payments: pd.DataFrame) -> list[AppliedPayment]:
    """Statement payments grouped by the line they came from (for returns: which payment does a return undo)."""
    if not len(payments):
        return []
    p = payments[payments["source"] == "statement"]
    groups: dict[str, list[dict[str, object]]] = {}
    for r in p.to_dict("records"):
        gid = str(r.get("statement_line") or r.get("payment_id") or "")
        d = r.get("date")
        if gid and d is not None and not pd.isna(d):
            groups.setdefault(gid, []).append(r)
    out = []
    for gid, rows in groups.items():
        main = [r for r in rows if r.get("method") != "other"] or rows
        out.append(AppliedPayment(
            gid, str(main[0].get("payment_id") or ""), pd.Timestamp(main[0]["date"]).date(),
            str(main[0].get("currency") or ""), sum(int(r["amount"]) for r in main),
            str(main[0].get("customer_id") or ""),
            tuple((str(r["invoice_id"]), int(r["amount"])) for r in rows if r.get("invoice_id")),
            " ".join(_ref_norm(str(r.get("reference") or "")) for r in main)))
    return out
