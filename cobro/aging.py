"""Accounts-receivable aging (pure): who owes what, and how old it is, per currency.

Semantics are those of ERPNext's Accounts Receivable report, which accountants trust:

- An *open item* is an invoice or credit note with a non-zero balance as of the as-of date
  (``cobro.balances``: payments dated after the as-of date are ignored; cancelled and written-off
  invoices carry no balance and are left out; invoices issued after the as-of date do not exist
  yet), or an *advance*: a payment dated on or before the as-of date that pays no invoice of that
  date (no invoice named, an unknown invoice, or one issued after the as-of date).
- ``age`` = as-of date minus the basis date, in days. The basis date is the due date (Settings
  ``aging_basis``; ``issue_date`` on request); a credit note without due date uses its issue date;
  an advance always ages from its payment date. An age below 0 is *not due*; the first bucket holds
  ages 0 to the first bound (an item due today is due, age 0), then bound+1 to the next bound, and the
  last bucket everything above the last bound: bounds ``30,60,90,120`` give ``0-30``, ``31-60``,
  ``61-90``, ``91-120`` and ``121+``.
- Invoices age as their positive balance; credit notes and advances as negative amounts.

Per customer and currency (``by="customer"``, the default), amounts in integer minor units:

- ``invoiced``: the amounts of the open invoices (positive amounts) — like ERPNext, fully settled
  invoices are not in an aging report;
- ``paid``: what was paid on those open invoices up to the as-of date;
- ``credit_notes``: the open credit of credit notes, as a positive amount;
- ``advance``: the advances, as a positive amount;
- ``outstanding`` = invoiced − paid − credit_notes − advance = the sum of the signed balances;
- ``not_due``: the signed balances not due yet; ``buckets``: one signed sum per bucket;
- ``total_due`` = the sum of the buckets, so ``outstanding`` = ``not_due`` + ``total_due``.

Nothing is rounded or dropped: a residual of one cent is an open item like any other. Every total
is per currency; amounts in different currencies are never added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cobro.errors import UserError

from . import money
from .balances import as_timestamp, closed_mask, paid_arrays
from .joins import group_sum, string_codes
from .ledger import Ledger

BASES = ("due_date", "issue_date")
BY = ("customer", "invoice")
KINDS = ("invoice", "credit_note", "advance")
NOT_DUE = "not_due"
AMOUNT_FIELDS = ("invoiced", "paid", "credit_notes", "advance", "outstanding", "not_due", "total_due")
_DAY = np.timedelta64(1, "D")


class AgingError(UserError, ValueError):
    """Bad aging parameters (buckets, basis, by), with a message a person understands."""


def check_buckets(buckets: Sequence[int]) -> tuple[int, ...]:
    """The bucket bounds as a tuple, or ``AgingError`` unless they are increasing whole days > 0."""
    try:
        bounds = tuple(int(b) for b in buckets)
        if any(int(b) != b for b in buckets):
            raise ValueError
    except (TypeError, ValueError):
        bounds = ()
    if not bounds or list(bounds) != sorted(set(bounds)) or bounds[0] <= 0:
        raise AgingError(f"aging buckets {list(buckets)!r}: expected increasing whole numbers of days greater "
                         "than 0, such as 30,60,90,120")
    return bounds


def bucket_labels(bounds: Sequence[int]) -> list[str]:
    """``(30, 60, 90, 120)`` -> ``["0-30", "31-60", "61-90", "91-120", "121+"]``."""
    labels, low = [], 0
    for b in bounds:
        labels.append(f"{low}-{b}")
        low = b + 1
    labels.append(f"{low}+")
    return labels


def bucket_index(age: np.ndarray, bounds: Sequence[int]) -> np.ndarray:
    """Per age: -1 when not due (age < 0), else the index of its bucket (0 .. len(bounds)), as ``np.intp``."""
    age = np.asarray(age, dtype=np.int64)
    idx = np.searchsorted(np.asarray(bounds, dtype=np.int64), age, side="left").astype(np.intp, copy=False)
    return np.where(age < 0, np.intp(-1), idx)


# ----------------------------------------------------------------------------------- open items


def open_items(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, basis: str = "due_date") -> pd.DataFrame:
    """Every open item as of ``as_of``: one row per open invoice, credit note and advance.

    Columns: kind (invoice, credit_note, advance), invoice_id, payment_id, customer_id, currency,
    issue_date, due_date, date (the basis date it ages from), age (days), amount (signed: the
    invoice amount; minus the payment for an advance), paid, balance (signed), status (the
    invoice's), row (position in ``ledger.invoices`` or ``ledger.payments``), ``_row`` (sheet row).
    Invoices and credit notes first, in ledger order, then advances.
    """
    return pd.DataFrame(_open_arrays(ledger, as_of, basis, full=True))


def _open_arrays(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, basis: str, full: bool
                 ) -> dict[str, np.ndarray]:
    """The columns of ``open_items`` as arrays (only those aging needs unless ``full``)."""
    if basis not in BASES:
        raise AgingError(f"aging basis {basis!r}: expected due_date or issue_date")
    ts = as_timestamp(as_of)
    t = ts.to_datetime64()
    inv, pay = ledger.invoices, ledger.payments
    paid, prow = paid_arrays(ledger, ts)
    issue = inv["issue_date"].to_numpy(dtype="datetime64[ns]")
    issued = issue <= t
    amount = inv["amount"].to_numpy(dtype=np.int64)
    balance = amount - paid
    sel = np.flatnonzero(issued & (balance != 0))
    sel = sel[~closed_mask(inv["status"].to_numpy(dtype=object)[sel])]

    pdate = pay["date"].to_numpy(dtype="datetime64[ns]")
    applied = np.zeros(len(prow), dtype=bool)
    known = prow >= 0
    applied[known] = issued[prow[known]]
    adv = np.flatnonzero((pdate <= t) & ~applied)

    i_issue = issue[sel]
    i_due = inv["due_date"].to_numpy(dtype="datetime64[ns]")[sel]
    i_due = np.where(np.isnat(i_due), i_issue, i_due)
    i_amount = amount[sel]
    a_date = pdate[adv]
    a_amount = pay["amount"].to_numpy(dtype=np.int64)[adv]
    n_i, n_a = len(sel), len(adv)

    def col(frame: pd.DataFrame, key: str, rows: np.ndarray) -> np.ndarray:
        return frame[key].to_numpy(dtype=object)[rows]

    date = np.concatenate([i_due if basis == "due_date" else i_issue, a_date])
    out: dict[str, np.ndarray] = {
        "kind": np.concatenate([np.where(i_amount < 0, KINDS[1], KINDS[0]).astype(object),
                                np.full(n_a, KINDS[2], dtype=object)]),
    }
    if full:
        nat_a = np.full(n_a, np.datetime64("NaT"), dtype="datetime64[ns]")
        out["invoice_id"] = np.concatenate([col(inv, "invoice_id", sel), col(pay, "invoice_id", adv)])
        out["payment_id"] = np.concatenate([np.full(n_i, "", dtype=object), col(pay, "payment_id", adv)])
    out["customer_id"] = np.concatenate([col(inv, "customer_id", sel), col(pay, "customer_id", adv)])
    out["currency"] = np.concatenate([col(inv, "currency", sel), col(pay, "currency", adv)])
    if full:
        out["issue_date"] = np.concatenate([i_issue, nat_a])
        out["due_date"] = np.concatenate([i_due, nat_a])
    out["date"] = date
    out["age"] = ((t - date) // _DAY).astype(np.int64)
    out["amount"] = np.concatenate([i_amount, -a_amount])
    out["paid"] = np.concatenate([paid[sel], np.zeros(n_a, dtype=np.int64)])
    out["balance"] = np.concatenate([balance[sel], -a_amount])
    if full:
        out["status"] = np.concatenate([col(inv, "status", sel), np.full(n_a, "", dtype=object)])
        out["row"] = np.concatenate([sel, adv]).astype(np.intp, copy=False)
        out["_row"] = np.concatenate([inv["_row"].to_numpy(dtype=np.int64)[sel],
                                      pay["_row"].to_numpy(dtype=np.int64)[adv]])
    return out


def _order(items: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group codes of (customer, currency) sorted by customer then currency.

    Returns ``(group, customers, currencies, group_customer, group_currency)``; the codes are ``np.intp`` (they
    index arrays and count with ``np.bincount``).
    """
    ccodes, customers = string_codes(items["customer_id"])
    kcodes, currencies = string_codes(items["currency"])
    ncur = max(len(currencies), 1)
    key = ccodes * ncur + kcodes
    codes, uniq = pd.factorize(key)  # hashing: faster than np.unique's sort on many items
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order), dtype=np.intp)
    uniq = uniq[order].astype(np.intp, copy=False)
    return rank[codes], customers, currencies, uniq // ncur, uniq % ncur


