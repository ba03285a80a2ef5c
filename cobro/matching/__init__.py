"""Bank reconciliation, the pure part: which open invoices does each statement line pay, how sure, and why.

``propose_matches(lines, ledger, as_of)`` turns normalized statement lines (``cobro.bank.base.StatementLine``)
into one ``Proposal`` per line — never dropping one — and ``MatchResult`` turns them into the Matches sheet
and, for accepted rows, into Payments rows. Everything here is pure: frames and lines in, values out.

Evidence, strongest first
-------------------------
1. **Reference**: an invoice number or the invoice's ``reference`` in the text. Ids and references are put in
   two indexes once (``MatchIndex.build``): the *compact* form (upper-case letters and digits, e.g.
   ``F20240113``) and the *digit key* (digit groups without leading zeros, e.g. ``2024/113``, plus the letter
   series before them, ``F``). A line's text is cut into runs of letter/digit groups; the digit n-grams of each
   run are looked up — so ``FRA 2024/113``, ``Fact. nº 2024-0113`` and ``F2024 0113`` all find ``F-2024-0113``
   without scanning invoices. A hit is graded: series letters equal (1.0), a generic prefix such as FRA, FACT,
   INV, Nº (0.97), no prefix (0.93, only for keys with two groups or five digits), glued to other digits — a
   date, an account number — (0.8, never auto), another series (0.75, never auto). Typos (one edit or an
   adjacent swap) are looked for only among invoices that the amount or the customer already point at.
2. **Customer**: tax id in the text (normalized: ``B-12.345.678`` = ``B12345678``, with or without ``ES``),
   the counterparty IBAN (IBANs come from customers' notes and from ``customer_ibans``, which callers learn
   from lines already applied — see ``learn_customer_ibans``), or the name: the words of the counterparty and
   of the text, without legal forms (S.L., S.A., SLU, S.COOP., LTD, INC …) and bank noise, select candidate
   customers through an inverted word index; rapidfuzz ``token_set_ratio`` scores only those.
3. **Amount** against the remaining balances of the customer's open invoices (same currency): one balance;
   the oldest-first prefix; an exact subset of two to four of its twenty oldest invoices (bounded search);
   a bank fee deducted; less (partial payment, oldest first or the referenced invoice); more (the excess is
   an advance, a Payments row without invoice). Without any customer, an amount equal to an open balance is
   proposed as a coincidence, never auto-accepted.

What never counts, and what always does (issue 8): words that say nothing about who paid (payment, transfer,
customer, cliente, pago, factura, betaling, klant, Zahlung, Kunde, virement, …: ``text.GENERIC_WORDS``) and legal
forms of the languages cobro reads are never name evidence, and one shared word of a longer name that other
customers' names also have is not a name match (``CustomerScan._distinctive``). Compact and spaced forms of a
name are one name ("J.Janssen" = "J. Janssen"); a counterparty equal to a customer id or to a customer's exact
name (``text.compact_name``) is that customer, as strong as a tax id. "invoice 31", "factura nº 31", "fra. 31"
read invoice 31 when the payer is known and no other open invoice of that payer reads as 31. The exact amount
of another customer's open invoice is listed as an alternative (a name alone is then not auto-accepted).
Returns (``StatementLine.kind == "return"``) are never payments: status ``return``, and when they undo a payment
already applied (by the original reference, else by amount and payer) the proposal names it (``applied_as``)
and its invoices. Fee lines are never payments either.

Write-offs: Settings ``write_off_tolerance`` (per currency, e.g. ``EUR 1; USD 1``) closes an invoice short by
at most that much; the difference is a separate Payments row (method ``other``, "diferencia dentro de la
tolerancia") beside the payment, so reminders do not chase it.

Bank fees: a shortfall of at most ``Settings.bank_fee_tolerance`` (minor units of the base currency; applies
to lines in the base currency) or, if larger, ``bank_fee_pct`` percent of the invoiced total (an optional
Settings key, e.g. ``0.5``; default 0) closes the invoices and is recorded as a separate Payments row
(method ``other``, reference "comisión bancaria"/"bank fee").

Auto-acceptance (``Proposal.auto``) is only given to proposals backed by a reference (grade ≥ 0.93; partial
and over-payments need ≥ 0.97 *and* the payer's name, tax id or IBAN agreeing, because a mistyped number
often hits another real invoice), a near-reference with the exact amount, or an unambiguous customer (tax
id, IBAN, or a name scoring ≥ 90 with no close rival) with an exact amount: one balance of that customer or
the oldest-first sum. Amount-only coincidences, subsets, fee tolerances without reference, a reference whose
customer the payer's name contradicts, and anything ambiguous are proposed but never auto-accepted.

Invariants
----------
- No invoice is allocated more than its balance: candidates are the invoices issued by the as-of date and
  open then (``cobro.balances``); their remaining balance counts *every* payment in the ledger whatever its
  date (so a later statement applied first still counts). Within a run, lines are allocated lazily-greedily
  by confidence: the surest line first; a line whose invoices were taken meanwhile is decided again.
- A line already applied (its ``line_id`` in Payments.statement_line, or the same date, amount and text
  already applied from a statement, counted as a multiset so two identical bank lines are two payments) is
  reported with status ``applied`` and never proposed again.
- Every input line appears exactly once in ``MatchResult.proposals``, in input order.

Allocation arithmetic (``allocate``, one primitive used by the matcher and by apply): invoices are paid in
the order given; if the amount covers them all, the excess is an advance; if it falls short by no more than
the fee tolerance, the invoices are closed and the shortfall is the fee; otherwise it is a partial payment,

Layout
------
``text`` (vocabulary, normalisation, reason texts) · ``references`` (invoice numbers) · ``customers`` (tax id,
IBAN, name) · ``amounts`` (fee percentage, subsets) · ``decide`` (evidence -> choice) · ``index``
(``MatchIndex``: build, run, allocate) · ``results`` (``Proposal``, ``MatchResult``, Payments rows) ·
``applied`` (lines already applied) · this module: the entry points hosts call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from ..bank.base import StatementLine
from ..ledger import Ledger, Problem
from .amounts import _subsets
from .applied import applied_line_ids, learn_customer_ibans
from .index import MatchIndex, MatchResult
from .results import Allocation, Alternative, Proposal, _payment_records, _payments_frame, payment_id_for
from .text import _name_words, _t, normalize_iban, normalize_tax_id

__all__ = [
    "Alternative", "Allocation", "MatchIndex", "MatchResult", "Proposal", "allocate", "applied_line_ids",
    "learn_customer_ibans", "line_from_match_row", "normalize_iban", "normalize_tax_id", "payment_id_for",
    "payments_for_matches", "propose_matches", "_name_words", "_subsets",
]

# ----------------------------------------------------------------------------------- entry points


def propose_matches(lines: Sequence[StatementLine], ledger: Ledger, as_of: dt.date | None = None,
                    customer_ibans: Mapping[str, str] | None = None) -> MatchResult:
    """Proposals for every line (pure). Balances are as of ``as_of``, or of the latest line date.

    Lines already applied teach their counterparty IBAN (``learn_customer_ibans``) to the rest of the run.
    """
    if not lines:
        return MatchResult([], None)
    when = as_of if as_of is not None else max(ln.date for ln in lines)
    learned = learn_customer_ibans(lines, ledger.payments)
    ibans = {**learned, **(customer_ibans or {})}
    index = MatchIndex.build(ledger, when, ibans)
    return index.match_lines(lines)


def line_from_match_row(row: Mapping[str, object]) -> StatementLine:
    """Rebuild the statement line a Matches row describes (apply runs in another process than reconcile)."""
    d = row.get("date")
    day = pd.Timestamp(d).date() if d is not None and not pd.isna(d) else dt.date(1970, 1, 1)
    amt = row.get("amount")
    amount = 0 if amt is None or pd.isna(amt) else int(amt)  # type: ignore[call-overload, arg-type]
    return StatementLine(line_id=str(row.get("statement_line", "")), account="", date=day, value_date=None,
                         amount=amount, currency=str(row.get("currency", "") or ""),
                         text=str(row.get("text", "") or ""))


def allocate(line: StatementLine, invoice_ids: Sequence[str], ledger: Ledger | MatchIndex,
             customer_id: str = "", as_of: dt.date | None = None) -> Allocation:
    """Allocate ``line`` to ``invoice_ids`` (in that order) against current balances; never over-allocates.

    With a ``Ledger`` the balances are computed as of ``as_of`` (default: the line's date).
    """
    index = ledger if isinstance(ledger, MatchIndex) else MatchIndex.build(ledger, as_of or line.date)
    return index.allocate(line, invoice_ids, customer_id)


def payments_for_matches(matches: pd.DataFrame, ledger: Ledger, as_of: dt.date | None = None
                         ) -> tuple[pd.DataFrame, list[Problem]]:
    """Payments rows for the Matches rows with action "accept", re-validated against ``ledger`` (for apply).

    Rows already applied (their statement_line in Payments) are skipped, so re-running apply adds nothing.
    Every accepted row is re-allocated with ``allocate`` in sheet order against the remaining balances; rows of
    kind "return" or "fee" are never applied as payments.
    Problems (unknown invoice, no balance left, no customer for an advance) are returned, located by the
    Matches row; rows with problems produce no payments, so the caller can refuse or warn.
    """
    acc = matches[matches["action"] == "accept"] if len(matches) else matches
    if not len(acc):
        return _payments_frame([]), []
    if as_of is not None:
        when = pd.Timestamp(as_of)
    else:  # every invoice a person may have chosen, and every line date
        stamps = [d for d in pd.to_datetime(acc["date"]).tolist() + ledger.invoices["issue_date"].tolist()
                  if not pd.isna(d)]
        when = max(stamps) if stamps else pd.Timestamp("1970-01-01")
    index = MatchIndex.build(ledger, when)
    rem = list(index.balance)
    applied = applied_line_ids(ledger)
    seen: set[str] = set()
    problems: list[Problem] = []
    recs: list[tuple[int, int, list[dict[str, object]]]] = []
    # The most confident rows first, as the matcher allocated them; sheet order among equals.
    records = sorted(acc.to_dict("records"), key=lambda r: (-(0.0 if pd.isna(r.get("confidence"))
                                                               else float(r.get("confidence") or 0.0)),
                                                             int(r.get("_row", 0) or 0)))
    for k, r in enumerate(records):
        line = line_from_match_row(r)
        row = int(r.get("_row", 0) or 0)
        if not line.line_id or line.line_id in applied or line.line_id in seen:
            continue
        if str(r.get("kind") or "payment") in ("return", "fee"):
            continue  # returns and fees are never applied as payments
        seen.add(line.line_id)
        if line.amount <= 0:
            problems.append(Problem("Matches", row, "amount", line.amount, "positive"))
            continue
        alloc = index.allocate(line, list(r.get("invoice_ids") or ()), str(r.get("customer_id") or ""), rem,
                               consume=False)
        if alloc.problems:
            for code, inv, detail in index._issues:
                if code == "invoice":
                    problems.append(Problem("Matches", row, "invoice_ids", inv, "invoice", {"sheet": "Invoices"}))
                elif code == "currency":
                    problems.append(Problem("Matches", row, "currency", line.currency, "currency_mismatch",
                                            {"currency": f"{inv}: {detail}"}))
                elif code == "closed":
                    problems.append(Problem("Matches", row, "invoice_ids", inv, "setting",
                                            {"what": _t(index.locale, "expect_open", inv=inv)}))
                elif code == "customer":
                    problems.append(Problem("Matches", row, "customer_id", inv, "customer", {"sheet": "Customers"}))
                else:
                    problems.append(Problem("Matches", row, "customer_id", None, "setting",
                                            {"what": _t(index.locale, "expect_customer", amount=detail)}))
            continue
        for inv, amt in alloc.allocations:
            rem[index.inv_pos[inv]] -= amt
        wo = index.is_write_off(line.currency, alloc.fee, int(line.amount) + alloc.fee)
        recs.append((row, k, _payment_records(line, alloc, index.locale, index.cust_ids, index.inv_cust,
                                              index.inv_pos, write_off=wo)))
    recs.sort(key=lambda t: (t[0], t[1]))  # Payments rows in the order of the Matches sheet
    problems.sort(key=lambda p: p.row)
    return _payments_frame([x for _, _, rows in recs for x in rows]), problems
