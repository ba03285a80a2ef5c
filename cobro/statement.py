"""A customer's statement of account as data — pure: the ledger and the as-of date in, a ``Statement`` out.

One section per currency (amounts of different currencies are never added together), each with:

- **movements**: the invoices, credit notes and payments since the oldest item still open (or the oldest invoice
  paid since), oldest first, with a running balance; what came before is one "balance brought forward" line
  (shown when not zero), so a long history stays short.
  Cancelled and written-off invoices (and payments applied to them) are left out: nothing is collectable there.
- **open invoices** (what the customer owes, with days overdue) and **credits** (open credit notes and payments on
  account) — credits are amounts in the customer's favour, shown positive and netted in the total, never as a
  negative "pending" line;
- **aging** of the open invoices (not yet due, then Settings ``aging_buckets``);
- **interest** (Ley 3/2004, ``cobro.interest``) per overdue invoice when Settings ``late_interest_enabled`` says
  yes, for euro invoices;
- **payment**: the amount to pay (what is overdue net of the credits, or everything open when nothing is overdue
  yet), the reference to quote, the ways to pay and, for euros with a valid IBAN, the EPC QR payload.

``statement_for`` builds one customer's; ``customers_with_balance`` lists who gets one with ``--all``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from . import money
from .balances import advances, as_timestamp, closed_mask, invoice_balances
from .errors import UserError
from .interest import InvoiceInterest, interest_enabled, late_interest, rates_for
from .ledger import Ledger
from .payment import PaymentDetails, payment_details

__all__ = [
    "CurrencySection", "Movement", "OpenItem", "Statement", "StatementError", "customers_with_balance",
    "statement_for", "statements_for",
]


class StatementError(UserError):
    """A statement that cannot be made (an unknown customer)."""


@dataclass(frozen=True)
class Movement:
    """One line of the account: ``debit`` (an invoice) or ``credit`` (a payment or credit note), minor units."""

    date: dt.date | None
    kind: str  # invoice, credit_note, payment, brought_forward
    document: str  # invoice or payment id / reference
    description: str
    debit: int
    credit: int
    balance: int  # running balance after this line (positive: the customer owes)
    due_date: dt.date | None = None


@dataclass(frozen=True)
class OpenItem:
    """An open invoice (``amount`` owed) or credit (``amount`` in the customer's favour), positive minor units."""

    kind: str  # invoice, credit_note, advance
    document: str
    date: dt.date | None
    due_date: dt.date | None
    original: int
    amount: int
    days_overdue: int
    status: str = ""
    reference: str = ""
    description: str = ""


@dataclass(frozen=True)
class CurrencySection:
    """Everything of one currency."""

    currency: str
    movements: tuple[Movement, ...]
    invoices: tuple[OpenItem, ...]
    credits: tuple[OpenItem, ...]
    aging: tuple[tuple[str, int], ...]  # (label, amount): "not_due", then each bucket label
    interest: tuple[tuple[OpenItem, InvoiceInterest], ...]
    payment_reference: str
    epc_payload: str | None
    # the early-payment discount still available (Settings early_payment_discount): (pct, last day, amount)
    discount: tuple[Decimal, dt.date, int] | None = None

    @property
    def owed(self) -> int:
        """Open invoices."""
        return sum(i.amount for i in self.invoices)

    @property
    def credit(self) -> int:
        """Open credits in the customer's favour."""
        return sum(c.amount for c in self.credits)

    @property
    def net(self) -> int:
        """Owed minus credits (negative: the balance is in the customer's favour)."""
        return self.owed - self.credit

    @property
    def overdue(self) -> int:
        """Open invoices past their due date (disputed ones aside: they are not asked for until settled)."""
        return sum(i.amount for i in self.invoices if i.days_overdue > 0 and i.status != "disputed")

    @property
    def to_pay(self) -> int:
        """What to pay now: overdue net of credits, or everything open (undisputed) net of credits when nothing is
        overdue yet; never below zero."""
        if self.overdue:
            return max(self.overdue - self.credit, 0)
        return max(sum(i.amount for i in self.invoices if i.status != "disputed") - self.credit, 0)

    @property
    def interest_total(self) -> int:
        return sum(r.interest for _, r in self.interest)

    @property
    def compensation_total(self) -> int:
        return sum(r.compensation for _, r in self.interest)


@dataclass(frozen=True)
class Statement:
    """A customer's statement of account at ``as_of``."""

    as_of: dt.date
    language: str
    customer: dict[str, str]
    company: dict[str, str]
    sections: tuple[CurrencySection, ...]
    payment: PaymentDetails
    interest_enabled: bool
    aging_labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_balance(self) -> bool:
        """True when something is open (owed or in the customer's favour)."""
        return any(s.invoices or s.credits for s in self.sections)


def _date(v: object) -> dt.date | None:
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    try:
        if pd.isna(v):  # type: ignore[arg-type]
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(v).date()  # type: ignore[arg-type]


class _Row(dict):  # a record with attribute access (r.amount), cheaper than DataFrame.itertuples on small frames
    __getattr__ = dict.__getitem__


def _rows(frame: pd.DataFrame) -> list[_Row]:
    return [_Row(r) for r in frame.to_dict("records")]


def _customer_row(ledger: Ledger, customer_id: str) -> dict[str, str]:
    c = ledger.customers
    hit = c[c["customer_id"] == customer_id]
    if hit.empty:
        # A name typed instead of the id: accept an exact (case-insensitive) name.
        hit = c[c["name"].str.casefold() == customer_id.casefold()]
    if hit.empty:
        raise StatementError(f'no customer "{customer_id}" in the Customers sheet (give its Customer ID)',
                             source="Customers", column="customer_id")
    row = hit.iloc[0]
    emails = row.get("email", ())
    return {
        "customer_id": str(row["customer_id"]), "name": str(row.get("name", "") or ""),
        "tax_id": str(row.get("tax_id", "") or ""), "language": str(row.get("language", "") or ""),
        "email": ", ".join(emails) if isinstance(emails, (tuple, list)) else str(emails or ""),
        "address": str(row.get("address", "") or "") if "address" in row.index else "",
    }


def company_of(ledger: Ledger) -> dict[str, str]:
    """The letterhead: Settings company_name, company_tax_id, company_address, company_phone, sender_email."""
    return company_from_settings(ledger.settings)


def company_from_settings(s: object) -> dict[str, str]:
    """The letterhead of statements and letters from Settings (name, tax id, address, phone, e-mail, logo)."""
    x = s.extra  # type: ignore[attr-defined]
    return {"name": s.company_name, "tax_id": str(x.get("company_tax_id", "") or ""),  # type: ignore[attr-defined]
            "address": str(x.get("company_address", "") or ""), "phone": str(x.get("company_phone", "") or ""),
            "email": s.reply_to or s.sender_email,  # type: ignore[attr-defined]
            "logo": str(x.get("logo", "") or "")}


def _reference(customer_id: str, invoices: list[OpenItem], language: str) -> str:
    """The remittance text to quote: the overdue (else open) invoice numbers when they fit in 140 characters."""
    due = [i.document for i in invoices if i.days_overdue > 0] or [i.document for i in invoices]
    if due:
        text = ("Fras. " if language == "es" else "Inv. ") + ", ".join(due)
        if len(text) <= 140:
            return text
    return (f"Cliente {customer_id}" if language == "es" else f"Customer {customer_id}")[:140]


def statement_for(ledger: Ledger, customer_id: str, as_of: dt.date, language: str | None = None) -> Statement:
    """The statement of account of ``customer_id`` (its ID, or its exact name) at ``as_of``."""
    cust = _customer_row(ledger, customer_id)
    cid = cust["customer_id"]
    ts = as_timestamp(as_of)
    inv = invoice_balances(ledger, ts)
    pay = ledger.payments
    adv = advances(ledger, ts)
    return _statement(ledger, cust, as_of, language, inv[inv["customer_id"] == cid],
                      pay[(pay["customer_id"] == cid) & (pay["date"] <= ts)], adv[adv["customer_id"] == cid])


def statements_for(ledger: Ledger, customer_ids: list[str], as_of: dt.date) -> list[Statement]:
    """The statements of several customers (``--all``): the ledger's balances are computed once, not per customer."""
    ts = as_timestamp(as_of)
    inv = invoice_balances(ledger, ts)
    pay = ledger.payments
    pay = pay[pay["date"] <= ts]
    adv = advances(ledger, ts)
    wanted = set(customer_ids)
    by_inv = {k: g for k, g in inv[inv["customer_id"].isin(wanted)].groupby("customer_id", sort=False)}
    by_pay = {k: g for k, g in pay[pay["customer_id"].isin(wanted)].groupby("customer_id", sort=False)}
    by_adv = {k: g for k, g in adv[adv["customer_id"].isin(wanted)].groupby("customer_id", sort=False)}
    out = []
    for cid in customer_ids:
        cust = _customer_row(ledger, cid)
        out.append(_statement(ledger, cust, as_of, None, by_inv.get(cid, inv.iloc[:0]), by_pay.get(cid, pay.iloc[:0]),
                              by_adv.get(cid, adv.iloc[:0])))
    return out


def _statement(ledger: Ledger, cust: dict[str, str], as_of: dt.date, language: str | None, inv: pd.DataFrame,
               pay: pd.DataFrame, adv: pd.DataFrame) -> Statement:
    """One customer's statement from its own invoices (with balances), payments and advances as of ``as_of``."""
    from .aging import bucket_index, bucket_labels

    cid = cust["customer_id"]
    lang = language or cust["language"] or ledger.settings.locale
    lang = "en" if lang == "en" else "es"
    settings = ledger.settings
    pay_details = payment_details(settings.extra, company_name=settings.company_name,
                                  text=settings.payment_instructions)
    enabled = interest_enabled(settings.extra)
    rates = rates_for(settings.extra)
    agreed = settings.late_interest_annual_pct if settings.late_interest_annual_pct > 0 else None

    closed = closed_mask(inv["status"]) if len(inv) else np.zeros(0, dtype=bool)
    live = inv[~closed]
    closed_ids = set(inv.loc[closed, "invoice_id"]) if len(inv) else set()
    pay = pay[~pay["invoice_id"].isin(closed_ids)]
    currency_of_customer = ""
    cc = ledger.customers[ledger.customers["customer_id"] == cid]
    if "currency" in cc and len(cc):
        currency_of_customer = str(cc.iloc[0]["currency"] or "")
    fallback = currency_of_customer or settings.base_currency
    currencies = sorted({*(str(c) or fallback for c in live["currency"]),
                         *(str(c) or fallback for c in pay["currency"])},
                        key=lambda c: (c != settings.base_currency, c))
    labels = tuple(bucket_labels(settings.aging_buckets))
    sections: list[CurrencySection] = []
    for cur in currencies:
        li = live[live["currency"].fillna(fallback).replace("", fallback) == cur]
        pc = pay[pay["currency"].fillna(fallback).replace("", fallback) == cur]
        ac = adv[adv["currency"].fillna(fallback).replace("", fallback) == cur]
        invoices: list[OpenItem] = []
        credits: list[OpenItem] = []
        for r in _rows(li):
            bal = int(r.balance)
            if bal == 0:
                continue
            days = 0 if pd.isna(r.days_overdue) else int(r.days_overdue)
            item = OpenItem("invoice" if bal > 0 else "credit_note", str(r.invoice_id), _date(r.issue_date),
                            _date(r.due_date), abs(int(r.amount)), abs(bal), days if bal > 0 else 0, str(r.status),
                            str(r.reference or ""), str(r.description or ""))
            (invoices if bal > 0 else credits).append(item)
        for r in _rows(ac):
            amt = int(r.amount)
            if amt > 0:
                credits.append(OpenItem("advance", str(r.payment_id or r.reference or ""), _date(r.date), None,
                                        amt, amt, 0, "", str(r.reference or ""), ""))
        invoices.sort(key=lambda i: (i.due_date or i.date or dt.date.min, i.document))
        # Movements since the oldest open item; before it, one brought-forward line.
        open_dates = [d for d in (*(i.date for i in invoices), *(c.date for c in credits)) if d is not None]
        start = min(open_dates) if open_dates else as_of
        events: list[tuple[dt.date, int, str, str, str, int, int, dt.date | None]] = []
        for r in _rows(li):
            amt = int(r.amount)
            d = _date(r.issue_date) or as_of
            kind = "invoice" if amt >= 0 else "credit_note"
            events.append((d, 0, kind, str(r.invoice_id), str(r.description or ""), max(amt, 0), max(-amt, 0),
                           _date(r.due_date)))
        for r in _rows(pc):
            amt = int(r.amount)
            d = _date(r.date) or as_of
            doc = str(r.reference or r.payment_id or "")
            applied = str(r.invoice_id or "")
            events.append((d, 1, "payment", doc, applied, max(-amt, 0), max(amt, 0), None))
        events.sort(key=lambda e: (e[0], e[1], e[3]))
        # An invoice paid on or after the start begins the activity too (its payment is shown, so is the invoice):
        # what is brought forward is then only what was settled entirely before — usually nothing.
        issued = {e[3]: e[0] for e in events if e[2] != "payment"}
        while True:
            earlier = [issued[e[4]] for e in events
                       if e[2] == "payment" and e[0] >= start and e[4] in issued and issued[e[4]] < start]
            if not earlier:
                break
            start = min(earlier)
        forward = sum(e[5] - e[6] for e in events if e[0] < start)
        running = forward
        movements: list[Movement] = []
        if forward:
            movements.append(Movement(start, "brought_forward", "", "", max(forward, 0), max(-forward, 0), forward))
        for d, _o, kind, doc, desc, debit, credit, due in events:
            if d < start:
                continue
            running += debit - credit
            movements.append(Movement(d, kind, doc, desc, debit, credit, running, due))
        # Aging of the open invoices.
        ages = np.array([i.days_overdue for i in invoices], dtype=np.int64)
        idx = bucket_index(ages, settings.aging_buckets) if len(ages) else np.zeros(0, dtype=np.intp)
        aging = [("not_due", int(sum(i.amount for i, k in zip(invoices, idx, strict=True) if k < 0)))]
        for b, label in enumerate(labels):
            aging.append((label, int(sum(i.amount for i, k in zip(invoices, idx, strict=True) if k == b))))
        interest: list[tuple[OpenItem, InvoiceInterest]] = []
        if enabled and cur == "EUR":
            for i in invoices:
                if i.days_overdue > 0 and i.due_date is not None and i.status != "disputed":
                    interest.append((i, late_interest(i.amount, cur, i.due_date, as_of, rates=rates,
                                                      agreed_pct=agreed)))
        ref = _reference(cid, invoices, lang)
        section = CurrencySection(cur, tuple(movements), tuple(invoices), tuple(credits), tuple(aging),
                                  tuple(interest), ref, None)
        epc = pay_details.epc(section.to_pay, cur, ref)
        sections.append(CurrencySection(cur, tuple(movements), tuple(invoices), tuple(credits), tuple(aging),
                                        tuple(interest), ref, epc, _discount(invoices, cur, as_of, settings)))
    return Statement(as_of, lang, cust, company_of(ledger), tuple(sections), pay_details, enabled, labels)


def _discount(invoices: list[OpenItem], currency: str, as_of: dt.date, settings: object
              ) -> tuple[Decimal, dt.date, int] | None:
    """The early-payment discount still available on the open invoices (``cobro.render.discount_info``)."""
    from .render import InvoiceLine, discount_info

    terms = getattr(settings, "early_payment_discount", None)
    if not terms:
        return None
    lines = [InvoiceLine(i.document, currency, i.original, i.amount, i.date, i.due_date, i.days_overdue)
             for i in invoices if i.status != "disputed"]
    got = discount_info(lines, as_of, terms, currency)
    if got is None:
        return None
    pct, until, amounts = got
    return pct, until, amounts.get(currency, 0)


def customers_with_balance(ledger: Ledger, as_of: dt.date) -> list[str]:
    """The customers with something open at ``as_of`` (invoices owed or credits), in Customers order."""
    ts = as_timestamp(as_of)
    inv = invoice_balances(ledger, ts)
    ids = set(inv.loc[inv["balance"] != 0, "customer_id"])
    adv = advances(ledger, ts)
    ids |= set(adv.loc[adv["amount"] > 0, "customer_id"])
    return [c for c in ledger.customers["customer_id"] if c in ids]


def amount_text(minor: int, currency: str, language: str) -> str:
    """Money as people read it in ``language``."""
    return money.format_money(minor, currency, language)
