"""Paid and balance per invoice as of a date: the one place every feature gets them from."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .ledger import Ledger

CLOSED_STATUSES = ("cancelled", "written_off")


def as_timestamp(as_of: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """The as-of date as a midnight Timestamp (accepts ``date`` or ISO text)."""
    return pd.Timestamp(as_of).normalize()


def invoice_balances(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Invoices with ``paid``, ``balance`` and ``days_overdue`` as of ``as_of``.

    Payments dated after ``as_of`` are ignored. Cancelled and written-off invoices keep their
    rows but carry a zero balance (nothing is collectable). ``days_overdue`` is as-of minus due
    date (negative before due). Credit notes (negative amounts) keep their negative balance.
    Invoices issued after ``as_of`` are dropped.
    """
    ts = as_timestamp(as_of)
    inv = ledger.invoices
    inv = inv[inv["issue_date"] <= ts]
    pay = ledger.payments
    pay = pay[(pay["date"] <= ts) & (pay["invoice_id"] != "")]
    paid = pay.groupby("invoice_id", sort=False)["amount"].sum()
    out = inv.copy()
    paid_arr = out["invoice_id"].map(paid).fillna(0).to_numpy(dtype="int64")
    amount = out["amount"].to_numpy(dtype="int64")
    closed = out["status"].isin(CLOSED_STATUSES).to_numpy()
    out["paid"] = paid_arr
    out["balance"] = np.where(closed, 0, amount - paid_arr)
    days = (ts - out["due_date"]).dt.days
    out["days_overdue"] = days.astype("Int64")
    return out


def open_invoices(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Invoices with a non-zero balance as of ``as_of`` (credit notes included, negative)."""
    b = invoice_balances(ledger, as_of)
    return b[b["balance"] != 0]


def advances(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Payments on account (no invoice) dated on or before ``as_of``."""
    ts = as_timestamp(as_of)
    pay = ledger.payments
    return pay[(pay["date"] <= ts) & (pay["invoice_id"] == "")]