# ----------------------------------------------------------------------------------- report


def _fmt_amounts(values: np.ndarray, currency: str) -> list[str]:
    """``money.format_decimal`` for a whole column of one currency, fast (whole and minor parts split in bulk)."""
    e = money.exponent(currency)
    if e == 0:
        return [str(int(v)) for v in values]
    values = np.asarray(values, dtype=np.int64)
    unit = 10**e
    mag = np.abs(values)
    pad = _minor_digits(e)
    return [f"-{q}.{pad[r]}" if neg else f"{q}.{pad[r]}" for q, r, neg in
            zip((mag // unit).tolist(), (mag % unit).tolist(), (values < 0).tolist(), strict=True)]


@cache
def _minor_digits(e: int) -> tuple[str, ...]:
    """The minor part of an amount as written, by its value (``e`` = 2: "00" … "99")."""
    return tuple(f"{r:0{e}d}" for r in range(10**e))


def format_amounts(values: Sequence[int] | np.ndarray, currencies: Sequence[str] | np.ndarray) -> list[str]:
    """Decimal strings (``"1234.50"``, CLP ``"1500"``, KWD ``"1.500"``) for amounts with their currencies."""
    vals = np.asarray(values, dtype=np.int64)
    curs = np.asarray(currencies, dtype=object)
    out: list[str] = [""] * len(vals)
    for cur in pd.unique(curs):
        where = np.flatnonzero(curs == cur)
        for i, s in zip(where.tolist(), _fmt_amounts(vals[where], str(cur)), strict=True):
            out[i] = s
    return out


def _iso(values: pd.Series) -> list[str | None]:
    arr = values.to_numpy(dtype="datetime64[D]")
    text = np.datetime_as_string(arr, unit="D")
    return [None if s == "NaT" else s for s in text.tolist()]


@dataclass(frozen=True)
class AgingReport:
    """The aging: ``frame`` (minor units, one row per customer and currency, or per open item),
    ``totals`` (one row per currency) and ``to_json()`` for machines."""

    as_of: dt.date
    bounds: tuple[int, ...]
    basis: str
    by: str
    frame: pd.DataFrame
    totals: pd.DataFrame

    @property
    def labels(self) -> list[str]:
        """The bucket labels, oldest last (``not_due`` is separate)."""
        return bucket_labels(self.bounds)

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "buckets": [labels], "rows": [...], "totals": {currency: {...}}}`` (the issue's shape).

        Amounts are decimal strings in their currency (``"1234.50"``, CLP ``"1500"``); each row and
        total has ``buckets``, a list with one amount per label.
        """
        labels = self.labels
        f = self.frame
        rows: list[dict[str, Any]] = []
        if self.by == "customer":
            text = {k: format_amounts(f[k].to_numpy(), f["currency"].to_numpy())
                    for k in [*AMOUNT_FIELDS, *labels]}
            for i, (cust, cur) in enumerate(zip(f["customer_id"].tolist(), f["currency"].tolist(), strict=True)):
                row: dict[str, Any] = {"customer_id": cust, "currency": cur}
                for k in ("invoiced", "paid", "credit_notes", "advance", "outstanding", "not_due"):
                    row[k] = text[k][i]
                row["buckets"] = [text[lab][i] for lab in labels]
                row["total_due"] = text["total_due"][i]
                rows.append(row)
        else:
            curs = f["currency"].to_numpy()
            text = {k: format_amounts(f[k].to_numpy(), curs) for k in ("amount", "paid", "balance")}
            dates = {k: _iso(f[k]) for k in ("issue_date", "due_date", "date")}
            cols = {k: f[k].tolist() for k in ("kind", "invoice_id", "payment_id", "customer_id", "currency",
                                              "age", "bucket", "_row")}
            for i in range(len(f)):
                rows.append({"kind": cols["kind"][i], "invoice_id": cols["invoice_id"][i],
                             "payment_id": cols["payment_id"][i], "customer_id": cols["customer_id"][i],
                             "currency": cols["currency"][i], "issue_date": dates["issue_date"][i],
                             "due_date": dates["due_date"][i], "date": dates["date"][i], "age": cols["age"][i],
                             "bucket": cols["bucket"][i], "amount": text["amount"][i], "paid": text["paid"][i],
                             "balance": text["balance"][i], "row": cols["_row"][i]})
        return {"as_of": self.as_of.isoformat(), "buckets": labels, "rows": rows, "totals": self.totals_json()}

    def totals_json(self) -> dict[str, dict[str, Any]]:
        """Totals keyed by currency, amounts as decimal strings, ``buckets`` as a list."""
        out: dict[str, dict[str, Any]] = {}
        labels = self.labels
        for cur, t in self.totals.iterrows():
            c = str(cur)
            d: dict[str, Any] = {k: money.format_decimal(int(t[k]), c)
                                 for k in ("invoiced", "paid", "credit_notes", "advance", "outstanding", "not_due")}
            d["buckets"] = [money.format_decimal(int(t[lab]), c) for lab in labels]
            d["total_due"] = money.format_decimal(int(t["total_due"]), c)
            out[c] = d
        return out

    def formatted(self, locale: str = "en") -> pd.DataFrame:
        """``frame`` with every amount as human text (``1.234,50 EUR`` in ``es``), for people and the CLI."""
        f = self.frame.copy()
        money_cols = ([*AMOUNT_FIELDS, *self.labels] if self.by == "customer" else ["amount", "paid", "balance"])
        for k in money_cols:
            f[k] = [money.format_money(int(v), c, locale) for v, c in zip(f[k], f["currency"], strict=True)]
        return f


def aging(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, buckets: Sequence[int] | None = None,
          basis: str | None = None, by: str = "customer") -> AgingReport:
    """The aging as of ``as_of`` (see the module docstring for the exact semantics).

    ``buckets`` (bounds in days) and ``basis`` default to the ledger's Settings. ``by="customer"``
    gives one row per customer and currency with columns customer_id, currency, invoiced, paid,
    credit_notes, advance, outstanding, not_due, one column per bucket label, total_due;
    ``by="invoice"`` one row per open item (see ``open_items``) with its ``bucket`` label
    (``not_due`` for items not yet due). ``totals`` has the amount columns per currency either way.
    """
    bounds = check_buckets(ledger.settings.aging_buckets if buckets is None else buckets)
    basis = basis or ledger.settings.aging_basis
    if by not in BY:
        raise AgingError(f"aging by {by!r}: expected customer or invoice")
    ts = as_timestamp(as_of)
    labels = bucket_labels(bounds)
    items = _open_arrays(ledger, ts, basis, full=by == "invoice")
    bidx = bucket_index(items["age"], bounds)
    group, customers, currencies, g_cust, g_cur = _order(items)
    ng = len(g_cust)
    kind = items["kind"]
    bal = items["balance"]
    is_inv, is_cn, is_adv = kind == KINDS[0], kind == KINDS[1], kind == KINDS[2]
    sums = {
        "invoiced": group_sum(group[is_inv], items["amount"][is_inv], ng),
        "paid": group_sum(group[is_inv], items["paid"][is_inv], ng),
        "credit_notes": -group_sum(group[is_cn], bal[is_cn], ng),
        "advance": -group_sum(group[is_adv], bal[is_adv], ng),
        "outstanding": group_sum(group, bal, ng),
    }
    width = len(labels) + 1
    grid = group_sum(group * width + (bidx + 1), bal, ng * width).reshape(ng, width)
    cust_frame = pd.DataFrame({"customer_id": customers[g_cust] if ng else np.array([], dtype=object),
                               "currency": currencies[g_cur] if ng else np.array([], dtype=object),
                               **sums, "not_due": grid[:, 0]})
    for j, lab in enumerate(labels):
        cust_frame[lab] = grid[:, j + 1]
    cust_frame["total_due"] = grid[:, 1:].sum(axis=1)
    amount_cols = [*AMOUNT_FIELDS[:6], *labels, "total_due"]
    totals = cust_frame.groupby("currency", sort=True)[amount_cols].sum() if ng else \
        pd.DataFrame({k: pd.Series([], dtype=np.int64) for k in amount_cols}, index=pd.Index([], name="currency"))
    if by == "customer":
        frame = cust_frame
    else:
        lab_arr = np.array([NOT_DUE, *labels], dtype=object)
        order = np.lexsort((items["date"], g_cur[group], g_cust[group]))
        frame = pd.DataFrame({k: v[order] for k, v in items.items()})
        frame["bucket"] = lab_arr[bidx + 1][order]
    return AgingReport(as_of=ts.date(), bounds=bounds, basis=basis, by=by, frame=frame, totals=totals)
