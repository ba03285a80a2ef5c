"""Paid and balance per invoice as of a date: the one place every feature gets them from (on the remembered join
of payments to invoices, ``cobro.joins``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .joins import _objects, group_sum, key_codes
from .ledger import Ledger

CLOSED_STATUSES = ("cancelled", "written_off")


def as_timestamp(as_of: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """The as-of date as a midnight Timestamp (accepts ``date`` or ISO text)."""
    return pd.Timestamp(as_of).normalize()


def closed_mask(status: pd.Series | np.ndarray) -> np.ndarray:
    """True where an invoice status is cancelled or written off."""
    s = _objects(status)
    return (s == CLOSED_STATUSES[0]) | (s == CLOSED_STATUSES[1])


# ----------------------------------------------------------------------------------- balances


def paid_arrays(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """``(paid, rows)``: per invoice row, the payments dated on or before ``as_of`` applied to it;
    per payment row, the row in ``ledger.invoices`` of the invoice it names (-1: none or unknown).

    Arrays are aligned with ``ledger.invoices`` and ``ledger.payments``. Invoice rows sharing an id
    (invalid input) each get that id's total, as a lookup by id would give.
    """
    ts = as_timestamp(as_of)
    inv, pay = ledger.invoices, ledger.payments
    kcodes, qcodes, first = key_codes(inv["invoice_id"], pay["invoice_id"], remember=True)
    rows = np.full(len(qcodes), -1, dtype=np.intp)
    hit = qcodes >= 0
    rows[hit] = first[qcodes[hit]]
    counted = hit & (pay["date"].to_numpy() <= ts.to_datetime64())
    per_code = group_sum(qcodes[counted], pay["amount"].to_numpy()[counted], len(first))
    return (per_code if len(first) == len(kcodes) else per_code[kcodes]), rows


def invoice_balances(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Invoices with ``paid``, ``balance`` and ``days_overdue`` as of ``as_of``.

    Payments dated after ``as_of`` are ignored. Cancelled and written-off invoices keep their
    rows but carry a zero balance (nothing is collectable). ``days_overdue`` is as-of minus due
    date (negative before due). Credit notes (negative amounts) keep their negative balance.
    Invoices issued after ``as_of`` are dropped.
    """
    ts = as_timestamp(as_of)
    inv = ledger.invoices
    paid, _ = paid_arrays(ledger, ts)
    issued = inv["issue_date"].to_numpy() <= ts.to_datetime64()
    amount = inv["amount"].to_numpy(dtype="int64")
    closed = closed_mask(inv["status"])
    balance = np.where(closed, 0, amount - paid)
    due = inv["due_date"].to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(due)
    days = ((ts.to_datetime64() - np.where(nat, ts.to_datetime64(), due)) // np.timedelta64(1, "D")).astype(np.int64)
    out = inv.assign(paid=paid, balance=balance,
                     days_overdue=pd.arrays.IntegerArray(days, nat))
    return out if issued.all() else out[issued]


def advances(ledger: Ledger, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Payments on account (no invoice) dated on or before ``as_of``."""
    ts = as_timestamp(as_of)
    pay = ledger.payments
    return pay[(pay["date"] <= ts) & (pay["invoice_id"] == "")]
